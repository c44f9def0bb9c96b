// Settings an owner changes in the admin page: saved in the store, applied to the next post
// without a restart, the token never shown again, and what the environment sets wins.
// Run: node --test tests/js/settings-connection.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { serve } from '../../js/server/serve.mjs';
import { KEAP_DEFAULT_API_KEY } from '../../js/sandbox/keap.mjs';

async function start(t, options = {}) {
  const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'mw-settings-')));
  if (!options.dataDir) t.after(() => rm(dir, { recursive: true, force: true }));
  const srv = await serve({ port: 0, dataDir: dir, log: () => {}, bcryptCost: 4, env: {}, budgetMs: 5000, ...options });
  return { srv, dir };
}

async function login(srv, key, password = 'Settings-Admin-2026', first = true) {
  const headers = { 'content-type': 'application/json', origin: srv.url };
  const res = await fetch(`${srv.url}/api/${first ? 'setup' : 'session'}`, { method: 'POST', headers, body: JSON.stringify(first ? { password, accessKey: key } : { password }) });
  assert.equal(res.status, 200, await res.clone().text());
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf } = await res.json();
  return async (method, path, body) => {
    const r = await fetch(`${srv.url}${path}`, { method, headers: { ...headers, cookie, 'x-memberwire-csrf': csrf }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, json: JSON.parse(text), text };
  };
}

const post = (srv, key, body) =>
  fetch(`${srv.url}/hooks/keap?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then((r) => r.json());

test('a setting saved in the page applies to the next post, survives a restart, and the token is never shown', async (t) => {
  const { srv, dir } = await start(t);
  let closed = false;
  t.after(() => !closed && srv.close());
  const admin = await login(srv, srv.accessKey);
  const settings = await admin('GET', '/api/settings');
  assert.equal(settings.json.editable.crm.welcomeTag, '95');
  assert.equal(settings.json.editable.crm.tokenSet, true);
  assert.ok(!JSON.stringify(settings.json).includes(KEAP_DEFAULT_API_KEY), 'the token is never shown');
  assert.deepEqual(settings.json.editable.locked, {});

  // The welcome tag becomes Silver Member (97): the next registration applies 97, not 95.
  const saved = await admin('PUT', '/api/settings/connection', { crm: { welcomeTag: '97' }, linkTtlMs: 2 * 3600_000 });
  assert.equal(saved.status, 200, saved.text);
  assert.equal(saved.json.editable.crm.welcomeTag, '97');
  const r = await post(srv, srv.accessKey, 'contactId=105');
  assert.equal(r.outcome, 'created');
  const applied = srv.sandbox.api.tagApplications().filter((x) => x.contactId === '105');
  assert.deepEqual(applied.map((x) => x.tagId), ['97']);

  // A combination that cannot work is refused, and nothing changes.
  const refused = await admin('PUT', '/api/settings/connection', { passwordMode: 'crm', crm: { passwordField: null } });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error.code, 'invalid_config');
  assert.match(refused.json.error.message, /passwordField/);
  assert.equal((await admin('GET', '/api/settings')).json.editable.passwordMode, 'link');
  // Bad values name the field.
  const badUrl = await admin('PUT', '/api/settings/connection', { crm: { baseUrl: 'ftp://x' } });
  assert.equal(badUrl.status, 400);
  assert.match(badUrl.json.error.message, /crm\.baseUrl/);
  const badKind = await admin('PUT', '/api/settings/connection', { crm: { kind: 'salesforce' } });
  assert.match(badKind.json.error.message, /crm\.kind/);
  const ttl = await admin('PUT', '/api/settings/connection', { linkTtlMs: 5 });
  assert.match(ttl.json.error.message, /linkTtlMs/);

  // After a restart: still 97 (the sandbox itself is new, so contact 103 is fresh there).
  const key = srv.accessKey;
  await srv.close();
  closed = true;
  const { srv: again } = await start(t, { dataDir: dir });
  t.after(() => again.close());
  const admin2 = await login(again, key, 'Settings-Admin-2026', false);
  assert.equal((await admin2('GET', '/api/settings')).json.editable.crm.welcomeTag, '97');
  assert.equal((await admin2('GET', '/api/settings')).json.editable.linkTtlMs, 2 * 3600_000);
  const r2 = await post(again, key, 'contactId=103');
  assert.equal(r2.outcome, 'created');
  assert.deepEqual(again.sandbox.api.tagApplications().filter((x) => x.contactId === '103').map((x) => x.tagId), ['97']);
});

test('what the environment and the command line set wins: the page cannot change it, and says why', async (t) => {
  const { srv } = await start(t, { env: { MEMBERWIRE_WELCOME_TAG: '97', MEMBERWIRE_LINK_FIELD: '13' }, passwordMode: 'link', crm: 'sandbox' });
  t.after(() => srv.close());
  const admin = await login(srv, srv.accessKey);
  const { locked } = (await admin('GET', '/api/settings')).json.editable;
  assert.match(locked['crm.welcomeTag'], /MEMBERWIRE_WELCOME_TAG/);
  assert.match(locked['crm.linkField'], /MEMBERWIRE_LINK_FIELD/);
  assert.match(locked.passwordMode, /--password-mode/);
  assert.match(locked['crm.kind'], /--crm sandbox/);
  const r = await admin('PUT', '/api/settings/connection', { crm: { welcomeTag: '97' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'setting_locked');
  assert.match(r.json.error.message, /MEMBERWIRE_WELCOME_TAG/);
  // And it is the one in force: the welcome tag is 97 (Silver Member), not the sandbox's 95.
  assert.equal((await admin('GET', '/api/settings')).json.editable.crm.welcomeTag, '97');
  const post = await fetch(`${srv.url}/hooks/keap?key=${srv.accessKey}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'contactId=105' }).then((x) => x.json());
  assert.equal(post.outcome, 'created');
  assert.deepEqual(srv.sandbox.api.tagApplications().filter((x) => x.contactId === '105').map((x) => x.tagId), ['97']);
});

test('the CRM connection can be changed in the page; a new kind or URL needs the token typed again, and goes over https', async (t) => {
  const { srv } = await start(t);
  t.after(() => srv.close());
  const admin = await login(srv, srv.accessKey);
  // A new kind without its token (and URL) is refused.
  const half = await admin('PUT', '/api/settings/connection', { crm: { kind: 'kit' } });
  assert.equal(half.status, 400);
  assert.equal(half.json.error.code, 'token_required');
  const noUrl = await admin('PUT', '/api/settings/connection', { crm: { kind: 'kit', token: 'k'.repeat(20) } });
  assert.equal(noUrl.status, 400);
  assert.match(noUrl.json.error.message, /URL and a token/);
  // Another Keap account (here: the same sandbox, under a wrong token), then back.
  const base = (await admin('GET', '/api/settings')).json.editable.crm.baseUrl;
  // The saved token is never sent to a new address: the URL alone is refused.
  const moved = await admin('PUT', '/api/settings/connection', { crm: { baseUrl: 'https://attacker.example/crm/rest' } });
  assert.equal(moved.status, 400);
  assert.equal(moved.json.error.code, 'token_required');
  const plain = await admin('PUT', '/api/settings/connection', { crm: { baseUrl: 'http://crm.example/api', token: 'x'.repeat(20) } });
  assert.equal(plain.status, 400);
  assert.match(plain.json.error.message, /https/);
  const wrong = await admin('PUT', '/api/settings/connection', { crm: { token: 'not-the-key' } });
  assert.equal(wrong.status, 200);
  assert.equal(wrong.json.editable.crm.tokenSet, true);
  const test1 = await admin('POST', '/api/crm/test');
  assert.equal(test1.json.ok, false);
  assert.match(test1.json.message, /refused the API token/);
  await admin('PUT', '/api/settings/connection', { crm: { token: KEAP_DEFAULT_API_KEY, baseUrl: base } });
  assert.equal((await admin('POST', '/api/crm/test')).json.ok, true);
});

test('a hook route can have an access key of its own: the shared key stops working there, and only there', async (t) => {
  const { srv } = await start(t);
  t.after(() => srv.close());
  const admin = await login(srv, srv.accessKey);
  const shared = srv.accessKey;
  const hook = (route, key, body = 'contactId=101', type = 'application/x-www-form-urlencoded') =>
    fetch(`${srv.url}/hooks/${route}?key=${encodeURIComponent(key)}`, { method: 'POST', headers: { 'content-type': type }, body }).then((r) => r.status);

  const made = await admin('POST', '/api/settings/source-keys/keap/rotate');
  assert.equal(made.status, 200, made.text);
  const own = made.json.key;
  assert.match(own, /^mwk_/);
  assert.deepEqual(Object.keys((await admin('GET', '/api/settings/source-keys')).json.routes), ['keap']);
  assert.ok(!JSON.stringify((await admin('GET', '/api/settings/source-keys')).json).includes(own), 'never shown again');

  assert.equal(await hook('keap', shared), 401, 'the shared key no longer opens /hooks/keap');
  assert.equal(await hook('keap', own), 200);
  assert.equal(await hook('keap-rest', own, '{}', 'application/json'), 401, 'its own key opens no other route');
  assert.equal(await hook('json', shared, JSON.stringify({ contact_id: 'x-1', email: 'x1@example.com' }), 'application/json'), 200, 'the other routes keep the shared key');

  // A mapped source's route too; an unknown route is refused.
  assert.equal((await admin('POST', `/api/settings/source-keys/${encodeURIComponent('mapped/shop')}/rotate`)).status, 200);
  const unknown = await admin('POST', '/api/settings/source-keys/nope/rotate');
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.error.code, 'invalid_field');

  // Back to the shared key.
  assert.equal((await admin('DELETE', '/api/settings/source-keys/keap')).status, 200);
  assert.equal(await hook('keap', shared), 200);
  assert.equal(await hook('keap', own), 401);
  assert.equal((await admin('DELETE', '/api/settings/source-keys/keap')).status, 404);
});
