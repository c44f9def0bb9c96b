// The directory port's conformance suite on SQLite (better-sqlite3, the Node server's store): the
// same scripted cases as the in-memory reference, answer by answer, and concurrent claims of one
// contact and one email. D1 runs the same suite in tests/js/workerd-d1.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWasm } from '../../js/hosts/node.mjs';
import { openSqlite } from '../../js/store/sqlite.mjs';
import { sqlDirectory } from '../../js/adapters/sql-directory.mjs';
import { memoryDirectory } from '../../js/adapters/directory.mjs';
import { assertConforms, assertRaces, runScript, views } from './support/directory-conformance.mjs';

const wasm = loadWasm();

async function sqlite(t) {
  const dir = await mkdtemp(join(tmpdir(), 'mw-conf-'));
  const db = await openSqlite(dir);
  t.after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { db, dir, directory: sqlDirectory(wasm, db) };
}

test('the in-memory adapter conforms (the suite compares it with a fresh copy of itself)', async () => {
  await assertConforms(wasm, memoryDirectory(wasm));
  await assertRaces(memoryDirectory(wasm));
});

test('SQLite answers every scripted case as the reference does', async (t) => {
  const { directory } = await sqlite(t);
  await assertConforms(wasm, directory);
});

test('SQLite: concurrent claims of one contact and one email in different cases make one member', async (t) => {
  const { directory, db } = await sqlite(t);
  await assertRaces(directory);
  const ids = await db.all("SELECT kind, COUNT(*) AS n FROM identities GROUP BY kind ORDER BY kind", []);
  assert.deepEqual(ids.map((r) => [r.kind, r.n]), [['contact', 2], ['email', 2]], 'one identity row per claim that won');
});

test('SQLite: everything answered is there after the database is reopened', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-conf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let db = await openSqlite(dir);
  await runScript(sqlDirectory(wasm, db));
  const before = await views(sqlDirectory(wasm, db));
  await db.close();
  db = await openSqlite(dir);
  t.after(() => db.close());
  assert.deepStrictEqual(await views(sqlDirectory(wasm, db)), before);
});
