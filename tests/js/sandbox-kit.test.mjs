// Tests of the Kit (API v4) sandbox in js/sandbox/kit.mjs. Run: node --test tests/js/sandbox-kit.test.mjs
// Every test uses an injected clock, so nothing here waits on real time.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { createKitSandbox, KIT_DEFAULT_API_KEY, KIT_DEFAULT_ACCESS_TOKEN } from '../../js/sandbox/kit.mjs';

const KIT = 'https://api.kit.com/v4';
const PASSWORD = 101;
const LINK = 102;
const GOLD = 5120001;
const NEWSLETTER = 5120002;
const WELCOME = 5120003;
const ADA = 3120001;
const GRACE = 3120002;
const ALAN = 3120003; // cancelled
const KATHERINE = 3120004;

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

function kit(options = {}) {
  const clock = manualClock();
  const sandbox = createKitSandbox({ now: clock.now, ...options });
  // `body` is sent as JSON, `rawBody` as is.
  const call = (path, { method = 'GET', body, rawBody, headers = {} } = {}) =>
    sandbox.fetch(KIT + path, {
      method,
      headers: { 'X-Kit-Api-Key': KIT_DEFAULT_API_KEY, 'Content-Type': 'application/json', ...headers },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  const getJson = async (path, opts) => {
    const res = await call(path, opts);
    return { status: res.status, body: await res.json() };
  };
  return { sandbox, clock, call, getJson };
}

describe('Kit sandbox', () => {
  test('auth: X-Kit-Api-Key or an OAuth bearer token; 401 {"errors": [...]}; credentials never logged', async () => {
    const { sandbox, call } = kit();
    const missing = await sandbox.fetch(`${KIT}/subscribers/${ADA}`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type'), /application\/json/);
    assert.deepEqual(await missing.json(), { errors: ['The access token is invalid'] });

    assert.equal((await call(`/subscribers/${ADA}`, { headers: { 'X-Kit-Api-Key': 'not-the-key' } })).status, 401);
    const keyAsBearer = await sandbox.fetch(`${KIT}/subscribers/${ADA}`, { headers: { Authorization: `Bearer ${KIT_DEFAULT_API_KEY}` } });
    assert.equal(keyAsBearer.status, 401, 'an API key goes in X-Kit-Api-Key, not Authorization');
    const oauth = await sandbox.fetch(`${KIT}/subscribers/${ADA}`, { headers: { Authorization: `Bearer ${KIT_DEFAULT_ACCESS_TOKEN}` } });
    assert.equal(oauth.status, 200, 'OAuth access token as a bearer token (header form unverified)');
    assert.equal((await call(`/subscribers/${ADA}`)).status, 200);

    const noOauth = kit({ accessToken: null });
    const refused = await noOauth.sandbox.fetch(`${KIT}/tags`, { headers: { Authorization: `Bearer ${KIT_DEFAULT_ACCESS_TOKEN}` } });
    assert.equal(refused.status, 401);

    const log = JSON.stringify(sandbox.audit());
    for (const secret of [KIT_DEFAULT_API_KEY, KIT_DEFAULT_ACCESS_TOKEN, 'not-the-key']) {
      assert.ok(!log.includes(secret), `${secret} must not reach the audit log`);
    }
    assert.deepEqual(sandbox.requests().map((r) => r.status), [401, 401, 401, 200, 200]);
  });

  test('GET /subscribers/{id}: documented shape, integer ids, every field key (null when unset), 404', async () => {
    const { getJson, call } = kit();
    const { status, body } = await getJson(`/subscribers/${ADA}`);
    assert.equal(status, 200);
    assert.deepEqual(body, {
      subscriber: {
        id: ADA,
        first_name: 'Ada',
        email_address: 'ada.lovelace@example.com',
        state: 'active',
        created_at: '2023-11-14T22:13:20Z',
        fields: { password: 'Analytical-1843', set_password_link: null },
        canceled_at: null,
      },
    });
    const katherine = (await getJson(`/subscribers/${KATHERINE}`)).body.subscriber;
    assert.equal(katherine.first_name, null, 'Kit has first_name only, and it may be null');
    assert.equal('last_name' in katherine, false);
    const alan = (await getJson(`/subscribers/${ALAN}`)).body.subscriber;
    assert.equal(alan.state, 'cancelled');
    assert.equal(alan.canceled_at, '2023-11-14T22:13:20Z');

    const missing = await call('/subscribers/999');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { errors: ['Not Found'] });
    assert.equal((await call('/subscribers/abc')).status, 404, 'a non-integer id is a 404 (unverified)');
  });

  test('find by email: ?email_address= ignores case (unverified), needs %2B for +, status defaults to active', async () => {
    const { sandbox, getJson } = kit();
    const found = (await getJson('/subscribers?email_address=grace.hopper%40example.com')).body;
    assert.deepEqual(found.subscribers.map((s) => s.id), [GRACE]);
    assert.equal(found.subscribers[0].email_address, 'Grace.Hopper@Example.COM', 'stored spelling is returned');
    assert.deepEqual(Object.keys(found.pagination).sort(), ['end_cursor', 'has_next_page', 'has_previous_page', 'per_page', 'start_cursor']);
    assert.equal(found.pagination.per_page, 500);

    const cancelled = (await getJson('/subscribers?email_address=alan.turing%40example.org')).body;
    assert.deepEqual(cancelled.subscribers, [], 'a cancelled subscriber is not found without status=all');
    const all = (await getJson('/subscribers?email_address=alan.turing%40example.org&status=all')).body;
    assert.deepEqual(all.subscribers.map((s) => s.id), [ALAN]);

    sandbox.addContact({ id: 3120010, first_name: 'Plus', email_address: 'first+tag@example.com' });
    assert.deepEqual((await getJson('/subscribers?email_address=first+tag@example.com')).body.subscribers, [], "an unencoded '+' is a space");
    const plus = (await getJson('/subscribers?email_address=first%2Btag%40example.com')).body;
    assert.deepEqual(plus.subscribers.map((s) => s.id), [3120010]);

    const several = (await getJson('/subscribers?email_address=ada.lovelace%40example.com,k.johnson%40example.net')).body;
    assert.deepEqual(several.subscribers.map((s) => s.id), [ADA, KATHERINE]);

    const withTags = (await getJson(`/subscribers?email_address=ada.lovelace%40example.com&include=tags`)).body;
    assert.deepEqual(withTags.subscribers[0].tags, [
      { id: GOLD, name: 'Gold Member' },
      { id: NEWSLETTER, name: 'Newsletter' },
    ]);

    const none = (await getJson('/subscribers?email_address=nobody%40example.com')).body;
    assert.deepEqual(none, {
      subscribers: [],
      pagination: { has_previous_page: false, has_next_page: false, start_cursor: null, end_cursor: null, per_page: 500 },
    });
    assert.equal((await getJson('/subscribers?status=sleeping')).status, 422);
  });

  test('cursor paging: per_page, after/before cursors in Kit style, include_total_count, bad cursor 422 (unverified)', async () => {
    const { getJson } = kit();
    const first = (await getJson('/subscribers?status=all&per_page=3&include_total_count=true')).body;
    assert.deepEqual(first.subscribers.map((s) => s.id), [ADA, GRACE, ALAN]);
    assert.equal(first.pagination.has_next_page, true);
    assert.equal(first.pagination.has_previous_page, false);
    assert.equal(first.pagination.total_count, 4);
    assert.equal(first.pagination.end_cursor, Buffer.from(`[${ALAN}]`).toString('base64'));
    const second = (await getJson(`/subscribers?status=all&per_page=3&after=${encodeURIComponent(first.pagination.end_cursor)}`)).body;
    assert.deepEqual(second.subscribers.map((s) => s.id), [KATHERINE]);
    assert.equal(second.pagination.has_next_page, false);
    assert.equal(second.pagination.has_previous_page, true);
    const back = (await getJson(`/subscribers?status=all&per_page=2&before=${encodeURIComponent(second.pagination.start_cursor)}`)).body;
    assert.deepEqual(back.subscribers.map((s) => s.id), [GRACE, ALAN]);
    assert.equal((await getJson('/subscribers?after=not-a-cursor')).status, 422);
    assert.equal((await getJson('/subscribers?per_page=0')).status, 422);
    assert.equal((await getJson('/subscribers?per_page=5000')).body.pagination.per_page, 1000, 'per_page is capped at 1000');
  });

  test('PUT /subscribers/{id}: writes a custom field, shows in state and the field log (no value), keeps first_name', async () => {
    const { sandbox, getJson } = kit();
    const link = 'https://members.example.com/set-password?key=Zq81&login=k.johnson%40example.net';
    const res = await getJson(`/subscribers/${KATHERINE}`, {
      method: 'PUT',
      body: { email_address: 'k.johnson@example.net', fields: { set_password_link: link } },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.subscriber.fields.set_password_link, link);
    assert.equal(res.body.warnings, undefined);
    assert.equal(sandbox.contact(KATHERINE).subscriber.fields.set_password_link, link);

    await getJson(`/subscribers/${ADA}`, { method: 'PUT', body: { email_address: 'ada.lovelace@example.com', fields: { last_name: 'x' } } });
    assert.equal(sandbox.contact(ADA).subscriber.first_name, 'Ada', 'omitting first_name keeps it (unverified)');
    const renamed = await getJson(`/subscribers/${ADA}`, { method: 'PUT', body: { email_address: 'ada.lovelace@example.com', first_name: 'Augusta' } });
    assert.equal(renamed.body.subscriber.first_name, 'Augusta');

    const writes = sandbox.fieldWrites();
    assert.deepEqual(
      writes.map(({ contactId, fieldId, label, length, truncated }) => ({ contactId, fieldId, label, length, truncated })),
      [{ contactId: String(KATHERINE), fieldId: String(LINK), label: 'Set Password Link', length: link.length, truncated: false }],
    );
    assert.ok(!JSON.stringify(sandbox.audit()).includes('Zq81'), 'field values never reach the log');

    const cleared = await getJson(`/subscribers/${ADA}`, { method: 'PUT', body: { email_address: 'ada.lovelace@example.com', fields: { password: null } } });
    assert.equal(cleared.body.subscriber.fields.password, null);
  });

  test('PUT /subscribers/{id}: email_address required, invalid or taken emails, bad values; a rejected PUT changes nothing', async () => {
    const { sandbox, getJson, call } = kit();
    const noEmail = await getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { fields: { password: 'Cobol-1959' } } });
    assert.equal(noEmail.status, 422, 'email_address is required by the request schema');
    assert.ok(Array.isArray(noEmail.body.errors));
    assert.equal((await getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace@@example' } })).status, 422);
    const taken = await getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'ADA.LOVELACE@example.com' } });
    assert.equal(taken.status, 422);
    assert.deepEqual(taken.body, { errors: ['Email address has already been taken'] });
    assert.equal((await getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'x@example.com', first_name: 42 } })).status, 422);
    assert.equal((await getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace.hopper@example.com', fields: { password: 1959 } } })).status, 422);
    assert.equal((await getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace.hopper@example.com', fields: ['password'] } })).status, 422);

    const tooLong = 'p'.repeat(256);
    const long = await call(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace.hopper@example.com', first_name: 'Changed', fields: { password: tooLong } } });
    assert.equal(long.status, 422, 'values over fieldMaxLength (255, unverified) are refused');
    assert.ok(!(await long.text()).includes(tooLong), 'the error does not echo the value');
    const grace = sandbox.contact(GRACE).subscriber;
    assert.equal(grace.first_name, 'Grace');
    assert.equal(grace.email_address, 'Grace.Hopper@Example.COM');
    assert.equal(grace.fields.password, null);
    assert.equal(sandbox.fieldWrites().length, 0);

    assert.equal((await call(`/subscribers/${GRACE}`, { method: 'PUT', rawBody: '{"email_address": ' })).status, 400, 'bad JSON (status unverified)');
    assert.equal((await call(`/subscribers/${GRACE}`, { method: 'PUT', rawBody: '[1]' })).status, 400);
    assert.equal((await getJson('/subscribers/999', { method: 'PUT', body: { email_address: 'n@example.com' } })).status, 404);

    const wide = kit({ fieldMaxLength: 2000 });
    const ok = await wide.getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace.hopper@example.com', fields: { password: tooLong } } });
    assert.equal(ok.status, 200);
  });

  test('PUT unknown field key: ignored and named in `warnings` by default, 422 with unknownFields "reject" (unverified either way)', async () => {
    const { sandbox, getJson } = kit();
    const res = await getJson(`/subscribers/${GRACE}`, {
      method: 'PUT',
      body: { email_address: 'grace.hopper@example.com', fields: { Password: 'Cobol-1959', password: 'Cobol-1959' } },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.warnings.length, 1);
    assert.match(res.body.warnings[0], /Password/);
    assert.equal(res.body.subscriber.fields.password, 'Cobol-1959', 'keys are the field key, not its label');
    assert.equal(sandbox.fieldWrites().length, 1);

    const strict = kit({ unknownFields: 'reject' });
    const refused = await strict.getJson(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace.hopper@example.com', fields: { nope: 'x', password: 'y' } } });
    assert.equal(refused.status, 422);
    assert.equal(strict.sandbox.contact(GRACE).subscriber.fields.password, null);
  });

  test('PUT with more than 10 fields answers 202 (applied here at once), more than 140 is 422', async () => {
    const fields = [{ id: 101, label: 'Password' }, ...Array.from({ length: 12 }, (_, i) => ({ id: 200 + i, label: `Extra ${i}` }))];
    const { getJson, sandbox } = kit({ seed: { fields } });
    const values = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`extra_${i}`, `v${i}`]));
    const res = await getJson(`/subscribers/${ADA}`, { method: 'PUT', body: { email_address: 'ada.lovelace@example.com', fields: values } });
    assert.equal(res.status, 202);
    assert.equal(sandbox.contact(ADA).subscriber.fields.extra_11, 'v11');
    const many = Object.fromEntries(Array.from({ length: 141 }, (_, i) => [`k${i}`, 'x']));
    assert.equal((await getJson(`/subscribers/${ADA}`, { method: 'PUT', body: { email_address: 'ada.lovelace@example.com', fields: many } })).status, 422);
  });

  test('tags: list (cursor paged), subscriber tags, tag by id (201 then 200), by email, remove; state and log', async () => {
    const { sandbox, getJson, call } = kit();
    const list = (await getJson('/tags')).body;
    assert.deepEqual(list.tags.map((t) => [t.id, t.name]), [
      [GOLD, 'Gold Member'],
      [NEWSLETTER, 'Newsletter'],
      [WELCOME, 'Welcome'],
    ]);
    assert.deepEqual(Object.keys(list.tags[0]).sort(), ['created_at', 'id', 'name', 'subscriber_count']);
    assert.equal(list.tags[0].subscriber_count, 1);
    const page = (await getJson('/tags?per_page=2')).body;
    assert.equal(page.tags.length, 2);
    assert.equal(page.pagination.has_next_page, true);
    const rest = (await getJson(`/tags?per_page=2&after=${encodeURIComponent(page.pagination.end_cursor)}`)).body;
    assert.deepEqual(rest.tags.map((t) => t.name), ['Welcome']);

    const adaTags = (await getJson(`/subscribers/${ADA}/tags`)).body;
    assert.deepEqual(adaTags.tags.map(({ id, name }) => ({ id, name })), [
      { id: GOLD, name: 'Gold Member' },
      { id: NEWSLETTER, name: 'Newsletter' },
    ]);
    assert.ok(adaTags.tags[0].tagged_at.endsWith('Z'));
    assert.ok(adaTags.pagination);

    const applied = await call(`/tags/${WELCOME}/subscribers/${GRACE}`, { method: 'POST', body: {} });
    assert.equal(applied.status, 201);
    const appliedBody = await applied.json();
    assert.equal(appliedBody.subscriber.id, GRACE);
    assert.ok(appliedBody.subscriber.tagged_at);
    const again = await call(`/tags/${WELCOME}/subscribers/${GRACE}`, { method: 'POST' });
    assert.equal(again.status, 200, 'already tagged: 200');
    assert.deepEqual(sandbox.contact(GRACE).tags.map((t) => t.name), ['Welcome']);

    assert.deepEqual(await (await call(`/tags/999/subscribers/${GRACE}`, { method: 'POST', body: {} })).json(), { errors: ['Not Found'] });
    assert.equal((await call(`/tags/${WELCOME}/subscribers/999`, { method: 'POST', body: {} })).status, 404);
    assert.equal((await call(`/tags/${WELCOME}/subscribers/${GRACE}`, { method: 'POST', rawBody: '{oops' })).status, 400);

    const byEmail = await call(`/tags/${GOLD}/subscribers`, { method: 'POST', body: { email_address: 'K.Johnson@example.net' } });
    assert.equal(byEmail.status, 201);
    assert.equal((await byEmail.json()).subscriber.id, KATHERINE);
    const noEmail = await call(`/tags/${GOLD}/subscribers`, { method: 'POST', body: {} });
    assert.equal(noEmail.status, 422);
    assert.deepEqual(await noEmail.json(), { errors: ['Either subscriber id or email address is required to tag subscriber'] });
    assert.equal((await call(`/tags/${GOLD}/subscribers`, { method: 'POST', body: { email_address: 'ghost@example.com' } })).status, 404);

    assert.equal((await call(`/tags/${WELCOME}/subscribers/${GRACE}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(sandbox.contact(GRACE).tags, []);

    assert.deepEqual(
      sandbox.tagApplications().map((e) => [e.action, e.contactId, e.tagId, e.tagName, e.duplicate ?? e.wasApplied]),
      [
        ['apply', String(GRACE), String(WELCOME), 'Welcome', false],
        ['apply', String(GRACE), String(WELCOME), 'Welcome', true],
        ['apply', String(KATHERINE), String(GOLD), 'Gold Member', false],
        ['remove', String(GRACE), String(WELCOME), 'Welcome', true],
      ],
    );
  });

  test('POST /tags creates (201) or returns the existing tag (200)', async () => {
    const { getJson } = kit();
    const created = await getJson('/tags', { method: 'POST', body: { name: 'Platinum Member' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.tag.name, 'Platinum Member');
    assert.ok(Number.isInteger(created.body.tag.id));
    const existing = await getJson('/tags', { method: 'POST', body: { name: 'welcome' } });
    assert.equal(existing.status, 200);
    assert.equal(existing.body.tag.id, WELCOME);
    assert.equal((await getJson('/tags', { method: 'POST', body: {} })).status, 422);
  });

  test('GET /custom_fields: {id, name, key, label} with Kit-style name and key', async () => {
    const { getJson } = kit();
    const body = (await getJson('/custom_fields')).body;
    assert.deepEqual(body.custom_fields, [
      { id: PASSWORD, name: 'ck_field_101_password', key: 'password', label: 'Password' },
      { id: LINK, name: 'ck_field_102_set_password_link', key: 'set_password_link', label: 'Set Password Link' },
    ]);
    assert.equal(body.pagination.has_next_page, false);
  });

  test('legacy webhooks: create subscriber.tag_add with tag_id (201), list, delete; missing params 422', async () => {
    const { sandbox, getJson, call } = kit();
    const created = await getJson('/webhooks', {
      method: 'POST',
      body: { target_url: 'https://members.example.com/hooks/kit?event=tag_add', event: { name: 'subscriber.tag_add', tag_id: GOLD } },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.webhook.event, { name: 'tag_add', tag_id: GOLD });
    assert.equal(created.body.webhook.account_id, 1617);
    const activate = await getJson('/webhooks', { method: 'POST', body: { target_url: 'https://members.example.com/hooks/kit', event: { name: 'subscriber.subscriber_activate' } } });
    assert.deepEqual(activate.body.webhook.event, { name: 'subscriber_activate', initiator_value: null });
    assert.equal((await getJson('/webhooks')).body.webhooks.length, 2);

    const missing = await getJson('/webhooks', { method: 'POST', body: { target_url: 'https://members.example.com/x' } });
    assert.deepEqual(missing, { status: 422, body: { errors: ['`event` and `target` parameters must be provided'] } });
    assert.equal((await getJson('/webhooks', { method: 'POST', body: { target_url: 'https://m.example.com', event: { name: 'subscriber.tag_add' } } })).status, 422);
    assert.equal((await getJson('/webhooks', { method: 'POST', body: { target_url: 'ftp://m.example.com', event: { name: 'subscriber.subscriber_activate' } } })).status, 422);

    assert.equal((await call(`/webhooks/${created.body.webhook.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/webhooks/${created.body.webhook.id}`, { method: 'DELETE' })).status, 404);
    assert.equal(sandbox.webhooks().length, 1);
  });

  test('rate limit: 120 per sliding 60 s for an API key, 429 plain text "Retry later" without Retry-After', async () => {
    const { clock, call, sandbox } = kit();
    for (let i = 0; i < 60; i += 1) assert.equal((await call('/tags')).status, 200);
    clock.advance(30_000);
    for (let i = 0; i < 60; i += 1) assert.equal((await call('/tags')).status, 200);
    clock.advance(29_999); // t = 59.999 s: all 120 still inside the window
    const limited = await call('/tags');
    assert.equal(limited.status, 429);
    assert.equal(await limited.text(), 'Retry later');
    assert.match(limited.headers.get('content-type'), /^text\/plain/);
    assert.equal(limited.headers.get('retry-after'), null);
    clock.advance(1); // t = 60 s: the first 60 left the window
    assert.equal((await call('/tags')).status, 200);
    assert.equal(sandbox.requests().filter((r) => r.rateLimited).length, 1);

    // OAuth tokens have their own window of 600.
    const oauth = kit();
    const bearer = { 'X-Kit-Api-Key': '', Authorization: `Bearer ${KIT_DEFAULT_ACCESS_TOKEN}` };
    for (let i = 0; i < 120; i += 1) await oauth.call('/tags');
    assert.equal((await oauth.call('/tags')).status, 429, 'the API key is spent');
    for (let i = 0; i < 600; i += 1) assert.equal((await oauth.call('/tags', { headers: bearer })).status, 200);
    assert.equal((await oauth.call('/tags', { headers: bearer })).status, 429);

    const free = kit({ rateLimit: false });
    for (let i = 0; i < 200; i += 1) assert.equal((await free.call('/tags')).status, 200);
    const hourly = kit({ rateLimit: { perHour: 3 } }); // perMinute stays 120
    for (let i = 0; i < 3; i += 1) await hourly.call('/tags');
    hourly.clock.advance(59 * 60_000);
    assert.equal((await hourly.call('/tags')).status, 429);
    hourly.clock.advance(60_000);
    assert.equal((await hourly.call('/tags')).status, 200);
  });

  test('faults: injected 429 looks like Kit’s, consumed once; before-phase changes nothing; after-phase commits', async () => {
    const { sandbox, call } = kit();
    sandbox.injectFaults([{ status: 429 }, { status: 500, match: { method: 'PUT' } }]);
    const throttled = await call('/tags');
    assert.equal(throttled.status, 429);
    assert.equal(await throttled.text(), 'Retry later');
    assert.equal((await call('/tags')).status, 200, 'a fault is consumed once');
    const failed = await call(`/subscribers/${GRACE}`, { method: 'PUT', body: { email_address: 'grace.hopper@example.com', fields: { password: 'lost-1' } } });
    assert.equal(failed.status, 500);
    assert.deepEqual(await failed.json(), { errors: ['Internal Server Error'] });
    assert.equal(sandbox.contact(GRACE).subscriber.fields.password, null);

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'POST', pathPrefix: '/v4/tags/' } });
    assert.equal((await call(`/tags/${WELCOME}/subscribers/${GRACE}`, { method: 'POST', body: {} })).status, 502);
    assert.deepEqual(sandbox.contact(GRACE).tags.map((t) => t.id), [WELCOME], 'the tag was applied although the answer was lost');
    assert.equal(sandbox.requests().at(-1).fault.phase, 'after');
    assert.deepEqual(sandbox.pendingFaults(), []);
    sandbox.injectFaults({ status: 503 });
    sandbox.clearFaults();
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.throws(() => sandbox.injectFaults({ phase: 'later' }), TypeError);
  });

  test('faults: delays use the injected sleep and end with the request signal', async () => {
    const timer = manualSleep();
    const { sandbox } = kit({ sleep: timer.sleep });
    sandbox.injectFaults([{ delayMs: 5000 }, { delayMs: Infinity }]);
    const headers = { 'X-Kit-Api-Key': KIT_DEFAULT_API_KEY };
    const slow = sandbox.fetch(`${KIT}/tags`, { headers });
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting[0].ms, 5000);
    timer.wakeAll();
    assert.equal((await slow).status, 200);

    const controller = new AbortController();
    const hung = sandbox.fetch(`${KIT}/tags`, { headers, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    assert.equal(sandbox.requests().at(-1).aborted, true);
  });

  test('audit: password written before the Welcome tag, one sequence, no credentials or values', async () => {
    const { sandbox, call } = kit();
    const password = 'S3cret-Kit-Pass-0001';
    await call(`/subscribers/${KATHERINE}`, { method: 'PUT', body: { email_address: 'k.johnson@example.net', fields: { password } } });
    await call(`/tags/${WELCOME}/subscribers/${KATHERINE}`, { method: 'POST', body: {} });
    assert.deepEqual(sandbox.audit().map((e) => e.kind), ['request', 'field', 'request', 'tag']);
    const write = sandbox.fieldWrites()[0];
    const welcome = sandbox.tagApplications()[0];
    assert.ok(write.seq < welcome.seq);
    assert.equal(write.length, password.length);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(KIT_DEFAULT_API_KEY));
  });

  test('helpers: deep copies, addContact/addTag, seed replacement, reset, unknown routes', async () => {
    const { sandbox, call, getJson } = kit();
    const copy = sandbox.contacts();
    assert.equal(copy.length, 4);
    copy[0].subscriber.first_name = 'Mutated';
    assert.equal(sandbox.contact(ADA).subscriber.first_name, 'Ada');
    assert.equal(sandbox.contact(999), undefined);

    const tag = sandbox.addTag({ name: 'Silver Member' });
    assert.equal(tag.name, 'Silver Member');
    const added = sandbox.addContact({ first_name: 'Dorothy', email_address: 'dorothy@example.com', fields: { Password: 'x1' }, tags: ['Silver Member', WELCOME] });
    assert.equal(added.subscriber.fields.password, 'x1');
    assert.deepEqual(added.tags.map((t) => t.name).sort(), ['Silver Member', 'Welcome']);
    assert.equal(sandbox.tags().length, 4);
    assert.deepEqual(sandbox.fields().map((f) => f.key), ['password', 'set_password_link']);
    await call('/tags');
    sandbox.injectFaults({ status: 500 });

    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.equal(sandbox.tags().length, 3);
    assert.deepEqual(sandbox.requests(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.equal((await call('/tags')).status, 200);
    assert.equal(sandbox.requests()[0].seq, 1);

    const lastName = kit({ seed: { fields: [{ id: 7, label: 'Last name' }], subscribers: [{ id: 9, first_name: 'Solo', email_address: 'solo@example.com', fields: { last_name: 'Han' } }] } });
    assert.deepEqual((await lastName.getJson('/subscribers/9')).body.subscriber.fields, { last_name: 'Han' });
    assert.equal(lastName.sandbox.tags().length, 3, 'tags keep the default seed');

    assert.deepEqual(await getJson('/nothing-here'), { status: 404, body: { errors: ['Not Found'] } });
    assert.equal((await call(`/subscribers/${ADA}`, { method: 'DELETE' })).status, 405);
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): the same sandbox over real HTTP at url + /v4', async () => {
    const { sandbox } = kit();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${server.url}/v4/subscribers?email_address=k.johnson%40example.net`, { headers: { 'X-Kit-Api-Key': KIT_DEFAULT_API_KEY } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).subscribers[0].id, KATHERINE);
      const put = await fetch(`${server.url}/v4/subscribers/${KATHERINE}`, {
        method: 'PUT',
        headers: { 'X-Kit-Api-Key': KIT_DEFAULT_API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify({ email_address: 'k.johnson@example.net', first_name: 'Katherine' }),
      });
      assert.equal(put.status, 200);
      assert.equal(sandbox.contact(KATHERINE).subscriber.first_name, 'Katherine');
    } finally {
      await server.close();
    }
  });
});
