// The same edge function under Deno (Deno's Linux x64 build from the npm registry, @deno/linux-x64-glibc): js/hosts/deno.mjs loads the
// wasm with Deno.readFile and serves with Deno.serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const root = fileURLToPath(new URL('../../', import.meta.url));
// The Linux x64 build from the registry (an optional dependency: absent elsewhere, and skipped).
const deno = `${root}node_modules/@deno/linux-x64-glibc/deno`;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('Deno serves the edge function with the same wasm', { skip: !existsSync(deno) && 'deno is not installed (npm ci)' }, async (t) => {
  const port = await freePort();
  const key = 'mwk_deno-test-key-0123456789abcdefghijklmnop';
  const child = spawn(deno, ['run', '--quiet', '--allow-read', '--allow-net', '--allow-env', 'js/hosts/deno.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), MEMBERWIRE_KEY: key, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  t.after(() => child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  let health;
  for (let i = 0; i < 100 && !health; i++) {
    health = await fetch(`${base}/health`).then((r) => r.json()).catch(() => null);
    if (!health) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(health, `deno did not start: ${stderr}`);
  assert.equal(health.ok, true);

  const post = (body, headers = {}) =>
    fetch(`${base}/hooks/json`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers }, body });
  const first = await post(JSON.stringify({ contact_id: 'd1', email: 'Deno@Example.com', tags: ['Gold'] }));
  assert.equal(first.status, 200);
  const a = await first.json();
  assert.equal(a.outcome, 'created');
  assert.equal(a.member.email, 'deno@example.com');
  const again = await (await post(JSON.stringify({ contact_id: 'd1', email: 'deno@example.com' }))).json();
  assert.equal(again.outcome, 'existing');
  assert.equal(again.member.id, a.member.id);
  const bad = await post('{"email": 1}');
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, 'missing_contact_id');
  const noKey = await fetch(`${base}/hooks/json`, { method: 'POST', body: '{}' });
  assert.equal(noKey.status, 401);
});
