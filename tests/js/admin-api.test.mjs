// The admin API (docs/admin-api.md) against a real `serve()` in this process: file store in a
// temp dir, the built-in Keap sandbox as the CRM, the built pkg/ as the core.
// Run: node --test tests/js/admin-api.test.mjs

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

import { serve } from '../../js/server/serve.mjs';
import { loadWasm } from '../../js/hosts/node.mjs';
import { KEAP_DEFAULT_API_KEY } from '../../js/sandbox/keap.mjs';

const wasm = loadWasm();
const ADMIN_PASSWORD = 'correct-Horse-battery-9';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every response body any client saw, with the request that produced it (for the secret scan). */
const seen = [];

/** A browser-like client: keeps the session cookie, sends the CSRF header and its own Origin. */
function client(base) {
  let cookie = null;
  let csrf = null;
  const c = {
    get csrf() {
      return csrf;
    },
    set csrf(v) {
      csrf = v;
    },
    get cookie() {
      return cookie;
    },
    forget() {
      cookie = null;
      csrf = null;
    },
    async call(method, path, body, { headers = {}, noCsrf = false, origin = base, allowSecret = false } = {}) {
      const h = { ...headers };
      if (cookie) h.cookie = cookie;
      if (method !== 'GET' && !noCsrf && csrf) h['x-memberwire-csrf'] = csrf;
      if (origin && method !== 'GET') h.origin = origin;
      if (body !== undefined) h['content-type'] = 'application/json';
      const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      const setCookie = res.headers.get('set-cookie');
      if (setCookie) {
        const v = setCookie.split(';')[0];
        cookie = v.endsWith('=') ? null : v;
      }
      const text = await res.text();
      if (!allowSecret) seen.push({ path: `${method} ${path}`, text });
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON
      }
      if (json?.csrf) csrf = json.csrf;
      return { status: res.status, json, text, headers: res.headers, setCookie };
    },
  };
  return c;
}

async function start(options = {}) {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'mw-admin-')));
  const logs = [];
  const srv = await serve({ port: 0, dataDir, log: (line) => logs.push(line), bcryptCost: 4, retryEveryMs: 3_600_000, env: {}, budgetMs: 5000, ...options });
  // The first start prints the new access key once, by design; nothing after that may.
  const startupLines = logs.length;
  return { srv, dataDir, api: client(srv.url), logs, afterStartup: () => logs.slice(startupLines) };
}

async function waitFor(what, fn, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A raw GET whose path is sent exactly as written (fetch would normalize `..`). */
function rawGet(base, path) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('admin API', () => {
  let srv;
  let dataDir;
  let api;
  let accessKey;
  let afterStartup;
  const secrets = new Set([KEAP_DEFAULT_API_KEY, ADMIN_PASSWORD, 'Cobol-1959']);

  before(async () => {
    ({ srv, dataDir, api, afterStartup } = await start());
    accessKey = srv.accessKey;
    assert.ok(accessKey, 'a new data dir generates an access key');
    secrets.add(accessKey);
  });

  after(async () => {
    await srv?.engine.idle();
    await srv?.admin.bulk.idle();
    await srv?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('without a session: 401 on every /api route but the session ones', async () => {
    const s = await api.call('GET', '/api/session');
    assert.equal(s.status, 200);
    assert.deepEqual(s.json, { authenticated: false, needsSetup: true });
    for (const [m, p] of [
      ['GET', '/api/members'],
      ['GET', '/api/members/m1'],
      ['GET', '/api/access-index'],
      ['GET', '/api/rules'],
      ['GET', '/api/events'],
      ['GET', '/api/settings'],
      ['GET', '/api/crm/find?email=a@example.com'],
      ['POST', '/api/settings/rotate-key'],
      ['POST', '/api/bulk/plan'],
    ]) {
      const r = await api.call(m, p, m === 'GET' ? undefined : {});
      assert.equal(r.status, 401, `${m} ${p}`);
      assert.equal(r.json.error.code, 'unauthorized');
    }
    assert.equal((await api.call('GET', '/api/nothing-here')).status, 404);
  });

  test('setup: the access key proves ownership; the password is checked and stored hashed', async () => {
    const wrongKey = await api.call('POST', '/api/setup', { password: ADMIN_PASSWORD, accessKey: 'x'.repeat(30) });
    assert.equal(wrongKey.status, 401);
    const weak = await api.call('POST', '/api/setup', { password: 'short', accessKey });
    assert.equal(weak.status, 400);
    assert.equal(weak.json.error.code, 'password_rejected');
    const ok = await api.call('POST', '/api/setup', { password: ADMIN_PASSWORD, accessKey });
    assert.equal(ok.status, 200);
    assert.ok(ok.json.csrf);
    // Cookie attributes.
    const parts = ok.setCookie.split(';').map((s) => s.trim());
    assert.match(parts[0], /^mw_session=[A-Za-z0-9_-]{43}$/);
    assert.ok(parts.includes('HttpOnly'));
    assert.ok(parts.includes('SameSite=Strict'));
    assert.ok(parts.includes('Path=/'));
    assert.ok(!parts.includes('Secure'), 'no Secure over plain http');
    assert.match(srv.admin.sessions.cookieFor(new URL('https://members.example/api/session'), 'x', 60), /; Secure$/, 'Secure over https');
    // The administrator: a $2y$ hash, verifiable by the wasm, in a database only the owner reads.
    assert.equal((await stat(join(dataDir, 'memberwire.db'))).mode & 0o777, 0o600);
    const saved = await srv.store.settings.get('admin');
    assert.match(saved.passwordHash, /^\$2y\$/);
    assert.ok(wasm.verifyPassword(ADMIN_PASSWORD, saved.passwordHash));
    assert.ok(!JSON.stringify(saved).includes(ADMIN_PASSWORD));
    const again = await api.call('POST', '/api/setup', { password: ADMIN_PASSWORD, accessKey });
    assert.equal(again.status, 409);
    const s = await api.call('GET', '/api/session');
    assert.equal(s.json.authenticated, true);
    assert.equal(s.json.needsSetup, false);
    assert.equal(s.json.csrf, ok.json.csrf);
  });

  test('login with the password or the access key; logout', async () => {
    const other = client(srv.url);
    const bad = await other.call('POST', '/api/session', { password: 'not-the-password' });
    assert.equal(bad.status, 401);
    assert.equal(bad.setCookie, null);
    const good = await other.call('POST', '/api/session', { password: ADMIN_PASSWORD });
    assert.equal(good.status, 200);
    assert.ok(good.json.csrf);
    assert.equal((await other.call('GET', '/api/members')).status, 200);
    const out = await other.call('DELETE', '/api/session');
    assert.equal(out.status, 200);
    assert.match(out.setCookie, /Max-Age=0/);
    assert.equal((await other.call('GET', '/api/members')).status, 401);

    // The hook access key (CRMs put it in URLs that proxies log) does not log into the admin.
    const byKey = client(srv.url);
    const k = await byKey.call('POST', '/api/session', { accessKey });
    assert.equal(k.status, 400);
    assert.equal(k.json.error.code, 'access_key_not_accepted');
    assert.equal(k.setCookie, null);
    assert.equal((await byKey.call('GET', '/api/settings')).status, 401);
    // A forged cookie is nobody's session.
    const forged = client(srv.url);
    const r = await fetch(`${srv.url}/api/members`, { headers: { cookie: `mw_session=${'A'.repeat(43)}` } });
    assert.equal(r.status, 401);
    assert.equal((await forged.call('GET', '/api/session')).json.authenticated, false);
  });

  test('CSRF: non-GET needs the session header, in constant time, and no foreign Origin', async () => {
    const rules = { rules: [] };
    const none = await api.call('PUT', '/api/rules', rules, { noCsrf: true });
    assert.equal(none.status, 403);
    assert.equal(none.json.error.code, 'csrf_failed');
    const wrong = await api.call('PUT', '/api/rules', rules, { noCsrf: true, headers: { 'x-memberwire-csrf': 'A'.repeat(43) } });
    assert.equal(wrong.status, 403);
    const short = await api.call('PUT', '/api/rules', rules, { noCsrf: true, headers: { 'x-memberwire-csrf': 'abc' } });
    assert.equal(short.status, 403);
    const foreign = await api.call('PUT', '/api/rules', rules, { origin: 'http://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json.error.code, 'csrf_failed');
    const foreignLogin = await client(srv.url).call('POST', '/api/session', { password: ADMIN_PASSWORD }, { origin: 'http://evil.example' });
    assert.equal(foreignLogin.status, 403);
    const ok = await api.call('PUT', '/api/rules', rules);
    assert.equal(ok.status, 200);
    const noOrigin = await api.call('PUT', '/api/rules', rules, { origin: null });
    assert.equal(noOrigin.status, 200, 'clients that send no Origin (curl) are fine with the CSRF header');
  });

  test('rules round trip, validated; levels on members', async () => {
    const rules = [
      { id: 'gold', level: 'Gold', anyOf: ['91', 'Gold Member'], allOf: [], noneOf: [] },
      { id: 'news', level: 'Reader', anyOf: ['93'], allOf: [], noneOf: ['97'] },
    ];
    const put = await api.call('PUT', '/api/rules', { rules });
    assert.equal(put.status, 200);
    assert.deepEqual((await api.call('GET', '/api/rules')).json.rules, rules);
    const saved = await srv.store.settings.get('rules');
    assert.deepEqual(saved.rules, rules);
    for (const bad of [{ rules: 'x' }, { rules: [{ id: 'a' }] }, { rules: [{ id: 'a', level: 'A', anyOf: [1] }] }, { rules: [rules[0], rules[0]] }]) {
      const r = await api.call('PUT', '/api/rules', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
    }
    assert.deepEqual((await api.call('GET', '/api/rules')).json.rules, rules, 'a refused PUT changes nothing');
  });

  test('manual add: no welcome, 409 on duplicates, validation', async () => {
    const sb = srv.sandbox.api;
    const before = sb.tagApplications().length;
    const r = await api.call('POST', '/api/members', { email: ' Alan@Turing.Example ', contactId: '105', firstName: 'Alan', lastName: 'Turing' });
    assert.equal(r.status, 201);
    assert.equal(r.json.email, 'alan@turing.example');
    assert.equal(r.json.contact.contactId, '105');
    assert.equal(r.json.credentials, 'none');
    assert.equal(r.json.welcome, 'not_sent');
    assert.deepEqual(r.json.levels, []);
    assert.equal(sb.tagApplications().length, before, 'nothing was applied in the CRM');
    assert.ok(!sb.tagApplications().some((t) => t.tagId === '95'), 'no Welcome tag');
    assert.ok(!sb.requests().some((q) => q.method !== 'GET'), 'no CRM write at all');

    const dupEmail = await api.call('POST', '/api/members', { email: 'ALAN@turing.example' });
    assert.equal(dupEmail.status, 409);
    assert.equal(dupEmail.json.error.code, 'email_taken');
    const dupContact = await api.call('POST', '/api/members', { email: 'someone.else@example.com', contactId: '105' });
    assert.equal(dupContact.status, 409);
    assert.equal(dupContact.json.error.code, 'contact_taken');

    const withLevel = await api.call('POST', '/api/members', { email: 'gold.by.hand@example.com', level: 'Gold' });
    assert.equal(withLevel.status, 201);
    assert.deepEqual(withLevel.json.levels, ['Gold']);
    assert.equal((await api.call('POST', '/api/members', { email: 'x@example.com', level: 'Platinum' })).status, 400);
    assert.equal((await api.call('POST', '/api/members', { email: 'x@example.com', level: 'Gold', sendWelcome: true })).status, 400);
    assert.equal((await api.call('POST', '/api/members', { email: 'not-an-email' })).status, 400);
    assert.equal((await api.call('POST', '/api/members', { email: 'y@example.com', contactId: 'abc' })).status, 400);
    assert.equal((await api.call('POST', '/api/members', { email: 'z@example.com', firstName: 'x'.repeat(500) })).status, 400);
  });

  test('manual add with sendWelcome runs the registration workflow (link into the CRM, Welcome tag)', async () => {
    const sb = srv.sandbox.api;
    const r = await api.call('POST', '/api/members', { email: 'k.johnson@example.net', sendWelcome: true });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.contact.contactId, '107', 'found in the CRM by email');
    assert.equal(r.json.outcome, 'created');
    assert.equal(r.json.credentials, 'link_issued');
    assert.equal(r.json.welcome, 'sent');
    assert.deepEqual(r.json.levels, ['Gold']);
    assert.ok(sb.tagApplications().some((t) => t.contactId === '107' && t.tagId === '95'), 'Welcome applied');
    assert.ok(sb.fieldWrites().some((f) => f.contactId === '107' && f.fieldId === '13'), 'link written');
    const dup = await api.call('POST', '/api/members', { email: 'someone@example.com', contactId: '107', sendWelcome: true });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.code, 'contact_taken');
  });

  test('refresh from the CRM: tags and names; new credentials and the welcome only when asked; linking a contact', async () => {
    const sb = srv.sandbox.api;
    const id = (await api.call('GET', '/api/members', undefined)).json.members.find((m) => m.contact?.contactId === '107').id;
    const writes = () => sb.fieldWrites().filter((f) => f.contactId === '107').length;
    const welcomes = () => sb.tagApplications().filter((t) => t.contactId === '107' && t.tagId === '95').length;
    const [w0, t0] = [writes(), welcomes()];

    const plain = await api.call('POST', `/api/members/${id}/refresh`, {});
    assert.equal(plain.status, 200, plain.text);
    assert.equal(plain.json.outcome, 'existing');
    assert.equal(plain.json.credentials, 'unchanged');
    assert.equal(writes(), w0, 'nothing written to the CRM');

    const fresh = await api.call('POST', `/api/members/${id}/refresh`, { credentials: true });
    assert.equal(fresh.status, 200, fresh.text);
    assert.equal(fresh.json.credentials, 'link_sent');
    assert.equal(writes(), w0 + 1, 'a new link in the CRM field');
    assert.equal(welcomes(), t0, 'no second welcome: it was not asked for (and was sent already)');
    const events = (await api.call('GET', '/api/events')).json.events;
    assert.ok(events.some((e) => e.id === fresh.json.event && e.source === 'refresh'), 'recorded in Activity as a refresh');

    assert.equal((await api.call('POST', `/api/members/${id}/refresh`, { credentials: 'yes' })).status, 400);
    assert.equal((await api.call('POST', '/api/members/m99999/refresh', {})).status, 404);
    const hand = await api.call('POST', '/api/members', { email: 'unlinked@refresh.example' });
    const noContact = await api.call('POST', `/api/members/${hand.json.id}/refresh`, {});
    assert.equal(noContact.status, 409);
    assert.equal(noContact.json.error.code, 'no_contact');
    // Linking: another member's contact is refused; a free one is taken; null unlinks.
    const taken = await api.call('PUT', `/api/members/${hand.json.id}/contact`, { contactId: '107' });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.error.code, 'contact_taken');
    assert.equal((await api.call('PUT', `/api/members/${hand.json.id}/contact`, { contactId: 'abc' })).status, 400);
    const linked = await api.call('PUT', `/api/members/${hand.json.id}/contact`, { contactId: '424242' });
    assert.equal(linked.status, 200, linked.text);
    assert.equal(linked.json.contact.contactId, '424242');
    const unlinked = await api.call('PUT', `/api/members/${hand.json.id}/contact`, { contactId: null });
    assert.equal(unlinked.status, 200);
    assert.equal(unlinked.json.contact, undefined);
  });

  test('members: list, search, paging, one member', async () => {
    for (let i = 0; i < 25; i++) {
      const r = await api.call('POST', '/api/members', { email: `pager${String(i).padStart(2, '0')}@paging.example`, firstName: `Pager${i}` });
      assert.equal(r.status, 201);
    }
    const all = await api.call('GET', '/api/members?limit=200');
    assert.equal(all.json.total, await srv.directory.size());
    assert.equal(all.json.members.length, await srv.directory.size());
    for (const m of all.json.members) assert.ok(Array.isArray(m.levels));
    const q = await api.call('GET', '/api/members?q=paging.example&limit=10');
    assert.equal(q.json.total, 25);
    assert.equal(q.json.members.length, 10);
    const page3 = await api.call('GET', '/api/members?q=paging.example&offset=20&limit=10');
    assert.equal(page3.json.members.length, 5);
    const ids = new Set();
    for (let off = 0; off < 25; off += 10) {
      for (const m of (await api.call('GET', `/api/members?q=PAGING&offset=${off}&limit=10`)).json.members) ids.add(m.id);
    }
    assert.equal(ids.size, 25, 'pages do not overlap');
    const one = await api.call('GET', `/api/members/${q.json.members[0].id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.id, q.json.members[0].id);
    assert.equal((await api.call('GET', '/api/members/m999999')).status, 404);
    assert.equal((await api.call('GET', '/api/members?limit=-1')).status, 400);
    const idx = await api.call('GET', '/api/access-index');
    assert.equal(idx.json.members.length, await srv.directory.size());
    assert.ok(idx.json.members.every((m) => typeof m.id === 'string' && Array.isArray(m.tags)));
  });

  test('CRM find by email; connection test', async () => {
    const r = await api.call('GET', `/api/crm/find?email=${encodeURIComponent('ADA.lovelace@example.com')}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.contacts.length, 1);
    const c = r.json.contacts[0];
    assert.equal(c.contactId, '101');
    assert.equal(c.firstName, 'Ada');
    assert.equal(c.hasPassword, false);
    assert.deepEqual(c.tags.map((t) => t.id).sort(), ['91', '93']);
    const grace = await api.call('GET', '/api/crm/find?email=grace.hopper@example.org');
    assert.equal(grace.json.contacts[0].hasPassword, true, 'the CRM has a password: said, never shown');
    assert.deepEqual((await api.call('GET', '/api/crm/find?email=nobody@example.com')).json.contacts, []);
    assert.equal((await api.call('GET', '/api/crm/find?email=bad')).status, 400);
    const t = await api.call('POST', '/api/crm/test');
    assert.equal(t.status, 200);
    assert.equal(t.json.ok, true);
    assert.equal(t.json.status, 200);
  });

  test('refresh from the CRM: preview data, then tags apply (409 stale on an old version)', async () => {
    const add = await api.call('POST', '/api/members', { email: 'ada.lovelace@example.com', contactId: '101' });
    assert.equal(add.status, 201);
    const m = add.json;
    assert.deepEqual(m.tags, []);
    const crm = await api.call('GET', `/api/members/${m.id}/crm`);
    assert.equal(crm.status, 200);
    assert.equal(crm.json.contactId, '101');
    assert.equal(crm.json.email, 'ada.lovelace@example.com');
    const rules = (await api.call('GET', '/api/rules')).json.rules;
    const preview = wasm.previewTagSync(m.tags, crm.json.tags, rules);
    assert.deepEqual(preview.add.map((t) => t.id).sort(), ['91', '93']);
    assert.deepEqual(preview.levelsGained.sort(), ['Gold', 'Reader']);

    const applied = await api.call('POST', `/api/members/${m.id}/tags`, { tags: crm.json.tags, version: m.version });
    assert.equal(applied.status, 200);
    assert.equal(applied.json.version, m.version + 1);
    assert.deepEqual(applied.json.levels.sort(), ['Gold', 'Reader']);
    const stale = await api.call('POST', `/api/members/${m.id}/tags`, { tags: [], version: m.version });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, 'stale');
    assert.equal((await api.call('GET', `/api/members/${m.id}`)).json.tags.length, 2, 'the stale write changed nothing');
    assert.equal((await api.call('POST', `/api/members/${m.id}/tags`, { tags: [{}], version: m.version + 1 })).status, 400);

    const noContact = (await api.call('GET', '/api/members?q=pager00')).json.members[0];
    assert.equal((await api.call('GET', `/api/members/${noContact.id}/crm`)).status, 409);
  });

  test('bulk plan from a CSV of a few hundred rows: exact counts and conflicts', async () => {
    // The directory now has: alan (105), k.johnson (107), ada (101) with contacts; pager00..24
    // and gold.by.hand without.
    const rows = ['Id,Email,First Name,Last Name'];
    const expect = { created: 0, linked: 0, existing: 0, updated: 0, conflict: 0, invalid: 0 };
    for (let i = 0; i < 250; i++) {
      rows.push(`${5000 + i},new${i}@bulk.example,New,"Member, ${i}"`);
      expect.created++;
    }
    for (let i = 0; i < 20; i++) {
      rows.push(`${6000 + i},PAGER${String(i).padStart(2, '0')}@paging.example,Pager,${i}`);
      expect.linked++;
    }
    rows.push('105,alan@turing.example,Alan,Turing');
    rows.push('101,Ada.Lovelace@example.com,Ada,Lovelace');
    expect.existing += 2;
    rows.push('107,katherine.new@example.net,Katherine,Johnson');
    expect.updated += 1;
    for (let i = 0; i < 5; i++) rows.push(`${7000 + i},alan@turing.example,Dup,${i}`);
    expect.conflict += 5;
    for (let i = 0; i < 12; i++) rows.push(i % 2 ? `abc${i},bad${i}@bulk.example,,` : `${8000 + i},not-an-email-${i},,`);
    expect.invalid += 12;
    const csv = `${rows.join('\r\n')}\r\n`;
    const r = await api.call('POST', '/api/bulk/plan', { csv });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.counts, expect);
    assert.equal(r.json.rows, rows.length - 1);
    assert.equal(r.json.conflicts.length, 5);
    for (const c of r.json.conflicts) {
      assert.equal(c.email, 'alan@turing.example');
      assert.equal(c.reason, 'email_taken_by_other_contact');
      assert.ok(c.otherMember);
      assert.ok(c.row >= 2);
    }
    assert.equal(r.json.invalid.length, 12);
    assert.ok(r.json.invalid.every((x) => x.row > 2 && typeof x.message === 'string'));
    assert.match(r.json.planId, /^plan_/);
    assert.equal((await api.call('POST', '/api/bulk/plan', {})).status, 400);
    assert.equal((await api.call('POST', '/api/bulk/plan', { csv: 'nothing,useful\n1,2\n' })).status, 400);
    assert.equal((await api.call('POST', '/api/bulk/run', { planId: 'plan_doesnotexist' })).status, 404);
  });

  test('bulk run from a CRM tag: to the end with progress, within the CRM rate limit', async () => {
    const sb = srv.sandbox.api;
    const tag = sb.addTag({ name: 'Bulk A' });
    for (let i = 0; i < 16; i++) sb.addContact({ given_name: 'Bulk', family_name: `A${i}`, email: `bulk.a${i}@example.com`, tags: [tag.id] });
    const plan = await api.call('POST', '/api/bulk/plan', { tag: tag.id });
    assert.equal(plan.status, 200, plan.text);
    assert.equal(plan.json.counts.created, 16);
    const firstReq = sb.requests().length;
    const run = await api.call('POST', '/api/bulk/run', { planId: plan.json.planId });
    assert.equal(run.status, 202);
    const runId = run.json.runId;
    let last = -1;
    const progress = [];
    const final = await waitFor('the run to finish', async () => {
      const s = (await api.call('GET', `/api/bulk/${runId}`)).json;
      assert.ok(s.done >= last, 'progress never goes back');
      last = s.done;
      progress.push(s.done);
      return s.state === 'finished' ? s : null;
    });
    assert.equal(final.total, 16);
    assert.equal(final.done, 16);
    assert.equal(final.failed, 0);
    assert.equal(final.counts.created, 16);
    assert.ok(new Set(progress).size > 2, `progress was visible: ${progress.join(',')}`);
    const reqs = sb.requests().slice(firstReq);
    assert.ok(!reqs.some((q) => q.rateLimited || q.status === 429), 'the CRM never had to refuse a request');
    // Welcome once per contact.
    const welcomes = sb.tagApplications().filter((t) => t.tagId === '95' && t.tagName === 'Welcome');
    for (let i = 0; i < 16; i++) {
      const m = (await api.call('GET', `/api/members?q=bulk.a${i}@example.com`)).json.members;
      assert.equal(m.length, 1);
      assert.equal(welcomes.filter((w) => w.contactId === m[0].contact.contactId).length, 1);
    }
    const again = await api.call('POST', '/api/bulk/run', { planId: plan.json.planId });
    assert.equal(again.status, 409);
  });

  test('bulk: cancel stops starting rows, resume continues, nothing twice', async () => {
    const sb = srv.sandbox.api;
    const tag = sb.addTag({ name: 'Bulk B' });
    for (let i = 0; i < 20; i++) sb.addContact({ given_name: 'Bulk', family_name: `B${i}`, email: `bulk.b${i}@example.com`, tags: [tag.id] });
    const plan = await api.call('POST', '/api/bulk/plan', { tag: tag.id });
    const { runId } = (await api.call('POST', '/api/bulk/run', { planId: plan.json.planId })).json;
    await waitFor('a few rows', async () => (await api.call('GET', `/api/bulk/${runId}`)).json.done >= 2);
    const c = await api.call('POST', `/api/bulk/${runId}/cancel`);
    assert.equal(c.status, 200);
    assert.equal(c.json.state, 'cancelled');
    await srv.admin.bulk.idle();
    const stopped = (await api.call('GET', `/api/bulk/${runId}`)).json;
    assert.equal(stopped.state, 'cancelled');
    assert.ok(stopped.done < 20, `stopped early (${stopped.done})`);
    await sleep(300);
    assert.equal((await api.call('GET', `/api/bulk/${runId}`)).json.done, stopped.done, 'nothing starts while cancelled');
    const resumed = await api.call('POST', `/api/bulk/${runId}/resume`);
    assert.equal(resumed.json.state, 'running');
    const final = await waitFor('the run to finish', async () => {
      const s = (await api.call('GET', `/api/bulk/${runId}`)).json;
      return s.state === 'finished' ? s : null;
    });
    assert.equal(final.done, 20);
    assert.equal(final.counts.created, 20);
    const welcomes = sb.tagApplications().filter((t) => t.tagId === '95');
    const perContact = new Map();
    for (const w of welcomes) perContact.set(w.contactId, (perContact.get(w.contactId) ?? 0) + 1);
    assert.ok([...perContact.values()].every((n) => n === 1), 'no contact welcomed twice');
    assert.equal((await api.call('POST', '/api/bulk/run_nope/cancel')).status, 404);
  });

  test('activity: list and filter; a failed event is retried', async () => {
    const sb = srv.sandbox.api;
    const list = await api.call('GET', '/api/events?limit=5');
    assert.equal(list.status, 200);
    assert.equal(list.json.events.length, 5);
    assert.ok(list.json.total >= 37);
    assert.ok(list.json.events.every((e) => e.state === undefined), 'no workflow state in the list');
    // A post whose contact load is refused (401): parked at once as crm_auth.
    sb.injectFaults([{ status: 401, match: { method: 'GET', pathPrefix: '/crm/rest/v2/contacts/103' } }]);
    const post = await fetch(`${srv.url}/hooks/keap?key=${accessKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'contactId=103&Email=grace.hopper%40example.org',
    });
    assert.equal(post.status, 202);
    const eventId = (await post.json()).event;
    const pending = await waitFor('the event to park', async () => {
      const r = await api.call('GET', '/api/events?status=pending');
      return r.json.events.find((e) => e.id === eventId);
    });
    assert.equal(pending.pending.code, 'crm_auth');
    const one = await api.call('GET', `/api/events/${eventId}`);
    assert.equal(one.json.status, 'pending');
    assert.equal(one.json.state, undefined);
    const retried = await api.call('POST', `/api/events/${eventId}/retry`);
    assert.equal(retried.status, 200);
    assert.equal(retried.json.status, 'done');
    assert.equal(retried.json.outcome.outcome, 'created');
    const done = await api.call('GET', '/api/events?status=done&limit=200');
    assert.ok(done.json.events.some((e) => e.id === eventId));
    assert.equal((await api.call('GET', '/api/events?status=bogus')).status, 400);
    assert.equal((await api.call('GET', '/api/events/ev_nope')).status, 404);
  });

  test('test post goes through the hook handler', async () => {
    const r = await api.call('POST', '/api/test-post', { email: 'Test.Post@Example.com' });
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 200, r.text);
    assert.equal(r.json.answer.outcome, 'created');
    assert.equal(r.json.answer.member.email, 'test.post@example.com');
    const again = await api.call('POST', '/api/test-post', { email: 'Test.Post@Example.com' });
    assert.equal(again.json.answer.outcome, 'existing');
  });

  test('settings: no token, no key; rotate-key works at once', async () => {
    const s = await api.call('GET', '/api/settings');
    assert.equal(s.status, 200);
    assert.equal(s.json.crm.kind, 'keap');
    assert.equal(s.json.crm.sandbox, true);
    assert.equal(s.json.passwordMode, 'link');
    assert.equal(s.json.welcomeTag, '95');
    assert.equal(s.json.linkField, '13');
    assert.equal(s.json.hookUrls.keap, `${srv.url}/hooks/keap`);
    assert.ok(!s.text.includes(KEAP_DEFAULT_API_KEY));
    assert.ok(!s.text.includes(accessKey));

    const hook = (key) =>
      fetch(`${srv.url}/hooks/keap?key=${encodeURIComponent(key)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'contactId=101&Email=ada.lovelace%40example.com',
      });
    assert.equal((await hook(accessKey)).status, 200);
    const rot = await api.call('POST', '/api/settings/rotate-key', undefined, { allowSecret: true });
    assert.equal(rot.status, 200);
    const newKey = rot.json.key;
    secrets.add(newKey);
    assert.ok(newKey && newKey !== accessKey);
    assert.equal((await hook(accessKey)).status, 401, 'the old key stops working at once');
    assert.equal((await hook(newKey)).status, 200);
    const stored = await srv.store.settings.get('access-key');
    assert.equal(stored.digest, wasm.accessKeyDigest(newKey));
    // Neither key logs into the admin.
    assert.equal((await client(srv.url).call('POST', '/api/session', { accessKey: newKey }, { allowSecret: true })).status, 400);
  });

  test('API tokens: made by a session and shown once; a bearer needs no cookie or CSRF; a wrong or revoked one gets 401', async () => {
    const made = await api.call('POST', '/api/settings/api-tokens', { label: 'Our WordPress' }, { allowSecret: true });
    assert.equal(made.status, 201);
    const { token, id } = made.json;
    assert.match(token, /^mwt_[A-Za-z0-9_-]{43}$/);
    secrets.add(token);
    const list = await api.call('GET', '/api/settings/api-tokens');
    assert.deepEqual(list.json.tokens.map((t) => [t.id, t.label]), [[id, 'Our WordPress']]);
    assert.ok(!list.text.includes(token) && !/digest/.test(list.text), 'the list holds neither the token nor its digest');

    const bearer = client(srv.url);
    const as = (method, path, body, auth = `Bearer ${token}`) => bearer.call(method, path, body, { headers: { authorization: auth }, origin: null });
    assert.equal((await as('GET', '/api/members')).status, 200);
    // A write without a cookie, a CSRF header or an Origin: the bearer is the proof.
    const rules = (await api.call('GET', '/api/rules')).json.rules;
    assert.equal((await as('PUT', '/api/rules', { rules })).status, 200);
    // Tokens cannot make or revoke tokens.
    for (const [m, p, b] of [['GET', '/api/settings/api-tokens'], ['POST', '/api/settings/api-tokens', { label: 'x' }], ['DELETE', `/api/settings/api-tokens/${id}`]]) {
      const r = await as(m, p, b);
      assert.equal(r.status, 403, `${m} ${p}`);
      assert.equal(r.json.error.code, 'session_required');
    }
    // A wrong token is a 401 even where a session cookie would work, and says nothing of the right one.
    for (const auth of [`Bearer ${token.slice(0, -1)}x`, 'Bearer mwk_not-a-token', 'Basic abc', `Bearer ${token} extra`]) {
      const r = await as('GET', '/api/members', undefined, auth);
      assert.equal(r.status, 401, auth.slice(0, 12));
      assert.equal(r.json.error.code, 'unauthorized');
    }
    assert.equal((await api.call('POST', '/api/settings/api-tokens', { label: '' })).status, 400);
    // Another Authorization (a proxy's Basic in front of the admin page) leaves the session alone.
    assert.equal((await api.call('GET', '/api/members', undefined, { headers: { authorization: 'Basic YWRtaW46eA==' } })).status, 200);
    // Revoked: at once.
    assert.equal((await api.call('DELETE', `/api/settings/api-tokens/${id}`)).status, 200);
    assert.equal((await api.call('DELETE', `/api/settings/api-tokens/${id}`)).status, 404);
    assert.equal((await as('GET', '/api/members')).status, 401);
    assert.deepEqual((await api.call('GET', '/api/settings/api-tokens')).json.tokens, []);
  });

  test('static admin files: wasm package, browser host, no traversal', async () => {
    const wasmRes = await fetch(`${srv.url}/pkg/memberwire_bg.wasm`);
    assert.equal(wasmRes.status, 200);
    assert.equal(wasmRes.headers.get('content-type'), 'application/wasm');
    assert.ok(WebAssembly.validate(new Uint8Array(await wasmRes.arrayBuffer())));
    const js = await fetch(`${srv.url}/pkg/memberwire.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
    const host = await fetch(`${srv.url}/js/hosts/browser.mjs`);
    assert.equal(host.status, 200);
    assert.match(await host.text(), /loadWasm/);
    assert.equal((await fetch(`${srv.url}/pkg/memberwire.d.ts`)).status, 404);
    assert.equal((await fetch(`${srv.url}/js/hosts/node.mjs`)).status, 404);
    for (const p of ['/admin/../package.json', '/admin/%2e%2e/package.json', '/admin/..%2fpackage.json', '/admin/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/pkg/../package.json', '/admin/.hidden', '/admin/a%00b', '/admin/..\\package.json']) {
      const r = await rawGet(srv.url, p);
      assert.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
      assert.ok(!r.body.includes('"devDependencies"'), p);
    }
    const admin = await fetch(`${srv.url}/admin`);
    let hasIndex = true;
    try {
      await stat(new URL('../../www/index.html', import.meta.url));
    } catch {
      hasIndex = false;
    }
    assert.equal(admin.status, hasIndex ? 200 : 404);
    if (hasIndex) {
      assert.match(admin.headers.get('content-type'), /text\/html/);
      assert.match(admin.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    }
    assert.equal((await fetch(`${srv.url}/admin`, { method: 'POST' })).status, 405);
  });

  test('no response body held a password hash, a token or a key', () => {
    assert.ok(seen.length > 100);
    for (const { path, text } of seen) {
      assert.ok(!/\$2[aby]\$/.test(text), `${path} shows a bcrypt hash`);
      assert.ok(!/passwordHash|password_hash/.test(text), `${path} names a password hash`);
      assert.ok(!/set-password#token=|"token"/.test(text), `${path} shows a set-password token`);
      for (const s of secrets) assert.ok(!text.includes(s), `${path} shows a secret`);
    }
  });

  test('the CRM never had to refuse a request: engine, bulk runs and admin calls share one limit', () => {
    const requests = srv.sandbox.api.requests();
    assert.ok(requests.length > 100);
    assert.deepEqual(requests.filter((r) => r.rateLimited || r.status === 429), []);
  });

  test('no log line held a secret', () => {
    const lines = afterStartup();
    assert.ok(lines.some((l) => l.startsWith('admin: ')), 'admin actions are logged');
    assert.ok(lines.some((l) => l.startsWith('bulk: ')), 'bulk runs are logged');
    for (const line of lines) {
      assert.ok(!/\$2[aby]\$/.test(line), line);
      for (const s of secrets) assert.ok(!line.includes(s), `a log line shows a secret: ${line.slice(0, 40)}`);
    }
  });
});

describe('admin API across a restart', () => {
  test('sessions survive, bulk runs resume where they stopped', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mw-admin-restart-'));
    try {
      let { srv, api } = await start({ dataDir });
      const key = srv.accessKey;
      assert.equal((await api.call('POST', '/api/setup', { password: ADMIN_PASSWORD, accessKey: key })).status, 200);
      const sb = srv.sandbox.api;
      const tag = sb.addTag({ name: 'Restart' });
      // The sandbox does not survive a restart (a new one starts with the seed): plan from CSV
      // rows that are seeded contacts, so the second server's sandbox has them too.
      const csv = 'Id,Email\n101,ada.lovelace@example.com\n103,grace.hopper@example.org\n105,alan@turing.example\n107,k.johnson@example.net\n';
      assert.ok(tag);
      const plan = await api.call('POST', '/api/bulk/plan', { csv });
      assert.equal(plan.json.counts.created, 4);
      const { runId } = (await api.call('POST', '/api/bulk/run', { planId: plan.json.planId })).json;
      await api.call('POST', `/api/bulk/${runId}/cancel`);
      await srv.admin.bulk.idle();
      await srv.engine.idle();
      const stopped = (await api.call('GET', `/api/bulk/${runId}`)).json;
      assert.equal(stopped.state, 'cancelled');
      await srv.close();

      const { cookie, csrf } = api;
      ({ srv, api } = await start({ dataDir }));
      assert.equal(srv.accessKey, null, 'the key is not generated again');
      assert.equal((await api.call('GET', '/api/members')).status, 401, 'no cookie, no session');
      // The administrator's cookie from before the restart still works (its CSRF token too).
      const same = client(srv.url);
      assert.equal((await same.call('GET', '/api/members', undefined, { headers: { cookie } })).status, 200, 'a session survives a restart');
      const s = await same.call('GET', '/api/session', undefined, { headers: { cookie } });
      assert.deepEqual(s.json, { authenticated: true, needsSetup: false, csrf });
      assert.equal((await api.call('POST', '/api/session', { password: ADMIN_PASSWORD })).status, 200);
      const after = (await api.call('GET', `/api/bulk/${runId}`)).json;
      assert.deepEqual(after, stopped, 'the run was persisted');
      await api.call('POST', `/api/bulk/${runId}/resume`);
      const final = await waitFor('the run to finish', async () => {
        const r = (await api.call('GET', `/api/bulk/${runId}`)).json;
        return r.state === 'finished' ? r : null;
      });
      assert.equal(final.done, 4);
      assert.equal(final.failed, 0);
      assert.equal(final.counts.created, 4);
      assert.equal(await srv.directory.size(), 4);
      assert.deepEqual((await api.call('GET', '/api/rules')).json.rules, []);
      await srv.engine.idle();
      await srv.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('admin API after an interrupted bulk run', () => {
  test('a run stopped by a shutdown mid-flight continues by itself after the restart, counting each row once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mw-admin-interrupt-'));
    try {
      let { srv, api } = await start({ dataDir });
      assert.equal((await api.call('POST', '/api/setup', { password: ADMIN_PASSWORD, accessKey: srv.accessKey })).status, 200);
      // Slow CRM answers keep rows in flight when the server goes down.
      srv.sandbox.api.injectFaults(Array.from({ length: 8 }, () => ({ delayMs: 400, match: { method: 'GET' } })));
      const csv = 'Id,Email\n101,ada.lovelace@example.com\n103,grace.hopper@example.org\n105,alan@turing.example\n107,k.johnson@example.net\n';
      const plan = await api.call('POST', '/api/bulk/plan', { csv });
      const { runId } = (await api.call('POST', '/api/bulk/run', { planId: plan.json.planId })).json;
      await waitFor('rows in flight', async () => srv.engine.runningCount > 0);
      const mid = (await api.call('GET', `/api/bulk/${runId}`)).json;
      assert.equal(mid.state, 'running');
      assert.ok(mid.done < 4);
      await srv.close();

      ({ srv, api } = await start({ dataDir }));
      assert.equal((await api.call('POST', '/api/session', { password: ADMIN_PASSWORD })).status, 200);
      const final = await waitFor('the run to finish', async () => {
        const r = (await api.call('GET', `/api/bulk/${runId}`)).json;
        return r.state === 'finished' ? r : null;
      });
      assert.equal(final.total, 4);
      assert.equal(final.done, 4);
      assert.equal(final.failed, 0);
      assert.equal(Object.values(final.counts).reduce((a, b) => a + b, 0), 4);
      assert.equal(await srv.directory.size(), 4, 'one member per contact');
      await srv.engine.idle();
      await srv.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('admin API login limit', () => {
  test('failed logins back off per address: 429 after 10 a minute, until the next turn', async () => {
    const { srv, dataDir, api } = await start();
    try {
      assert.equal((await api.call('POST', '/api/setup', { password: ADMIN_PASSWORD, accessKey: srv.accessKey })).status, 200);
      const other = client(srv.url);
      for (let i = 0; i < 10; i++) assert.equal((await other.call('POST', '/api/session', { password: `wrong-password-${i}` })).status, 401);
      const limited = await other.call('POST', '/api/session', { password: ADMIN_PASSWORD });
      assert.equal(limited.status, 429, 'even the right password waits for its turn (ten seconds on)');
      const wait = Number(limited.headers.get('retry-after'));
      assert.ok(wait > 0 && wait <= 10, `retry-after ${wait}`);
      assert.equal((await other.call('POST', '/api/session', { accessKey: srv.accessKey })).status, 429);
      // The session already open is not affected.
      assert.equal((await api.call('GET', '/api/members')).status, 200);
    } finally {
      await srv.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
