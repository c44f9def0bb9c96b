// Tests of the CRM sandboxes in js/sandbox/. Run: node --test tests/js/sandbox.test.mjs
// Every test uses an injected clock, so nothing here waits on real time.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { createKeapSandbox, KEAP_DEFAULT_API_KEY } from '../../js/sandbox/keap.mjs';
import { createActiveCampaignSandbox, AC_DEFAULT_API_TOKEN } from '../../js/sandbox/activecampaign.mjs';

const KEAP = 'https://api.infusionsoft.com/crm/rest';
const AC = 'https://acme.api-us1.com/api/3';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

/** A sleep that resolves only when the test says so (or rejects on abort). */
function manualSleep() {
  const waiting = [];
  const sleep = (ms, signal) =>
    new Promise((resolve, reject) => {
      const entry = { ms, resolve };
      waiting.push(entry);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { sleep, waiting, wakeAll: () => waiting.splice(0).forEach((w) => w.resolve()) };
}

function keap(options = {}) {
  const clock = manualClock();
  const sandbox = createKeapSandbox({ now: clock.now, ...options });
  // `body` is sent as JSON, `rawBody` as is.
  const call = (path, { method = 'GET', body, rawBody, headers = {} } = {}) =>
    sandbox.fetch(KEAP + path, {
      method,
      headers: { 'X-Keap-API-Key': KEAP_DEFAULT_API_KEY, 'Content-Type': 'application/json', ...headers },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  return { sandbox, clock, call };
}

// AC allows 5 requests a second; the helper moves the clock `tickMs` before each call so that
// functional tests stay under it (the rate-limit test passes tickMs 0).
function ac({ tickMs = 250, ...options } = {}) {
  const clock = manualClock();
  const sandbox = createActiveCampaignSandbox({ now: clock.now, ...options });
  const call = (path, { method = 'GET', body, headers = {} } = {}) =>
    clock.advance(tickMs) &&
    sandbox.fetch(AC + path, {
      method,
      headers: { 'Api-Token': AC_DEFAULT_API_TOKEN, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { sandbox, clock, call };
}

const FULL = 'fields=email_addresses,given_name,family_name,custom_fields,tag_ids';

// ------------------------------------------------------------------------------------------------
describe('Keap sandbox', () => {
  test('auth: X-Keap-API-Key required, 401 JSON otherwise, key never logged', async () => {
    const { sandbox, call } = keap();
    const missing = await sandbox.fetch(`${KEAP}/v2/contacts/101`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('content-type'), /application\/json/);
    assert.equal((await missing.json()).code, 401);

    const wrong = await call('/v2/contacts/101', { headers: { 'X-Keap-API-Key': 'not-the-key' } });
    assert.equal(wrong.status, 401);
    const bearer = await sandbox.fetch(`${KEAP}/v2/contacts/101`, { headers: { Authorization: `Bearer ${KEAP_DEFAULT_API_KEY}` } });
    assert.equal(bearer.status, 401, 'only the API key header authenticates');

    assert.equal((await call('/v2/contacts/101')).status, 200);
    const log = JSON.stringify(sandbox.audit());
    assert.ok(!log.includes(KEAP_DEFAULT_API_KEY), 'the API key must not appear in the audit log');
    assert.ok(!log.includes('not-the-key'));
    assert.deepEqual(sandbox.requests().map((r) => r.status), [401, 401, 401, 200]);
  });

  test('GET v2/contacts/{id}: documented shape, string ids, opt-in custom_fields/tag_ids, 404', async () => {
    const { call } = keap();
    const res = await call(`/v2/contacts/101?${FULL}`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(
      { ...body },
      {
        id: '101',
        given_name: 'Ada',
        family_name: 'Lovelace',
        email_addresses: [{ email: 'Ada.Lovelace@Example.com', field: 'EMAIL1' }],
        custom_fields: [
          { id: '11', content: null },
          { id: '13', content: null },
        ],
        tag_ids: ['91', '93'],
      },
    );

    const plain = await (await call('/v2/contacts/103')).json();
    assert.equal(plain.id, '103');
    assert.equal(plain.custom_fields, undefined, 'custom_fields only when asked for');
    assert.equal(plain.tag_ids, undefined, 'tag_ids only when asked for');
    assert.ok(plain.create_time.endsWith('Z'));

    const missing = await call('/v2/contacts/999');
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).status, 'Not Found');
    assert.equal((await call('/v2/contacts/abc')).status, 404);
  });

  test("idType 'integer' emits numeric ids", async () => {
    const { call } = keap({ idType: 'integer' });
    const body = await (await call(`/v2/contacts/101?${FULL}`)).json();
    assert.equal(body.id, 101);
    assert.deepEqual(body.tag_ids, [91, 93]);
    assert.equal(body.custom_fields[0].id, 11);
  });

  test('find by email: case-insensitive, encoded + and @, unknown filter field is 400', async () => {
    const { sandbox, call } = keap();
    const found = await (await call('/v2/contacts?filter=email%3D%3Dada.lovelace%40EXAMPLE.COM')).json();
    assert.deepEqual(found.contacts.map((c) => c.id), ['101']);
    assert.equal(found.next_page_token, '');

    const raw = await (await call('/v2/contacts?filter=email==alan@turing.example')).json();
    assert.deepEqual(raw.contacts.map((c) => c.id), ['105']);

    sandbox.addContact({ id: 201, given_name: 'Plus', email: 'first+tag@example.com' });
    const plain = await (await call('/v2/contacts?filter=email%3D%3Dfirst+tag@example.com')).json();
    assert.equal(plain.contacts.length, 0, "an unencoded '+' decodes to a space and matches nothing");
    const encoded = await (await call('/v2/contacts?filter=email%3D%3Dfirst%2Btag%40example.com')).json();
    assert.deepEqual(encoded.contacts.map((c) => c.id), ['201']);

    assert.equal((await call('/v2/contacts?filter=phone%3D%3D123')).status, 400);
    const none = await (await call('/v2/contacts?filter=email%3D%3Dnobody%40example.com')).json();
    assert.deepEqual(none, { contacts: [], next_page_token: '' });
  });

  test('contact list paging with page_size and page_token; bad token is 400', async () => {
    const { call } = keap();
    const ids = [];
    let token = '';
    let pages = 0;
    do {
      const res = await call(`/v2/contacts?page_size=3${token ? `&page_token=${encodeURIComponent(token)}` : ''}`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.ok(body.contacts.length <= 3);
      ids.push(...body.contacts.map((c) => c.id));
      token = body.next_page_token;
      pages += 1;
    } while (token !== '' && pages < 10);
    assert.equal(pages, 2);
    assert.deepEqual(ids, ['101', '103', '105', '107']);
    assert.equal((await call('/v2/contacts?page_token=garbage')).status, 400);
    assert.equal((await call('/v2/contacts?page_size=-1')).status, 400);
  });

  test('POST v2/contacts creates (201) and does not de-duplicate by email', async () => {
    const { call } = keap();
    const payload = {
      given_name: 'Mary',
      family_name: 'Jackson',
      email_addresses: [{ email: 'Mary.Jackson@example.com', field: 'EMAIL1' }],
      custom_fields: [{ id: '13', content: 'https://members.example.com/set-password?k=abc' }],
    };
    const first = await call('/v2/contacts', { method: 'POST', body: payload });
    assert.equal(first.status, 201);
    const created = await first.json();
    assert.equal(created.given_name, 'Mary');
    assert.equal(created.custom_fields.find((f) => f.id === '13').content, payload.custom_fields[0].content);
    const second = await call('/v2/contacts', { method: 'POST', body: payload });
    assert.equal(second.status, 201);
    assert.notEqual((await second.json()).id, created.id);
    const found = await (await call('/v2/contacts?filter=email%3D%3Dmary.jackson%40example.com')).json();
    assert.equal(found.contacts.length, 2, 'two POSTs, two contacts: callers must search first');

    assert.equal((await call('/v2/contacts', { method: 'POST', body: { given_name: 'No Email' } })).status, 400);
    const badEmail = await call('/v2/contacts', { method: 'POST', body: { email_addresses: [{ email: 'nope', field: 'EMAIL1' }] } });
    assert.equal(badEmail.status, 400);
    assert.equal((await call('/v2/contacts', { method: 'POST', rawBody: '{not json' })).status, 400);
    assert.equal((await call('/v2/contacts', { method: 'POST', rawBody: '[1]' })).status, 400);
  });

  test('PATCH v2/contacts/{id}: names, emails, custom fields; unknown field id is 400 and changes nothing', async () => {
    const { sandbox, call } = keap();
    const res = await call('/v2/contacts/105', {
      method: 'PATCH',
      body: {
        given_name: 'Alan M.',
        email_addresses: [{ email: 'alan@turing.example', field: 'EMAIL1' }],
        custom_fields: [{ id: 11, content: 'Enigma-1912' }],
      },
    });
    assert.equal(res.status, 200);
    const after = sandbox.contact(105);
    assert.equal(after.given_name, 'Alan M.');
    assert.equal(after.family_name, 'Turing');
    assert.deepEqual(after.email_addresses, [{ email: 'alan@turing.example', field: 'EMAIL1' }]);
    assert.equal(after.custom_fields.find((f) => f.id === '11').content, 'Enigma-1912');

    const bad = await call('/v2/contacts/105', {
      method: 'PATCH',
      body: { given_name: 'Changed', custom_fields: [{ id: 12345, content: 'x' }] },
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /12345/);
    assert.equal(sandbox.contact(105).given_name, 'Alan M.', 'a rejected PATCH changes nothing');

    const masked = await call('/v2/contacts/105?update_mask=family_name', {
      method: 'PATCH',
      body: { given_name: 'Ignored', family_name: 'Turing-OBE' },
    });
    assert.equal(masked.status, 200);
    assert.equal(sandbox.contact(105).given_name, 'Alan M.');
    assert.equal(sandbox.contact(105).family_name, 'Turing-OBE');
    assert.equal((await call('/v2/contacts/999', { method: 'PATCH', body: {} })).status, 404);
  });

  test('Password custom field holds at most 20 characters (reject, or truncate when configured)', async () => {
    const { sandbox, call } = keap();
    const twenty = 'A1b2C3d4E5f6G7h8I9j0';
    const tooLong = `${twenty}X`;
    const rejected = await call('/v2/contacts/101', { method: 'PATCH', body: { custom_fields: [{ id: '11', content: tooLong }] } });
    assert.equal(rejected.status, 400);
    const text = await rejected.text();
    assert.match(text, /at most 20/);
    assert.ok(!text.includes(tooLong), 'the error must not echo the password');
    assert.equal(sandbox.contact(101).custom_fields.find((f) => f.id === '11').content, null);

    const ok = await call('/v2/contacts/101', { method: 'PATCH', body: { custom_fields: [{ id: '11', content: twenty }] } });
    assert.equal(ok.status, 200);
    assert.equal(sandbox.contact(101).custom_fields.find((f) => f.id === '11').content, twenty);

    // The long-text field takes long values.
    const link = `https://members.example.com/set-password?key=${'k'.repeat(200)}`;
    const linkRes = await call('/v2/contacts/101', { method: 'PATCH', body: { custom_fields: [{ id: '13', content: link }] } });
    assert.equal(linkRes.status, 200);

    const t = keap({ fieldOverflow: 'truncate' });
    const cut = await t.call('/v2/contacts/101', { method: 'PATCH', body: { custom_fields: [{ id: '11', content: tooLong }] } });
    assert.equal(cut.status, 200);
    assert.equal(t.sandbox.contact(101).custom_fields.find((f) => f.id === '11').content, twenty);
    assert.equal(t.sandbox.fieldWrites().at(-1).truncated, true);
  });

  test('GET v2/contacts/model lists custom fields with id, label, field_type', async () => {
    const { call } = keap();
    const body = await (await call('/v2/contacts/model')).json();
    const byLabel = Object.fromEntries(body.custom_fields.map((f) => [f.label, f]));
    assert.equal(byLabel.Password.id, '11');
    assert.equal(byLabel.Password.field_type, 'TEXT');
    assert.equal(byLabel['Set Password Link'].field_type, 'TEXT_AREA');
    assert.equal(byLabel.Password.record_type, 'CONTACT');
  });

  test('v1 tags: apply and remove, unknown tag ids are 400 and apply nothing, log counts', async () => {
    const { sandbox, call } = keap();
    const applied = await call('/v1/contacts/105/tags', { method: 'POST', body: { tagIds: [95, 91] } });
    assert.equal(applied.status, 200);
    assert.deepEqual(await applied.json(), { 95: 'SUCCESS', 91: 'SUCCESS' });
    const again = await call('/v1/contacts/105/tags', { method: 'POST', body: { tagIds: ['95'] } });
    assert.deepEqual(await again.json(), { 95: 'DUPLICATE' });

    const unknown = await call('/v1/contacts/105/tags', { method: 'POST', body: { tagIds: [93, 4242] } });
    assert.equal(unknown.status, 400);
    assert.match((await unknown.json()).message, /4242/);
    assert.ok(!sandbox.contact(105).tag_ids.includes('93'), 'a rejected apply applies nothing');
    assert.equal((await call('/v1/contacts/105/tags', { method: 'POST', body: { tagIds: [] } })).status, 400);
    assert.equal((await call('/v1/contacts/999/tags', { method: 'POST', body: { tagIds: [95] } })).status, 404);

    const removed = await call('/v1/contacts/105/tags?ids=91,95', { method: 'DELETE' });
    assert.equal(removed.status, 204);
    assert.deepEqual(sandbox.contact(105).tag_ids, []);
    assert.equal((await call('/v1/contacts/105/tags?ids=91,777', { method: 'DELETE' })).status, 400);
    assert.equal((await call('/v1/contacts/105/tags', { method: 'DELETE' })).status, 400);

    const welcome = sandbox.tagApplications().filter((a) => a.action === 'apply' && a.tagId === '95' && a.contactId === '105');
    assert.equal(welcome.length, 2);
    assert.equal(welcome.filter((a) => !a.duplicate).length, 1, 'Welcome newly applied exactly once');
    assert.equal(welcome[0].tagName, 'Welcome');
    assert.equal(sandbox.tagApplications().filter((a) => a.action === 'remove').length, 2);
  });

  test('v2 tags: list paged, create (201, duplicate name 400), tagged contacts paged', async () => {
    const { sandbox, call } = keap();
    const first = await (await call('/v2/tags?page_size=3')).json();
    assert.equal(first.tags.length, 3);
    assert.deepEqual(Object.keys(first.tags[0]).sort(), ['category', 'create_time', 'description', 'id', 'name']);
    assert.deepEqual(first.tags[0].category, { id: '1', name: 'Membership' });
    const second = await (await call(`/v2/tags?page_size=3&page_token=${first.next_page_token}`)).json();
    assert.deepEqual(second.tags.map((t) => t.name), ['Silver Member']);
    assert.equal(second.next_page_token, '');

    const created = await call('/v2/tags', { method: 'POST', body: { name: 'Platinum Member', description: 'top tier', category: { id: '1' } } });
    assert.equal(created.status, 201);
    const tag = await created.json();
    assert.equal(tag.name, 'Platinum Member');
    assert.equal(tag.category.name, 'Membership');
    assert.equal((await call('/v2/tags', { method: 'POST', body: { name: 'platinum member' } })).status, 400);
    assert.equal((await call('/v2/tags', { method: 'POST', body: { description: 'no name' } })).status, 400);
    const byName = await (await call('/v2/tags?filter=name%3D%3Dplatinum%20member')).json();
    assert.deepEqual(byName.tags.map((t) => t.id), [tag.id]);

    for (let i = 0; i < 3; i += 1) sandbox.addContact({ given_name: `Gold${i}`, email: `gold${i}@example.com`, tags: ['Gold Member'] });
    const seen = [];
    let token = '';
    do {
      const body = await (await call(`/v2/tags/91/contacts?page_size=2${token ? `&page_token=${token}` : ''}`)).json();
      for (const c of body.contacts) {
        assert.deepEqual(Object.keys(c).sort(), ['applied_time', 'email', 'family_name', 'given_name', 'id'].filter((k) => k in c).sort());
        assert.ok(c.applied_time);
        seen.push(c.email);
      }
      token = body.next_page_token;
    } while (token);
    assert.equal(seen.length, 5);
    assert.ok(seen.includes('Ada.Lovelace@Example.com'));
    assert.equal((await call('/v2/tags/4242/contacts')).status, 404);
  });

  test('rate limit: 10 per sliding second, 429 with x-keap throttle headers and no Retry-After', async () => {
    const { clock, call, sandbox } = keap();
    for (let i = 0; i < 5; i += 1) assert.equal((await call('/v2/contacts/101')).status, 200);
    clock.advance(500);
    for (let i = 0; i < 5; i += 1) assert.equal((await call('/v2/contacts/101')).status, 200);
    clock.advance(499); // t = 999: all ten still inside the last second
    const limited = await call('/v2/contacts/101');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), null);
    assert.equal(limited.headers.get('x-keap-product-throttle-limit'), '10');
    assert.equal(limited.headers.get('x-keap-product-throttle-available'), '0');
    assert.equal((await limited.json()).status, 'Request Throttled');
    clock.advance(1); // t = 1000: the five from t = 0 left the window, the five from t = 500 remain
    for (let i = 0; i < 5; i += 1) assert.equal((await call('/v2/contacts/101')).status, 200);
    assert.equal((await call('/v2/contacts/101')).status, 429, 'sliding, not a fixed window');
    assert.equal(sandbox.requests().filter((r) => r.rateLimited).length, 2);

    const ok = await (async () => {
      clock.advance(1000);
      return call('/v2/contacts/101');
    })();
    assert.equal(ok.headers.get('x-keap-product-throttle-available'), '9');

    const free = keap({ rateLimit: false });
    for (let i = 0; i < 40; i += 1) assert.equal((await free.call('/v2/contacts/101')).status, 200);

    const perMinute = keap({ rateLimit: { perMinute: 12 } }); // perSecond stays 10
    for (let i = 0; i < 10; i += 1) await perMinute.call('/v2/contacts/101');
    perMinute.clock.advance(1000);
    assert.equal((await perMinute.call('/v2/contacts/101')).status, 200);
    assert.equal((await perMinute.call('/v2/contacts/101')).status, 200);
    assert.equal((await perMinute.call('/v2/contacts/101')).status, 429);
  });

  test('faults: consumed once per matching request, match filters, after-phase commits then fails', async () => {
    const { sandbox, call } = keap();
    sandbox.injectFaults([
      { status: 500, match: { method: 'PATCH' } },
      { status: 429 },
      { status: 503, match: { pathPrefix: '/crm/rest/v1/' } },
    ]);
    // GET skips the PATCH fault and takes the 429.
    const throttled = await call('/v2/contacts/101');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), null);
    assert.equal(throttled.headers.get('x-keap-product-throttle-available'), '0');
    assert.equal((await call('/v2/contacts/101')).status, 200, 'a fault is consumed once');
    const failed = await call('/v2/contacts/101', { method: 'PATCH', body: { given_name: 'Never' } });
    assert.equal(failed.status, 500);
    assert.equal(sandbox.contact(101).given_name, 'Ada', 'a before-phase fault changes nothing');
    assert.equal((await call('/v1/contacts/101/tags', { method: 'POST', body: { tagIds: [95] } })).status, 503);
    assert.deepEqual(sandbox.pendingFaults(), []);

    sandbox.injectFaults({ status: 502, phase: 'after', match: { method: 'POST', pathPrefix: '/crm/rest/v1/contacts' } });
    const lost = await call('/v1/contacts/101/tags', { method: 'POST', body: { tagIds: [95] } });
    assert.equal(lost.status, 502);
    assert.ok(sandbox.contact(101).tag_ids.includes('95'), 'the tag was applied although the answer was lost');
    assert.equal(sandbox.requests().at(-1).fault.phase, 'after');

    assert.throws(() => sandbox.injectFaults([{ status: 200 }, { phase: 'later' }]), TypeError);
    assert.deepEqual(sandbox.pendingFaults(), [], 'an invalid list queues nothing');
  });

  test('faults: delays use the injected sleep and end with the request signal', async () => {
    const timer = manualSleep();
    const { sandbox } = keap({ sleep: timer.sleep });
    sandbox.injectFaults([{ delayMs: 5000 }, { delayMs: Infinity }]);
    const headers = { 'X-Keap-API-Key': KEAP_DEFAULT_API_KEY };

    const slow = sandbox.fetch(`${KEAP}/v2/contacts/101`, { headers });
    await new Promise((r) => setImmediate(r));
    assert.equal(timer.waiting.length, 1);
    assert.equal(timer.waiting[0].ms, 5000);
    timer.wakeAll();
    assert.equal((await slow).status, 200);

    const controller = new AbortController();
    const hung = sandbox.fetch(`${KEAP}/v2/contacts/101`, { headers, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await assert.rejects(hung, { name: 'AbortError' });
    const last = sandbox.requests().at(-1);
    assert.equal(last.aborted, true);
    assert.equal(last.status, 0);
  });

  test('audit: the password is written before the Welcome tag, in one sequence, with no secrets', async () => {
    const { sandbox, call } = keap();
    const password = 'S3cret-Pass-0001';
    await call('/v2/contacts/105', { method: 'PATCH', body: { custom_fields: [{ id: '11', content: password }] } });
    await call('/v1/contacts/105/tags', { method: 'POST', body: { tagIds: [95] } });

    const write = sandbox.fieldWrites().find((w) => w.contactId === '105' && w.label === 'Password');
    const welcome = sandbox.tagApplications().find((a) => a.contactId === '105' && a.tagName === 'Welcome');
    assert.ok(write && welcome);
    assert.ok(write.seq < welcome.seq, 'password written before Welcome applied');
    assert.equal(write.length, password.length);
    const kinds = sandbox.audit().map((e) => e.kind);
    assert.deepEqual(kinds, ['request', 'field', 'request', 'tag']);
    const everything = JSON.stringify(sandbox.audit());
    assert.ok(!everything.includes(password), 'custom field contents never reach the log');
    assert.ok(!everything.includes(KEAP_DEFAULT_API_KEY));
    const seqs = sandbox.audit().map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });

  test('helpers: deep copies, addContact, reset, seed replacement, unknown routes', async () => {
    const { sandbox, call } = keap();
    const copy = sandbox.contacts();
    copy[0].given_name = 'Mutated';
    copy[0].email_addresses[0].email = 'mutated@example.com';
    assert.equal(sandbox.contact(101).given_name, 'Ada');
    assert.equal(sandbox.contacts().length, 4);

    const added = sandbox.addContact({ given_name: 'Dorothy', email: 'dorothy@example.com', custom_fields: { Password: 'x1' }, tags: ['Welcome'] });
    assert.equal(added.tag_ids[0], '95');
    assert.equal(added.custom_fields.find((f) => f.id === '11').content, 'x1');
    await call('/v2/contacts/101');
    sandbox.injectFaults({ status: 500 });

    sandbox.reset();
    assert.equal(sandbox.contacts().length, 4);
    assert.deepEqual(sandbox.requests(), []);
    assert.deepEqual(sandbox.pendingFaults(), []);
    assert.equal((await call('/v2/contacts/101')).status, 200);
    assert.equal(sandbox.requests()[0].seq, 1);

    const custom = keap({ seed: { contacts: [{ id: 7, given_name: 'Solo', email: 'solo@example.com', tags: [93] }] } });
    assert.deepEqual(custom.sandbox.contacts().map((c) => c.id), ['7']);
    assert.equal(custom.sandbox.tags().length, 4, 'tags keep the default seed');
    const empty = keap({ seed: { contacts: [], tags: [], customFields: [] } });
    assert.deepEqual(empty.sandbox.contacts(), []);
    assert.deepEqual((await (await empty.call('/v2/contacts/model')).json()).custom_fields, []);

    assert.equal((await call('/v2/nothing-here')).status, 404);
    assert.equal((await call('/v2/contacts/101', { method: 'DELETE' })).status, 405);
    assert.equal((await call('/v2/contacts/%E0%A4%A')).status, 404);
    await assert.rejects(sandbox.handle('not a request'), TypeError);
  });

  test('listen(): the same sandbox over real HTTP', async () => {
    const { sandbox } = keap();
    const server = await sandbox.listen({ port: 0, host: '127.0.0.1' });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${server.url}/crm/rest/v2/contacts?filter=email%3D%3Dk.johnson%40example.net&${FULL}`, {
        headers: { 'X-Keap-API-Key': KEAP_DEFAULT_API_KEY },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-keap-product-throttle-limit'), '10');
      const body = await res.json();
      assert.equal(body.contacts[0].id, '107');
      assert.deepEqual(body.contacts[0].tag_ids, ['91']);

      const patch = await fetch(`${server.url}/crm/rest/v2/contacts/107`, {
        method: 'PATCH',
        headers: { 'X-Keap-API-Key': KEAP_DEFAULT_API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify({ family_name: 'Coleman Johnson' }),
      });
      assert.equal(patch.status, 200);
      assert.equal(sandbox.contact(107).family_name, 'Coleman Johnson');
      assert.equal((await fetch(`${server.url}/crm/rest/v2/contacts/107`)).status, 401);
    } finally {
      await server.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------
describe('ActiveCampaign sandbox', () => {
  test('auth: Api-Token required, token never logged', async () => {
    const { sandbox, call } = ac();
    const refused = await sandbox.fetch(`${AC}/contacts/1`);
    assert.equal(refused.status, 403);
    assert.ok((await refused.json()).message);
    assert.equal((await call('/contacts/1', { headers: { 'Api-Token': 'wrong' } })).status, 403);
    assert.equal((await call('/contacts/1')).status, 200);
    assert.ok(!JSON.stringify(sandbox.audit()).includes(AC_DEFAULT_API_TOKEN));
  });

  test('contacts: ?email= is case-insensitive, GET by id, string ids, 404 message', async () => {
    const { call } = ac();
    const list = await (await call('/contacts?email=ada.lovelace%40example.COM')).json();
    assert.equal(list.meta.total, '1');
    assert.equal(list.contacts[0].id, '1');
    assert.equal(list.contacts[0].firstName, 'Ada');
    assert.equal(list.contacts[0].email, 'Ada.Lovelace@Example.com');
    const none = await (await call('/contacts?email=nobody%40example.com')).json();
    assert.deepEqual(none.contacts, []);
    assert.equal(none.meta.total, '0');

    const one = await (await call('/contacts/2')).json();
    assert.equal(one.contact.id, '2');
    assert.deepEqual(one.fieldValues.map((v) => [v.field, v.value]), [['1', 'Cobol-1959']]);
    const missing = await call('/contacts/99');
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).message, /No Result found for Subscriber with id 99/);

    const page = await (await call('/contacts?limit=3&offset=3')).json();
    assert.deepEqual(page.contacts.map((c) => c.id), ['4']);
    assert.equal(page.meta.total, '4');
  });

  test('PUT /contacts/{id} updates; another contact’s email is a 422 duplicate', async () => {
    const { sandbox, call } = ac();
    const res = await call('/contacts/3', { method: 'PUT', body: { contact: { firstName: 'Alan M.', fieldValues: [{ field: '1', value: 'Enigma-1912' }] } } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.contact.firstName, 'Alan M.');
    assert.equal(body.contact.lastName, 'Turing');
    assert.equal(body.fieldValues[0].value, 'Enigma-1912');

    const dup = await call('/contacts/3', { method: 'PUT', body: { contact: { email: 'GRACE.HOPPER@example.org' } } });
    assert.equal(dup.status, 422);
    assert.equal((await dup.json()).errors[0].code, 'duplicate');
    assert.equal(sandbox.contact(3).contact.email, 'ALAN@TURING.EXAMPLE');
    assert.equal((await call('/contacts/3', { method: 'PUT', body: { contact: { email: 'bad' } } })).status, 422);
  });

  test('POST /contact/sync: creates (201) then updates (200) by case-insensitive email', async () => {
    const { sandbox, call } = ac();
    const created = await call('/contact/sync', { method: 'POST', body: { contact: { email: 'Mary.Jackson@example.com', firstName: 'Mary' } } });
    assert.equal(created.status, 201);
    const id = (await created.json()).contact.id;
    const updated = await call('/contact/sync', {
      method: 'POST',
      body: { contact: { email: 'mary.jackson@EXAMPLE.com', lastName: 'Jackson', fieldValues: [{ field: 2, value: 'https://members.example.com/set?k=1' }] } },
    });
    assert.equal(updated.status, 200);
    const body = await updated.json();
    assert.equal(body.contact.id, id);
    assert.equal(body.contact.firstName, 'Mary');
    assert.equal(body.contact.email, 'mary.jackson@EXAMPLE.com');
    assert.equal(body.fieldValues[0].field, '2');
    assert.equal(sandbox.contacts().length, 5);
    assert.equal((await call('/contact/sync', { method: 'POST', body: { contact: { firstName: 'x' } } })).status, 422);
  });

  test('tags: substring search, create, contactTags apply/list/delete with log', async () => {
    const { sandbox, call } = ac();
    const found = await (await call('/tags?search=gold%20member')).json();
    assert.deepEqual(found.tags.map((t) => t.tag), ['Gold Member', 'Gold Member Plus'], 'search is a substring match');
    assert.deepEqual(Object.keys(found.tags[0]).includes('tagType'), true);
    assert.equal(found.meta.total, '2');

    const created = await call('/tags', { method: 'POST', body: { tag: { tag: 'Platinum', tagType: 'contact', description: '' } } });
    assert.equal(created.status, 201);
    const tagId = (await created.json()).tag.id;
    assert.equal((await call('/tags', { method: 'POST', body: { tag: { tag: 'platinum', tagType: 'contact' } } })).status, 422);

    const applied = await call('/contactTags', { method: 'POST', body: { contactTag: { contact: 3, tag: tagId } } });
    assert.equal(applied.status, 201);
    const ct = (await applied.json()).contactTag;
    assert.deepEqual([ct.contact, ct.tag], ['3', tagId]);
    const again = await call('/contactTags', { method: 'POST', body: { contactTag: { contact: '3', tag: tagId } } });
    assert.equal(again.status, 200);
    assert.equal((await again.json()).contactTag.id, ct.id);

    const unknownTag = await call('/contactTags', { method: 'POST', body: { contactTag: { contact: 3, tag: 999 } } });
    assert.equal(unknownTag.status, 404);
    assert.equal((await unknownTag.json()).errors[0].detail, 'Tag not found');
    assert.equal((await call('/contactTags', { method: 'POST', body: { contactTag: { tag: 1 } } })).status, 422);

    const listed = await (await call('/contacts/3/contactTags')).json();
    assert.deepEqual(listed.contactTags.map((x) => x.tag), [tagId]);
    assert.equal((await call(`/contactTags/${ct.id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await call(`/contactTags/${ct.id}`, { method: 'DELETE' })).status, 404);
    assert.deepEqual((await (await call('/contacts/3/contactTags')).json()).contactTags, []);

    const log = sandbox.tagApplications();
    assert.deepEqual(log.map((e) => [e.action, e.tagName, e.duplicate ?? null]), [
      ['apply', 'Platinum', false],
      ['apply', 'Platinum', true],
      ['remove', 'Platinum', null],
    ]);
  });

  test('fields and fieldValues: list, upsert per contact and field, field writes logged without values', async () => {
    const { sandbox, call } = ac();
    const fields = await (await call('/fields')).json();
    assert.deepEqual(fields.fields.map((f) => [f.id, f.title, f.perstag, f.type]), [
      ['1', 'Password', 'PASSWORD', 'text'],
      ['2', 'Set Password Link', 'SET_PASSWORD_LINK', 'textarea'],
    ]);
    assert.equal(fields.meta.total, '2');

    const first = await call('/fieldValues', { method: 'POST', body: { fieldValue: { contact: '1', field: '1', value: 'Secret-One' } } });
    assert.equal(first.status, 200);
    const fv = (await first.json()).fieldValue;
    const second = await call('/fieldValues', { method: 'POST', body: { fieldValue: { contact: 1, field: 1, value: 'Secret-Two' } }, useDefaults: false });
    assert.equal((await second.json()).fieldValue.id, fv.id, 'upsert keeps one value per contact and field');
    const values = await (await call('/contacts/1/fieldValues')).json();
    assert.deepEqual(values.fieldValues.map((v) => [v.field, v.value]), [['1', 'Secret-Two']]);

    assert.equal((await call('/fieldValues', { method: 'POST', body: { fieldValue: { contact: 1, field: 77, value: 'x' } } })).status, 422);
    assert.equal((await call('/fieldValues', { method: 'POST', body: { fieldValue: { contact: 77, field: 1, value: 'x' } } })).status, 404);
    const writes = sandbox.fieldWrites();
    assert.equal(writes.length, 2);
    assert.ok(!JSON.stringify(sandbox.audit()).includes('Secret-'));
  });

  test('rate limit: 5 per second per account, then 429', async () => {
    const { clock, call } = ac({ tickMs: 0 });
    for (let i = 0; i < 5; i += 1) assert.equal((await call('/contacts/1')).status, 200);
    assert.equal((await call('/contacts/1')).status, 429);
    clock.advance(1000);
    assert.equal((await call('/contacts/1')).status, 200);
    const free = ac({ rateLimit: false, tickMs: 0 });
    for (let i = 0; i < 20; i += 1) assert.equal((await free.call('/contacts/1')).status, 200);
  });

  test('faults and audit order: field value before contactTag', async () => {
    const { sandbox, call } = ac();
    sandbox.injectFaults({ status: 500, match: { method: 'POST', pathPrefix: '/api/3/contactTags' } });
    await call('/fieldValues', { method: 'POST', body: { fieldValue: { contact: 4, field: 1, value: 'pw-123456' } } });
    assert.equal((await call('/contactTags', { method: 'POST', body: { contactTag: { contact: 4, tag: 3 } } })).status, 500);
    assert.equal(sandbox.tagApplications().length, 0, 'the failed request applied nothing');
    assert.equal((await call('/contactTags', { method: 'POST', body: { contactTag: { contact: 4, tag: 3 } } })).status, 201);
    const write = sandbox.fieldWrites()[0];
    const tag = sandbox.tagApplications()[0];
    assert.ok(write.seq < tag.seq);
    assert.deepEqual(sandbox.requests().map((r) => r.status), [200, 500, 201]);
    sandbox.reset();
    assert.deepEqual(sandbox.audit(), []);
    assert.deepEqual(sandbox.contact(4).contactTags.map((ct) => ct.tag), ['1'], 'back to the seed: Gold Member only');
  });

  test('listen(): over real HTTP', async () => {
    const { sandbox } = ac();
    const server = await sandbox.listen();
    try {
      const res = await fetch(`${server.url}/api/3/contacts?email=k.johnson%40example.net`, { headers: { 'Api-Token': AC_DEFAULT_API_TOKEN } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).contacts[0].id, '4');
    } finally {
      await server.close();
    }
  });
});
