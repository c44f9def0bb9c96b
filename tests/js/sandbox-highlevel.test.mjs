// Tests of the HighLevel sandbox (js/sandbox/highlevel.mjs).
// Run: node --test tests/js/sandbox-highlevel.test.mjs. Every test uses an injected clock.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  createHighLevelSandbox,
  HIGHLEVEL_DEFAULT_TOKEN,
  HIGHLEVEL_DEFAULT_LOCATION,
  HIGHLEVEL_API_VERSION,
} from '../../js/sandbox/highlevel.mjs';

const BASE = 'https://services.leadconnectorhq.com';
const LOC = HIGHLEVEL_DEFAULT_LOCATION;
const ADA = 'Ad4Lv9QxTz2mKp7RsN1b';
const GRACE = 'Gr8HpQ2wLx5nVc3ZtM6k';
const ALAN = 'At7TrN4kWq9bXs2LpC5v';
const KATHERINE = 'Kj3JnS8vPz6mRq1TxB4w';
const PASSWORD_FIELD = 'Pw5dFx8KqL2nTz7RvB3m';
const LINK_FIELD = 'Sp9LnK4xQw7mZt2RcV6b';

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

const AUTH = { Authorization: `Bearer ${HIGHLEVEL_DEFAULT_TOKEN}`, Version: HIGHLEVEL_API_VERSION };

function hl(options = {}) {
  const clock = manualClock();
  const sandbox = createHighLevelSandbox({ now: clock.now, ...options });
  // `body` is sent as JSON, `rawBody` as is.
  const call = (path, { method = 'GET', body, rawBody, headers = {} } = {}) =>
    sandbox.fetch(BASE + path, {
      method,
      headers: { ...AUTH, 'Content-Type': 'application/json', ...headers },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  return { sandbox, clock, call };
}

describe('HighLevel sandbox', () => {
  test('auth: Bearer token and Version header required; 401 JSON; token never logged', async () => {
    const { sandbox, call } = hl();
    const missing = await sandbox.fetch(`${BASE}/contacts/${ADA}`, { headers: { Version: HIGHLEVEL_API_VERSION } });
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type'), /application\/json/);
    assert.deepEqual(await missing.json(), { statusCode: 401, message: 'Invalid token: access token is invalid', error: 'Unauthorized' });

    assert.equal((await call(`/contacts/${ADA}`, { headers: { Authorization: 'Bearer not-the-token' } })).status, 401);
    assert.equal((await call(`/contacts/${ADA}`, { headers: { Authorization: HIGHLEVEL_DEFAULT_TOKEN } })).status, 401, 'the Bearer scheme is required');

    const noVersion = await sandbox.fetch(`${BASE}/contacts/${ADA}`, { headers: { Authorization: AUTH.Authorization } });
    assert.equal(noVersion.status, 401);
    assert.equal((await noVersion.json()).message, 'version header was not found.');
    const oldVersion = await call(`/contacts/${ADA}`, { headers: { Version: '2020-01-01' } });
    assert.equal(oldVersion.status, 401);
    assert.equal((await oldVersion.json()).message, 'version header is invalid');

    assert.equal((await call(`/contacts/${ADA}`, { headers: { Authorization: `bearer ${HIGHLEVEL_DEFAULT_TOKEN}` } })).status, 200);
    const log = JSON.stringify(sandbox.audit());
    assert.ok(!log.includes(HIGHLEVEL_DEFAULT_TOKEN), 'the token must not appear in the audit log');
    assert.ok(!log.includes('not-the-token'));
    assert.ok(!/authorization|bearer/i.test(log), 'no header names or values in the log');
    assert.deepEqual(sandbox.requests().map((r) => r.status), [401, 401, 401, 401, 401, 200]);
  });

  test('GET /contacts/{id}: {contact} with tag names, customFields [{id, value}], 20-character ids; 404', async () => {
    const { sandbox, call } = hl();
    const res = await call(`/contacts/${GRACE}`);
    assert.equal(res.status, 200);
    const { contact } = await res.json();
    assert.equal(contact.id, GRACE);
    assert.match(contact.id, /^[A-Za-z0-9]{20}$/);
    assert.equal(contact.locationId, LOC);
    assert.equal(contact.firstName, 'Grace');
    assert.equal(contact.lastName, 'Hopper');
    assert.equal(contact.email, 'grace.hopper@example.org');
    assert.deepEqual(contact.tags, ['newsletter'], 'tags are names, not ids (lower case: unverified)');
    assert.deepEqual(contact.customFields, [{ id: PASSWORD_FIELD, value: 'Cobol-1959' }]);
    assert.ok(contact.dateAdded.endsWith('Z'));

    const ada = (await (await call(`/contacts/${ADA}`)).json()).contact;
    assert.equal(ada.email, 'Ada.Lovelace@Example.com', 'email kept as entered');
    assert.equal(ada.emailLowerCase, 'ada.lovelace@example.com');
    assert.deepEqual(ada.tags, ['gold member', 'newsletter']);
    assert.deepEqual(ada.customFields, []);

    const bare = sandbox.addContact({ email: 'no.name@example.com' });
    assert.match(bare.id, /^[A-Za-z0-9]{20}$/);
    const bareJson = (await (await call(`/contacts/${bare.id}`)).json()).contact;
    assert.ok(!('firstName' in bareJson) && !('lastName' in bareJson), 'unset names are left out (unverified)');

    const missing = await call('/contacts/ZZZZZZZZZZZZZZZZZZZZ');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { statusCode: 404, message: 'Contact not found' });
    assert.equal((await call('/contacts/12345')).status, 404, 'a numeric id is not a HighLevel id');
  });

  test('GET /contacts/search/duplicate: case-insensitive email, encoded +, {contact: null}; location checks', async () => {
    const { sandbox, call } = hl();
    const found = await call(`/contacts/search/duplicate?locationId=${LOC}&email=${encodeURIComponent('ada.lovelace@EXAMPLE.com')}`);
    assert.equal(found.status, 200);
    const body = await found.json();
    assert.equal(body.contact.id, ADA);
    assert.equal(body.contact.email, 'Ada.Lovelace@Example.com');

    sandbox.addContact({ firstName: 'Plus', email: 'first+tag@example.com' });
    const raw = await (await call(`/contacts/search/duplicate?locationId=${LOC}&email=first+tag@example.com`)).json();
    assert.equal(raw.contact, null, "an unencoded '+' decodes to a space and matches nothing");
    const encoded = await (await call(`/contacts/search/duplicate?locationId=${LOC}&email=first%2Btag%40example.com`)).json();
    assert.equal(encoded.contact.firstName, 'Plus');

    const none = await call(`/contacts/search/duplicate?locationId=${LOC}&email=nobody%40example.com`);
    assert.equal(none.status, 200);
    assert.deepEqual(await none.json(), { contact: null });

    const noLocation = await call('/contacts/search/duplicate?email=ada%40example.com');
    assert.equal(noLocation.status, 422);
    const unprocessable = await noLocation.json();
    assert.equal(unprocessable.statusCode, 422);
    assert.ok(Array.isArray(unprocessable.message), 'UnprocessableDTO: message is a list');
    const other = await call('/contacts/search/duplicate?locationId=AAAAAAAAAAAAAAAAAAAA&email=ada%40example.com');
    assert.equal(other.status, 403);
    assert.equal((await other.json()).message, 'The token does not have access to this location.');
    assert.equal((await call(`/contacts/search/duplicate?locationId=${LOC}`)).status, 422);
  });

  test('PUT /contacts/{id}: customFields [{id, field_value}] writes the value; state and log show it', async () => {
    const { sandbox, call } = hl();
    const password = 'Enigma-1912-secret';
    const res = await call(`/contacts/${ALAN}`, { method: 'PUT', body: { customFields: [{ id: PASSWORD_FIELD, field_value: password }] } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.succeded, true, 'the documented (misspelled) key');
    assert.deepEqual(body.contact.customFields, [{ id: PASSWORD_FIELD, value: password }]);
    assert.deepEqual(sandbox.contact(ALAN).customFields, [{ id: PASSWORD_FIELD, value: password }]);
    assert.equal(sandbox.contact(ALAN).firstName, 'Alan', 'other members untouched');

    const link = `https://members.example.com/set-password?key=${'k'.repeat(300)}`;
    const byKey = await call(`/contacts/${ALAN}`, { method: 'PUT', body: { customFields: [{ key: 'contact.set_password_link', field_value: link }] } });
    assert.equal(byKey.status, 200);
    assert.equal(sandbox.contact(ALAN).customFields.find((f) => f.id === LINK_FIELD).value, link);

    const writes = sandbox.fieldWrites();
    assert.deepEqual(writes.map((w) => [w.contactId, w.fieldId, w.label, w.length]), [
      [ALAN, PASSWORD_FIELD, 'Password', password.length],
      [ALAN, LINK_FIELD, 'Set Password Link', link.length],
    ]);
    assert.ok(!JSON.stringify(sandbox.audit()).includes(password), 'field values never reach the log');

    const names = await call(`/contacts/${ALAN}`, { method: 'PUT', body: { firstName: 'Alan M.', tags: ['Welcome'] } });
    assert.equal(names.status, 200);
    assert.equal(sandbox.contact(ALAN).firstName, 'Alan M.');
    assert.deepEqual(sandbox.contact(ALAN).tags, ['welcome'], 'tags in PUT replace all tags');
  });

  test('PUT /contacts/{id} (unverified): `value` is taken as an alias of field_value; null clears', async () => {
    const { sandbox, call } = hl();
    assert.equal((await call(`/contacts/${ADA}`, { method: 'PUT', body: { customFields: [{ id: PASSWORD_FIELD, value: 'alias-1' }] } })).status, 200);
    assert.equal(sandbox.contact(ADA).customFields[0].value, 'alias-1');
    assert.equal((await call(`/contacts/${ADA}`, { method: 'PUT', body: { customFields: [{ id: PASSWORD_FIELD, field_value: null }] } })).status, 200);
    assert.deepEqual(sandbox.contact(ADA).customFields, []);
  });

  test('PUT /contacts/{id}: validation errors change nothing and never echo a value', async () => {
    const { sandbox, call } = hl();
    const before = sandbox.contact(KATHERINE);

    const unknown = await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { firstName: 'Changed', customFields: [{ id: 'NoSuchFieldXXXXXXXXX', field_value: 'x' }] } });
    assert.equal(unknown.status, 422, 'unknown custom field (unverified status)');
    const tooLong = 'p'.repeat(10_001);
    const long = await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { customFields: [{ id: PASSWORD_FIELD, field_value: tooLong }] } });
    assert.equal(long.status, 422);
    assert.ok(!(await long.text()).includes(tooLong));
    assert.equal((await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { customFields: [{ id: PASSWORD_FIELD, field_value: ['a'] }] } })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { customFields: { id: PASSWORD_FIELD } } })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { email: 'not-an-email' } })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { firstName: 42 } })).status, 422);

    const dup = await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { email: 'GRACE.HOPPER@example.org' } });
    assert.equal(dup.status, 400);
    assert.deepEqual((await dup.json()).meta, { contactId: GRACE, matchingField: 'email' });

    const badJson = await call(`/contacts/${KATHERINE}`, { method: 'PUT', rawBody: '{"firstName": ' });
    assert.equal(badJson.status, 400);
    assert.equal((await badJson.json()).statusCode, 400);
    assert.equal((await call(`/contacts/${KATHERINE}`, { method: 'PUT', rawBody: '[{"firstName":"x"}]' })).status, 400);
    assert.equal((await call('/contacts/ZZZZZZZZZZZZZZZZZZZZ', { method: 'PUT', body: {} })).status, 404);

    assert.deepEqual(sandbox.contact(KATHERINE), before, 'rejected updates change nothing');
    assert.deepEqual(sandbox.fieldWrites(), []);
  });

  test('POST /contacts/{id}/tags: 201 {tags}; names, duplicates, new tags created; errors', async () => {
    const { sandbox, call } = hl();
    const res = await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: { tags: ['Welcome'] } });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { tags: ['gold member', 'welcome'] });
    assert.deepEqual(sandbox.contact(KATHERINE).tags, ['gold member', 'welcome']);

    const again = await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: { tags: ['WELCOME', 'Course Buyer'] } });
    assert.equal(again.status, 201);
    assert.deepEqual((await again.json()).tags, ['gold member', 'welcome', 'course buyer']);
    assert.ok(sandbox.tags().some((t) => t.name === 'course buyer'), 'an unknown tag is created in the location (unverified)');

    const log = sandbox.tagApplications();
    assert.deepEqual(log.map((e) => [e.action, e.contactId, e.tagName, e.duplicate]), [
      ['apply', KATHERINE, 'welcome', false],
      ['apply', KATHERINE, 'welcome', true],
      ['apply', KATHERINE, 'course buyer', false],
    ]);
    assert.equal(log[0].tagId, 'Tg3WlCmE6nP0rT5vY2Hd');

    assert.equal((await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: { tags: 'Welcome' } })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: { tags: [] } })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: { tags: [''] } })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: {} })).status, 422);
    assert.equal((await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', rawBody: 'tags=Welcome' })).status, 400);
    assert.equal((await call('/contacts/ZZZZZZZZZZZZZZZZZZZZ/tags', { method: 'POST', body: { tags: ['Welcome'] } })).status, 404);

    const removed = await call(`/contacts/${KATHERINE}/tags`, { method: 'DELETE', body: { tags: ['course buyer'] } });
    assert.equal(removed.status, 200);
    assert.deepEqual(sandbox.contact(KATHERINE).tags, ['gold member', 'welcome']);
    assert.equal(sandbox.tagApplications().at(-1).action, 'remove');
  });

  test("tagCase 'preserve' keeps the case of tag names", async () => {
    const { sandbox, call } = hl({ tagCase: 'preserve' });
    assert.deepEqual(sandbox.contact(ADA).tags, ['Gold Member', 'Newsletter']);
    await call(`/contacts/${ADA}/tags`, { method: 'POST', body: { tags: ['welcome'] } });
    assert.deepEqual(sandbox.contact(ADA).tags, ['Gold Member', 'Newsletter', 'Welcome'], 'matched to the existing tag');
    assert.throws(() => createHighLevelSandbox({ tagCase: 'upper' }), TypeError);
  });

  test('GET /locations/{id}/tags and /customFields: lists without paging; model filter; 403 for another location', async () => {
    const { call } = hl();
    const tags = await call(`/locations/${LOC}/tags`);
    assert.equal(tags.status, 200);
    const tagBody = await tags.json();
    assert.deepEqual(Object.keys(tagBody), ['tags']);
    assert.deepEqual(tagBody.tags.map((t) => t.name).sort(), ['gold member', 'gold member plus', 'newsletter', 'welcome']);
    for (const t of tagBody.tags) {
      assert.deepEqual(Object.keys(t).sort(), ['id', 'locationId', 'name']);
      assert.match(t.id, /^[A-Za-z0-9]{20}$/);
      assert.equal(t.locationId, LOC);
    }

    const fields = await (await call(`/locations/${LOC}/customFields?model=contact`)).json();
    assert.deepEqual(fields.customFields.map((f) => [f.id, f.name, f.fieldKey, f.dataType, f.model]), [
      [PASSWORD_FIELD, 'Password', 'contact.password', 'TEXT', 'contact'],
      [LINK_FIELD, 'Set Password Link', 'contact.set_password_link', 'LARGE_TEXT', 'contact'],
    ]);
    assert.equal((await (await call(`/locations/${LOC}/customFields`)).json()).customFields.length, 2);
    assert.deepEqual((await (await call(`/locations/${LOC}/customFields?model=opportunity`)).json()).customFields, []);
    assert.equal((await call(`/locations/${LOC}/customFields?model=deal`)).status, 422);
    assert.equal((await call('/locations/AAAAAAAAAAAAAAAAAAAA/tags')).status, 403);
    assert.equal((await call('/locations/AAAAAAAAAAAAAAAAAAAA/customFields')).status, 403);
  });

  test('rate limit: 100 per 10 s (sliding), 429 with X-RateLimit-* at 0 and no Retry-After', async () => {
    const { clock, call, sandbox } = hl();
    const first = await call(`/contacts/${ADA}`);
    assert.equal(first.headers.get('x-ratelimit-max'), '100');
    assert.equal(first.headers.get('x-ratelimit-remaining'), '99');
    assert.equal(first.headers.get('x-ratelimit-interval-milliseconds'), '10000');
    assert.equal(first.headers.get('x-ratelimit-limit-daily'), '200000');
    assert.equal(first.headers.get('x-ratelimit-daily-remaining'), '199999');
    for (let i = 0; i < 49; i += 1) assert.equal((await call(`/contacts/${ADA}`)).status, 200);
    clock.advance(5000);
    for (let i = 0; i < 50; i += 1) assert.equal((await call(`/contacts/${ADA}`)).status, 200);
    clock.advance(4999); // 9.999 s after the first fifty
    const limited = await call(`/contacts/${ADA}`);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), null, 'no Retry-After documented');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.equal((await limited.json()).statusCode, 429);
    clock.advance(1); // the first fifty leave the window
    for (let i = 0; i < 50; i += 1) assert.equal((await call(`/contacts/${ADA}`)).status, 200);
    assert.equal((await call(`/contacts/${ADA}`)).status, 429, 'sliding, not a fixed window');
    assert.equal(sandbox.requests().filter((r) => r.rateLimited).length, 2);

    const daily = hl({ rateLimit: { perDay: 3 } }); // burst stays 100
    for (let i = 0; i < 3; i += 1) await daily.call(`/contacts/${ADA}`);
    daily.clock.advance(60_000);
    const overDay = await daily.call(`/contacts/${ADA}`);
    assert.equal(overDay.status, 429);
    assert.equal(overDay.headers.get('x-ratelimit-daily-remaining'), '0');
    daily.clock.advance(86_400_000);
    assert.equal((await daily.call(`/contacts/${ADA}`)).status, 200);

    const free = hl({ rateLimit: false });
    for (let i = 0; i < 150; i += 1) assert.equal((await free.call(`/contacts/${ADA}`)).status, 200);
    assert.throws(() => createHighLevelSandbox({ rateLimit: { burst: 0 } }), TypeError);
  });

  test('rate limit: unauthenticated requests do not count', async () => {
    const { sandbox, call } = hl({ rateLimit: { burst: 2 } });
    for (let i = 0; i < 5; i += 1) await sandbox.fetch(`${BASE}/contacts/${ADA}`);
    assert.equal((await call(`/contacts/${ADA}`)).status, 200);
    assert.equal((await call(`/contacts/${ADA}`)).status, 200);
    assert.equal((await call(`/contacts/${ADA}`)).status, 429);
  });

  test('faults: before-phase changes nothing, after-phase commits then fails, match filters', async () => {
    const { sandbox, call } = hl();
    sandbox.injectFaults([
      { status: 500, match: { method: 'PUT' } },
      { status: 429 },
      { status: 503, match: { pathPrefix: '/locations/' } },
    ]);
    const throttled = await call(`/contacts/${ADA}`);
    assert.equal(throttled.status, 429);
    assert.equal((await throttled.json()).statusCode, 429);
    const failed = await call(`/contacts/${ADA}`, { method: 'PUT', body: { firstName: 'Never' } });
    assert.equal(failed.status, 500);
    assert.equal(sandbox.contact(ADA).firstName, 'Ada');
    assert.equal((await call(`/locations/${LOC}/tags`)).status, 503);
    assert.deepEqual(sandbox.pendingFaults(), []);

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'POST', pathPrefix: '/contacts/' } });
    const lost = await call(`/contacts/${ADA}/tags`, { method: 'POST', body: { tags: ['Welcome'] } });
    assert.equal(lost.status, 502);
    assert.ok(sandbox.contact(ADA).tags.includes('welcome'), 'applied although the answer was lost');
    assert.equal(sandbox.requests().at(-1).fault.phase, 'after');

    sandbox.injectFaults({ status: 500, body: 'upstream exploded' });
    const text = await call(`/contacts/${ADA}`);
    assert.equal(await text.text(), 'upstream exploded');
    assert.throws(() => sandbox.injectFaults([{ status: 200 }, { phase: 'later' }]), TypeError);
    sandbox.injectFaults({ status: 500 });
    sandbox.clearFaults();
    assert.deepEqual(sandbox.pendingFaults(), []);
  });

  test('faults: delays use the injected sleep and end with the request signal', async () => {
    const timer = manualSleep();
    const { sandbox } = hl({ sleep: timer.sleep });
    sandbox.injectFaults([{ delayMs: 5000 }, { delayMs: Infinity }]);
    const slow = sandbox.fetch(`${BASE}/contacts/${ADA}`, { headers: AUTH });
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting[0].ms, 5000);
    timer.wakeAll();
    assert.equal((await slow).status, 200);

    const controller = new AbortController();
    const hung = sandbox.fetch(`${BASE}/contacts/${ADA}`, { headers: AUTH, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    assert.equal(sandbox.requests().at(-1).aborted, true);
  });

  test('audit: password written before the welcome tag, one sequence, no secrets or headers', async () => {
    const { sandbox, call } = hl();
    const password = 'S3cret-Pass-0001';
    await call(`/contacts/search/duplicate?locationId=${LOC}&email=k.johnson%40example.net`);
    await call(`/contacts/${KATHERINE}`, { method: 'PUT', body: { customFields: [{ id: PASSWORD_FIELD, field_value: password }] } });
    await call(`/contacts/${KATHERINE}/tags`, { method: 'POST', body: { tags: ['Welcome'] } });
    assert.deepEqual(sandbox.audit().map((e) => e.kind), ['request', 'request', 'field', 'request', 'tag']);
    const write = sandbox.fieldWrites()[0];
    const welcome = sandbox.tagApplications()[0];
    assert.ok(write.seq < welcome.seq);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(HIGHLEVEL_DEFAULT_TOKEN));
    assert.ok(!everything.includes(HIGHLEVEL_API_VERSION), 'header values are not logged');
    assert.equal(sandbox.requests()[0].query, `locationId=${LOC}&email=k.johnson%40example.net`);
  });

  test('helpers: deep copies, addContact, reset, seed replacement, unknown routes', async () => {
    const { sandbox, call } = hl();
    const copy = sandbox.contacts();
    assert.equal(copy.length, 4);
    copy[0].tags.push('mutated');
    assert.ok(!sandbox.contact(ADA).tags.includes('mutated'));

    const added = sandbox.addContact({ firstName: 'Dorothy', email: 'dorothy@example.com', tags: ['Welcome'], customFields: { Password: 'x1' } });
    assert.deepEqual(added.tags, ['welcome']);
    assert.deepEqual(added.customFields, [{ id: PASSWORD_FIELD, value: 'x1' }]);
    assert.equal(sandbox.addTag({ name: 'VIP' }).name, 'vip');
    assert.equal(sandbox.fields().length, 2);
    await call(`/contacts/${ADA}`);
    sandbox.injectFaults({ status: 500 });

    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.equal(sandbox.tags().length, 4);
    assert.deepEqual(sandbox.audit(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.equal(sandbox.addContact({ email: 'again@example.com' }).id, added.id, 'ids repeat after reset');

    const custom = hl({ seed: { contacts: [{ firstName: 'Solo', email: 'solo@example.com', tags: ['Newsletter'] }] } });
    assert.equal(custom.sandbox.contacts().length, 1);
    assert.equal(custom.sandbox.tags().length, 4, 'tags keep the default seed');
    const emptySeed = hl({ seed: { contacts: [], tags: [], customFields: [] } });
    assert.deepEqual((await (await emptySeed.call(`/locations/${LOC}/customFields`)).json()).customFields, []);
    assert.throws(() => createHighLevelSandbox({ seed: { contacts: [{ id: '123', email: 'x@example.com' }] } }), TypeError);

    assert.equal((await call('/nothing-here')).status, 404);
    assert.equal((await call(`/contacts/${ADA}`, { method: 'PATCH', body: {} })).status, 405);
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): the same sandbox over real HTTP at the server root', async () => {
    const { sandbox } = hl();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${server.url}/contacts/search/duplicate?locationId=${LOC}&email=k.johnson%40example.net`, { headers: AUTH });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-max'), '100');
      assert.equal((await res.json()).contact.id, KATHERINE);
      const tagged = await fetch(`${server.url}/contacts/${KATHERINE}/tags`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify({ tags: ['Welcome'] }),
      });
      assert.equal(tagged.status, 201);
      assert.ok(sandbox.contact(KATHERINE).tags.includes('welcome'));
      assert.equal((await fetch(`${server.url}/contacts/${KATHERINE}`)).status, 401);
    } finally {
      await server.close();
    }
  });
});
