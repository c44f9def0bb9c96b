// Hardening found by an outside review and attack run (issue 10): the set-password form against
// guessing and CPU exhaustion (a token is looked up before any bcrypt runs, attempts are limited
// per client, bcrypt runs in a worker thread on the Node server), updatedAt on refresh, and the
// admin session against planted cookies, racing first-run setups and forged origins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { connect } from 'node:net';
import { createRig, createSecrets, keapField, tokenOf, KEAP, makeKey, loadWasm } from './support/registration.mjs';
import { serve } from '../../js/server/serve.mjs';

const secrets = createSecrets();
const form = (token, password) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password }) });

test('no bcrypt runs for a token that is not live; the one live token is hashed once', async () => {
  const wasm = loadWasm();
  const hasher = new wasm.Registrar({ bcryptCost: 4 });
  let hashed = 0;
  const r = await createRig({ secrets, engineOptions: { hashPassword: async (p) => (hashed++, hasher.hashNewPassword(p)) } });
  await r.post('/hooks/keap', 'contactId=105');
  const password = secrets.add('Turing-Machine-1936!');
  for (let i = 0; i < 15; i++) {
    const bogus = await r.call('/set-password', form(makeKey(), password));
    assert.equal(bogus.status, 400);
    assert.equal(bogus.body.error.code, 'invalid_token');
  }
  assert.equal(hashed, 0, 'made-up tokens never reach bcrypt');
  // A password the policy refuses keeps the link alive, and is not hashed either.
  const token = tokenOf(keapField(r.sandbox.contact(105), KEAP.linkField));
  assert.equal((await r.call('/set-password', form(token, 'short'))).body.error.code, 'password_rejected');
  assert.equal(hashed, 0);
  const ok = await r.call('/set-password', form(token, password));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(hashed, 1);
});

test('set-password attempts are limited per client: 429 with Retry-After, other clients unaffected', async () => {
  const r = await createRig({ secrets, handlerOptions: { setPasswordLimit: { limit: 5, windowMs: 60_000 } } });
  const a = { remoteAddress: '203.0.113.7' };
  const password = secrets.add('Guessing-Game-2026');
  for (let i = 0; i < 5; i++) assert.equal((await r.call('/set-password', form(makeKey(), password), a)).status, 400);
  const limited = await r.call('/set-password', form(makeKey(), password), a);
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, 'too_many_attempts');
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  const other = await r.call('/set-password', form(makeKey(), password), { remoteAddress: '198.51.100.2' });
  assert.equal(other.status, 400, 'another client still gets an answer');
  assert.equal(other.body.error.code, 'invalid_token');
});

test('the Node server hashes a new password in its worker thread', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-setpw-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const srv = await serve({ port: 0, dataDir, log: () => {}, env: {}, bcryptCost: 4, sandboxRateLimit: 0, budgetMs: 20_000 });
  t.after(() => srv.close());
  secrets.add(srv.accessKey);
  const created = await fetch(`${srv.url}/hooks/keap?key=${srv.accessKey}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'contactId=107' });
  assert.equal((await created.json()).outcome, 'created');
  const token = tokenOf(keapField(srv.sandbox.api.contact(107), KEAP.linkField));
  const res = await fetch(`${srv.url}/set-password`, form(token, secrets.add('Orbital-Mechanics-1962')));
  assert.equal(res.status, 200);
  assert.equal(srv.hasher.completed, 1, 'the worker thread made the hash');
  const member = (await srv.directory.search('k.johnson', 0, 1)).members[0];
  assert.equal(member.hasPassword, true);
});

test('a refresh that changes a member stamps updatedAt; one that changes nothing leaves it', async () => {
  let clock = 1_800_000_000_000;
  const r = await createRig({ secrets, now: () => clock });
  const first = await r.postJson('/hooks/json', { contact_id: 'u-1', email: 'u1@example.com', tags: ['Gold'] });
  const id = first.body.member.id;
  const created = await r.directory.get(id);
  assert.equal(created.updatedAt, created.createdAt);
  clock += 60_000;
  await r.postJson('/hooks/json', { contact_id: 'u-1', email: 'u1@example.com', tags: ['Gold'] });
  assert.equal((await r.directory.get(id)).updatedAt, created.createdAt, 'nothing changed: not updated');
  clock += 60_000;
  await r.postJson('/hooks/json', { contact_id: 'u-1', email: 'u1@example.com', tags: ['Gold', 'Silver'] });
  assert.equal((await r.directory.get(id)).updatedAt, clock, 'new tags: updated now');
});

test('admin sessions: a planted second cookie does not lock the administrator out; concurrent first-run setups: one wins; an Origin matching only the Host header is refused', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-admin-hard-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const srv = await serve({ port: 0, dataDir, log: () => {}, env: {}, bcryptCost: 4 });
  t.after(() => srv.close());
  const key = secrets.add(srv.accessKey);
  const origin = srv.url;
  const post = (path, body, headers = {}) => fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin, ...headers }, body: JSON.stringify(body) });

  // Five setups at once: exactly one administrator is made.
  const passwords = Array.from({ length: 5 }, (_, i) => secrets.add(`First-Admin-${i}-password`));
  const setups = await Promise.all(passwords.map((password) => post('/api/setup', { password, accessKey: key })));
  const won = setups.filter((r) => r.status === 200);
  assert.equal(won.length, 1, `setups answered ${setups.map((r) => r.status)}`);
  assert.ok(setups.filter((r) => r.status === 409).length === 4);
  const winner = passwords[setups.indexOf(won[0])];
  const login = await post('/api/session', { password: winner });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie').split(';')[0];

  // A cookie planted before the real one (a sibling subdomain can set one) does not hide it.
  const planted = `mw_session=${'P'.repeat(43)}; ${cookie}`;
  assert.equal((await fetch(`${srv.url}/api/members`, { headers: { cookie: planted } })).status, 200);

  // DNS rebinding: the page's origin is the attacker's name for this server, and the Host header
  // says the same. The origin is not one the server is configured at: refused.
  const csrf = (await login.json()).csrf;
  // (node:http, which sends the Host header it is given, as a browser on a rebound name does.)
  const rebound = await new Promise((resolve, reject) => {
    const u = new URL(`${srv.url}/api/rules`);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers: { 'content-type': 'application/json', cookie, 'x-memberwire-csrf': csrf, origin: 'http://attacker.example:1234', host: 'attacker.example:1234' } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ rules: [] }));
  });
  assert.equal(rebound.status, 403);
  assert.equal(rebound.body.error.code, 'csrf_failed');
  const same = await fetch(`${srv.url}/api/rules`, { method: 'PUT', headers: { 'content-type': 'application/json', cookie, 'x-memberwire-csrf': csrf, origin }, body: JSON.stringify({ rules: [] }) });
  assert.equal(same.status, 200);
});

test('failed logins back off per client and never lock out the right password; behind a trusted proxy each client counts apart', { timeout: 60_000 }, async (t) => {
  const { createSessions } = await import('../../js/server/session.mjs');
  const wasm = loadWasm();
  const registrar = new wasm.Registrar({ bcryptCost: 4 });
  const stored = new Map();
  const settings = { get: async (k) => stored.get(k) ?? null, put: async (k, v) => stored.set(k, v), putIfAbsent: async (k, v) => (stored.has(k) ? false : (stored.set(k, v), true)) };
  let clock = 1_800_000_000_000;
  const sessions = createSessions({ wasm, settings, registrar, keyDigest: () => wasm.accessKeyDigest('k'.repeat(43)), now: () => clock });
  const right = secrets.add('The-Right-Admin-Password');
  await sessions.setup('owner', { password: right, accessKey: 'k'.repeat(43) });
  const attempt = (ip, password) => sessions.login(ip, { password }).then(() => 200, (e) => e.status);
  for (let i = 0; i < 10; i++) assert.equal(await attempt('attacker', `wrong-${i}-password`), 401);
  assert.equal(await attempt('attacker', 'wrong-again-password'), 429, 'the guesser backs off');
  assert.equal(await attempt('admin', right), 200, 'another client is not affected');
  // The same address as the guesser (a shared proxy without trust configured): the right
  // password gets in at its next turn, ten seconds on, instead of being locked out.
  assert.equal(await attempt('attacker', right), 429);
  clock += 10_000;
  assert.equal(await attempt('attacker', right), 200);

  // The server: behind a trusted proxy (loopback here), clients are told apart by X-Forwarded-For.
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-proxy-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const srv = await serve({ port: 0, dataDir, log: () => {}, env: { MEMBERWIRE_TRUSTED_PROXIES: '127.0.0.1' }, bcryptCost: 4 });
  t.after(() => srv.close());
  secrets.add(srv.accessKey);
  const post = (path, body, xff) => fetch(`${srv.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': xff }, body: JSON.stringify(body) });
  assert.equal((await post('/api/setup', { password: right, accessKey: srv.accessKey }, '192.0.2.1')).status, 200);
  for (let i = 0; i < 10; i++) assert.equal((await post('/api/session', { password: `nope-${i}-password` }, '203.0.113.66')).status, 401);
  assert.equal((await post('/api/session', { password: 'nope-more-password' }, '203.0.113.66')).status, 429);
  // A client cannot escape by writing its own X-Forwarded-For: only the proxy's last hop counts.
  assert.equal((await post('/api/session', { password: 'nope-spoof-password' }, '10.9.9.9, 203.0.113.66')).status, 429);
  assert.equal((await post('/api/session', { password: right }, '192.0.2.1')).status, 200, 'the administrator behind the same proxy logs in');
});

/** Raw bytes to the server; resolves to what it answered (until it closes or `waitMs`). */
function raw(url, bytes, waitMs = 5_000) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const socket = connect(Number(u.port), u.hostname, () => socket.write(bytes));
    let got = '';
    const done = () => {
      socket.destroy();
      resolve(got);
    };
    socket.on('data', (d) => (got += d));
    socket.on('end', done);
    socket.on('error', reject);
    setTimeout(done, waitMs);
  });
}

test('a keyless post is refused before its body is read; malformed HTTP gets JSON answers', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-http-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const srv = await serve({ port: 0, dataDir, log: () => {}, env: {}, bcryptCost: 4 });
  t.after(() => srv.close());
  secrets.add(srv.accessKey);

  // Item 3: 5 MiB announced, 64 KiB sent, the rest never: the answer (401) comes anyway, so the
  // server did not wait for (or buffer) a body whose key it had already refused.
  const head = `POST /hooks/keap HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${5 * 1024 * 1024}\r\n\r\n`;
  const partial = await raw(srv.url, head + 'a'.repeat(64 * 1024), 5_000);
  assert.match(partial, /^HTTP\/1\.1 401 /, partial.slice(0, 80));
  assert.match(partial, /"code":"unauthorized"/);

  // Item 12: what Node's HTTP parser refuses is answered in JSON too.
  const cases = [
    ['a Content-Length with Transfer-Encoding', 'POST /hooks/keap HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['a bad chunk', 'POST /hooks/keap HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['a 100 KB header', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`, 431],
    ['an invalid Host', 'GET /health HTTP/1.1\r\nHost: [\r\n\r\n', 200],
  ];
  for (const [what, bytes, status] of cases) {
    const answer = await raw(srv.url, bytes, 3_000);
    assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${answer.slice(0, 60)}`);
    assert.match(answer, /content-type: application\/json/i, what);
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    const json = JSON.parse(body.includes('\r\n') ? body.split('\r\n')[1] : body);
    assert.ok(status === 200 ? json.ok === true : typeof json.error.code === 'string', `${what}: ${body}`);
  }
});

test('password-like fields under any name are never stored with an event: only fields on the allow-list are kept', async () => {
  const r = await createRig({ secrets, config: { parse: { keepFields: ['_MemberLevel'] } } });
  const values = ['Geheim-Passwort-1', 'hunter2-hunter2', 'Secret-Member-9', 'wp-pass-42'].map((v) => secrets.add(v));
  const body = `Id=101&Email=ada.lovelace%40example.com&Passwort=${values[0]}&pwd=${values[1]}&_MemberPwd=${values[2]}&user_pass=${values[3]}&_MemberLevel=Gold`;
  const res = await r.post('/hooks/keap', body);
  assert.equal(res.status, 200, res.text);
  const saved = JSON.stringify(await r.events.page({}));
  const states = JSON.stringify(await Promise.all((await r.events.page({})).events.map((e) => r.events.get(e.id))));
  for (const v of values) {
    assert.ok(!saved.includes(v) && !states.includes(v), 'a password-like value was stored');
  }
  assert.match(states, /_MemberLevel/, 'the allowed field is kept');
});

test('parked events are retried on a schedule that backs off, never for a code only an operator can fix', async () => {
  let clock = 1_800_000_000_000;
  const r = await createRig({ secrets, now: () => clock });
  const ghost = await r.post('/hooks/keap', 'contactId=424242');
  assert.equal(ghost.status, 202);
  await r.engine.idle();
  const id = ghost.body.event;
  const loads = () => r.sandbox.requests().filter((q) => q.path.includes('/contacts/424242')).length;
  let e = await r.events.get(id);
  assert.equal(e.status, 'pending');
  assert.equal(e.nextRetryAt, clock + 60_000, 'first retry a minute on');
  const before = loads();
  clock += 30_000;
  assert.equal(await r.engine.retryPending(), 0, 'not due yet');
  assert.equal(loads(), before);
  clock += 31_000;
  assert.equal(await r.engine.retryPending(), 1);
  await r.engine.idle();
  assert.ok(loads() > before, 'retried once due');
  e = await r.events.get(id);
  assert.equal(e.nextRetryAt, clock + 120_000, 'then two minutes on');
  // A code no retry can change is left to the operator.
  await r.events.park(id, { code: 'cannot_continue', reason: 'x' }, null);
  assert.equal((await r.events.get(id)).nextRetryAt, null);
  clock += 10 * 3600_000;
  assert.equal(await r.engine.retryPending(), 0);
});

test('a fresh post goes ahead of the bulk of a 100-id delivery at the CRM rate limit', async () => {
  const r = await createRig({ secrets, rateLimit: 200 });
  const ids = Array.from({ length: 100 }, (_, i) => ({ id: 990_000 + i, apiUrl: '', timestamp: '2026-11-20T09:14:00.000Z' }));
  const bulk = r.postJson('/hooks/keap-rest', { event_key: 'contact.add', object_type: 'contact', object_keys: ids }, { auth: 'header' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const fresh = await r.post('/hooks/keap', 'contactId=101');
  assert.equal(fresh.status, 200, fresh.text);
  await bulk;
  await r.engine.idle();
  const order = r.sandbox.requests().map((q) => q.path);
  const first101 = order.findIndex((p) => p.includes('/contacts/101'));
  const bulkLoads = order.filter((p) => /\/contacts\/99\d{4}/.test(p)).length;
  assert.equal(bulkLoads >= 100, true);
  assert.ok(first101 < 20, `the fresh post's first CRM call was number ${first101 + 1} of ${order.length}`);
});

test('a wasm instance that traps is replaced by a fresh one on the same address; the event it was running finishes there', { timeout: 60_000 }, async (t) => {
  const { supervise } = await import('../../js/server/serve.mjs');
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-trap-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const logs = [];
  // Registrations on the main thread (as with a WordPress directory): its own instance traps.
  const srv = await supervise({ port: 0, dataDir, log: (l) => logs.push(l), env: {}, bcryptCost: 4, sandboxRateLimit: 0, budgetMs: 2_000, registrationThread: false });
  t.after(() => srv.close());
  const key = secrets.add(srv.accessKey);
  const first = srv.current();
  const url = srv.url;
  // The instance traps in the middle of a registration (as `unreachable` does after a panic).
  const apply = first.directory.apply;
  first.directory.apply = async (op, ...rest) => {
    if (op.op === 'insert') throw new WebAssembly.RuntimeError('unreachable');
    return apply(op, ...rest);
  };
  const res = await fetch(`${url}/hooks/json`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ contact_id: 'trap-1', email: 'trap@example.com' }) });
  assert.equal(res.status, 202, 'recorded, then the instance trapped');
  const { event } = await res.json();
  await srv.settled();
  assert.equal(srv.restarts, 1);
  assert.notEqual(srv.current(), first, 'a fresh instance');
  assert.equal(srv.url, url, 'on the same address');
  assert.ok(logs.some((l) => /wasm instance trapped/.test(l)));
  await srv.current().engine.idle();
  const e = await srv.current().events.get(event);
  assert.equal(e.status, 'done', 'the event the trapped instance was running finished on the new one');
  assert.equal(e.outcome.outcome, 'created');
  assert.equal((await srv.current().directory.search('trap@example.com', 0, 5)).total, 1);
  // And it keeps serving.
  const again = await fetch(`${url}/hooks/json`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ contact_id: 'trap-1', email: 'trap@example.com' }) });
  assert.equal((await again.json()).outcome, 'existing');
});

test('a registration thread whose wasm instance traps is replaced by a fresh thread; the event it was running finishes there', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-thread-trap-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const logs = [];
  const srv = await serve({ port: 0, dataDir, log: (l) => logs.push(l), env: {}, bcryptCost: 4, sandboxRateLimit: 0, budgetMs: 10_000, registrationFaults: { trapOn: 'insert' } });
  t.after(() => srv.close());
  const key = secrets.add(srv.accessKey);
  assert.equal(srv.registrations.restarts, 0);
  const post = () => fetch(`${srv.url}/hooks/json`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ contact_id: 'trap-2', email: 'thread-trap@example.com' }) });
  // The post waits for its registration: the first thread traps at the insert, the second finishes it.
  const res = await post();
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.outcome, 'created');
  assert.equal(srv.registrations.restarts, 1, 'one fresh thread');
  assert.ok(logs.some((l) => /registration thread stopped \(RuntimeError: unreachable\)/.test(l)), logs.join('\n'));
  const e = await srv.events.get(body.event);
  assert.equal(e.status, 'done');
  assert.equal((await srv.directory.search('thread-trap@example.com', 0, 5)).total, 1);
  assert.equal((await (await post()).json()).outcome, 'existing', 'and it keeps registering');
});

test('stopped while registrations wait for a rate-limited CRM: the stop takes about two seconds, and the next start finishes every event once', { timeout: 60_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-thread-stop-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const key = secrets.add(makeKey());
  const opts = { port: 0, dataDir, log: () => {}, env: { MEMBERWIRE_KEY: key }, bcryptCost: 4, sandboxRateLimit: 2, budgetMs: 0 };
  const first = await serve(opts);
  // Four new members at 2 CRM requests a second (two writes each): about four seconds of work.
  const posts = ['101', '103', '105', '107'].map((id) =>
    fetch(`${first.url}/hooks/keap?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `contactId=${id}` }).then((r) => r.json()),
  );
  const answers = await Promise.all(posts);
  assert.deepEqual(answers.map((a) => a.outcome), ['queued', 'queued', 'queued', 'queued']);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  await first.close();
  const took = performance.now() - t0;
  assert.ok(took < 4_000, `the stop took ${Math.round(took)} ms`);
  // The events the stop cut short were left running, and the next start resumes them.
  const second = await serve(opts);
  t.after(() => second.close());
  const counts = await (async () => {
    for (let i = 0; i < 200; i++) {
      const c = await second.events.counts();
      if (c.done === 4) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    return second.events.counts();
  })();
  assert.deepEqual({ done: counts.done, pending: counts.pending, running: counts.running }, { done: 4, pending: 0, running: 0 });
  assert.equal(await second.directory.size(), 4, 'one member per contact');
  for (const a of answers) assert.equal((await second.events.get(a.event)).outcome.outcome, 'created');
});

test('a registration thread that cannot start stops the server from starting, saying why', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-thread-start-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await assert.rejects(serve({ port: 0, dataDir, log: () => {}, env: {}, bcryptCost: 4, sandboxRateLimit: 0, registrationFaults: { failStart: true } }), /registration thread could not start .*could not be opened/);
  // Nothing of it stays behind: the data directory opens again.
  const srv = await serve({ port: 0, dataDir, log: () => {}, env: {}, bcryptCost: 4, sandboxRateLimit: 0 });
  await srv.close();
});

test('international emails (issue 10, item 5): NFC and NFD, a Unicode domain and its A-labels, full-width forms are one member, through the hooks and the bulk planner; a domain that cannot be converted is refused', async () => {
  const r = await createRig({ secrets });
  const first = await r.postJson('/hooks/json', { contact_id: 'intl-1', email: 'j\u00fcrgen@b\u00fccher.de' });
  assert.equal(first.body.outcome, 'created', first.text);
  assert.equal(first.body.member.email, 'j\u00fcrgen@xn--bcher-kva.de');
  for (const [i, email] of ['ju\u0308rgen@bu\u0308cher.de', 'J\u00dcRGEN@xn--bcher-kva.de', 'j\u00fcrgen@\uff42\u00fccher.de', 'j\u00fcrgen@b\u00fccher\uff0ede'].entries()) {
    // Another contact with the same address in another form: the address is taken.
    const other = await r.postJson('/hooks/json', { contact_id: `intl-${i + 2}`, email });
    assert.equal(other.body.outcome, 'conflict', `${JSON.stringify(email)}: ${other.text}`);
    assert.equal(other.body.conflict.otherMember, first.body.member.id);
  }
  assert.equal(await r.directory.size(), 1);
  const bad = await r.postJson('/hooks/json', { contact_id: 'intl-9', email: 'ann@\u0378x.com' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_email');
  // The bulk planner reads the same forms as the same member.
  const wasm = loadWasm();
  const dir = new wasm.Directory();
  try {
    dir.loadMembersJson(JSON.stringify([{ id: 'm1', email: 'j\u00fcrgen@xn--bcher-kva.de', contact: null }]));
    const plan = dir.planImport('Id,Email\n77,JU\u0308RGEN@B\u00dcCHER.DE\n', 'keap', 'default');
    assert.equal(plan.counts.linked, 1, JSON.stringify(plan.counts));
  } finally {
    dir.free();
  }
});

test('a store written before emails were normalized by Unicode form is brought to it at start, identities included; a clash is reported, never merged', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mw-intl-upgrade-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const key = secrets.add(makeKey());
  const boot = await serve({ port: 0, dataDir, log: () => {}, env: { MEMBERWIRE_KEY: key }, bcryptCost: 4, sandboxRateLimit: 0 });
  await boot.close();
  // As the earlier version stored them: lower-cased only.
  const { openSqlite } = await import('../../js/store/sqlite.mjs');
  const db = await openSqlite(dataDir);
  const put = (email, contact) => [
    { sql: "INSERT INTO members (version, email, contact_key, credentials, search, created_at, updated_at, data) VALUES (1, ?, ?, 'none', ?, 1, 1, ?)", params: [email, contact, email, JSON.stringify({ email, contact: { crm: 'keap', account: 'default', contactId: contact.split(':')[2] }, tags: [], credentials: 'none', welcome: 'not_sent' })] },
    { sql: "INSERT INTO identities (kind, value, member_seq) VALUES ('email', ?, last_insert_rowid())", params: [email] },
    { sql: "INSERT INTO identities (kind, value, member_seq) VALUES ('contact', ?, last_insert_rowid())", params: [contact] },
  ];
  await db.batch([...put('ann@b\u00fccher.de', 'keap:default:501'), ...put('ju\u0308rgen@example.com', 'keap:default:502'), ...put('j\u00fcrgen@example.com', 'keap:default:503')]);
  await db.batch([{ sql: "DELETE FROM settings WHERE name = 'email-form'", params: [] }]);
  db.close();

  const logs = [];
  const srv = await serve({ port: 0, dataDir, log: (l) => logs.push(l), env: { MEMBERWIRE_KEY: key }, bcryptCost: 4, sandboxRateLimit: 0 });
  t.after(() => srv.close());
  assert.ok(logs.some((l) => /brought 1 stored international email/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /members m2 and m3 have one email address, typed in two Unicode forms/.test(l)), logs.join('\n'));
  const ann = await srv.directory.apply({ op: 'get_by_email', email: 'ANN@xn--bcher-kva.de' });
  assert.equal(ann.member?.id, 'm1', 'found by its new form');
  // A post for Ann's address from another contact: the address is hers (no second member).
  const res = await fetch(`${srv.url}/hooks/json?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contact_id: '9001', email: 'ann@b\u00fccher.de' }) });
  assert.equal((await res.json()).outcome, 'conflict');
  assert.equal(await srv.directory.size(), 3);
});
