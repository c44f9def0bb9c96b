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
