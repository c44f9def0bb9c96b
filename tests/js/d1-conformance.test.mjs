// The directory port's conformance suite on D1: the real D1 of workerd (through miniflare 4),
// reached from Node through miniflare's binding proxy with the same driver the Worker uses
// (js/store/d1.mjs), after the same migrations. Every scripted case must answer as the
// in-memory reference does, and concurrent claims must make one member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare } from 'miniflare';
import { loadWasm } from '../../js/hosts/node.mjs';
import { d1Driver } from '../../js/store/d1.mjs';
import { applyMigrations } from '../../js/store/sql.mjs';
import { readMigrations } from '../../js/store/sqlite.mjs';
import { sqlDirectory } from '../../js/adapters/sql-directory.mjs';
import { assertConforms, assertRaces } from './support/directory-conformance.mjs';

const wasm = loadWasm();

async function d1(t) {
  const mf = new Miniflare({
    compatibilityDate: '2026-04-26',
    modules: true,
    script: 'export default { fetch: () => new Response("") }',
    d1Databases: { DB: 'mw-conformance' },
  });
  t.after(() => mf.dispose());
  const db = d1Driver(await mf.getD1Database('DB'));
  assert.deepEqual(await applyMigrations(db, readMigrations()), readMigrations().map((m) => m.name));
  assert.deepEqual(await applyMigrations(db, readMigrations()), [], 'applied once');
  return db;
}

test('D1 answers every scripted case as the reference does', { timeout: 60_000 }, async (t) => {
  await assertConforms(wasm, sqlDirectory(wasm, await d1(t)));
});

test('D1: concurrent claims of one contact and one email in different cases make one member', { timeout: 60_000 }, async (t) => {
  const db = await d1(t);
  await assertRaces(sqlDirectory(wasm, db), 30);
  const ids = await db.all('SELECT kind, COUNT(*) AS n FROM identities GROUP BY kind ORDER BY kind', []);
  assert.deepEqual(ids.map((r) => [r.kind, r.n]), [['contact', 2], ['email', 2]]);
});

test('D1: settings preloaded with other reads in one batch, as a Worker isolate starts', { timeout: 60_000 }, async (t) => {
  const { settingsOn } = await import('../../js/store/sql.mjs');
  const db = await d1(t);
  const settings = settingsOn(db);
  await settings.put('rules', { list: [1] });
  const [migrations] = await settings.preload(['rules', 'absent'], [{ sql: 'SELECT name FROM d1_migrations', params: [] }]);
  assert.deepEqual(migrations.map((r) => r.name), readMigrations().map((m) => m.name));
  // Answered from the batch: a value changed behind it is not read again, once.
  await db.batch([{ sql: "UPDATE settings SET value = '{\"list\":[2]}' WHERE name = 'rules'", params: [] }]);
  assert.deepEqual(await settings.get('rules'), { list: [1] });
  assert.equal(await settings.get('absent'), null);
  assert.deepEqual(await settings.get('rules'), { list: [2] }, 'a second get reads the store');
  // Other reads alone (no setting named) are still one batch.
  const [alone] = await settings.preload([], [{ sql: 'SELECT name FROM d1_migrations', params: [] }]);
  assert.equal(alone.length, readMigrations().length);
  // A batch that fails (no such table: a fresh database) rejects, and the caller falls back.
  await assert.rejects(settings.preload(['rules'], [{ sql: 'SELECT name FROM no_such_table', params: [] }]));
});
