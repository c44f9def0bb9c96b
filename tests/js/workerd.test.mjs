// The Workers host (js/hosts/worker.mjs) in the real workerd runtime, through miniflare 4: the
// wasm arrives as a CompiledWasm module import, the same edge function answers.
//
// Run: node --test tests/js/workerd.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare } from 'miniflare';

import { ROOT, makeKey, loadWasm, createSecrets } from './support/registration.mjs';

const secrets = createSecrets();

test('workerd (miniflare) runs js/hosts/worker.mjs with the compiled wasm module', { timeout: 60_000 }, async (t) => {
  const key = secrets.add(makeKey());
  const mf = new Miniflare({
    compatibilityDate: '2026-04-26',
    modulesRoot: ROOT,
    modules: true,
    scriptPath: `${ROOT}js/hosts/worker.mjs`,
    // Custom rules come before miniflare's defaults, so .js (pkg/memberwire.js) needs its own.
    modulesRules: [
      { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    // Generic sources only: no CRM, so nothing leaves the worker.
    bindings: { MEMBERWIRE_KEY: key, MEMBERWIRE_CONFIG: JSON.stringify({ bcryptCost: 4 }) },
  });
  t.after(() => mf.dispose());

  const call = async (path, init) => {
    const r = await mf.dispatchFetch(`http://localhost${path}`, init);
    const text = await r.text();
    secrets.assertAbsent(text, `${path} answer`);
    return { status: r.status, headers: r.headers, text, body: JSON.parse(text) };
  };
  const post = (body, headers = { authorization: `Bearer ${key}` }) =>
    call('/hooks/json', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  const health = await call('/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { ok: true, version: loadWasm().version() });

  const first = await post(JSON.stringify({ contact_id: 'wk-1', email: ' Worker.User@Example.COM ', tags: ['Gold Member', { id: '7' }] }));
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.outcome, 'created');
  assert.match(first.body.event, /^ev_/);
  assert.deepEqual(first.body.member, { id: first.body.member.id, email: 'worker.user@example.com', contactId: 'wk-1', tags: [{ name: 'Gold Member' }, { id: '7' }] });

  // The isolate keeps its in-memory directory between requests.
  const second = await post(JSON.stringify({ contact_id: 'wk-1', email: 'worker.user@example.com' }), { 'x-memberwire-key': key });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.outcome, 'existing');
  assert.equal(second.body.member.id, first.body.member.id);
  assert.notEqual(second.body.event, first.body.event);

  const bad = await post('{"contact_id": ');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'malformed_body');
  assert.equal(typeof bad.body.error.message, 'string');
  const missing = await post(JSON.stringify({ email: 'x@example.com' }));
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error.code, 'missing_contact_id');

  const anon = await post(JSON.stringify({ contact_id: 'wk-2', email: 'b@example.com' }), {});
  assert.equal(anon.status, 401);
  assert.equal(anon.body.error.code, 'unauthorized');
  const wrong = await call(`/hooks/json?key=${secrets.add(makeKey())}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(wrong.status, 401);

  assert.equal((await call('/nope')).status, 404);
  const get = await call('/hooks/json');
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');

  // With the key, /health counts the two processed events.
  const counted = await call('/health', { headers: { authorization: `Bearer ${key}` } });
  assert.deepEqual(counted.body.events, { running: 0, pending: 0, done: 2, total: 2 });
});
