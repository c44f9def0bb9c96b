// Tests of the Drip (REST API v2) sandbox in js/sandbox/drip.mjs. Run: node --test tests/js/sandbox-drip.test.mjs
// Every test uses an injected clock, so nothing here waits on real time.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { createDripSandbox, DRIP_DEFAULT_TOKEN, DRIP_DEFAULT_ACCOUNT, DRIP_DEFAULT_ACCESS_TOKEN } from '../../js/sandbox/drip.mjs';

const DRIP = `https://api.getdrip.com/v2/${DRIP_DEFAULT_ACCOUNT}`;
const BASIC = `Basic ${Buffer.from(`${DRIP_DEFAULT_TOKEN}:`).toString('base64')}`;
const UA = 'memberwire-test (members.example.com)';
const ADA = 'z1togz2hcjrkpp5treip';
const GRACE = 'q8m3vx0dl5nhs2kbwa7e';
const ALAN = 'c4ry9pu6ebt1oz3jxk2m'; // unsubscribed
const KATHERINE = 'h7wf2ka5nq0gl8cdvz4s';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A sleep that resolves only when the test says so (or rejects on abort). */
function manualSleep() {
  const waiting = [];
  const sleep = (ms, signal) =>
    new Promise((resolve, reject) => {
      waiting.push({ ms, resolve });
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { sleep, waiting, wakeAll: () => waiting.splice(0).forEach((w) => w.resolve()) };
}

function drip(options = {}) {
  const clock = manualClock();
  const sandbox = createDripSandbox({ now: clock.now, ...options });
  // `body` is sent as JSON, `rawBody` as is; `headers` override the defaults (null drops one).
  const call = (path, { method = 'GET', body, rawBody, headers = {} } = {}) => {
    const h = { Authorization: BASIC, 'User-Agent': UA, 'Content-Type': 'application/json', ...headers };
    for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
    return sandbox.fetch(DRIP + path, { method, headers: h, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
  };
  const getJson = async (path, opts) => {
    const res = await call(path, opts);
    return { status: res.status, body: res.status === 204 ? null : await res.json(), headers: res.headers };
  };
  return { sandbox, clock, call, getJson };
}

describe('Drip sandbox', () => {
  test('auth: Basic with the token as user name and an empty password, or Bearer (OAuth); 401 otherwise; never logged', async () => {
    const { sandbox, call } = drip();
    const anonymous = await call(`/subscribers/${ADA}`, { headers: { Authorization: null } });
    assert.equal(anonymous.status, 401);
    const body = await anonymous.json();
    assert.equal(body.errors.length, 1);
    assert.equal(typeof body.errors[0].code, 'string');

    const withPassword = `Basic ${Buffer.from(`${DRIP_DEFAULT_TOKEN}:x`).toString('base64')}`;
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { Authorization: withPassword } })).status, 401, 'the password must be empty');
    const wrong = `Basic ${Buffer.from('not-the-token:').toString('base64')}`;
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { Authorization: wrong } })).status, 401);
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { Authorization: `Bearer ${DRIP_DEFAULT_TOKEN}` } })).status, 401, 'the API token is not a bearer token');
    assert.equal((await call(`/subscribers/${ADA}`, { headers: { Authorization: `Bearer ${DRIP_DEFAULT_ACCESS_TOKEN}` } })).status, 200);
    assert.equal((await call(`/subscribers/${ADA}`)).status, 200);

    const log = JSON.stringify(sandbox.audit());
    for (const secret of [DRIP_DEFAULT_TOKEN, DRIP_DEFAULT_ACCESS_TOKEN, BASIC.slice(6), withPassword.slice(6), 'not-the-token']) {
      assert.ok(!log.includes(secret), 'credentials must not reach the audit log');
    }
    assert.deepEqual(sandbox.requests().map((r) => r.status), [401, 401, 401, 401, 200, 200]);
  });

  test('a request without a User-Agent is refused (unverified), and another account id is 403 (unverified)', async () => {
    const { call } = drip();
    const noAgent = await call(`/subscribers/${ADA}`, { headers: { 'User-Agent': null } });
    assert.equal(noAgent.status, 400);
    assert.match((await noAgent.json()).errors[0].message, /User-Agent/);
    const lax = drip({ requireUserAgent: false });
    assert.equal((await lax.call(`/subscribers/${ADA}`, { headers: { 'User-Agent': null } })).status, 200);

    const other = await drip().sandbox.fetch(`https://api.getdrip.com/v2/1234567/tags`, { headers: { Authorization: BASIC, 'User-Agent': UA } });
    assert.equal(other.status, 403);
    assert.equal((await other.json()).errors[0].code, 'authorization_error');
  });

  test('GET /subscribers/{id_or_email}: one-element `subscribers` array, tags as names, custom_fields object, 404 shape', async () => {
    const { getJson } = drip();
    const { status, body } = await getJson(`/subscribers/${ADA}`);
    assert.equal(status, 200);
    assert.deepEqual(body.links, { 'subscribers.account': 'https://api.getdrip.com/v2/accounts/{subscribers.account}' });
    assert.equal(body.subscribers.length, 1);
    const ada = body.subscribers[0];
    assert.deepEqual(
      { id: ada.id, status: ada.status, email: ada.email, first_name: ada.first_name, last_name: ada.last_name, tags: ada.tags, custom_fields: ada.custom_fields },
      { id: ADA, status: 'active', email: 'ada.lovelace@example.com', first_name: 'Ada', last_name: 'Lovelace', tags: ['Gold Member', 'Newsletter'], custom_fields: { password: 'Analytical-1843' } },
    );
    assert.equal(ada.created_at, '2023-11-14T22:13:20Z');
    assert.equal(ada.href, `${DRIP}/subscribers/${ADA}`);
    assert.deepEqual(ada.links, { account: DRIP_DEFAULT_ACCOUNT });

    const byEmail = (await getJson('/subscribers/grace.hopper%40example.com')).body.subscribers[0];
    assert.equal(byEmail.id, GRACE, 'email lookup ignores case (unverified)');
    assert.equal(byEmail.email, 'Grace.Hopper@Example.COM');
    const rawAt = (await getJson('/subscribers/k.johnson@example.net')).body.subscribers[0];
    assert.equal(rawAt.id, KATHERINE);
    assert.equal(rawAt.first_name, null);
    const alan = (await getJson(`/subscribers/${ALAN}`)).body.subscribers[0];
    assert.equal(alan.status, 'unsubscribed', 'fetching by id works for unsubscribed people');

    const missing = await getJson('/subscribers/nobody%40example.com');
    assert.deepEqual(missing.body, { errors: [{ code: 'not_found_error', message: 'The resource you requested was not found' }] });
    assert.equal(missing.status, 404);
    assert.equal((await getJson('/subscribers/zzzzzzzzzzzzzzzzzzzz')).status, 404);
  });

  test('GET /subscribers: status defaults to active, tags filter, page/per_page with meta', async () => {
    const { getJson } = drip();
    const active = (await getJson('/subscribers')).body;
    assert.deepEqual(active.subscribers.map((s) => s.id), [ADA, GRACE, KATHERINE]);
    assert.deepEqual(active.meta, { page: 1, count: 3, total_pages: 1, total_count: 3 });
    const all = (await getJson('/subscribers?status=all&per_page=2&page=2')).body;
    assert.deepEqual(all.subscribers.map((s) => s.id), [ALAN, KATHERINE]);
    assert.deepEqual(all.meta, { page: 2, count: 2, total_pages: 2, total_count: 4 });
    const tagged = (await getJson('/subscribers?status=all&tags=newsletter')).body;
    assert.deepEqual(tagged.subscribers.map((s) => s.id), [ADA, ALAN]);
    assert.equal((await getJson('/subscribers?per_page=1001')).status, 422);
    assert.equal((await getJson('/subscribers?status=sleeping')).status, 422);
  });

  test('POST /subscribers by id writes a custom field: answer, state and field log (no value)', async () => {
    const { sandbox, getJson } = drip();
    const link = 'https://members.example.com/set-password?key=Qx7&login=grace';
    const res = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, custom_fields: { set_password_link: link } }] } });
    assert.equal(res.status, 200, 'update answers 200 (unverified)');
    assert.equal(res.body.subscribers.length, 1);
    assert.equal(res.body.subscribers[0].custom_fields.set_password_link, link);
    assert.equal(res.body.subscribers[0].first_name, 'Grace', 'fields not sent are kept');
    assert.equal(sandbox.contact(GRACE).custom_fields.set_password_link, link);
    assert.deepEqual(
      sandbox.fieldWrites().map(({ contactId, fieldId, label, length, truncated }) => ({ contactId, fieldId, label, length, truncated })),
      [{ contactId: GRACE, fieldId: 'set_password_link', label: 'set_password_link', length: link.length, truncated: false }],
    );
    assert.ok(!JSON.stringify(sandbox.audit()).includes('Qx7'));

    const byEmail = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ email: 'ADA.LOVELACE@example.com', custom_fields: { password: null }, last_name: 'King' }] } });
    assert.equal(byEmail.status, 200);
    assert.equal(byEmail.body.subscribers[0].id, ADA);
    assert.deepEqual(byEmail.body.subscribers[0].custom_fields, {}, 'null clears a value (unverified)');
    assert.equal(sandbox.contact(ADA).last_name, 'King');
    assert.equal(sandbox.contact(ADA).email, 'ada.lovelace@example.com', 'lookup by email does not rewrite it');

    const renamed = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ email: 'k.johnson@example.net', new_email: 'katherine.johnson@example.net' }] } });
    assert.equal(renamed.body.subscribers[0].id, KATHERINE);
    assert.equal(sandbox.contact(KATHERINE).email, 'katherine.johnson@example.net');
  });

  test('POST /subscribers with an unknown email creates a subscriber with a Drip-style id (201, unverified status)', async () => {
    const { sandbox, getJson } = drip();
    const res = await getJson('/subscribers', {
      method: 'POST',
      body: { subscribers: [{ email: 'mary.jackson@example.com', first_name: 'Mary', last_name: 'Jackson', tags: ['Welcome'], custom_fields: { plan: 'gold' } }] },
    });
    assert.equal(res.status, 201);
    const mary = res.body.subscribers[0];
    assert.match(mary.id, /^[0-9a-z]{20}$/);
    assert.deepEqual(mary.tags, ['Welcome']);
    assert.deepEqual(sandbox.fields(), ['password', 'set_password_link', 'plan'], 'a new identifier is created on first use (unverified)');
    assert.equal(sandbox.tagApplications().at(-1).tagName, 'Welcome');
    assert.equal(sandbox.contacts().length, 5);
  });

  test('POST /subscribers validation: 422 in Drip’s errors shape, 404 for an unknown id; nothing changes', async () => {
    const { sandbox, getJson, call } = drip();
    const noId = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ first_name: 'Nobody' }] } });
    assert.equal(noId.status, 422);
    assert.deepEqual(noId.body, { errors: [{ code: 'presence_error', attribute: 'email', message: 'Email is required' }] });
    const badEmail = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ email: 'gina@@example' }] } });
    assert.equal(badEmail.status, 422);
    assert.equal(badEmail.body.errors[0].code, 'email_error');
    const tooLong = 'p'.repeat(256);
    const long = await call('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, first_name: 'Changed', custom_fields: { password: tooLong } }] } });
    assert.equal(long.status, 422);
    const longText = await long.text();
    assert.equal(JSON.parse(longText).errors[0].code, 'length_error');
    assert.ok(!longText.includes(tooLong), 'the error does not echo the value');
    assert.equal((await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, custom_fields: { 'Set Password Link': 'x' } }] } })).status, 422, 'identifiers, not labels (unverified)');
    assert.equal((await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, custom_fields: { password: { a: 1 } } }] } })).status, 422);
    assert.equal((await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, tags: 'Welcome' }] } })).status, 422);
    assert.equal((await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE }, { id: ADA }] } })).status, 422, 'one subscriber per request (unverified)');
    assert.equal((await getJson('/subscribers', { method: 'POST', body: { subscribers: [] } })).status, 422);
    assert.equal((await getJson('/subscribers', { method: 'POST', body: { subscriber: { id: GRACE } } })).status, 422);
    const taken = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, email: 'ada.lovelace@example.com' }] } });
    assert.equal(taken.body.errors[0].code, 'uniqueness_error');
    const unknown = await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: 'zzzzzzzzzzzzzzzzzzzz', custom_fields: { password: 'x' } }] } });
    assert.equal(unknown.status, 404);
    assert.equal((await call('/subscribers', { method: 'POST', rawBody: '{"subscribers": [' })).status, 400);
    assert.equal((await call('/subscribers', { method: 'POST', rawBody: '[{"email": "a@example.com"}]' })).status, 400);

    assert.equal(sandbox.contact(GRACE).first_name, 'Grace');
    assert.deepEqual(sandbox.contact(GRACE).custom_fields, {});
    assert.equal(sandbox.contacts().length, 4);
    assert.equal(sandbox.fieldWrites().length, 0);
  });

  test('POST /tags {"tags": [{"email", "tag"}]} answers 201 {} and the tag shows in state and the tag log', async () => {
    const { sandbox, getJson } = drip();
    const res = await getJson('/tags', { method: 'POST', body: { tags: [{ email: 'grace.hopper@example.com', tag: 'Welcome' }] } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, {});
    assert.deepEqual(sandbox.contact(GRACE).tags, ['Welcome']);
    const again = await getJson('/tags', { method: 'POST', body: { tags: [{ email: 'Grace.Hopper@Example.COM', tag: 'welcome' }] } });
    assert.equal(again.status, 201);
    assert.deepEqual(sandbox.contact(GRACE).tags, ['Welcome'], 'tag names match ignoring case (unverified)');
    assert.deepEqual(
      sandbox.tagApplications().map((e) => [e.action, e.contactId, e.tagId, e.tagName, e.duplicate]),
      [
        ['apply', GRACE, 'Welcome', 'Welcome', false],
        ['apply', GRACE, 'Welcome', 'Welcome', true],
      ],
    );
  });

  test('POST /tags errors: missing or bad email, missing tag; a subscriber_id instead of email is refused (unverified)', async () => {
    const { sandbox, getJson } = drip();
    const bySubscriberId = await getJson('/tags', { method: 'POST', body: { tags: [{ subscriber_id: GRACE, tag: 'Welcome' }] } });
    assert.equal(bySubscriberId.status, 422);
    assert.deepEqual(bySubscriberId.body, { errors: [{ code: 'presence_error', attribute: 'email', message: 'Email is required' }] });
    assert.equal((await getJson('/tags', { method: 'POST', body: { tags: [{ email: 'grace@@example', tag: 'Welcome' }] } })).body.errors[0].code, 'email_error');
    assert.equal((await getJson('/tags', { method: 'POST', body: { tags: [{ email: 'grace.hopper@example.com' }] } })).body.errors[0].attribute, 'tag');
    assert.equal((await getJson('/tags', { method: 'POST', body: { tags: [] } })).status, 422);
    const mixed = await getJson('/tags', { method: 'POST', body: { tags: [{ email: 'grace.hopper@example.com', tag: 'Welcome' }, { email: 'bad', tag: 'Welcome' }] } });
    assert.equal(mixed.status, 422);
    assert.deepEqual(sandbox.contact(GRACE).tags, [], 'a rejected request applies nothing');
    assert.equal(sandbox.tagApplications().length, 0);
  });

  test('POST /tags for an unknown email creates the subscriber (unverified)', async () => {
    const { sandbox, getJson } = drip();
    assert.equal((await getJson('/tags', { method: 'POST', body: { tags: [{ email: 'new.person@example.org', tag: 'Gold Member' }] } })).status, 201);
    const created = sandbox.contact('new.person@example.org');
    assert.deepEqual(created.tags, ['Gold Member']);
    assert.equal(sandbox.tagApplications()[0].createdSubscriber, true);
  });

  test('DELETE /subscribers/{id_or_email}/tags/{tag} answers 204; tags via POST /subscribers tags/remove_tags', async () => {
    const { sandbox, call, getJson } = drip();
    assert.equal((await call(`/subscribers/${ADA}/tags/Gold%20Member`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(sandbox.contact(ADA).tags, ['Newsletter']);
    assert.equal((await call('/subscribers/nobody%40example.com/tags/Welcome', { method: 'DELETE' })).status, 404);
    await getJson('/subscribers', { method: 'POST', body: { subscribers: [{ id: ADA, tags: ['Welcome'], remove_tags: ['Newsletter'] }] } });
    assert.deepEqual(sandbox.contact(ADA).tags, ['Welcome']);
    assert.deepEqual(sandbox.tagApplications().map((e) => [e.action, e.tagName]), [
      ['remove', 'Gold Member'],
      ['apply', 'Welcome'],
      ['remove', 'Newsletter'],
    ]);
  });

  test('GET /tags lists names; GET /custom_field_identifiers lists identifiers', async () => {
    const { getJson, sandbox } = drip();
    assert.deepEqual((await getJson('/tags')).body, { tags: ['Gold Member', 'Newsletter', 'Welcome'] });
    assert.deepEqual((await getJson('/custom_field_identifiers')).body, { custom_field_identifiers: ['password', 'set_password_link'] });
    sandbox.addTag('VIP');
    assert.deepEqual((await getJson('/tags')).body.tags, ['Gold Member', 'Newsletter', 'Welcome', 'VIP']);
  });

  test('webhooks: create (201, one-element array), list, delete', async () => {
    const { getJson, call, sandbox } = drip();
    const created = await getJson('/webhooks', {
      method: 'POST',
      body: { webhooks: [{ post_url: 'https://members.example.com/hooks/drip', events: ['subscriber.applied_tag', 'subscriber.created'] }] },
    });
    assert.equal(created.status, 201);
    const hook = created.body.webhooks[0];
    assert.deepEqual(hook.events, ['subscriber.applied_tag', 'subscriber.created']);
    assert.equal(hook.include_received_email, false);
    assert.equal(typeof hook.id, 'string');
    assert.equal((await getJson('/webhooks')).body.webhooks.length, 1);
    assert.equal((await getJson('/webhooks', { method: 'POST', body: { webhooks: [{ post_url: 'not a url' }] } })).status, 422);
    assert.equal((await call(`/webhooks/${hook.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/webhooks/${hook.id}`, { method: 'DELETE' })).status, 404);
    assert.deepEqual(sandbox.webhooks(), []);
  });

  test('rate limit: 3,600 per sliding hour per account, X-RateLimit-* headers, 429 JSON body', async () => {
    const { clock, call, sandbox } = drip();
    const first = await call('/tags');
    assert.equal(first.headers.get('x-ratelimit-limit'), '3600');
    assert.equal(first.headers.get('x-ratelimit-remaining'), '3599');
    clock.advance(30 * 60_000);
    for (let i = 1; i < 3600; i += 1) {
      const res = await call('/tags');
      if (res.status !== 200) assert.fail(`request ${i} answered ${res.status}`);
    }
    const limited = await call('/tags');
    assert.equal(limited.status, 429);
    assert.deepEqual(await limited.json(), {
      message: 'API rate limit exceeded. Please try again in an hour.',
      documentation: 'https://www.getdrip.com/docs/rest-api#rate-limting',
    });
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    clock.advance(30 * 60_000); // the first request left the window; the other 3,599 remain
    const again = await call('/tags');
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-ratelimit-remaining'), '0');
    assert.equal((await call('/tags')).status, 429, 'sliding, not a fixed hour');
    assert.equal(sandbox.requests().filter((r) => r.rateLimited).length, 2);
  });

  test('rate limit options: false, a small hourly limit, and second/minute windows on top', async () => {
    const free = drip({ rateLimit: false });
    const res = await free.call('/tags');
    assert.equal(res.headers.get('x-ratelimit-limit'), null);
    const small = drip({ rateLimit: { perHour: 2 } });
    await small.call('/tags');
    await small.call('/tags');
    assert.equal((await small.call('/tags')).status, 429);
    small.clock.advance(3_600_000);
    assert.equal((await small.call('/tags')).status, 200);
    const burst = drip({ rateLimit: { perSecond: 2 } }); // perHour stays 3600
    await burst.call('/tags');
    await burst.call('/tags');
    assert.equal((await burst.call('/tags')).status, 429);
    burst.clock.advance(1000);
    const ok = await burst.call('/tags');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ratelimit-remaining'), '3597', 'a refused request does not count');
  });

  test('faults: injected 429 looks like Drip’s; before-phase changes nothing; after-phase commits', async () => {
    const { sandbox, call } = drip();
    sandbox.injectFaults([{ status: 429 }, { status: 500, match: { method: 'POST', pathPrefix: `/v2/${DRIP_DEFAULT_ACCOUNT}/subscribers` } }]);
    const throttled = await call('/tags');
    assert.equal(throttled.status, 429);
    assert.match((await throttled.json()).message, /rate limit/);
    assert.equal((await call('/tags')).status, 200);
    const failed = await call('/subscribers', { method: 'POST', body: { subscribers: [{ id: GRACE, custom_fields: { password: 'lost' } }] } });
    assert.equal(failed.status, 500);
    assert.deepEqual(sandbox.contact(GRACE).custom_fields, {});

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'POST', pathPrefix: `/v2/${DRIP_DEFAULT_ACCOUNT}/tags` } });
    assert.equal((await call('/tags', { method: 'POST', body: { tags: [{ email: 'grace.hopper@example.com', tag: 'Welcome' }] } })).status, 502);
    assert.deepEqual(sandbox.contact(GRACE).tags, ['Welcome'], 'applied although the answer was lost');
    // The documented per-subscriber concurrency refusal, as a fault with a body.
    sandbox.injectFaults({ status: 429, body: { message: 'Too many concurrent requests for the same subscriber' } });
    const concurrent = await call(`/subscribers/${GRACE}`);
    assert.equal(concurrent.status, 429);
    assert.match((await concurrent.json()).message, /concurrent/);
    assert.deepEqual(sandbox.pendingFaults(), []);
  });

  test('faults: delays use the injected sleep and end with the request signal', async () => {
    const timer = manualSleep();
    const { sandbox } = drip({ sleep: timer.sleep });
    sandbox.injectFaults([{ delayMs: 2500 }, { delayMs: Infinity }]);
    const headers = { Authorization: BASIC, 'User-Agent': UA };
    const slow = sandbox.fetch(`${DRIP}/tags`, { headers });
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting[0].ms, 2500);
    timer.wakeAll();
    assert.equal((await slow).status, 200);
    const controller = new AbortController();
    const hung = sandbox.fetch(`${DRIP}/tags`, { headers, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    assert.equal(sandbox.requests().at(-1).aborted, true);
  });

  test('audit: password written before the Welcome tag, one sequence, no credentials or values', async () => {
    const { sandbox, call } = drip();
    const password = 'S3cret-Drip-Pass-0001';
    await call('/subscribers', { method: 'POST', body: { subscribers: [{ id: KATHERINE, custom_fields: { password } }] } });
    await call('/tags', { method: 'POST', body: { tags: [{ email: 'k.johnson@example.net', tag: 'Welcome' }] } });
    assert.deepEqual(sandbox.audit().map((e) => e.kind), ['request', 'field', 'request', 'tag']);
    assert.ok(sandbox.fieldWrites()[0].seq < sandbox.tagApplications()[0].seq);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(DRIP_DEFAULT_TOKEN));
    assert.ok(!everything.includes(BASIC.slice(6)));
  });

  test('helpers: deep copies, addContact, seed replacement, reset, unknown routes', async () => {
    const { sandbox, call, getJson } = drip();
    const copy = sandbox.contacts();
    copy[0].tags.push('Mutated');
    assert.deepEqual(sandbox.contact(ADA).tags, ['Gold Member', 'Newsletter']);
    assert.equal(sandbox.contact('nobody@example.com'), undefined);
    const added = sandbox.addContact({ email: 'dorothy@example.com', first_name: 'Dorothy', custom_fields: { password: 'x1' }, tags: ['Welcome'] });
    assert.match(added.id, /^[0-9a-z]{20}$/);
    assert.equal(sandbox.contact(added.id).custom_fields.password, 'x1');
    await call('/tags');
    sandbox.injectFaults({ status: 500 });

    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.deepEqual(sandbox.requests(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.equal((await call('/tags')).status, 200);
    assert.equal(sandbox.requests()[0].seq, 1);
    const again = sandbox.addContact({ email: 'dorothy@example.com' });
    assert.equal(again.id, added.id, 'generated ids are deterministic after reset');

    const solo = drip({ accountId: '4242', seed: { subscribers: [{ email: 'solo@example.com', tags: ['Solo'] }] } });
    const res = await solo.sandbox.fetch('https://api.getdrip.com/v2/4242/tags', { headers: { Authorization: BASIC, 'User-Agent': UA } });
    assert.deepEqual((await res.json()).tags, ['Gold Member', 'Newsletter', 'Welcome', 'Solo']);

    assert.deepEqual((await getJson('/nothing-here')).body.errors[0].code, 'not_found_error');
    assert.equal((await call('/tags', { method: 'PUT', body: {} })).status, 405);
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): the same sandbox over real HTTP at url + /v2/{account}', async () => {
    const { sandbox } = drip();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      const base = `${server.url}/v2/${DRIP_DEFAULT_ACCOUNT}`;
      const res = await fetch(`${base}/subscribers/k.johnson%40example.net`, { headers: { Authorization: BASIC, 'User-Agent': UA } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).subscribers[0].id, KATHERINE);
      const tag = await fetch(`${base}/tags`, {
        method: 'POST',
        headers: { Authorization: BASIC, 'User-Agent': UA, 'Content-Type': 'application/json' },
        body: JSON.stringify({ tags: [{ email: 'k.johnson@example.net', tag: 'Welcome' }] }),
      });
      assert.equal(tag.status, 201);
      assert.deepEqual(sandbox.contact(KATHERINE).tags, ['Welcome']);
    } finally {
      await server.close();
    }
  });
});
