// Tests of the MailerLite sandbox (js/sandbox/mailerlite.mjs).
// Run: node --test tests/js/sandbox-mailerlite.test.mjs. Every test uses an injected clock.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import {
  createMailerLiteSandbox,
  mailerLiteSignature,
  MAILERLITE_DEFAULT_TOKEN,
  MAILERLITE_WEBHOOK_EVENTS,
} from '../../js/sandbox/mailerlite.mjs';

const API = 'https://connect.mailerlite.com/api';
const ADA = '31897397363737859';
const GRACE = '31986843064993537';
const ALAN = '32005011548914739';
const KATHERINE = '32005011549963320';
const GOLD = '102817459301155841';
const NEWSLETTER = '102817459301155907';
const WELCOME = '102817459301156012';

function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function manualSleep() {
  const waiting = [];
  const sleep = (ms, signal) =>
    new Promise((resolve, reject) => {
      waiting.push({ ms, resolve });
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { sleep, waiting, wakeAll: () => waiting.splice(0).forEach((w) => w.resolve()) };
}

const AUTH = { Authorization: `Bearer ${MAILERLITE_DEFAULT_TOKEN}` };

function ml(options = {}) {
  const clock = manualClock();
  const sandbox = createMailerLiteSandbox({ now: clock.now, ...options });
  const call = (path, { method = 'GET', body, rawBody, headers = {} } = {}) =>
    sandbox.fetch(API + path, {
      method,
      headers: { ...AUTH, 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  return { sandbox, clock, call };
}

describe('MailerLite sandbox', () => {
  test('auth: Bearer token; 401 {"message":"Unauthenticated."}; token never logged', async () => {
    const { sandbox, call } = ml();
    const missing = await sandbox.fetch(`${API}/subscribers/${ADA}`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type'), /application\/json/);
    assert.deepEqual(await missing.json(), { message: 'Unauthenticated.' });
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { Authorization: 'Bearer wrong-token' } })).status, 401);
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { Authorization: MAILERLITE_DEFAULT_TOKEN } })).status, 401, 'the Bearer scheme is required');
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { 'X-MailerLite-ApiKey': MAILERLITE_DEFAULT_TOKEN, Authorization: '' } })).status, 401, 'not the classic API key header');
    assert.equal((await call(`/subscribers/${ADA}`)).status, 200);
    const log = JSON.stringify(sandbox.audit());
    assert.ok(!log.includes(MAILERLITE_DEFAULT_TOKEN));
    assert.ok(!log.includes('wrong-token'));
    assert.ok(!/authorization|bearer/i.test(log));
  });

  test('GET /subscribers/{id}: {data} with fields {key: value}, groups [{id, name}], numeric-string ids; 404', async () => {
    const { call } = ml();
    const res = await call(`/subscribers/${GRACE}`);
    assert.equal(res.status, 200);
    const { data } = await res.json();
    assert.equal(data.id, GRACE);
    assert.equal(typeof data.id, 'string');
    assert.match(data.id, /^[0-9]{17,19}$/);
    assert.equal(data.email, 'grace.hopper@example.org');
    assert.equal(data.status, 'active');
    assert.equal(data.fields.name, 'Grace');
    assert.equal(data.fields.last_name, 'Hopper');
    assert.equal(data.fields.password, 'Cobol-1959');
    assert.equal(data.fields.set_password_link, null, 'every field key is present, null when unset');
    assert.equal(data.fields.company, null);
    assert.deepEqual(data.groups.map((g) => [g.id, g.name]), [[NEWSLETTER, 'Newsletter']]);
    assert.match(data.created_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    const missing = await call('/subscribers/12345678901234567');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { message: 'No query results for model [App\\Models\\Subscriber\\Subscriber].' });
    assert.equal((await call('/subscribers/not-an-id')).status, 404);
  });

  test('GET /subscribers/{email}: find by email (case-insensitive: unverified), + kept in the path', async () => {
    const { sandbox, call } = ml();
    const byEmail = await call(`/subscribers/${encodeURIComponent('ada.lovelace@EXAMPLE.com')}`);
    assert.equal(byEmail.status, 200);
    const { data } = await byEmail.json();
    assert.equal(data.id, ADA);
    assert.equal(data.email, 'Ada.Lovelace@Example.com');
    assert.deepEqual(data.groups.map((g) => g.name), ['Gold Member', 'Newsletter']);
    assert.equal((await call('/subscribers/ada.lovelace@example.com')).status, 200, 'a raw @ works too');

    sandbox.addContact({ email: 'first+tag@example.com', fields: { name: 'Plus' } });
    assert.equal((await call('/subscribers/first+tag@example.com')).status, 200, "'+' is literal in a path");
    assert.equal((await call(`/subscribers/${encodeURIComponent('first+tag@example.com')}`)).status, 200);
    assert.equal((await call('/subscribers/nobody%40example.com')).status, 404);
  });

  test('PUT /subscribers/{id}: fields {key: value} written; shows in state and log without the value', async () => {
    const { sandbox, call } = ml();
    const password = 'Enigma-1912-secret';
    const res = await call(`/subscribers/${ALAN}`, { method: 'PUT', body: { fields: { password } } });
    assert.equal(res.status, 200);
    const { data } = await res.json();
    assert.equal(data.fields.password, password);
    assert.equal(data.fields.name, 'Alan', 'fields not sent are kept');
    assert.equal(sandbox.contact(ALAN).fields.password, password);

    const link = `https://members.example.com/set-password?key=${'k'.repeat(300)}`;
    assert.equal((await call(`/subscribers/${ALAN}`, { method: 'PUT', body: { fields: { set_password_link: link, name: 'Alan M.' } } })).status, 200);
    assert.equal(sandbox.contact(ALAN).fields.set_password_link, link);
    assert.equal(sandbox.contact(ALAN).fields.name, 'Alan M.');

    assert.deepEqual(sandbox.fieldWrites().map((w) => [w.contactId, w.fieldId, w.label, w.length]), [
      [ALAN, '951001', 'Password', password.length],
      [ALAN, '951002', 'Set Password Link', link.length],
      [ALAN, '1', 'Name', 'Alan M.'.length],
    ]);
    assert.ok(!JSON.stringify(sandbox.audit()).includes(password));

    // Unknown keys are dropped silently, as the live API does: a wrong key writes nothing.
    const before = sandbox.contact(ALAN);
    const unknown = await call(`/subscribers/${ALAN}`, { method: 'PUT', body: { fields: { Password: 'wrong-key', email: 'x@example.com' } } });
    assert.equal(unknown.status, 200);
    assert.deepEqual(sandbox.contact(ALAN).fields, before.fields);
    assert.equal(sandbox.fieldWrites().length, 3);

    assert.equal((await call(`/subscribers/${ALAN}`, { method: 'PUT', body: { groups: [WELCOME] } })).status, 200);
    assert.deepEqual(sandbox.contact(ALAN).groups.map((g) => g.name), ['Welcome']);
  });

  test('PUT /subscribers/{id}: 422 {message, errors} for bad values, 400 for non-JSON, 404; nothing changes', async () => {
    const { sandbox, call } = ml();
    const before = sandbox.contact(KATHERINE);
    const notObject = await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { fields: ['password', 'x'] } });
    assert.equal(notObject.status, 422);
    const err = await notObject.json();
    assert.equal(err.message, 'The given data was invalid.');
    assert.deepEqual(Object.keys(err.errors), ['fields']);

    const wrongType = await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { fields: { password: { nested: true }, name: 'Changed' } } });
    assert.equal(wrongType.status, 422);
    assert.deepEqual(Object.keys((await wrongType.json()).errors), ['fields.password']);

    const tooLong = 'p'.repeat(1025);
    const long = await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { fields: { password: tooLong } } });
    assert.equal(long.status, 422, 'the 1,024-character cap is unverified');
    assert.ok(!(await long.text()).includes(tooLong), 'never echo a value');
    assert.equal((await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { fields: { password: 'p'.repeat(1024) } } })).status, 200);
    sandbox.reset();

    assert.equal((await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { groups: ['999'] } })).status, 422);
    assert.equal((await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { groups: GOLD } })).status, 422);
    assert.equal((await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { status: 'gone' } })).status, 422);
    assert.equal((await call(`/subscribers/${KATHERINE}`, { method: 'PUT', rawBody: '{"fields": {' })).status, 400);
    assert.equal((await call(`/subscribers/${KATHERINE}`, { method: 'PUT', rawBody: '[]' })).status, 400);
    assert.equal((await call('/subscribers/12345678901234567', { method: 'PUT', body: { fields: { name: 'x' } } })).status, 404);
    assert.equal((await call('/subscribers/k.johnson@example.net', { method: 'PUT', body: { fields: { name: 'x' } } })).status, 404, 'PUT takes an id');
    assert.deepEqual(sandbox.contact(KATHERINE), before);
    assert.deepEqual(sandbox.fieldWrites(), []);
  });

  test('POST /subscribers/{id}/groups/{group_id}: 200 {data: group}; again 200; 404s; DELETE 204', async () => {
    const { sandbox, call } = ml();
    const res = await call(`/subscribers/${KATHERINE}/groups/${WELCOME}`, { method: 'POST' });
    assert.equal(res.status, 200);
    const { data } = await res.json();
    assert.equal(data.id, WELCOME);
    assert.equal(data.name, 'Welcome');
    assert.equal(data.active_count, 1);
    assert.deepEqual(sandbox.contact(KATHERINE).groups.map((g) => g.name), ['Gold Member', 'Welcome']);

    assert.equal((await call(`/subscribers/${KATHERINE}/groups/${WELCOME}`, { method: 'POST' })).status, 200);
    assert.deepEqual(sandbox.tagApplications().map((e) => [e.action, e.contactId, e.tagId, e.tagName, e.duplicate]), [
      ['apply', KATHERINE, WELCOME, 'Welcome', false],
      ['apply', KATHERINE, WELCOME, 'Welcome', true],
    ]);

    const noGroup = await call(`/subscribers/${KATHERINE}/groups/123456789012345678`, { method: 'POST' });
    assert.equal(noGroup.status, 404);
    assert.match((await noGroup.json()).message, /Group/);
    assert.equal((await call(`/subscribers/12345678901234567/groups/${WELCOME}`, { method: 'POST' })).status, 404);

    assert.equal((await call(`/subscribers/${KATHERINE}/groups/${WELCOME}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(sandbox.contact(KATHERINE).groups.map((g) => g.name), ['Gold Member']);
    assert.equal(sandbox.tagApplications().at(-1).action, 'remove');
  });

  test('GET /groups: page-based list {data, links, meta}; filter[name] is a partial match; sort; 422', async () => {
    const { sandbox, call } = ml();
    const all = await (await call('/groups')).json();
    assert.equal(all.meta.total, 4);
    assert.equal(all.meta.per_page, 25);
    assert.deepEqual(Object.keys(all.data[0]).sort(), [
      'active_count', 'bounced_count', 'click_rate', 'clicks_count', 'created_at', 'id', 'junk_count', 'name',
      'open_rate', 'opens_count', 'sent_count', 'unconfirmed_count', 'unsubscribed_count',
    ]);
    const gold = await (await call('/groups?filter[name]=gold%20member')).json();
    assert.deepEqual(gold.data.map((g) => g.name), ['Gold Member', 'Gold Member Plus'], 'callers must pick the exact name');

    for (let i = 0; i < 3; i += 1) sandbox.addGroup({ name: `Cohort ${i}` });
    const names = [];
    let page = 1;
    let last;
    do {
      const body = await (await call(`/groups?limit=3&page=${page}&sort=name`)).json();
      assert.ok(body.data.length <= 3);
      names.push(...body.data.map((g) => g.name));
      last = body.meta.last_page;
      assert.equal(body.links.next === null, page === last);
      page += 1;
    } while (page <= last);
    assert.equal(last, 3);
    assert.deepEqual(names, ['Cohort 0', 'Cohort 1', 'Cohort 2', 'Gold Member', 'Gold Member Plus', 'Newsletter', 'Welcome']);
    const desc = await (await call('/groups?sort=-name&limit=1')).json();
    assert.equal(desc.data[0].name, 'Welcome');
    const beyond = await (await call('/groups?page=9')).json();
    assert.deepEqual(beyond.data, []);
    assert.equal(beyond.meta.from, null);

    assert.equal((await call('/groups?limit=0')).status, 422);
    assert.equal((await call('/groups?limit=abc')).status, 422);
    assert.equal((await call('/groups?sort=color')).status, 422);
    assert.equal(sandbox.addTag({ name: 'Alias' }).name, 'Alias', 'addTag adds a group');
  });

  test('GET /fields: default and custom fields {id, name, key, type, is_default}; paging and filters', async () => {
    const { call } = ml();
    const body = await (await call('/fields?limit=100')).json();
    const byKey = Object.fromEntries(body.data.map((f) => [f.key, f]));
    assert.deepEqual(byKey.name, { id: '1', name: 'Name', key: 'name', type: 'text', is_default: true, used_in_automations: false });
    assert.equal(byKey.last_name.id, '2');
    assert.equal(byKey.z_i_p.name, 'Zip');
    assert.deepEqual([byKey.password.id, byKey.password.name, byKey.password.is_default], ['951001', 'Password', false]);
    assert.equal(byKey.set_password_link.name, 'Set Password Link');
    assert.equal(body.meta.total, 10);

    const first = await (await call('/fields?limit=4')).json();
    assert.equal(first.data.length, 4);
    assert.equal(first.meta.last_page, 3);
    const keyword = await (await call('/fields?filter[keyword]=password')).json();
    assert.deepEqual(keyword.data.map((f) => f.key), ['password', 'set_password_link']);
    assert.equal((await (await call('/fields?filter[type]=number')).json()).data.length, 0);
    assert.equal((await call('/fields?limit=101')).status, 422);
  });

  test('webhooks: POST /webhooks {url, events} -> 201 with a secret; list, get, delete; validation', async () => {
    const { sandbox, call } = ml();
    const created = await call('/webhooks', {
      method: 'POST',
      body: { name: 'memberwire', url: 'https://members.example.com/hooks/mailerlite', events: ['subscriber.added_to_group', 'subscriber.created'], batchable: true },
    });
    assert.equal(created.status, 201);
    const hook = (await created.json()).data;
    assert.deepEqual(hook.events, ['subscriber.added_to_group', 'subscriber.created']);
    assert.equal(hook.enabled, true);
    assert.equal(hook.batchable, true);
    assert.match(hook.secret, /^[A-Za-z0-9]{10}$/);
    assert.match(hook.id, /^[0-9]{17,19}$/);

    const list = await (await call('/webhooks')).json();
    assert.deepEqual(list.data.map((w) => w.id), [hook.id]);
    assert.equal((await (await call(`/webhooks/${hook.id}`)).json()).data.url, 'https://members.example.com/hooks/mailerlite');
    assert.deepEqual(sandbox.webhooks()[0].secret, hook.secret);
    assert.ok(!JSON.stringify(sandbox.audit()).includes(hook.secret), 'bodies are not logged');

    const body = JSON.stringify({ events: [{ type: 'subscriber.added_to_group' }] });
    assert.equal(mailerLiteSignature(body, hook.secret), createHmac('sha256', hook.secret).update(body).digest('hex'));
    assert.match(mailerLiteSignature(body, hook.secret), /^[0-9a-f]{64}$/);

    const bad = await call('/webhooks', { method: 'POST', body: { url: 'not a url', events: ['subscriber.tag_added'] } });
    assert.equal(bad.status, 422);
    assert.deepEqual(Object.keys((await bad.json()).errors).sort(), ['events.0', 'url']);
    assert.equal((await call('/webhooks', { method: 'POST', body: { url: 'https://example.org/h' } })).status, 422);
    assert.equal((await call('/webhooks', { method: 'POST', body: { url: 'ftp://example.org/h', events: ['subscriber.created'] } })).status, 422);
    assert.ok(MAILERLITE_WEBHOOK_EVENTS.includes('subscriber.added_to_group'));

    assert.equal((await call(`/webhooks/${hook.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/webhooks/${hook.id}`)).status, 404);
    assert.equal((await call(`/webhooks/${hook.id}`, { method: 'DELETE' })).status, 404);
  });

  test('rate limit: 120 per minute (sliding), then 429 "Too Many Attempts." with Retry-After (unverified body)', async () => {
    const { clock, call, sandbox } = ml();
    const first = await call(`/subscribers/${ADA}`);
    assert.equal(first.headers.get('x-ratelimit-limit'), '120');
    assert.equal(first.headers.get('x-ratelimit-remaining'), '119');
    for (let i = 0; i < 59; i += 1) await call(`/subscribers/${ADA}`);
    clock.advance(30_000);
    for (let i = 0; i < 60; i += 1) assert.equal((await call(`/subscribers/${ADA}`)).status, 200);
    clock.advance(20_000); // 50 s after the first sixty
    const limited = await call(`/subscribers/${ADA}`);
    assert.equal(limited.status, 429);
    assert.deepEqual(await limited.json(), { message: 'Too Many Attempts.' });
    assert.equal(limited.headers.get('retry-after'), '10');
    assert.equal(limited.headers.get('x-ratelimit-limit'), '120');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    clock.advance(10_000); // the first sixty leave the window
    for (let i = 0; i < 60; i += 1) assert.equal((await call(`/subscribers/${ADA}`)).status, 200);
    assert.equal((await call(`/subscribers/${ADA}`)).status, 429, 'sliding, not a fixed window');
    assert.equal(sandbox.requests().filter((r) => r.rateLimited).length, 2);

    const perSecond = ml({ rateLimit: { perSecond: 2 } }); // perMinute stays 120
    assert.equal((await perSecond.call(`/subscribers/${ADA}`)).status, 200);
    assert.equal((await perSecond.call(`/subscribers/${ADA}`)).status, 200);
    assert.equal((await perSecond.call(`/subscribers/${ADA}`)).status, 429);

    const free = ml({ rateLimit: false });
    for (let i = 0; i < 130; i += 1) assert.equal((await free.call(`/subscribers/${ADA}`)).status, 200);
    assert.throws(() => createMailerLiteSandbox({ rateLimit: { burst: 10 } }), TypeError);
    assert.throws(() => createMailerLiteSandbox({ rateLimit: { perMinute: -1 } }), TypeError);
  });

  test('faults: before-phase changes nothing, after-phase commits then fails; injected 429 and delays', async () => {
    const timer = manualSleep();
    const { sandbox, call } = ml({ sleep: timer.sleep });
    sandbox.injectFaults([{ status: 500, match: { method: 'PUT' } }, { status: 429 }]);
    const throttled = await call(`/subscribers/${ADA}`);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '60');
    const failed = await call(`/subscribers/${ADA}`, { method: 'PUT', body: { fields: { name: 'Never' } } });
    assert.equal(failed.status, 500);
    assert.equal(sandbox.contact(ADA).fields.name, 'Ada');

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'POST', pathPrefix: '/api/subscribers/' } });
    const lost = await call(`/subscribers/${ADA}/groups/${WELCOME}`, { method: 'POST' });
    assert.equal(lost.status, 502);
    assert.ok(sandbox.contact(ADA).groups.some((g) => g.id === WELCOME), 'assigned although the answer was lost');

    sandbox.injectFaults({ delayMs: Infinity });
    const controller = new AbortController();
    const hung = sandbox.fetch(`${API}/subscribers/${ADA}`, { headers: AUTH, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting.length, 1);
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    assert.equal(sandbox.requests().at(-1).aborted, true);
    assert.throws(() => sandbox.injectFaults({ phase: 'before' }), TypeError);
    sandbox.injectFaults({ status: 503 });
    sandbox.clearFaults();
    assert.deepEqual(sandbox.pendingFaults(), []);
  });

  test('audit: password written before the Welcome group, one sequence, no secrets', async () => {
    const { sandbox, call } = ml();
    const password = 'S3cret-Pass-0001';
    await call('/subscribers/k.johnson%40example.net');
    await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { fields: { password } } });
    await call(`/subscribers/${KATHERINE}/groups/${WELCOME}`, { method: 'POST' });
    assert.deepEqual(sandbox.audit().map((e) => e.kind), ['request', 'request', 'field', 'request', 'tag']);
    assert.ok(sandbox.fieldWrites()[0].seq < sandbox.tagApplications()[0].seq);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(MAILERLITE_DEFAULT_TOKEN));
    assert.equal(sandbox.requests()[0].path, '/api/subscribers/k.johnson%40example.net');
  });

  test('helpers: deep copies, addContact, reset, seed replacement, unknown routes', async () => {
    const { sandbox, call } = ml();
    const copy = sandbox.contacts();
    assert.equal(copy.length, 4);
    copy[0].fields.name = 'Mutated';
    assert.equal(sandbox.contact(ADA).fields.name, 'Ada');
    assert.equal(sandbox.contact('ALAN@turing.example').id, ALAN);
    assert.equal(sandbox.contact('nobody@example.com'), undefined);

    const added = sandbox.addContact({ email: 'dorothy@example.com', fields: { name: 'Dorothy', password: 'x1' }, groups: ['Welcome'] });
    assert.match(added.id, /^[0-9]{17,19}$/);
    assert.equal(added.fields.password, 'x1');
    assert.deepEqual(added.groups.map((g) => g.id), [WELCOME]);
    assert.equal(sandbox.groups().length, 4);
    assert.equal(sandbox.tags().length, 4);
    assert.equal(sandbox.fields().length, 10);
    sandbox.injectFaults({ status: 500 });

    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.deepEqual(sandbox.audit(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.equal(sandbox.addContact({ email: 'again@example.com' }).id, added.id, 'ids repeat after reset');

    const custom = ml({ seed: { subscribers: [{ email: 'solo@example.com', groups: [GOLD] }], fields: [] } });
    assert.equal(custom.sandbox.contacts().length, 1);
    assert.equal(custom.sandbox.fields().length, 8, 'the default fields always exist');
    assert.throws(() => createMailerLiteSandbox({ seed: { subscribers: [{ id: 'abc', email: 'x@example.com' }] } }), TypeError);

    assert.equal((await call('/nothing-here')).status, 404);
    assert.equal((await call(`/subscribers/${ADA}`, { method: 'PATCH', body: {} })).status, 405);
    assert.equal((await call('/subscribers/%E0%A4%A')).status, 404);
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): over real HTTP under /api', async () => {
    const { sandbox } = ml();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${server.url}/api/subscribers/k.johnson%40example.net`, { headers: AUTH });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-limit'), '120');
      assert.equal((await res.json()).data.id, KATHERINE);
      const assigned = await fetch(`${server.url}/api/subscribers/${KATHERINE}/groups/${WELCOME}`, { method: 'POST', headers: AUTH });
      assert.equal(assigned.status, 200);
      assert.ok(sandbox.contact(KATHERINE).groups.some((g) => g.name === 'Welcome'));
      assert.equal((await fetch(`${server.url}/api/subscribers/${KATHERINE}`)).status, 401);
    } finally {
      await server.close();
    }
  });
});
