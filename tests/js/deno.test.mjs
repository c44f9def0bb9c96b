// The same edge function under Deno (Deno's Linux x64 build from the npm registry,
// @deno/linux-x64-glibc): js/hosts/deno.mjs loads the wasm with Deno.readFile, serves with
// Deno.serve and keeps members in SQLite through Deno's node:sqlite, so a killed and restarted
// Deno finds them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

async function startDeno(t, { port, key, data }) {
  const child = spawn(deno, ['run', '--quiet', '--allow-read', '--allow-write', '--allow-net', '--allow-env', 'js/hosts/deno.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), MEMBERWIRE_KEY: key, MEMBERWIRE_DATA: data, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
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
  return { child, base, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

test('Deno serves the edge function with the same wasm, durably (node:sqlite)', { skip: !existsSync(deno) && 'deno is not installed (npm ci)' }, async (t) => {
  const port = await freePort();
  const key = 'mwk_deno-test-key-0123456789abcdefghijklmnop';
  const data = await mkdtemp(join(tmpdir(), 'mw-deno-'));
  t.after(() => rm(data, { recursive: true, force: true }));
  let d = await startDeno(t, { port, key, data });

  const post = (body, headers = {}) =>
    fetch(`${d.base}/hooks/json`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers }, body });
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
  const noKey = await fetch(`${d.base}/hooks/json`, { method: 'POST', body: '{}' });
  assert.equal(noKey.status, 401);
  // 20 concurrent posts for one new contact, the email in two cases: one member.
  const race = await Promise.all(Array.from({ length: 20 }, (_, i) => post(JSON.stringify({ contact_id: 'd2', email: i % 2 ? 'RACE@deno.example' : 'race@deno.example' })).then((r) => r.json())));
  assert.equal(new Set(race.map((r) => r.member.id)).size, 1);

  // Killed and started again on the same data: the members are there.
  d.child.kill('SIGKILL');
  await d.exited;
  d = await startDeno(t, { port, key, data });
  const after = await (await post(JSON.stringify({ contact_id: 'd1', email: 'deno@example.com' }))).json();
  assert.equal(after.outcome, 'existing');
  assert.equal(after.member.id, a.member.id, 'the same member after a restart');
  const counted = await (await fetch(`${d.base}/health`, { headers: { authorization: `Bearer ${key}` } })).json();
  // first, again, the 20 racing posts and the one after the restart (the bad post is not recorded).
  assert.equal(counted.events.total, 23);
  assert.equal(counted.events.done, 23);
});
