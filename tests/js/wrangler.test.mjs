// wrangler (4.86, offline): the deploy configuration validates and bundles, and
// `wrangler d1 migrations apply` applies the same migrations/ files the Node server applies to
// SQLite, giving the same schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/registration.mjs';
import { openSqlite } from '../../js/store/sqlite.mjs';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' };
const wrangler = (args) => execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), args, { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

/** Every table's and index's SQL, by name (wrangler's own bookkeeping table aside). */
function schemaOf(file) {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name")
      .all()
      .map((r) => `${r.type} ${r.name}: ${r.sql?.replace(/\s+/g, ' ')}`);
  } finally {
    db.close();
  }
}

test('npm run deploy -- --dry-run validates wrangler.toml and bundles the Worker with its bindings', { timeout: 120_000 }, () => {
  const out = execFileSync('bash', ['scripts/deploy-worker.sh', '--dry-run'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  for (const binding of ['env.EVENTS (memberwire-events)', 'env.DB (memberwire)', 'env.ASSETS']) assert.ok(out.includes(binding), `${binding} in:\n${out}`);
  assert.match(out, /--dry-run: exiting now/);
});

test('wrangler d1 migrations apply gives D1 the schema the Node server gives SQLite', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-wrangler-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = wrangler(['d1', 'migrations', 'apply', 'memberwire', '--local', '--persist-to', join(dir, 'd1')]);
  assert.match(out, /0001_init\.sql/);
  const d1Dir = join(dir, 'd1', 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = (await readdir(d1Dir)).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  const node = await openSqlite(join(dir, 'node'));
  await node.close();
  assert.deepEqual(schemaOf(join(d1Dir, file)), schemaOf(join(dir, 'node', 'memberwire.db')));
  // Applied again: nothing to do.
  assert.match(wrangler(['d1', 'migrations', 'apply', 'memberwire', '--local', '--persist-to', join(dir, 'd1')]), /No migrations to apply/);
});
