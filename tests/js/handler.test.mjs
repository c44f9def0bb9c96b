// The edge function (js/engine/handler.mjs) driven with `new Request(...)`, no sockets: the
// engine with memory adapters, the wasm from pkg/, and a CRM sandbox's fetch as its fetch port.
// Every route, every error answer, the set-password flow, the welcome tag's order, slow and
// failing CRMs. The last test scans every answer, log record and stored event for secrets.
//
// Run: node --test tests/js/handler.test.mjs

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import {
  ROOT,
  FORM,
  JSON_TYPE,
  KEAP,
  AC,
  createRig,
  createSecrets,
  keapField,
  tokenOf,
  makeKey,
} from './support/registration.mjs';

const secrets = createSecrets();
const rigs = [];
/** A rig whose answers, logs and events the final secret scan covers. */
async function rig(options = {}) {
  const r = await createRig({ secrets, ...options });
  rigs.push(r);
  return r;
}

const ROUTE = { keap_post: '/hooks/keap', keap_rest: '/hooks/keap-rest', activecampaign: '/hooks/activecampaign', kit: '/hooks/kit', drip: '/hooks/drip', mailerlite: '/hooks/mailerlite', highlevel: '/hooks/highlevel', hubspot: '/hooks/hubspot', mailchimp: '/hooks/mailchimp', json: '/hooks/json' };
const EVENT_ID = /^ev_[0-9a-z]+_[0-9a-f]{16}$/;

/** The golden parser fixtures (tests/fixtures/inbound), read exactly as tests/support/mod.rs does. */
function fixtures() {
  const dir = join(ROOT, 'tests/fixtures/inbound');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.http'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.http'.length);
      const raw = readFileSync(join(dir, f));
      const split = raw.indexOf('\n\n');
      const head = raw.subarray(0, split).toString('utf8');
      let body = raw.subarray(split + 2);
      if (body.at(-1) === 0x0a) body = body.subarray(0, -1);
      const meta = {};
      for (const line of head.split('\n')) {
        const i = line.indexOf(': ');
        meta[line.slice(0, i)] = line.slice(i + 2);
      }
      return { name, ...meta, body: new Uint8Array(body), expected: JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) };
    });
}
const FIXTURES = fixtures();
const fixtureBody = (name) => Buffer.from(FIXTURES.find((f) => f.name === name).body).toString('utf8');

/** The shape of a processed post's answer: nothing more than these members. */
function assertProcessed(answer, outcome, { contactId, email } = {}) {
  assert.equal(answer.status, 200, answer.text);
  const b = answer.body;
  assert.deepEqual(Object.keys(b).sort(), ['event', 'member', 'outcome']);
  assert.equal(b.outcome, outcome);
  assert.match(b.event, EVENT_ID);
  assert.deepEqual(Object.keys(b.member).sort(), ['contactId', 'email', 'id', 'tags']);
  assert.equal(typeof b.member.id, 'string');
  assert.ok(Array.isArray(b.member.tags));
  if (contactId !== undefined) assert.equal(b.member.contactId, contactId);
  if (email !== undefined) assert.equal(b.member.email, email);
  return b;
}

function assertError(answer, status, code) {
  assert.equal(answer.status, status, `${answer.method} ${answer.path}: ${answer.text}`);
  assert.match(answer.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(Object.keys(answer.body), ['error']);
  assert.deepEqual(Object.keys(answer.body.error).sort(), ['code', 'message']);
  assert.equal(answer.body.error.code, code);
  assert.equal(typeof answer.body.error.message, 'string');
  assert.ok(answer.body.error.message.length > 0);
}

/** Keap sandbox: the welcome tag was applied exactly once, after the link field was written. */
function assertWelcomeAfterLink(sandbox, contactId) {
  const id = String(contactId);
  const audit = sandbox.audit();
  const linkWrites = audit.filter((a) => a.kind === 'field' && a.contactId === id && a.fieldId === KEAP.linkField);
  const tagRequests = audit.filter((a) => a.kind === 'request' && a.method === 'POST' && a.path === `/crm/rest/v1/contacts/${id}/tags`);
  const applied = audit.filter((a) => a.kind === 'tag' && a.action === 'apply' && a.contactId === id && a.tagId === KEAP.welcomeTag);
  assert.equal(applied.length, 1, `welcome tag applications for contact ${id}: ${applied.length}`);
  assert.equal(applied[0].duplicate, false);
  assert.ok(linkWrites.length >= 1, `the link field of contact ${id} was never written`);
  assert.ok(linkWrites[0].length > 0);
  assert.ok(tagRequests.length >= 1);
  // Every tag request (the failed ones too) came after the link was in the CRM.
  for (const q of tagRequests) assert.ok(linkWrites[0].seq < q.seq, `contact ${id}: the welcome tag was requested before the link field was written`);
  assert.ok(linkWrites[0].seq < applied[0].seq);
}

/** The set-password link in a Keap sandbox contact's link field. */
function keapLink(sandbox, contactId) {
  const link = keapField(sandbox.contact(contactId), KEAP.linkField);
  assert.equal(typeof link, 'string', `contact ${contactId} has no link`);
  const token = tokenOf(link);
  assert.ok(token, 'the link field holds a set-password link');
  secrets.add(token);
  return { link, token };
}

// ---------------------------------------------------------------------------------------------

describe('hook routes', () => {
  test('Keap HTTP post, full field dump (key in the URL): created, then existing with the same member', async () => {
    const r = await rig();
    r.sandbox.addTag({ id: 101, name: 'Course A' });
    r.sandbox.addContact({ id: 12345, given_name: 'Ann', family_name: "O'Neil", email: 'Ann.ONeil@Example.COM' });
    const body = fixtureBody('keap_post_full_dump');
    secrets.add('Corr3ct-Horse-42'); // the CRM password in the dump
    const first = assertProcessed(await r.post('/hooks/keap', body, { auth: 'query' }), 'created', { contactId: '12345', email: 'ann.oneil@example.com' });
    assert.deepEqual(first.member.tags, [{ id: '91' }, { id: '95' }, { id: '101' }]);
    // The member exists in the directory with what the post said.
    const stored = (await r.directory.get(first.member.id));
    assert.equal(stored.email, 'ann.oneil@example.com');
    assert.equal(stored.firstName, 'Ann');
    assert.equal(stored.lastName, "O'Neil");
    assert.equal(stored.contact.contactId, '12345');
    assert.equal(stored.credentials, 'link_issued');
    keapLink(r.sandbox, 12345);
    assertWelcomeAfterLink(r.sandbox, 12345);

    const again = assertProcessed(await r.post('/hooks/keap', body, { auth: 'query' }), 'existing');
    assert.equal(again.member.id, first.member.id);
    assert.notEqual(again.event, first.event);
    assert.equal(await r.directory.size(), 1);
  });

  test('Keap campaign HTTP post with only the contact id: the contact is loaded from the CRM', async () => {
    const r = await rig();
    const a = assertProcessed(await r.post('/hooks/keap', 'contactId=107'), 'created', { contactId: '107', email: 'k.johnson@example.net' });
    assert.deepEqual(a.member.tags, [{ id: '91' }]);
    const loads = r.sandbox.requests().filter((q) => q.method === 'GET' && q.path === '/crm/rest/v2/contacts/107');
    assert.equal(loads.length, 1);
    assertWelcomeAfterLink(r.sandbox, 107);
    const b = assertProcessed(await r.post('/hooks/keap', 'contactId=107'), 'existing');
    assert.equal(b.member.id, a.member.id);
  });

  test('Keap REST hook delivery with several ids: one result per contact, in order', async () => {
    const r = await rig();
    const delivery = {
      event_key: 'contact.add',
      object_type: 'contact',
      object_keys: [101, 103, 105].map((id, i) => ({
        apiUrl: `https://api.infusionsoft.com/crm/rest/v1/contacts/${id}`,
        id,
        timestamp: `2026-11-20T09:14:0${i}.000Z`,
      })),
    };
    const a = await r.postJson('/hooks/keap-rest', delivery);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(Object.keys(a.body).sort(), ['outcome', 'results']);
    assert.equal(a.body.outcome, 'processed');
    assert.deepEqual(a.body.results.map((x) => [x.outcome, x.member.contactId, x.member.email]), [
      ['created', '101', 'ada.lovelace@example.com'],
      ['created', '103', 'grace.hopper@example.org'],
      ['created', '105', 'alan@turing.example'],
    ]);
    for (const x of a.body.results) assertProcessed({ status: 200, body: x, text: '' }, 'created');
    assert.equal(new Set(a.body.results.map((x) => x.member.id)).size, 3);
    assert.equal(new Set(a.body.results.map((x) => x.event)).size, 3);
    for (const id of [101, 103, 105]) assertWelcomeAfterLink(r.sandbox, id);
    secrets.add('Cobol-1959'); // contact 103's CRM password (link mode never moves it)

    // The same delivery again (Keap retries): existing, same members.
    const b = await r.postJson('/hooks/keap-rest', delivery);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.results.map((x) => x.outcome), ['existing', 'existing', 'existing']);
    assert.deepEqual(b.body.results.map((x) => x.member.id), a.body.results.map((x) => x.member.id));
  });

  test('Keap REST hook handshake: 200 echoing X-Hook-Secret, nothing recorded, no CRM call', async () => {
    const r = await rig();
    const secret = '2b9e1c7d4f8a4e0fb2a36d1c9e8f7a6b';
    const a = await r.post('/hooks/keap-rest', '{}', { type: JSON_TYPE, headers: { 'x-hook-secret': secret } });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-hook-secret'), secret);
    assert.deepEqual(a.body, { ok: true, verified: true });
    // Keap may send the handshake with an empty body, too.
    const b = await r.post('/hooks/keap-rest', '', { type: JSON_TYPE, headers: { 'x-hook-secret': `  ${secret}  ` } });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.headers.get('x-hook-secret'), secret);
    assert.equal((await r.engine.counts()).total, 0);
    assert.equal(r.sandbox.requests().length, 0);
    // A secret that is not a safe header value is refused, not echoed.
    const bad = await r.post('/hooks/keap-rest', '{}', { type: JSON_TYPE, headers: { 'x-hook-secret': 'has spaces in it' } });
    assertError(bad, 400, 'invalid_field');
    assert.equal(bad.headers.get('x-hook-secret'), null);
    // The handshake needs the key like every hook.
    const anon = await r.post('/hooks/keap-rest', '{}', { type: JSON_TYPE, auth: 'none', headers: { 'x-hook-secret': secret } });
    assertError(anon, 401, 'unauthorized');
    assert.equal(anon.headers.get('x-hook-secret'), null);
  });

  test('ActiveCampaign webhook (form, bracketed keys): created through the AC sandbox, link before welcome', async () => {
    const r = await rig({ crm: 'activecampaign' });
    const form = new URLSearchParams({
      url: '',
      type: 'subscribe',
      date_time: '2026-11-20T09:14:00-06:00',
      initiated_by: 'admin',
      initiated_from: 'admin',
      list: '1',
      'contact[id]': '3',
      'contact[email]': 'Alan@TURING.example',
      'contact[first_name]': 'Alan',
      'contact[last_name]': 'Turing',
      'contact[tags]': 'Gold Member, Newsletter',
      orgname: '',
    }).toString();
    const a = assertProcessed(await r.post('/hooks/activecampaign', form), 'created', { contactId: '3', email: 'alan@turing.example' });
    assert.deepEqual(a.member.tags, [{ name: 'Gold Member' }, { name: 'Newsletter' }]);
    // The link went into AC field 2, then tag 3 (Welcome) was applied, once.
    const links = r.sandbox.contact(3).fieldValues.filter((v) => v.field === AC.linkField);
    assert.equal(links.length, 1);
    assert.match(links[0].value, /^https:\/\/members\.example\/set-password#token=[A-Za-z0-9_-]{20,}$/);
    const audit = r.sandbox.audit();
    const write = audit.find((x) => x.kind === 'field' && x.contactId === '3' && x.fieldId === AC.linkField);
    const tagRequest = audit.find((x) => x.kind === 'request' && x.method === 'POST' && x.path === '/api/3/contactTags');
    const applied = audit.filter((x) => x.kind === 'tag' && x.action === 'apply' && x.contactId === '3' && x.tagId === AC.welcomeTag);
    assert.ok(write && tagRequest && write.seq < tagRequest.seq, 'link field written before the welcome tag was requested');
    assert.equal(applied.length, 1);

    const b = assertProcessed(await r.post('/hooks/activecampaign', form.replace('subscribe', 'contact_tag_added')), 'existing');
    assert.equal(b.member.id, a.member.id);
    assert.equal(r.sandbox.tagApplications().filter((x) => x.tagId === AC.welcomeTag).length, 1);
  });

  test('generic JSON: created without any CRM call, then existing', async () => {
    const r = await rig();
    secrets.add('another-Long-passphrase'); // the password in json_full
    const body = fixtureBody('json_full');
    const a = assertProcessed(await r.post('/hooks/json', body, { type: JSON_TYPE }), 'created', { contactId: 'cus_8f2a', email: 'mia.wong@example.com' });
    assert.deepEqual(a.member.tags, [{ name: 'Gold Member' }, { id: '42' }, { id: '7', name: 'VIP' }]);
    assert.equal(r.sandbox.requests().length, 0);
    // Found again by contact id, and by email (trimmed, any case) for another id of the same person.
    const b = assertProcessed(await r.postJson('/hooks/json', { contact_id: 'cus_8f2a', email: 'mia.wong@example.com' }), 'existing');
    assert.equal(b.member.id, a.member.id);
    const c = await r.postJson('/hooks/json', { contactId: 'cus_other', email: ' MIA.WONG@example.COM ' });
    assert.equal(c.status, 200, c.text);
    assert.notEqual(c.body.outcome, 'created');
    assert.equal(await r.directory.size(), 1);
  });
});

describe('access key', () => {
  test('accepted as a Bearer token, as X-Memberwire-Key and as ?key=', async () => {
    const r = await rig();
    const ways = ['bearer', 'header', 'query'];
    for (const [i, auth] of ways.entries()) {
      assertProcessed(await r.postJson('/hooks/json', { contact_id: `k${i}`, email: `k${i}@example.com` }, { auth }), 'created');
    }
    // The scheme name is case-insensitive; surrounding spaces do not matter.
    const lower = await r.postJson('/hooks/json', { contact_id: 'k9', email: 'k9@example.com' }, { auth: 'none', headers: { authorization: `bearer   ${r.key} ` } });
    assertProcessed(lower, 'created');
    assert.equal(await r.directory.size(), 4);
  });

  test('401 unauthorized for a missing or wrong key, before anything is parsed or recorded', async () => {
    const r = await rig();
    const other = await rig(); // another installation's key
    const wrong = secrets.add(makeKey());
    const near = r.key.slice(0, -1) + (r.key.at(-1) === 'A' ? 'B' : 'A');
    const body = JSON.stringify({ contact_id: 'x1', email: 'x1@example.com' });
    const cases = [
      { auth: 'none' },
      { auth: 'none', headers: { authorization: `Bearer ${wrong}` } },
      { auth: 'none', headers: { authorization: `Bearer ${other.key}` } },
      { auth: 'none', headers: { authorization: `Bearer ${near}` } },
      { auth: 'none', headers: { authorization: `Bearer ${r.key.slice(0, -1)}` } },
      { auth: 'none', headers: { authorization: `Bearer ${r.key}x` } },
      { auth: 'none', headers: { authorization: `Basic ${Buffer.from(`user:${r.key}`).toString('base64')}` } },
      { auth: 'none', headers: { authorization: 'Bearer ' } },
      { auth: 'none', headers: { 'x-memberwire-key': wrong } },
      { auth: 'none', headers: { 'x-memberwire-key': '' } },
      { auth: 'none', headers: { 'x-memberwire-key': r.key.repeat(6) } },
      { auth: 'none', headers: { 'x-memberwire-key': r.key.toUpperCase() } },
      { auth: 'none', query: `?key=${wrong}` },
      { auth: 'none', query: '?key=' },
      { auth: 'none', query: `?KEY=${r.key}` },
    ];
    for (const c of cases) {
      const a = await r.post(`/hooks/json${c.query ?? ''}`, body, { type: JSON_TYPE, auth: c.auth, headers: c.headers });
      assertError(a, 401, 'unauthorized');
      assert.ok(!a.text.includes(wrong) && !a.text.includes(near) && !a.text.includes(other.key));
    }
    // Even an unparseable body is refused for its missing key first.
    assertError(await r.post('/hooks/keap-rest', '{not json', { type: JSON_TYPE, auth: 'none' }), 401, 'unauthorized');
    assert.equal((await r.engine.counts()).total, 0);
    assert.equal(await r.directory.size(), 0);
  });

  test('/health: version for anyone, event counts only with the key', async () => {
    const r = await rig();
    const anon = await r.call('/health');
    assert.equal(anon.status, 200);
    assert.deepEqual(anon.body, { ok: true, version: r.wasm.version() });
    assert.match(anon.body.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual((await r.call('/health', { headers: { authorization: 'Bearer nope' } })).body, anon.body);
    await r.postJson('/hooks/json', { contact_id: 'h1', email: 'h1@example.com' });
    const withKey = await r.call('/health', { headers: { 'x-memberwire-key': r.key } });
    assert.deepEqual(withKey.body, { ok: true, version: r.wasm.version(), events: { running: 0, pending: 0, done: 1, total: 1 } });
  });
});

describe('errors', () => {
  test('404 not_found for unknown routes (with or without the key)', async () => {
    const r = await rig();
    for (const [path, init] of [
      ['/', {}],
      ['/hooks', { method: 'POST' }],
      ['/hooks/zapier', { method: 'POST', headers: { authorization: `Bearer ${r.key}` } }],
      ['/HOOKS/KEAP', { method: 'POST', headers: { authorization: `Bearer ${r.key}` } }],
      ['/admin', {}],
    ]) {
      assertError(await r.call(path, init), 404, 'not_found');
    }
  });

  test('405 method_not_allowed with an Allow header', async () => {
    const r = await rig();
    for (const route of Object.values(ROUTE)) {
      // Mailchimp checks a webhook URL with a GET (tests/js/crms.test.mjs).
      const mailchimp = route === '/hooks/mailchimp';
      for (const method of mailchimp ? ['PUT', 'DELETE', 'PATCH'] : ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const a = await r.call(`${route}?key=${r.key}`, { method });
        assertError(a, 405, 'method_not_allowed');
        assert.equal(a.headers.get('allow'), mailchimp ? 'GET, HEAD, POST' : 'POST');
      }
    }
    const a = await r.call('/set-password', { method: 'PUT', body: '{}' });
    assertError(a, 405, 'method_not_allowed');
    assert.equal(a.headers.get('allow'), 'GET, POST');
    assert.equal((await r.engine.counts()).total, 0);
  });

  test('413 body_too_large, by content-length and by a chunked stream (read no further)', async () => {
    const max = 4096;
    const r = await rig({ maxBodyBytes: max });
    const auth = { authorization: `Bearer ${r.key}`, 'content-type': FORM };
    // Declared length over the limit (a string body gets its content-length from Request).
    assertError(await r.post('/hooks/keap', `contactId=101&_Notes=${'x'.repeat(max)}`), 413, 'body_too_large');
    // Exactly at the limit: not refused for its size (the parser sees it; 101 exists).
    const atLimit = `contactId=101&_N=${'x'.repeat(max - 'contactId=101&_N='.length)}`;
    assert.equal(Buffer.byteLength(atLimit), max);
    assert.notEqual((await r.post('/hooks/keap', atLimit)).status, 413);
    // A stream with no content-length that goes over.
    const chunk = new TextEncoder().encode('x'.repeat(1000));
    const finite = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('contactId=101&_Notes='));
        for (let i = 0; i < 5; i++) c.enqueue(chunk);
        c.close();
      },
    });
    const s = await r.call('/hooks/keap', { method: 'POST', headers: auth, body: finite, duplex: 'half' });
    assertError(s, 413, 'body_too_large');
    // An endless stream: the answer proves the handler stopped reading.
    let pulled = 0;
    const endless = new ReadableStream({
      pull(c) {
        pulled += 1;
        c.enqueue(new Uint8Array(1024).fill(0x61));
      },
    });
    assertError(await r.call('/hooks/json', { method: 'POST', headers: { ...auth, 'content-type': JSON_TYPE }, body: endless, duplex: 'half' }), 413, 'body_too_large');
    assert.ok(pulled <= max / 1024 + 3, `read ${pulled} KiB of an endless body`);
    // The default limit is 1 MiB.
    const d = await rig();
    assertError(await d.post('/hooks/json', `{"contact_id":"a","pad":"${'x'.repeat(1024 * 1024)}"}`, { type: JSON_TYPE }), 413, 'body_too_large');
    assert.equal((await r.engine.counts()).total, 1); // only the one at the limit
  });

  test('415 unsupported_content_type', async () => {
    const r = await rig();
    assertError(await r.post('/hooks/json', '--xyz\r\nContent-Disposition: form-data; name="contact_id"\r\n\r\n1\r\n--xyz--', { type: 'multipart/form-data; boundary=xyz' }), 415, 'unsupported_content_type');
    assertError(await r.post('/hooks/keap', '{"contactId": 1}', { type: JSON_TYPE }), 415, 'unsupported_content_type');
    assertError(await r.post('/hooks/activecampaign', '{"contact": {"id": 1}}', { type: JSON_TYPE }), 415, 'unsupported_content_type');
    assert.equal((await r.engine.counts()).total, 0);
  });

  test('400 with each stable code: every error fixture of the parsers, through the handler', async () => {
    const keap = await rig();
    const ac = await rig({ crm: 'activecampaign' });
    const errors = FIXTURES.filter((f) => f.expected.error);
    assert.ok(errors.length >= 25, `only ${errors.length} error fixtures`);
    const codes = new Set();
    for (const f of errors) {
      // A fixture with parse options (a smaller body limit) gets an engine configured with them.
      const r = f.options
        ? await rig({ crm: f.source === 'activecampaign' ? 'activecampaign' : 'keap', config: { parse: JSON.parse(f.options) } })
        : f.source === 'activecampaign'
          ? ac
          : keap;
      const headers = { authorization: `Bearer ${r.key}` };
      if (f['content-type']) headers['content-type'] = f['content-type'];
      if (f['x-hook-secret']) headers['x-hook-secret'] = f['x-hook-secret'];
      const a = await r.call(ROUTE[f.source], { method: 'POST', headers, body: f.body });
      const { code, status, message } = f.expected.error;
      assert.equal(a.status, status, `${f.name}: ${a.text}`);
      assertError(a, status, code);
      assert.equal(a.body.error.message, message, f.name);
      codes.add(code);
    }
    for (const code of ['malformed_body', 'unsupported_content_type', 'body_too_large', 'missing_contact_id', 'invalid_contact_id', 'invalid_email', 'field_too_large', 'invalid_field', 'too_many_objects']) {
      assert.ok(codes.has(code), `no fixture exercised ${code}`);
    }
    // Nothing was accepted, so nothing was recorded or sent to a CRM.
    assert.equal((await keap.engine.counts()).total, 0);
    assert.equal((await ac.engine.counts()).total, 0);
    assert.equal(keap.sandbox.requests().length + ac.sandbox.requests().length, 0);
  });

  test('400 codes on hand-made bodies: missing_contact_id, invalid_email, malformed_body, invalid_contact_id', async () => {
    const r = await rig();
    assertError(await r.post('/hooks/keap', 'FirstName=Nobody&Email=nobody%40example.com'), 400, 'missing_contact_id');
    assertError(await r.postJson('/hooks/json', { email: 'nobody@example.com' }), 400, 'missing_contact_id');
    assertError(await r.postJson('/hooks/keap-rest', { event_key: 'contact.add', object_type: 'contact', object_keys: [{ apiUrl: 'x' }] }), 400, 'missing_contact_id');
    assertError(await r.post('/hooks/keap', 'contactId=5&Email=not-an-email'), 400, 'invalid_email');
    assertError(await r.postJson('/hooks/json', { contact_id: '5', email: 'a@@b' }), 400, 'invalid_email');
    assertError(await r.post('/hooks/json', '{"contact_id": "5",', { type: JSON_TYPE }), 400, 'malformed_body');
    assertError(await r.post('/hooks/json', '[1, 2]', { type: JSON_TYPE }), 400, 'malformed_body');
    assertError(await r.post('/hooks/keap', ''), 400, 'malformed_body');
    assertError(await r.postJson('/hooks/json', { contact_id: 1.5, email: 'a@example.com' }), 400, 'invalid_contact_id');
    assertError(await r.postJson('/hooks/json', { contact_id: true }), 400, 'invalid_contact_id');
    assertError(await r.post('/set-password', 'not json', { type: JSON_TYPE }), 400, 'malformed_body');
    assertError(await r.postJson('/set-password', { token: 42, password: 'x' }), 400, 'malformed_body');
    assert.equal((await r.engine.counts()).total, 0);
  });
});

describe('set-password', () => {
  test('link mode: the link in Keap field 13 sets a password once; a weak password keeps it alive', async () => {
    const r = await rig();
    const created = assertProcessed(await r.post('/hooks/keap', 'contactId=105'), 'created', { email: 'alan@turing.example' });
    const { link, token } = keapLink(r.sandbox, 105);
    assert.match(link, /^https:\/\/members\.example\/set-password#token=[A-Za-z0-9_-]{32,}$/);
    assert.equal((await r.directory.get(created.member.id)).credentials, 'link_issued');
    assert.equal((await r.directory.get(created.member.id)).hasPassword, false);

    // The page the link opens.
    const page = await r.call('/set-password');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.match(page.text, /Set your password/);

    const weak = ['short', '          ', 'aaaaaaaaaaaaaaaa', ' padded-password-1 '];
    for (const password of weak) {
      assertError(await r.postJson('/set-password', { token, password }), 400, 'password_rejected');
    }
    const good = secrets.add('Turing-Machine-1936!');
    const ok = await r.postJson('/set-password', { token, password: good });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { ok: true, email: 'alan@turing.example' });
    const member = (await r.directory.get(created.member.id));
    assert.equal(member.hasPassword, true);
    assert.equal(member.credentials, 'password');
    assert.ok(!JSON.stringify(member).includes('$2'), 'the member record shown to hosts holds no hash');

    // Used up: the same token, with the same or another password, is invalid.
    assertError(await r.postJson('/set-password', { token, password: good }), 400, 'invalid_token');
    assertError(await r.postJson('/set-password', { token, password: secrets.add('Another-Good-one-42') }), 400, 'invalid_token');
    // Made-up, truncated and absurd tokens.
    for (const t of [makeKey(), token.slice(0, -2), '', 'x'.repeat(5000)]) {
      assertError(await r.postJson('/set-password', { token: t, password: secrets.add('Yet-another-Good-1') }), 400, 'invalid_token');
    }
  });

  test('a link past its lifetime (linkTtlMs) is refused; one just inside it works', async () => {
    let clock = Date.now();
    const r = await rig({ now: () => clock, config: { linkTtlMs: 60_000 } });
    await r.post('/hooks/keap', 'contactId=101');
    await r.post('/hooks/keap', 'contactId=107');
    const a = keapLink(r.sandbox, 101);
    const b = keapLink(r.sandbox, 107);
    clock += 59_000;
    assert.equal((await r.postJson('/set-password', { token: a.token, password: secrets.add('Analytical-Engine-1843') })).status, 200);
    clock += 2_000;
    assertError(await r.postJson('/set-password', { token: b.token, password: secrets.add('Orbital-Mechanics-1962') }), 400, 'invalid_token');
  });

  test('each member gets its own token; one member setting a password leaves the other link working', async () => {
    const r = await rig();
    await r.post('/hooks/keap', 'contactId=101');
    await r.post('/hooks/keap', 'contactId=107');
    const a = keapLink(r.sandbox, 101);
    const b = keapLink(r.sandbox, 107);
    assert.notEqual(a.token, b.token);
    assert.equal((await r.postJson('/set-password', { token: a.token, password: secrets.add('Analytical-Engine-1843') })).body.email, 'ada.lovelace@example.com');
    assert.equal((await r.postJson('/set-password', { token: b.token, password: secrets.add('Orbital-Mechanics-1962') })).body.email, 'k.johnson@example.net');
  });
});

describe('welcome tag', () => {
  test('applied after the link field was written, exactly once over 5 sequential deliveries', async () => {
    const r = await rig();
    const ids = new Set();
    for (let i = 0; i < 5; i++) ids.add((await r.post('/hooks/keap', 'contactId=101')).body.member.id);
    assert.equal(ids.size, 1);
    assertWelcomeAfterLink(r.sandbox, 101);
    // The link written is the one that works.
    const { token } = keapLink(r.sandbox, 101);
    assert.equal((await r.postJson('/set-password', { token, password: secrets.add('Bernoulli-Numbers-7') })).status, 200);
  });

  test('exactly once over 5 concurrent deliveries (campaign posts and REST hooks mixed)', async () => {
    const r = await rig();
    const rest = JSON.stringify({ event_key: 'contact.edit', object_type: 'contact', object_keys: [{ id: 103 }] });
    const answers = await Promise.all([
      r.post('/hooks/keap', 'contactId=103'),
      r.post('/hooks/keap-rest', rest, { type: JSON_TYPE }),
      r.post('/hooks/keap', 'Id=103&Email=Grace.Hopper%40Example.org&Groups=93'),
      r.post('/hooks/keap-rest', rest, { type: JSON_TYPE }),
      r.post('/hooks/keap', 'contactId=103', { auth: 'query' }),
    ]);
    const results = answers.map((a) => (a.body.results ? a.body.results[0] : a.body));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.equal(results.filter((x) => x.outcome === 'created').length, 1);
    assert.equal(new Set(results.map((x) => x.member.id)).size, 1);
    assert.equal(await r.directory.size(), 1);
    assertWelcomeAfterLink(r.sandbox, 103);
  });
});

describe('slow and failing CRM', () => {
  test('202 queued when the CRM is slower than the budget; the event completes afterwards', async () => {
    const r = await rig({ budgetMs: 100 });
    r.sandbox.injectFaults({ delayMs: 600, match: { pathPrefix: '/crm/rest/v2/contacts/107' } });
    const a = await r.post('/hooks/keap', 'contactId=107');
    assert.equal(a.status, 202, a.text);
    assert.deepEqual(Object.keys(a.body).sort(), ['event', 'outcome']);
    assert.equal(a.body.outcome, 'queued');
    assert.match(a.body.event, EVENT_ID);
    // Recorded durably (here: in the event store) before the answer.
    assert.equal((await r.events.get(a.body.event)).status, 'running');
    await r.engine.idle();
    const e = await r.events.get(a.body.event);
    assert.equal(e.status, 'done');
    assert.equal(e.outcome.outcome, 'created');
    assert.equal(e.outcome.member.contactId, '107');
    assertWelcomeAfterLink(r.sandbox, 107);
    // A multi-contact delivery that is slow answers with every event id.
    r.sandbox.injectFaults({ delayMs: 600 });
    const b = await r.postJson('/hooks/keap-rest', { event_key: 'contact.add', object_type: 'contact', object_keys: [{ id: 101 }, { id: 105 }] });
    assert.equal(b.status, 202);
    assert.equal(b.body.outcome, 'queued');
    assert.equal(b.body.events.length, 2);
    await r.engine.idle();
    for (const id of b.body.events) assert.equal((await r.events.get(id)).status, 'done');
  });

  test('CRM 500s, a 429 and a timeout, then success: still completes, once', async () => {
    const r = await rig({ config: { retryBaseMs: 10, retryCapMs: 40 }, httpTimeoutMs: 400 });
    r.sandbox.injectFaults([
      { status: 500, match: { pathPrefix: '/crm/rest/v2/contacts/105' } },
      { status: 503, match: { pathPrefix: '/crm/rest/v2/contacts/105' } },
      { status: 500, match: { method: 'PATCH' } },
      { status: 429, match: { pathPrefix: '/crm/rest/v1/contacts/105/tags' } },
      { delayMs: 5000, match: { pathPrefix: '/crm/rest/v1/contacts/105/tags' } }, // over httpTimeoutMs
    ]);
    const a = assertProcessed(await r.post('/hooks/keap', 'contactId=105'), 'created', { contactId: '105' });
    assert.deepEqual(r.sandbox.pendingFaults(), []);
    const statuses = r.sandbox.requests().map((q) => `${q.method} ${q.status}`);
    assert.deepEqual(statuses.slice(0, 4), ['GET 500', 'GET 503', 'GET 200', 'PATCH 500']);
    assert.ok(statuses.includes('POST 429'));
    assertWelcomeAfterLink(r.sandbox, 105);
    const e = await r.events.get(a.event);
    assert.equal(e.status, 'done');
  });

  test('a CRM that keeps failing leaves the event pending (visible), and retry completes it', async () => {
    const r = await rig({ config: { maxAttempts: 2, retryBaseMs: 5, retryCapMs: 10 } });
    r.sandbox.injectFaults(Array.from({ length: 20 }, () => ({ status: 500 })));
    const a = await r.post('/hooks/keap', 'contactId=101');
    assert.equal(a.status, 202, a.text);
    assert.equal(a.body.outcome, 'queued');
    await r.engine.idle();
    const parked = await r.events.get(a.body.event);
    assert.equal(parked.status, 'pending');
    assert.equal(parked.pending.code, 'crm_unavailable');
    assert.equal(typeof parked.pending.reason, 'string');
    assert.deepEqual((await r.events.pending()).map((e) => e.id), [a.body.event]);
    assert.deepEqual(await r.engine.counts(), { running: 0, pending: 1, done: 0, total: 1 });
    assert.equal(await r.directory.size(), 0);
    assert.equal(r.sandbox.tagApplications().length, 0);
    const list = await r.events.page({ status: 'pending' });
    assert.equal(list.total, 1);
    assert.equal(list.events[0].id, a.body.event);
    assert.ok(!('state' in list.events[0]));

    // Retrying while the CRM still fails parks it again, not lost.
    const again = await r.engine.retry(a.body.event);
    assert.equal(again.state, 'pending');
    assert.equal((await r.events.get(a.body.event)).status, 'pending');

    r.sandbox.clearFaults();
    const done = await r.engine.retry(a.body.event);
    assert.equal(done.state, 'done');
    assert.equal(done.outcome.outcome, 'created');
    assert.equal((await r.events.get(a.body.event)).status, 'done');
    assert.deepEqual(await r.engine.counts(), { running: 0, pending: 0, done: 1, total: 1 });
    assert.equal(await r.directory.size(), 1);
    assertWelcomeAfterLink(r.sandbox, 101);
    // Retrying a finished event changes nothing.
    assert.deepEqual(await r.engine.retry(a.body.event), { state: 'done', outcome: done.outcome });
    assert.equal(await r.engine.retry('ev_unknown'), null);
  });

  test('retryPending() completes every parked event once the CRM is back and their retry is due', async () => {
    let clock = Date.now();
    const r = await rig({ config: { maxAttempts: 1 }, now: () => clock });
    r.sandbox.injectFaults(Array.from({ length: 3 }, () => ({ status: 502 })));
    const answers = await Promise.all([101, 103, 105].map((id) => r.post('/hooks/keap', `contactId=${id}`)));
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 202]);
    await r.engine.idle();
    assert.equal((await r.engine.counts()).pending, 3);
    assert.equal(await r.engine.retryPending(), 0, 'not due before a minute has passed');
    clock += 61_000;
    assert.equal(await r.engine.retryPending(), 3);
    await r.engine.idle();
    assert.deepEqual(await r.engine.counts(), { running: 0, pending: 0, done: 3, total: 3 });
    for (const id of [101, 103, 105]) assertWelcomeAfterLink(r.sandbox, id);
  });
});

describe('answers', () => {
  test('every answer is JSON (but the set-password page); errors are {error:{code,message}}', () => {
    const all = rigs.flatMap((r) => r.answers);
    assert.ok(all.length > 0, 'no answers recorded');
    for (const a of all) {
      if (a.method === 'GET' && a.path === '/set-password') continue;
      assert.match(a.headers.get('content-type') ?? '', /^application\/json/, `${a.method} ${a.path} ${a.status}`);
      assert.notEqual(a.body, undefined, `${a.method} ${a.path}: not JSON`);
      assert.equal(a.headers.get('cache-control'), 'no-store');
      if (a.status >= 400) {
        assert.deepEqual(Object.keys(a.body), ['error'], `${a.method} ${a.path}`);
        assert.equal(typeof a.body.error.code, 'string');
        assert.equal(typeof a.body.error.message, 'string');
      }
    }
  });

  test('no answer, log record, stored event or member ever holds a key, token or password', async () => {
    for (const r of rigs) secrets.add(...r.linkTokens());
    assert.ok(secrets.size > 2 + rigs.length, `only ${secrets.size} secrets collected`);
    let scanned = 0;
    for (const r of rigs) {
      for (const a of r.answers) {
        secrets.assertAbsent(a.text, `${a.method} ${a.path} ${a.status} answer`);
        secrets.assertAbsent(JSON.stringify([...a.headers]), `${a.method} ${a.path} headers`);
        scanned += 1;
      }
      secrets.assertAbsent(JSON.stringify(r.logs), 'the engine log');
      const { events } = await r.events.page({ limit: 1e9 });
      for (const e of events) secrets.assertAbsent(JSON.stringify(await r.events.get(e.id)), `stored event ${e.id} (with its workflow state)`);
      secrets.assertAbsent(JSON.stringify(await r.directory.search('', 0, 1e6)), 'the directory');
    }
    assert.ok(scanned > 0);
  });
});

after(async () => {
  for (const r of rigs) await r.engine.idle();
});
