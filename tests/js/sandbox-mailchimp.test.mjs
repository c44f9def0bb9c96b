// Tests of the Mailchimp sandbox (js/sandbox/mailchimp.mjs).
// Run: node --test tests/js/sandbox-mailchimp.test.mjs. Nothing here waits on real time: the clock
// is injected and the concurrency tests hold requests with an injected sleep.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import {
  createMailchimpSandbox,
  MAILCHIMP_DEFAULT_API_KEY,
  MAILCHIMP_DEFAULT_LIST,
  subscriberHash,
} from '../../js/sandbox/mailchimp.mjs';

const BASE = 'https://us1.api.mailchimp.com/3.0';
const LIST = MAILCHIMP_DEFAULT_LIST;
const md5 = (s) => createHash('md5').update(s).digest('hex');
const ADA = md5('ada.lovelace@example.com'); // stored as Ada.Lovelace@Example.com, tag Gold Member
const GRACE = md5('grace.hopper@example.org'); // tags Gold Member + Newsletter, PASSWORD set
const ALAN = md5('alan.turing@example.net'); // no tags
const KATHERINE = md5('k.johnson@example.com'); // tag Newsletter

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

const basic = (user, key) => `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;
const AUTH = { Authorization: basic('memberwire', MAILCHIMP_DEFAULT_API_KEY) };

function mc(options = {}) {
  const clock = manualClock();
  const sandbox = createMailchimpSandbox({ now: clock.now, ...options });
  // `body` is sent as JSON, `rawBody` as is.
  const call = (path, { method = 'GET', body, rawBody, headers = {}, signal } = {}) =>
    sandbox.fetch(BASE + path, {
      method,
      signal,
      headers: { ...AUTH, 'Content-Type': 'application/json', ...headers },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  const member = (hash) => `/lists/${LIST}/members/${hash}`;
  const patch = (hash, body) => call(member(hash), { method: 'PATCH', body });
  const tag = (hash, tags) => call(`${member(hash)}/tags`, { method: 'POST', body: { tags } });
  return { sandbox, clock, call, member, patch, tag };
}

describe('Mailchimp sandbox', () => {
  test('auth: Basic (any user, key as password), Bearer, apikey (unverified legacy); 401 problem+json; key never logged', async () => {
    const { sandbox, call, member } = mc();
    const missing = await sandbox.fetch(`${BASE}${member(ADA)}`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type'), /^application\/problem\+json/);
    const mb = await missing.json();
    assert.deepEqual(Object.keys(mb), ['type', 'title', 'status', 'detail', 'instance']);
    assert.equal(mb.status, 401);
    assert.equal(mb.title, 'API Key Missing');

    const wrong = await call(member(ADA), { headers: { Authorization: basic('x', 'ffffffffffffffffffffffffffffffff-us1') } });
    assert.equal(wrong.status, 401);
    assert.equal((await wrong.json()).title, 'API Key Invalid');
    assert.equal((await call(member(ADA), { headers: { Authorization: basic('', MAILCHIMP_DEFAULT_API_KEY) } })).status, 200, 'an empty user name works');
    assert.equal((await call(member(ADA), { headers: { Authorization: `Bearer ${MAILCHIMP_DEFAULT_API_KEY}` } })).status, 200);
    assert.equal((await call(member(ADA), { headers: { Authorization: `apikey ${MAILCHIMP_DEFAULT_API_KEY}` } })).status, 200);
    assert.equal((await call(member(ADA), { headers: { Authorization: basic(MAILCHIMP_DEFAULT_API_KEY, 'x') } })).status, 401, 'the key is the password, not the user');

    const otherDc = await sandbox.fetch(`https://us7.api.mailchimp.com/3.0${member(ADA)}`, { headers: AUTH });
    assert.equal(otherDc.status, 401, 'a -us1 key sent to us7 is refused');
    assert.match((await otherDc.json()).detail, /wrong datacenter/);

    const log = JSON.stringify(sandbox.audit());
    assert.ok(!log.includes(MAILCHIMP_DEFAULT_API_KEY));
    assert.ok(!log.includes(AUTH.Authorization.slice(6)), 'nor its Basic encoding');
    assert.ok(!log.toLowerCase().includes('basic') && !log.toLowerCase().includes('bearer'));
    assert.deepEqual(sandbox.requests().map((r) => r.status), [401, 401, 200, 200, 200, 401, 401]);
  });

  test('GET member by subscriber hash (MD5 of the lower-cased email): id, email, names, tags, merge fields', async () => {
    const { call, member } = mc();
    const res = await call(member(GRACE));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-ratelimit-remaining'), null, 'no rate headers');
    const body = await res.json();
    assert.equal(body.id, GRACE);
    assert.equal(body.email_address, 'grace.hopper@example.org');
    assert.match(body.unique_email_id, /^[0-9a-f]{10}$/);
    assert.match(body.contact_id, /^[0-9a-f]{32}$/);
    assert.equal(typeof body.web_id, 'number');
    assert.equal(body.status, 'subscribed');
    assert.equal(body.list_id, LIST);
    assert.deepEqual(body.merge_fields, { FNAME: 'Grace', LNAME: 'Hopper', ADDRESS: '', PHONE: '', PASSWORD: 'Cobol-1959', SETPWLINK: '' });
    assert.deepEqual(body.tags, [{ id: 10101, name: 'Gold Member' }, { id: 10102, name: 'Newsletter' }]);
    assert.equal(body.tags_count, 2);
    assert.match(body.last_changed, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

    // A mixed-case address: the hash is of the lower-cased form; email_address keeps its case.
    const ada = await (await call(member(ADA))).json();
    assert.equal(ada.id, ADA);
    assert.equal(ada.email_address, 'Ada.Lovelace@Example.com');
    assert.equal(subscriberHash('Ada.Lovelace@Example.com'), ADA);
  });

  test('find by email: hash of the address, 404 Resource Not Found when absent; the hash of the un-lowered address misses', async () => {
    const { call, member } = mc();
    const absent = await call(member(md5('nobody@example.com')));
    assert.equal(absent.status, 404);
    assert.match(absent.headers.get('content-type'), /problem\+json/);
    const ab = await absent.json();
    assert.equal(ab.title, 'Resource Not Found');
    assert.equal(ab.status, 404);

    assert.equal((await call(member(md5('Ada.Lovelace@Example.com')))).status, 404, 'hashing without lower-casing finds nothing');
    assert.equal((await call(member(encodeURIComponent('ADA.LOVELACE@example.com')))).status, 200, 'the address itself is accepted too');
    assert.equal((await call(member('not-a-hash'))).status, 404);
    assert.equal((await call(`/lists/0000000000/members/${ADA}`)).status, 404, 'unknown audience');

    const slim = await (await call(`${member(ADA)}?fields=id,email_address,merge_fields.FNAME`)).json();
    assert.deepEqual(slim, { id: ADA, email_address: 'Ada.Lovelace@Example.com', merge_fields: { FNAME: 'Ada' } });
    const noStats = await (await call(`${member(ADA)}?exclude_fields=stats,location,merge_fields.PHONE`)).json();
    assert.equal(noStats.stats, undefined);
    assert.equal(noStats.merge_fields.PHONE, undefined);
    assert.equal(noStats.merge_fields.FNAME, 'Ada');
    assert.equal((await call(`${member(ADA)}?fields=id&exclude_fields=stats`)).status, 400, 'mutually exclusive (400 unverified)');
  });

  test('PATCH merge_fields: writes PASSWORD and SETPWLINK; state and fieldWrites show it, values never logged', async () => {
    const { sandbox, patch } = mc();
    const password = 'S3cret-Pass-0001';
    const link = 'https://members.example.com/set-password?key=abc123';
    const res = await patch(ALAN, { merge_fields: { PASSWORD: password, setpwlink: link } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.merge_fields.PASSWORD, password);
    assert.equal(body.merge_fields.SETPWLINK, link, 'merge tags match case-insensitively (unverified)');
    assert.equal(sandbox.contact(ALAN).merge_fields.PASSWORD, password);
    assert.deepEqual(sandbox.fieldWrites().map((w) => [w.contactId, w.fieldId, w.length, w.truncated]), [
      [ALAN, 'PASSWORD', password.length, false],
      [ALAN, 'SETPWLINK', link.length, false],
    ]);
    const log = JSON.stringify(sandbox.audit());
    assert.ok(!log.includes(password) && !log.includes('abc123'));

    assert.equal((await patch(ALAN, { merge_fields: { SETPWLINK: '' } })).status, 200);
    assert.equal(sandbox.contact(ALAN).merge_fields.SETPWLINK, '');
  });

  test('text merge fields hold 255 bytes: longer values are truncated (at a character boundary, unverified), not refused', async () => {
    const { sandbox, patch } = mc();
    const link = `https://members.example.com/set-password?key=${'k'.repeat(300)}`;
    const res = await patch(GRACE, { merge_fields: { SETPWLINK: link } });
    assert.equal(res.status, 200);
    const stored = (await res.json()).merge_fields.SETPWLINK;
    assert.equal(stored, link.slice(0, 255), 'a silently cut link: clients must check the length first');
    assert.equal(sandbox.fieldWrites()[0].truncated, true);

    const wide = 'é'.repeat(200); // 400 bytes
    await patch(GRACE, { merge_fields: { PASSWORD: wide } });
    const cut = sandbox.contact(GRACE).merge_fields.PASSWORD;
    assert.equal(Buffer.byteLength(cut), 254);
    assert.equal(cut, 'é'.repeat(127));
    assert.equal(sandbox.fieldWrites()[1].length, 254);
  });

  test('PATCH validation: unknown merge tag (unverified 400), wrong types, bad JSON, unknown member, email change re-keys', async () => {
    const { sandbox, patch, call, member } = mc();
    const unknown = await patch(ALAN, { merge_fields: { FNAME: 'Changed', PASWORD: 'x' } });
    assert.equal(unknown.status, 400);
    const ub = await unknown.json();
    assert.equal(ub.title, 'Invalid Resource');
    assert.deepEqual(ub.errors.map((e) => e.field), ['PASWORD']);
    assert.equal(sandbox.contact(ALAN).merge_fields.FNAME, 'Alan', 'a rejected PATCH changes nothing');

    assert.equal((await patch(ALAN, { merge_fields: { PASSWORD: { x: 1 } } })).status, 400);
    assert.equal((await patch(ALAN, { merge_fields: ['x'] })).status, 400);
    const parse = await call(member(ALAN), { method: 'PATCH', rawBody: '{"merge_fields": ' });
    assert.equal(parse.status, 400);
    assert.equal((await parse.json()).title, 'JSON Parse Exception');
    assert.equal((await patch(md5('nobody@example.com'), { merge_fields: { FNAME: 'x' } })).status, 404);
    assert.equal((await patch(ALAN, { status: 'gone' })).status, 400);
    assert.equal((await patch(ALAN, { email_address: 'alan@@example' })).status, 400);
    assert.equal((await patch(ALAN, { email_address: 'grace.hopper@example.org' })).status, 400, 'another member has it');

    const before = sandbox.contact(ALAN);
    const moved = await (await patch(ALAN, { email_address: 'Alan.Turing@Example.org' })).json();
    assert.equal(moved.id, md5('alan.turing@example.org'), 'the id follows the new address');
    assert.notEqual(moved.unique_email_id, before.unique_email_id, 'unverified: unique_email_id changes with the address');
    assert.equal(moved.web_id, before.web_id, 'web_id stays');
    assert.equal(moved.contact_id, before.contact_id, 'contact_id stays');
    assert.equal((await call(member(ALAN))).status, 404, 'the old hash no longer finds the member');
  });

  test('tags: POST .../tags answers 204 (status unverified) with no body; active adds, inactive removes, new names create tags (unverified)', async () => {
    const { sandbox, tag, call, member } = mc();
    const res = await tag(ALAN, [{ name: 'Welcome', status: 'active' }]);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    assert.deepEqual(sandbox.contact(ALAN).tags, [{ id: 10103, name: 'Welcome' }]);

    const listed = await (await call(`${member(ALAN)}/tags`)).json();
    assert.deepEqual(listed.tags.map((t) => [t.id, t.name]), [[10103, 'Welcome']]);
    assert.match(listed.tags[0].date_added, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(listed.total_items, 1);

    assert.equal((await tag(ALAN, [{ name: 'Welcome', status: 'active' }])).status, 204, 'applying twice is fine');
    assert.equal((await tag(ALAN, [{ name: 'Course Buyer', status: 'active' }, { name: 'Welcome', status: 'inactive' }])).status, 204);
    assert.deepEqual(sandbox.contact(ALAN).tags.map((t) => t.name), ['Course Buyer'], 'unverified: an unknown name creates the tag');
    assert.deepEqual(sandbox.tagApplications().map((a) => [a.action, a.tagName, a.duplicate ?? a.wasApplied]), [
      ['apply', 'Welcome', false],
      ['apply', 'Welcome', true],
      ['apply', 'Course Buyer', false],
      ['remove', 'Welcome', true],
    ]);

    for (const bad of [[{ name: 'Welcome' }], [{ name: '', status: 'active' }], [{ name: 'Welcome', status: 'on' }], [{ name: 'x'.repeat(101), status: 'active' }]]) {
      const r = await tag(ALAN, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal((await r.json()).title, 'Invalid Resource');
    }
    assert.equal((await call(`${member(ALAN)}/tags`, { method: 'POST', body: { tags: 'Welcome' } })).status, 400);
    assert.equal((await tag(md5('nobody@example.com'), [{ name: 'Welcome', status: 'active' }])).status, 404);
  });

  test('list tags (tag-search, static segments) and merge fields (default count 10)', async () => {
    const { sandbox, call } = mc();
    const search = await (await call(`/lists/${LIST}/tag-search?name=gold`)).json();
    assert.deepEqual(search, { tags: [{ id: 10101, name: 'Gold Member' }], total_items: 1 });
    const all = await (await call(`/lists/${LIST}/tag-search`)).json();
    assert.deepEqual(all.tags.map((t) => t.name), ['Gold Member', 'Newsletter', 'Welcome']);

    const segments = await (await call(`/lists/${LIST}/segments?type=static`)).json();
    assert.deepEqual(segments.segments.map((s) => [s.id, s.name, s.type, s.member_count]), [
      [10101, 'Gold Member', 'static', 2],
      [10102, 'Newsletter', 'static', 2],
      [10103, 'Welcome', 'static', 0],
    ]);
    assert.equal(segments.total_items, 3);
    assert.equal((await (await call(`/lists/${LIST}/segments?type=saved`)).json()).total_items, 0);
    assert.equal((await call(`/lists/${LIST}/segments?type=weird`)).status, 400);

    const fields = await (await call(`/lists/${LIST}/merge-fields`)).json();
    assert.deepEqual(fields.merge_fields.map((f) => [f.tag, f.type]), [
      ['FNAME', 'text'], ['LNAME', 'text'], ['ADDRESS', 'address'], ['PHONE', 'phone'], ['PASSWORD', 'text'], ['SETPWLINK', 'text'],
    ]);
    assert.equal(fields.total_items, 6);
    assert.equal(sandbox.fields().length, 6);
    const page = await (await call(`/lists/${LIST}/merge-fields?count=2&offset=4`)).json();
    assert.deepEqual(page.merge_fields.map((f) => f.tag), ['PASSWORD', 'SETPWLINK']);
    assert.equal((await call(`/lists/${LIST}/merge-fields?count=1001`)).status, 400);
    assert.equal((await call('/lists/0000000000/merge-fields')).status, 404);

    const lists = await (await call('/lists')).json();
    assert.equal(lists.lists[0].id, LIST);
    assert.equal((await (await call('/ping')).json()).health_status, "Everything's Chimpy!");
  });

  test('limit: at most 10 requests in flight; the 11th gets 429 TooManyRequests without rate headers', async () => {
    const timer = manualSleep();
    const { sandbox, call, member } = mc({ sleep: timer.sleep });
    sandbox.injectFaults(Array.from({ length: 10 }, () => ({ delayMs: 2_000 })));
    const held = Array.from({ length: 10 }, () => call(member(ADA)));
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting.length, 10);
    assert.equal(sandbox.inFlight(), 10);

    const over = await call(member(ADA));
    assert.equal(over.status, 429);
    assert.match(over.headers.get('content-type'), /problem\+json/);
    assert.equal(over.headers.get('retry-after'), null);
    assert.equal([...over.headers.keys()].filter((h) => h.includes('ratelimit')).length, 0);
    const ob = await over.json();
    assert.equal(ob.title, 'Too Many Requests');
    assert.match(ob.detail, /10 simultaneous connections/);
    assert.equal(sandbox.requests().at(-1).rateLimited, true);

    timer.wakeAll();
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), Array(10).fill(200));
    assert.equal(sandbox.inFlight(), 0);
    assert.equal((await call(member(ADA))).status, 200, 'free again once the others finished');

    const small = mc({ sleep: timer.sleep, rateLimit: { maxConcurrent: 1 } });
    small.sandbox.injectFaults({ delayMs: 10 });
    const one = small.call(small.member(ADA));
    await new Promise((r) => setImmediate(r));
    assert.equal((await small.call(small.member(ADA))).status, 429);
    timer.wakeAll();
    assert.equal((await one).status, 200);

    const free = mc({ sleep: timer.sleep, rateLimit: false });
    free.sandbox.injectFaults(Array.from({ length: 12 }, () => ({ delayMs: 5 })));
    const many = Array.from({ length: 12 }, () => free.call(free.member(ADA)));
    await new Promise((r) => setImmediate(r));
    timer.wakeAll();
    assert.deepEqual((await Promise.all(many)).map((r) => r.status), Array(12).fill(200));
  });

  test('faults: before-phase changes nothing, after-phase commits then fails; 429/403 without a body; aborts end holds', async () => {
    const timer = manualSleep();
    const { sandbox, patch, tag, call, member } = mc({ sleep: timer.sleep });
    sandbox.injectFaults([{ status: 500, match: { method: 'PATCH' } }, { status: 429 }]);
    const throttled = await call(member(ADA));
    assert.equal(throttled.status, 429);
    assert.equal((await throttled.json()).title, 'Too Many Requests');
    assert.equal((await patch(ADA, { merge_fields: { FNAME: 'Never' } })).status, 500);
    assert.equal(sandbox.contact(ADA).merge_fields.FNAME, 'Ada');

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'POST', pathPrefix: `/3.0/lists/${LIST}/members/` } });
    assert.equal((await tag(ADA, [{ name: 'Welcome', status: 'active' }])).status, 502);
    assert.ok(sandbox.contact(ADA).tags.some((t) => t.name === 'Welcome'), 'tagged although the answer was lost');

    sandbox.injectFaults({ status: 403, body: '' });
    const bare = await call(member(ADA));
    assert.equal(bare.status, 403);
    assert.equal(await bare.text(), '', '"an HTTP 429 or 403 without a JSON body" at high volumes');

    sandbox.injectFaults({ delayMs: Infinity });
    const controller = new AbortController();
    const hung = call(member(ADA), { signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    assert.equal(sandbox.requests().at(-1).aborted, true);
    assert.equal(sandbox.inFlight(), 0, 'an aborted request frees its connection');
    assert.throws(() => sandbox.injectFaults({ phase: 'before' }), TypeError);
  });

  test('audit: PASSWORD written before the Welcome tag, one sequence, no secrets', async () => {
    const { sandbox, patch, tag } = mc();
    const password = 'Welcome-Pass-77';
    await patch(KATHERINE, { merge_fields: { PASSWORD: password } });
    await tag(KATHERINE, [{ name: 'Welcome', status: 'active' }]);
    const write = sandbox.fieldWrites()[0];
    const welcome = sandbox.tagApplications()[0];
    assert.equal(write.contactId, KATHERINE);
    assert.equal(welcome.contactId, KATHERINE);
    assert.ok(write.seq < welcome.seq);
    assert.deepEqual(sandbox.audit().map((e) => e.kind), ['request', 'field', 'request', 'tag']);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(MAILCHIMP_DEFAULT_API_KEY));
  });

  test('helpers: deep copies, contact by hash/email/contact_id/web_id, addContact, addTag, reset, seed, unknown routes', async () => {
    const { sandbox, call } = mc();
    const copy = sandbox.contacts();
    assert.deepEqual(copy.map((m) => m.id), [ADA, GRACE, ALAN, KATHERINE]);
    copy[0].merge_fields.FNAME = 'Mutated';
    assert.equal(sandbox.contact(ADA).merge_fields.FNAME, 'Ada');
    const grace = sandbox.contact('GRACE.hopper@example.org');
    assert.equal(sandbox.contact(grace.contact_id).id, GRACE);
    assert.equal(sandbox.contact(grace.web_id).id, GRACE);
    assert.equal(sandbox.contact('nobody@example.com'), undefined);

    const vip = sandbox.addTag({ name: 'VIP' });
    const added = sandbox.addContact({ email: 'Dorothy@Example.com', merge_fields: { FNAME: 'Dorothy', PASSWORD: 'x1' }, tags: ['VIP'] });
    assert.equal(added.id, md5('dorothy@example.com'));
    assert.deepEqual(added.tags, [vip]);
    assert.ok(sandbox.tags().some((s) => s.name === 'VIP' && s.member_count === 1));
    assert.equal(sandbox.listId(), LIST);
    assert.equal(sandbox.dc, 'us1');

    await call('/ping');
    sandbox.injectFaults({ status: 500 });
    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.deepEqual(sandbox.audit(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);

    const custom = mc({ seed: { members: [{ email_address: 'solo@example.com', tags: ['Welcome'] }] } });
    assert.deepEqual(custom.sandbox.contacts().map((m) => m.email_address), ['solo@example.com']);
    assert.equal(custom.sandbox.tags().length, 3, 'tags keep the default seed');
    assert.throws(() => createMailchimpSandbox({ apiKey: 'no-datacenter' }), TypeError);

    const nowhere = await call('/nothing-here');
    assert.equal(nowhere.status, 404);
    assert.equal((await nowhere.json()).title, 'Resource Not Found');
    const method = await call(`/lists/${LIST}/members/${ADA}`, { method: 'DELETE' });
    assert.equal(method.status, 405);
    assert.equal((await method.json()).title, 'Method Not Allowed');
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): the same sandbox over real HTTP, API base = url + /3.0', async () => {
    const { sandbox } = mc();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${server.url}/3.0/lists/${LIST}/members/${KATHERINE}`, { headers: AUTH });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).email_address, 'k.johnson@example.com');
      const tagged = await fetch(`${server.url}/3.0/lists/${LIST}/members/${KATHERINE}/tags`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({ tags: [{ name: 'Welcome', status: 'active' }] }),
      });
      assert.equal(tagged.status, 204);
      assert.ok(sandbox.contact(KATHERINE).tags.some((t) => t.name === 'Welcome'));
      assert.equal((await fetch(`${server.url}/3.0/lists/${LIST}/members/${KATHERINE}`)).status, 401);
    } finally {
      await server.close();
    }
  });
});
