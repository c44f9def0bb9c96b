// Tests of the HubSpot sandbox (js/sandbox/hubspot.mjs).
// Run: node --test tests/js/sandbox-hubspot.test.mjs. Every test uses an injected clock.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { createHubSpotSandbox, HUBSPOT_DEFAULT_TOKEN, HUBSPOT_TAG_PROPERTY } from '../../js/sandbox/hubspot.mjs';

const BASE = 'https://api.hubapi.com';
const CONTACTS = '/crm/v3/objects/contacts';
const ADA = '101'; // mixed-case email, tag Gold Member
const GRACE = '151'; // tags Gold Member + Newsletter, a password
const ALAN = '201'; // no tags
const KATHERINE = '112233445566'; // an id beyond 32 bits
const WELCOME_LIST = '13';
const DYNAMIC_LIST = '14';

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

const AUTH = { Authorization: `Bearer ${HUBSPOT_DEFAULT_TOKEN}` };

// The helper moves the clock `tickMs` before each call (searches are limited per second); the
// rate-limit tests pass tickMs 0. `body` is sent as JSON, `rawBody` as is.
function hs({ tickMs = 250, ...options } = {}) {
  const clock = manualClock();
  const sandbox = createHubSpotSandbox({ now: clock.now, ...options });
  const call = (path, { method = 'GET', body, rawBody, headers = {} } = {}) => {
    clock.advance(tickMs);
    return sandbox.fetch(BASE + path, {
      method,
      headers: { ...AUTH, 'Content-Type': 'application/json', ...headers },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  };
  const patch = (id, properties, query = '') => call(`${CONTACTS}/${id}${query}`, { method: 'PATCH', body: { properties } });
  const search = (body) => call(`${CONTACTS}/search`, { method: 'POST', body });
  return { sandbox, clock, call, patch, search };
}

const emailEq = (value) => ({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value }] }] });

describe('HubSpot sandbox', () => {
  test('auth: Bearer private app token only; 401 INVALID_AUTHENTICATION; token never logged', async () => {
    const { sandbox, call } = hs();
    const missing = await sandbox.fetch(`${BASE}${CONTACTS}/${ADA}`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type'), /application\/json/);
    const body = await missing.json();
    assert.deepEqual(Object.keys(body), ['status', 'message', 'correlationId', 'category']);
    assert.equal(body.status, 'error');
    assert.equal(body.category, 'INVALID_AUTHENTICATION');
    assert.match(body.message, /^Authentication credentials not found/);

    assert.equal((await call(`${CONTACTS}/${ADA}`, { headers: { Authorization: 'Bearer pat-na1-wrong' } })).status, 401);
    assert.equal((await call(`${CONTACTS}/${ADA}`, { headers: { Authorization: HUBSPOT_DEFAULT_TOKEN } })).status, 401, 'no scheme');
    const hapikey = await sandbox.fetch(`${BASE}${CONTACTS}/${ADA}?hapikey=${HUBSPOT_DEFAULT_TOKEN}`);
    assert.equal(hapikey.status, 401, 'the retired hapikey parameter authenticates nothing');
    assert.equal(missing.headers.get('x-hubspot-ratelimit-remaining'), null, 'refused requests do not count');

    assert.equal((await call(`${CONTACTS}/${ADA}`)).status, 200);
    const requestLog = JSON.stringify(sandbox.requests());
    assert.ok(!requestLog.includes('pat-na1-wrong'));
    assert.ok(!JSON.stringify(sandbox.audit()).includes(HUBSPOT_DEFAULT_TOKEN), 'not even the hapikey query value');
    assert.equal(sandbox.requests()[3].query, 'hapikey=%5Bredacted%5D');
    assert.deepEqual(sandbox.requests().map((r) => r.status), [401, 401, 401, 401, 200]);
  });

  test('GET contact by id: {id, properties, createdAt, updatedAt, archived}, string ids, requested properties', async () => {
    const { call } = hs();
    const res = await call(`${CONTACTS}/${GRACE}?properties=email,firstname,lastname,memberwire_password,memberwire_set_password_link,${HUBSPOT_TAG_PROPERTY},no_such_property`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-hubspot-ratelimit-max'), '100');
    const body = await res.json();
    assert.deepEqual(Object.keys(body), ['id', 'properties', 'createdAt', 'updatedAt', 'archived']);
    assert.equal(body.id, GRACE);
    assert.equal(body.archived, false);
    assert.match(body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const p = body.properties;
    assert.equal(p.email, 'grace.hopper@example.org');
    assert.equal(p.firstname, 'Grace');
    assert.equal(p.lastname, 'Hopper');
    assert.equal(p.memberwire_password, 'Cobol-1959');
    assert.equal(p.memberwire_set_password_link, null, 'a requested but unset property is null');
    assert.equal(p[HUBSPOT_TAG_PROPERTY], 'gold_member;newsletter', 'checkbox values joined by ;');
    assert.equal(p.hs_object_id, GRACE);
    assert.ok(!('no_such_property' in p), 'unknown properties are ignored');

    // Repeated parameters work as well as a comma list.
    const repeated = await (await call(`${CONTACTS}/${GRACE}?properties=email&properties=memberwire_password`)).json();
    assert.equal(repeated.properties.memberwire_password, 'Cobol-1959');
    assert.equal(repeated.properties.firstname, undefined);

    const plain = await (await call(`${CONTACTS}/${ALAN}`)).json();
    assert.deepEqual(Object.keys(plain.properties), ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);

    const big = await (await call(`${CONTACTS}/${KATHERINE}`)).json();
    assert.equal(big.id, KATHERINE, 'ids are strings, even beyond 2^32');
  });

  test('unknown contacts (unverified bodies): numeric id "resource not found", non-numeric OBJECT_NOT_FOUND', async () => {
    const { call } = hs();
    const numeric = await call(`${CONTACTS}/999999`);
    assert.equal(numeric.status, 404);
    const nb = await numeric.json();
    assert.equal(nb.message, 'resource not found');
    assert.equal(nb.category, undefined);

    const word = await call(`${CONTACTS}/abc`);
    assert.equal(word.status, 404);
    const wb = await word.json();
    assert.equal(wb.category, 'OBJECT_NOT_FOUND');
    assert.deepEqual(wb.context, { id: ['abc'] });
    assert.equal((await call(`${CONTACTS}/999999`, { method: 'PATCH', body: { properties: { firstname: 'x' } } })).status, 404);
  });

  test('find by email: idProperty=email (case-insensitive, + kept in the path) and POST search', async () => {
    const { sandbox, call, search } = hs();
    const byEmail = await call(`${CONTACTS}/${encodeURIComponent('ada.lovelace@EXAMPLE.com')}?idProperty=email&properties=email`);
    assert.equal(byEmail.status, 200);
    const ada = await byEmail.json();
    assert.equal(ada.id, ADA);
    assert.equal(ada.properties.email, 'Ada.Lovelace@Example.com');
    assert.equal((await call(`${CONTACTS}/nobody@example.com?idProperty=email`)).status, 404);

    sandbox.addContact({ id: '301', email: 'first+tag@example.com', firstname: 'Plus' });
    assert.equal((await (await call(`${CONTACTS}/first+tag@example.com?idProperty=email`)).json()).id, '301');
    assert.equal((await call(`${CONTACTS}/x@example.com?idProperty=phone`)).status, 400);

    const found = await search({ ...emailEq('ADA.lovelace@example.com'), properties: ['email', 'firstname', HUBSPOT_TAG_PROPERTY] });
    assert.equal(found.status, 200);
    const fb = await found.json();
    assert.equal(fb.total, 1);
    assert.equal(fb.results[0].id, ADA);
    assert.equal(fb.results[0].properties[HUBSPOT_TAG_PROPERTY], 'gold_member');
    assert.equal(fb.paging, undefined);
    assert.deepEqual(await (await search(emailEq('nobody@example.com'))).json(), { total: 0, results: [] });

    const plus = await (await search({ query: 'Plus' })).json();
    assert.deepEqual(plus.results.map((r) => r.id), ['301']);
  });

  test('search: paging with after, IN needs lower-case values, limits of the request are 400s', async () => {
    const { search } = hs();
    const first = await (await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }], limit: 3 })).json();
    assert.equal(first.total, 4);
    assert.equal(first.results.length, 3);
    assert.equal(first.paging.next.after, '3');
    const second = await (await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }], limit: 3, after: first.paging.next.after })).json();
    assert.deepEqual(second.results.map((r) => r.id), [KATHERINE]);

    const upper = await (await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN', values: ['Ada.Lovelace@Example.com'] }] }] })).json();
    assert.equal(upper.total, 0, 'IN compares with the lower-cased stored value');
    const lower = await (await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'IN', values: ['ada.lovelace@example.com'] }] }] })).json();
    assert.equal(lower.total, 1);

    const sixGroups = Array.from({ length: 6 }, () => ({ filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' }] }));
    const tooMany = await search({ filterGroups: sixGroups });
    assert.equal(tooMany.status, 400);
    assert.equal((await tooMany.json()).category, 'VALIDATION_ERROR');
    assert.equal((await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] })).status, 400);
    assert.equal((await search({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' }] }] })).status, 400);
    assert.equal((await search({ limit: 201 })).status, 400);
    assert.equal((await search({ after: 'garbage' })).status, 400);
  });

  test('PATCH: writes a custom property, state and fieldWrites show it, the value never reaches the log', async () => {
    const { sandbox, patch } = hs();
    const password = 'S3cret-Pass-0001';
    const link = `https://members.example.com/set-password?key=${'k'.repeat(300)}`;
    const res = await patch(ALAN, { memberwire_password: password, memberwire_set_password_link: link, firstname: 'Alan M.' });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.id, ALAN);
    assert.equal(body.properties.memberwire_password, password);
    assert.equal(body.properties.firstname, 'Alan M.');
    assert.equal(body.properties.lastname, 'Turing', 'the answer carries every stored property (unverified)');

    const stored = sandbox.contact(ALAN);
    assert.equal(stored.properties.memberwire_password, password);
    assert.equal(stored.properties.memberwire_set_password_link, link);
    const writes = sandbox.fieldWrites();
    assert.deepEqual(writes.map((w) => [w.contactId, w.fieldId, w.length]), [
      [ALAN, 'memberwire_password', password.length],
      [ALAN, 'memberwire_set_password_link', link.length],
    ]);
    const log = JSON.stringify(sandbox.audit());
    assert.ok(!log.includes(password) && !log.includes('kkkk'));

    // An empty string clears a value.
    assert.equal((await patch(ALAN, { memberwire_set_password_link: '' })).status, 200);
    assert.equal(sandbox.contact(ALAN).properties.memberwire_set_password_link, undefined);

    // idProperty=email works for updates too.
    assert.equal((await patch('grace.hopper@example.org', { memberwire_password: 'Other-1' }, '?idProperty=email')).status, 200);
    assert.equal(sandbox.contact(GRACE).properties.memberwire_password, 'Other-1');
  });

  test('PATCH validation: unknown and read-only properties, bad email, duplicate email (409), over-long value (unverified 65,536 cap), bad JSON', async () => {
    const { sandbox, patch, call } = hs();
    const bad = await patch(ALAN, { firstname: 'Changed', memberwire_pasword: 'x', hs_object_id: '5' });
    assert.equal(bad.status, 400);
    const bb = await bad.json();
    assert.equal(bb.category, 'VALIDATION_ERROR');
    assert.match(bb.message, /^Property values were not valid: /);
    assert.deepEqual(bb.errors.map((e) => e.code), ['PROPERTY_DOESNT_EXIST', 'READ_ONLY_VALUE'], 'every invalid property is listed');
    assert.deepEqual(bb.errors[0].context, { propertyName: ['memberwire_pasword'] });
    assert.equal(sandbox.contact(ALAN).properties.firstname, 'Alan', 'a rejected PATCH changes nothing');

    const badEmail = await patch(ALAN, { email: 'alan@@example' });
    assert.equal(badEmail.status, 400);
    assert.equal((await badEmail.json()).errors[0].code, 'INVALID_EMAIL');

    const taken = await patch(ALAN, { email: 'GRACE.HOPPER@example.org' });
    assert.equal(taken.status, 409);
    const tb = await taken.json();
    assert.equal(tb.category, 'CONFLICT');
    assert.equal(tb.message, `Contact already exists. Existing ID: ${GRACE}`);
    assert.equal((await patch(GRACE, { email: 'Grace.Hopper@example.org' })).status, 200, 'a contact may re-case its own email');

    const secret = 'x'.repeat(65_537);
    const long = await patch(ALAN, { memberwire_password: secret });
    assert.equal(long.status, 400, 'property values hold at most 65,536 characters (unverified)');
    assert.ok(!(await long.text()).includes('xxxxxxxx'), 'errors never echo a value');
    assert.equal((await patch(ALAN, { memberwire_password: 'x'.repeat(65_536) })).status, 200);

    assert.equal((await patch(ALAN, { memberwire_password: { nested: true } })).status, 400);
    assert.equal((await call(`${CONTACTS}/${ALAN}`, { method: 'PATCH', rawBody: '{"properties": ' })).status, 400);
    assert.equal((await call(`${CONTACTS}/${ALAN}`, { method: 'PATCH', rawBody: '[]' })).status, 400);
    assert.equal((await call(`${CONTACTS}/${ALAN}`, { method: 'PATCH', body: { firstname: 'no wrapper' } })).status, 400);
    assert.equal((await call(`${CONTACTS}/${ALAN}`, { method: 'PATCH', body: { properties: ['x'] } })).status, 400);
  });

  test('properties: list all, read one (checkbox options = tags), unknown is 404', async () => {
    const { call } = hs();
    const all = await (await call('/crm/v3/properties/contacts')).json();
    const names = all.results.map((p) => p.name);
    for (const n of ['email', 'firstname', 'lastname', 'memberwire_password', 'memberwire_set_password_link', HUBSPOT_TAG_PROPERTY]) assert.ok(names.includes(n), n);
    const pw = all.results.find((p) => p.name === 'memberwire_password');
    assert.equal(pw.type, 'string');
    assert.equal(pw.fieldType, 'text');
    assert.equal(pw.hubspotDefined, false);

    const tags = await (await call(`/crm/v3/properties/contacts/${HUBSPOT_TAG_PROPERTY}`)).json();
    assert.equal(tags.type, 'enumeration');
    assert.equal(tags.fieldType, 'checkbox');
    assert.deepEqual(tags.options.map((o) => [o.label, o.value]), [['Gold Member', 'gold_member'], ['Newsletter', 'newsletter'], ['Welcome', 'welcome']]);
    assert.equal((await call('/crm/v3/properties/contacts/no_such_property')).status, 404);
  });

  test('tags as a multi-checkbox property: set by value, invalid option 400, applications logged', async () => {
    const { sandbox, patch } = hs();
    const res = await patch(ADA, { [HUBSPOT_TAG_PROPERTY]: 'gold_member;welcome' });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).properties[HUBSPOT_TAG_PROPERTY], 'gold_member;welcome');
    assert.deepEqual(sandbox.tagApplications().map((a) => [a.via, a.action, a.tagName, a.duplicate]), [
      ['property', 'apply', 'Gold Member', true],
      ['property', 'apply', 'Welcome', false],
    ]);
    const wrong = await patch(ADA, { [HUBSPOT_TAG_PROPERTY]: 'Welcome' });
    assert.equal(wrong.status, 400, 'values are option values, not labels');
    assert.equal((await wrong.json()).errors[0].code, 'INVALID_OPTION');
    assert.equal((await patch(ADA, { [HUBSPOT_TAG_PROPERTY]: 'welcome' })).status, 200, 'the whole value is replaced');
    assert.equal(sandbox.contact(ADA).properties[HUBSPOT_TAG_PROPERTY], 'welcome');
    assert.equal(sandbox.tagApplications().at(-1).action, 'remove');
    assert.equal(sandbox.fieldWrites().length, 0, 'tag writes are not field writes');
  });

  test('lists: fetch by id, by name, several, search; record memberships', async () => {
    const { call } = hs();
    const one = await (await call('/crm/v3/lists/11')).json();
    assert.deepEqual(
      { listId: one.list.listId, name: one.list.name, processingType: one.list.processingType, objectTypeId: one.list.objectTypeId, size: one.list.size },
      { listId: '11', name: 'Gold Member', processingType: 'MANUAL', objectTypeId: '0-1', size: 2 },
    );
    assert.equal((await call('/crm/v3/lists/999')).status, 404);

    const byName = await (await call(`/crm/v3/lists/object-type-id/0-1/name/${encodeURIComponent('gold member')}`)).json();
    assert.equal(byName.list.listId, '11', 'names are not case sensitive');
    assert.equal((await call('/crm/v3/lists/object-type-id/0-1/name/Nope')).status, 404);

    const several = await (await call('/crm/v3/lists?listIds=11&listIds=13&listIds=999')).json();
    assert.deepEqual(several.lists.map((l) => l.name), ['Gold Member', 'Welcome']);

    const all = await (await call('/crm/v3/lists/search', { method: 'POST', body: { query: '', processingTypes: ['MANUAL'] } })).json();
    assert.deepEqual(all.lists.map((l) => l.name), ['Gold Member', 'Newsletter', 'Welcome']);
    assert.equal(all.total, 3);
    assert.equal(all.hasMore, false);
    assert.equal(all.lists[0].additionalProperties.hs_list_size, '2');

    const memberships = await (await call(`/crm/v3/lists/records/0-1/${GRACE}/memberships`)).json();
    assert.deepEqual(memberships.results.map((m) => m.listId), ['11', '12']);
    assert.ok(memberships.results[0].firstAddedTimestamp);
    assert.equal(memberships.total, 2);
    const adaLists = await (await call(`/crm/v3/lists/records/0-1/${ADA}/memberships`)).json();
    assert.deepEqual(adaLists.results.map((m) => m.listId), ['11', DYNAMIC_LIST], 'dynamic lists show too');
    assert.deepEqual((await (await call(`/crm/v3/lists/records/0-1/${ALAN}/memberships`)).json()).results, []);
  });

  test('lists: memberships/add answers {recordIdsMissing, recordIdsRemoved, recordsIdsAdded}; DYNAMIC lists refuse (error bodies unverified)', async () => {
    const { sandbox, call } = hs();
    const add = (listId, ids) => call(`/crm/v3/lists/${listId}/memberships/add`, { method: 'PUT', body: ids });
    const res = await add(WELCOME_LIST, [ALAN, 999, KATHERINE]);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { recordIdsMissing: ['999'], recordIdsRemoved: [], recordsIdsAdded: [ALAN, KATHERINE] });
    const again = await (await add(WELCOME_LIST, [ALAN])).json();
    assert.deepEqual(again.recordsIdsAdded, [], 'existing members are ignored');
    assert.deepEqual(sandbox.contact(ALAN).listIds, [WELCOME_LIST]);

    const members = await (await call(`/crm/v3/lists/${WELCOME_LIST}/memberships?limit=1`)).json();
    assert.deepEqual(members.results.map((m) => m.recordId), [ALAN]);
    assert.equal(members.total, 2);
    const next = await (await call(`/crm/v3/lists/${WELCOME_LIST}/memberships?limit=1&after=${members.paging.next.after}`)).json();
    assert.deepEqual(next.results.map((m) => m.recordId), [KATHERINE]);

    const dynamic = await add(DYNAMIC_LIST, [ALAN]);
    assert.equal(dynamic.status, 400);
    assert.equal((await dynamic.json()).category, 'VALIDATION_ERROR');
    assert.equal((await add('999', [ALAN])).status, 404);
    assert.equal((await call(`/crm/v3/lists/${WELCOME_LIST}/memberships/add`, { method: 'PUT', body: { recordIds: [ALAN] } })).status, 400, 'the body is a bare array');
    assert.equal((await add(WELCOME_LIST, ['abc'])).status, 400);

    const removed = await (await call(`/crm/v3/lists/${WELCOME_LIST}/memberships/remove`, { method: 'PUT', body: [ALAN] })).json();
    assert.deepEqual(removed.recordIdsRemoved, [ALAN]);
    assert.deepEqual(sandbox.contact(ALAN).listIds, []);

    const log = sandbox.tagApplications();
    assert.deepEqual(log.map((e) => [e.via, e.action, e.contactId, e.tagName, e.duplicate ?? e.wasApplied]), [
      ['list', 'apply', ALAN, 'Welcome', false],
      ['list', 'apply', KATHERINE, 'Welcome', false],
      ['list', 'apply', ALAN, 'Welcome', true],
      ['list', 'remove', ALAN, 'Welcome', true],
    ]);
  });

  test('rate limit: 100 per rolling 10 s, 429 with policyName (TEN_SECONDLY_ROLLING unverified) and rate headers', async () => {
    const { call, clock, sandbox } = hs({ tickMs: 0 });
    for (let i = 0; i < 50; i += 1) assert.equal((await call(`${CONTACTS}/${ADA}`)).status, 200);
    clock.advance(5_000);
    for (let i = 0; i < 49; i += 1) await call(`${CONTACTS}/${ADA}`);
    const last = await call(`${CONTACTS}/${ADA}`);
    assert.equal(last.status, 200);
    assert.equal(last.headers.get('x-hubspot-ratelimit-remaining'), '0');
    assert.equal(last.headers.get('x-hubspot-ratelimit-interval-milliseconds'), '10000');
    const limited = await call(`${CONTACTS}/${ADA}`);
    assert.equal(limited.status, 429);
    const body = await limited.json();
    assert.equal(body.status, 'error');
    assert.equal(body.errorType, 'RATE_LIMIT');
    assert.equal(body.policyName, 'TEN_SECONDLY_ROLLING', 'unverified name of the 10-second policy');
    assert.equal(limited.headers.get('retry-after'), null);
    clock.advance(5_000); // t = 10 s: the first 50 left the window
    assert.equal((await call(`${CONTACTS}/${ADA}`)).status, 200);
    assert.equal(sandbox.requests().filter((r) => r.rateLimited).length, 1);

    const tier = hs({ tickMs: 0, rateLimit: { per10Seconds: 190 } });
    for (let i = 0; i < 190; i += 1) await tier.call(`${CONTACTS}/${ADA}`);
    assert.equal((await tier.call(`${CONTACTS}/${ADA}`)).status, 429);

    const free = hs({ tickMs: 0, rateLimit: false });
    for (let i = 0; i < 150; i += 1) assert.equal((await free.call(`${CONTACTS}/${ADA}`)).status, 200);
  });

  test('rate limit: daily limit (policyName DAILY) resets the next day; search has its own per-second limit (unverified: 5/s)', async () => {
    const { call, clock } = hs({ tickMs: 0, rateLimit: { perDay: 3 } });
    clock.advance(86_400_000 - (1_700_000_000_000 % 86_400_000) - 60_000); // one minute before midnight UTC
    for (let i = 0; i < 3; i += 1) assert.equal((await call(`${CONTACTS}/${ADA}`)).status, 200);
    const limited = await call(`${CONTACTS}/${ADA}`);
    assert.equal(limited.status, 429);
    const body = await limited.json();
    assert.equal(body.policyName, 'DAILY');
    assert.equal(body.message, 'You have reached your daily limit.');
    assert.equal(limited.headers.get('x-hubspot-ratelimit-daily-remaining'), '0');
    clock.advance(60_000);
    assert.equal((await call(`${CONTACTS}/${ADA}`)).status, 200);

    const s = hs({ tickMs: 0 });
    for (let i = 0; i < 5; i += 1) assert.equal((await s.search(emailEq('x@example.com'))).status, 200);
    const slow = await s.search(emailEq('x@example.com'));
    assert.equal(slow.status, 429, 'search: 5 per second per token (unverified figure)');
    assert.equal((await slow.json()).errorType, 'RATE_LIMIT');
    assert.equal((await s.call(`${CONTACTS}/${ADA}`)).status, 200, 'other endpoints are not affected');
    s.clock.advance(1000);
    assert.equal((await s.search(emailEq('x@example.com'))).status, 200);
  });

  test('faults: consumed once per match, before-phase changes nothing, after-phase commits then fails', async () => {
    const { sandbox, call, patch } = hs();
    sandbox.injectFaults([{ status: 500, match: { method: 'PATCH' } }, { status: 429 }, { status: 503, match: { pathPrefix: '/crm/v3/lists' } }]);
    const throttled = await call(`${CONTACTS}/${ADA}`);
    assert.equal(throttled.status, 429);
    assert.equal((await throttled.json()).errorType, 'RATE_LIMIT');
    assert.equal((await call(`${CONTACTS}/${ADA}`)).status, 200);
    assert.equal((await patch(ADA, { firstname: 'Never' })).status, 500);
    assert.equal(sandbox.contact(ADA).properties.firstname, 'Ada');
    assert.equal((await call(`/crm/v3/lists/${WELCOME_LIST}/memberships/add`, { method: 'PUT', body: [ADA] })).status, 503);
    assert.deepEqual(sandbox.pendingFaults(), []);

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'PUT', pathPrefix: '/crm/v3/lists/' } });
    assert.equal((await call(`/crm/v3/lists/${WELCOME_LIST}/memberships/add`, { method: 'PUT', body: [ADA] })).status, 502);
    assert.ok(sandbox.contact(ADA).listIds.includes(WELCOME_LIST), 'added although the answer was lost');
    assert.equal(sandbox.requests().at(-1).fault.phase, 'after');
    assert.throws(() => sandbox.injectFaults([{ status: 200 }, { phase: 'later' }]), TypeError);
    assert.deepEqual(sandbox.pendingFaults(), []);
  });

  test('faults: delays use the injected sleep and end with the request signal', async () => {
    const timer = manualSleep();
    const { sandbox } = hs({ sleep: timer.sleep });
    sandbox.injectFaults([{ delayMs: 30_000 }, { delayMs: Infinity }]);
    const slow = sandbox.fetch(`${BASE}${CONTACTS}/${ADA}`, { headers: AUTH });
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting[0].ms, 30_000);
    timer.wakeAll();
    assert.equal((await slow).status, 200);

    const controller = new AbortController();
    const hung = sandbox.fetch(`${BASE}${CONTACTS}/${ADA}`, { headers: AUTH, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    assert.equal(sandbox.requests().at(-1).aborted, true);
  });

  test('audit: password written before the Welcome list add, one sequence, no secrets or tokens', async () => {
    const { sandbox, patch, call } = hs();
    const password = 'Welcome-Pass-77';
    await patch(KATHERINE, { memberwire_password: password });
    await call(`/crm/v3/lists/${WELCOME_LIST}/memberships/add`, { method: 'PUT', body: [KATHERINE] });
    const write = sandbox.fieldWrites()[0];
    const welcome = sandbox.tagApplications()[0];
    assert.equal(write.contactId, KATHERINE);
    assert.equal(welcome.tagName, 'Welcome');
    assert.ok(write.seq < welcome.seq);
    assert.deepEqual(sandbox.audit().map((e) => e.kind), ['request', 'field', 'request', 'tag']);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(HUBSPOT_DEFAULT_TOKEN));
    assert.ok(!everything.toLowerCase().includes('bearer'));
  });

  test('helpers: deep copies, addContact, addTag, reset, seed replacement, unknown routes', async () => {
    const { sandbox, call } = hs();
    const copy = sandbox.contacts();
    assert.deepEqual(copy.map((c) => c.id), [ADA, GRACE, ALAN, KATHERINE]);
    copy[0].properties.firstname = 'Mutated';
    assert.equal(sandbox.contact(ADA).properties.firstname, 'Ada');
    assert.equal(sandbox.contact('999'), undefined);

    const vip = sandbox.addTag({ name: 'VIP' });
    assert.equal(vip.processingType, 'MANUAL');
    const added = sandbox.addContact({ email: 'dorothy@example.com', firstname: 'Dorothy', tags: ['VIP'], properties: { memberwire_password: 'x1' } });
    assert.deepEqual(added.listIds, [vip.listId]);
    assert.equal(added.properties[HUBSPOT_TAG_PROPERTY], 'vip');
    assert.equal(added.properties.memberwire_password, 'x1');
    assert.ok(sandbox.fields().find((p) => p.name === HUBSPOT_TAG_PROPERTY).options.some((o) => o.label === 'VIP'));
    assert.ok(sandbox.tags().some((l) => l.name === 'VIP'));

    await call(`${CONTACTS}/${ADA}`);
    sandbox.injectFaults({ status: 500 });
    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.deepEqual(sandbox.audit(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.ok(!sandbox.tags().some((l) => l.name === 'VIP'));

    const custom = hs({ seed: { contacts: [{ id: '7', email: 'solo@example.com', tags: ['Welcome'] }] } });
    assert.deepEqual(custom.sandbox.contacts().map((c) => c.id), ['7']);
    assert.equal(custom.sandbox.tags().length, 4, 'lists keep the default seed');

    assert.equal((await call('/crm/v3/nothing-here')).status, 404);
    assert.equal((await call(`${CONTACTS}/${ADA}`, { method: 'DELETE' })).status, 405);
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): the same sandbox over real HTTP, API base = server url', async () => {
    const { sandbox } = hs();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${server.url}${CONTACTS}/k.johnson@example.com?idProperty=email&properties=email,firstname`, { headers: AUTH });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-hubspot-ratelimit-max'), '100');
      assert.equal((await res.json()).id, KATHERINE);
      const put = await fetch(`${server.url}/crm/v3/lists/${WELCOME_LIST}/memberships/add`, {
        method: 'PUT',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify([KATHERINE]),
      });
      assert.equal(put.status, 200);
      assert.ok(sandbox.contact(KATHERINE).listIds.includes(WELCOME_LIST));
      assert.equal((await fetch(`${server.url}${CONTACTS}/${KATHERINE}`)).status, 401);
    } finally {
      await server.close();
    }
  });
});
