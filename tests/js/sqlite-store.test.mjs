// The Node server's SQLite store: a full database answered with 503 and recovered without a
// restart, a damaged database refused by name, one process per data directory, and the
// one-time import of a data directory the earlier file store wrote (tests/fixtures/file-store-v1,
// written by that store: snapshots, journals, small files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../../js/server/serve.mjs';
import { openSqlite } from '../../js/store/sqlite.mjs';

const FIXTURE = new URL('../fixtures/file-store-v1/', import.meta.url);
const FIXTURE_KEY = 'mwk_fixture_key_0123456789abcdefghij';
const FIXTURE_ADMIN_PASSWORD = 'fixture-admin-password';

async function tempDir(t, prefix = 'mw-sqlite-') {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t, dataDir, options = {}) {
  const logs = [];
  const srv = await serve({ port: 0, dataDir, log: (l) => logs.push(l), env: {}, bcryptCost: 4, sandboxRateLimit: 0, retryEveryMs: 3_600_000, ...options });
  t.after(() => srv.close());
  return { srv, logs };
}

const post = (srv, key, body) =>
  fetch(`${srv.url}/hooks/json`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('a full or read-only database: 503 with a code on /health and on posts, nothing half-recorded, and recovery without a restart', async (t) => {
  const dataDir = await tempDir(t);
  const { srv, logs } = await start(t, dataDir);
  const key = srv.accessKey;
  assert.equal((await post(srv, key, { contact_id: 'f-1', email: 'one@example.com' })).status, 200);
  const raw = srv.store.db.raw;
  const pages = raw.pragma('page_count', { simple: true });
  const limit = raw.pragma('max_page_count', { simple: true });
  // SQLite's own "database or disk is full" (SQLITE_FULL), the answer a full disk gives.
  raw.pragma(`max_page_count = ${pages}`);
  t.after(() => raw.open && raw.pragma(`max_page_count = ${limit}`));
  const refused = [];
  for (let i = 0; i < 20; i++) {
    const r = await post(srv, key, { contact_id: `full-${i}`, email: `full${i}@example.com`, first_name: 'x'.repeat(200), tags: Array.from({ length: 50 }, (_, j) => `tag ${j}`) });
    refused.push([r.status, (await r.json()).error?.code]);
  }
  assert.ok(refused.every(([s, c]) => s === 503 && c === 'store_unavailable'), JSON.stringify(refused));
  const health = await fetch(`${srv.url}/health`);
  assert.equal(health.status, 503);
  const hb = await health.json();
  assert.equal(hb.ok, false);
  assert.equal(hb.error.code, 'store_unavailable');
  assert.ok(!hb.error.message.includes(dataDir), 'no file names for callers without the key');
  const keyed = await (await fetch(`${srv.url}/health`, { headers: { authorization: `Bearer ${key}` } })).json();
  assert.match(keyed.error.message, /memberwire\.db/);
  assert.ok(logs.some((l) => /the store failed/.test(l)), 'the failure is logged');

  // Nothing of the refused posts was recorded: not even their events.
  const counts = await srv.engine.counts();
  assert.equal(counts.total, 1);
  assert.equal(await srv.directory.size(), 1);

  // Room again: the next probe finds it, without a restart.
  raw.pragma(`max_page_count = ${limit}`);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  assert.ok(logs.some((l) => /the store works again/.test(l)));
  const again = await post(srv, key, { contact_id: 'full-0', email: 'full0@example.com' });
  assert.equal(again.status, 200);
  assert.equal((await again.json()).outcome, 'created');

  // Read-only (SQLite's SQLITE_READONLY, as a file remounted read-only answers): the same.
  raw.pragma('query_only = ON');
  const ro = await post(srv, key, { contact_id: 'ro-1', email: 'ro@example.com' });
  assert.equal(ro.status, 503);
  assert.equal((await ro.json()).error.code, 'store_unavailable');
  assert.equal((await fetch(`${srv.url}/health`)).status, 503);
  raw.pragma('query_only = OFF');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  assert.equal((await post(srv, key, { contact_id: 'ro-1', email: 'ro@example.com' })).status, 200);
  assert.deepEqual(await srv.engine.counts(), { running: 0, pending: 0, done: 3, total: 3 }, 'only the posts that were answered 200 are recorded');
});

test('a damaged database refuses to start, naming the file; the data is left as it is', async (t) => {
  const dataDir = await tempDir(t);
  const file = join(dataDir, 'memberwire.db');
  await writeFile(file, Buffer.alloc(8192, 0x5a));
  await assert.rejects(serve({ port: 0, dataDir, log: () => {}, env: {} }), (err) => {
    assert.equal(err.code, 'store_corrupt');
    assert.ok(err.message.includes(file), err.message);
    return true;
  });
  assert.equal((await readFile(file)).length, 8192, 'the file is not touched');
});

test('a second process on the same data directory is refused with store_locked', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openSqlite(dataDir);
  t.after(() => first.close());
  await assert.rejects(openSqlite(dataDir), (err) => err.code === 'store_locked' && err.message.includes('memberwire.db'));
});

test('a data directory from the earlier file store is imported once, whole', async (t) => {
  const dataDir = await tempDir(t, 'mw-import-');
  await cp(FIXTURE, dataDir, { recursive: true });
  const { srv, logs } = await start(t, dataDir);
  assert.equal(srv.accessKey, null, 'the imported access key is kept, not replaced');
  assert.ok(logs.some((l) => /imported the earlier file store: 9 members, 12 events, 1 bulk runs/.test(l)), logs.join('\n'));

  // Members: the same ids, emails, contacts and versions as the old store held.
  assert.equal(await srv.directory.size(), 9);
  const ada = await srv.directory.get('m1');
  assert.equal(ada.email, 'ada.lovelace@example.com');
  assert.equal(ada.contact.contactId, '101');
  assert.equal(ada.credentials, 'link_issued');
  assert.deepEqual(ada.tags, [{ id: '91' }, { id: '93' }, { id: '95' }]);
  const byContact = await srv.directory.apply({ op: 'get_by_contact', key: 'generic:default:zap-3' });
  assert.equal(byContact.member.id, 'm6');
  // Events: every one, with its outcome; the conflict is still a conflict.
  const counts = await srv.engine.counts();
  assert.deepEqual(counts, { running: 0, pending: 0, done: 12, total: 12 });
  assert.equal((await srv.events.page({ status: 'conflict' })).total, 1);
  // The access key, the administrator's password, the rules and the bulk run came along.
  assert.equal((await post(srv, FIXTURE_KEY, { contact_id: 'zap-1', email: 'mia1@example.com' })).status, 200);
  const login = await fetch(`${srv.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: FIXTURE_ADMIN_PASSWORD }) });
  assert.equal(login.status, 200);
  assert.deepEqual((await srv.store.settings.get('rules')).rules.map((r) => r.level), ['gold']);
  const runs = srv.admin.bulk.list();
  assert.equal(runs.length, 1);
  assert.equal(runs[0].state, 'finished');
  assert.equal(runs[0].done, 2);
  // The next member continues the old numbering.
  const next = await (await post(srv, FIXTURE_KEY, { contact_id: 'new-1', email: 'new@example.com' })).json();
  assert.equal(next.member.id, 'm10');
  // The old files are kept aside, not deleted, and not imported twice.
  assert.ok(!existsSync(join(dataDir, 'collections')));
  assert.deepEqual((await readdir(join(dataDir, 'file-store-imported'))).sort(), ['access-key.json', 'admin.json', 'bulk-plan-plan_mx28o8wdbcbefd9694182d07.json', 'collections', 'rules.json']);
  await srv.close();
  const second = await start(t, dataDir);
  assert.ok(!second.logs.some((l) => /imported/.test(l)));
  assert.equal(await second.srv.directory.size(), 10);
});

test('an old journal damaged before acknowledged data stops the start, names the file and line, and imports nothing', async (t) => {
  const dataDir = await tempDir(t, 'mw-import-');
  await cp(FIXTURE, dataDir, { recursive: true });
  const snap = join(dataDir, 'collections', 'events.snap');
  const lines = (await readFile(snap, 'utf8')).split('\n');
  lines[3] = lines[3].replace('"done"', '"dxne"');
  await writeFile(snap, lines.join('\n'));
  // A snapshot is written whole before it is renamed into place: any damage in it is refused.
  await assert.rejects(serve({ port: 0, dataDir, log: () => {}, env: {} }), (err) => err.code === 'store_corrupt' && err.message.includes('events.snap'));
  // A damaged line in a journal with valid lines after it: acknowledged data, refused by line.
  await cp(new URL('collections/events.snap', FIXTURE), snap);
  const bulk = join(dataDir, 'collections', 'bulk.0.log');
  const b = (await readFile(bulk, 'utf8')).split('\n');
  b[1] = `00000000${b[1].slice(8)}`;
  await writeFile(bulk, b.join('\n'));
  await assert.rejects(serve({ port: 0, dataDir, log: () => {}, env: {} }), (err) => {
    assert.equal(err.code, 'store_corrupt');
    assert.match(err.message, /bulk\.0\.log is damaged at line 2/);
    return true;
  });
  assert.ok(existsSync(join(dataDir, 'collections')), 'the old files stay where they were');
  const db = await openSqlite(dataDir);
  t.after(() => db.close());
  assert.equal((await db.first('SELECT COUNT(*) AS n FROM members', [])).n, 0, 'nothing was imported');
});

test('an old journal with a torn last line imports what was whole and says how much was not', async (t) => {
  const dataDir = await tempDir(t, 'mw-import-');
  await cp(FIXTURE, dataDir, { recursive: true });
  const log = join(dataDir, 'collections', 'directory.8.log');
  const text = await readFile(log, 'utf8');
  await writeFile(log, text.slice(0, text.length - 10));
  const { srv, logs } = await start(t, dataDir);
  const line = logs.find((l) => /imported the earlier file store/.test(l));
  assert.match(line, /1 torn line/);
  // The torn change was m3's last update: the member is there at its earlier version.
  const grace = await srv.directory.get('m3');
  assert.equal(grace.email, 'grace.hopper@example.org');
  assert.ok(grace.version < 5);
});

test('an event whose saved state cannot be read is parked at start with state_unreadable; the others resume', async (t) => {
  const dataDir = await tempDir(t);
  let { srv } = await start(t, dataDir);
  const key = srv.accessKey;
  assert.equal((await post(srv, key, { contact_id: 'ok-1', email: 'ok1@example.com' })).status, 200);
  const ok = await srv.store.db.first("SELECT state FROM events WHERE status = 'done'", []);
  const readable = JSON.stringify({ ...JSON.parse(ok.state), eventId: 'ev_readable' });
  // Two events left running: one damaged, one a copy of a readable state under a new id.
  await srv.store.db.batch([
    { sql: "INSERT INTO events (id, source, received_at, contact, status, state, updated_at) VALUES ('ev_damaged', 'json', 1, '{}', 'running', '{\"step\":', 1)", params: [] },
    { sql: "INSERT INTO events (id, source, received_at, contact, status, state, updated_at) VALUES ('ev_readable', 'json', 2, '{}', 'running', ?, 2)", params: [readable] },
  ]);
  await srv.close();
  ({ srv } = await start(t, dataDir, { env: { MEMBERWIRE_KEY: undefined } }));
  await srv.engine.idle();
  const damaged = await srv.events.get('ev_damaged');
  assert.equal(damaged.status, 'pending');
  assert.equal(damaged.pending.code, 'state_unreadable');
  assert.equal((await srv.events.get('ev_readable')).status, 'done', 'the readable one was resumed and finished');
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
});

test('killed with -9, then the tail of its write-ahead log damaged: the database comes back as a consistent earlier state, and every event still finishes with its member', { timeout: 90_000 }, async (t) => {
  const { startServer, tempDir: mk, removeDir, makeKey } = await import('./support/registration.mjs');
  const { existsSync: exists, statSync, truncateSync } = await import('node:fs');
  const dataDir = await mk();
  t.after(() => removeDir(dataDir));
  const key = makeKey();
  const env = { MEMBERWIRE_KEY: key };
  let srv = await startServer({ dataDir, env, args: ['--budget-ms', '20000'] });
  t.after(() => srv.kill());
  const posts = [];
  for (let i = 0; i < 20; i++) {
    posts.push(fetch(`${srv.url}/hooks/json`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ contact_id: `wal-${i}`, email: `wal${i}@example.com` }) }).then((r) => r.status));
  }
  assert.ok((await Promise.all(posts)).every((s) => s === 200));
  await srv.kill();
  const wal = join(dataDir, 'memberwire.db-wal');
  assert.ok(exists(wal), 'a killed server leaves its write-ahead log');
  truncateSync(wal, statSync(wal).size - 10);

  srv = await startServer({ dataDir, env, args: ['--budget-ms', '20000'] });
  // Whatever the damage took back is re-done from what remains: events still running resume.
  for (let i = 0; i < 100; i++) {
    const h = await (await fetch(`${srv.url}/health`, { headers: { authorization: `Bearer ${key}` } })).json();
    if (h.events.running === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await srv.stop();
  const db = await openSqlite(dataDir);
  t.after(() => db.close());
  const events = await db.all("SELECT id, status, outcome FROM events", []);
  for (const e of events) {
    assert.equal(e.status, 'done', `event ${e.id} is ${e.status}`);
    const { member } = JSON.parse(e.outcome);
    const row = await db.first('SELECT email FROM members WHERE seq = ?', [Number(member.id.slice(1))]);
    assert.ok(row, `event ${e.id} says ${member.id}, and that member exists`);
    assert.equal(row.email, member.email);
  }
  const members = (await db.first('SELECT COUNT(*) AS n FROM members', [])).n;
  assert.equal(members, events.filter((e) => JSON.parse(e.outcome).outcome === 'created').length, 'one member per created event, no orphans');
});

test('an old data directory with an empty or truncated key or settings file refuses to start, naming the file; first-run setup is not reopened', async (t) => {
  for (const [file, content] of [['access-key.json', ''], ['admin.json', '{"passwordHash":"$2y$10$abc']]) {
    const dataDir = await tempDir(t, 'mw-import-');
    await cp(FIXTURE, dataDir, { recursive: true });
    await writeFile(join(dataDir, file), content);
    await assert.rejects(serve({ port: 0, dataDir, log: () => {}, env: {} }), (err) => {
      assert.equal(err.code, 'store_corrupt');
      assert.ok(err.message.includes(join(dataDir, file)), err.message);
      return true;
    });
    const db = await openSqlite(dataDir);
    const admin = await db.first("SELECT COUNT(*) AS n FROM settings WHERE name IN ('admin', 'access-key')", []);
    await db.close();
    assert.equal(admin.n, 0, 'nothing imported, so nothing half-set');
  }
});

test('the SQL event store keeps the retry schedule: a delay that doubles per park, none for operator-only codes', async (t) => {
  const { sqlEvents } = await import('../../js/adapters/sql-events.mjs');
  const dir = await tempDir(t);
  const db = await openSqlite(dir);
  t.after(() => db.close());
  let clock = 1_000_000;
  const events = sqlEvents(db, { now: () => clock });
  await events.accept([{ id: 'ev_a', source: 'json', receivedAt: clock, contactKey: 'k', contact: {}, state: '{}' }]);
  const expectNext = async (delay) => assert.equal((await events.get('ev_a')).nextRetryAt, delay === null ? null : clock + delay);
  await events.park('ev_a', { code: 'crm_unavailable', reason: 'x' }, null);
  await expectNext(60_000);
  assert.deepEqual((await events.due(clock + 59_999)).map((e) => e.id), []);
  assert.deepEqual((await events.due(clock + 60_000)).map((e) => e.id), ['ev_a']);
  await events.park('ev_a', { code: 'crm_unavailable', reason: 'x' }, null);
  await expectNext(120_000);
  await events.park('ev_a', { code: 'crm_contact_missing', reason: 'x' }, null);
  await expectNext(240_000);
  for (let i = 0; i < 20; i++) await events.park('ev_a', { code: 'crm_unavailable', reason: 'x' }, null);
  await expectNext(6 * 3600_000);
  await events.park('ev_a', { code: 'cannot_continue', reason: 'x' }, null);
  await expectNext(null);
  assert.deepEqual(await events.due(clock + 365 * 86_400_000), []);
  await events.finish('ev_a', { outcome: 'created' }, null);
  await expectNext(null);
});

test('a durable batch resolves only after an fsync of the log that began after its commit; one that may wait does not wait', async (t) => {
  // The fsyncs are held until the test lets each one finish.
  const syncs = [];
  let hold = false; // the migrations' fsyncs at open finish by themselves
  const syncFile = (fd, cb) => (hold ? syncs.push({ fd, finish: (err) => cb(err ?? null) }) : setImmediate(() => cb(null)));
  const lost = [];
  const db = await openSqlite(await tempDir(t), { syncFile, onLost: (err) => lost.push(err.message) });
  hold = true;
  t.after(() => db.close());
  const settled = (p) => {
    const s = { done: false };
    p.then(() => (s.done = true), (err) => (s.err = err));
    return s;
  };
  const tick = () => new Promise((r) => setImmediate(r));
  const put = (name, opts) => db.batch([{ sql: "INSERT INTO settings (name, value, updated_at) VALUES (?, '1', 0)", params: [name] }], opts);
  const committed = async (name) => (await db.all('SELECT name FROM settings WHERE name = ?', [name])).length === 1;

  // Two durable batches of one turn: one commit, one fsync for both. (The data directory's own
  // fsync, for a log file new to it, came with the migrations' first commit.)
  const a = settled(put('a'));
  const a2 = settled(put('a2'));
  for (let i = 0; i < 3; i++) await tick();
  assert.ok(await committed('a'), 'committed at once');
  assert.equal(a.done, false, 'not answered before the disk has it');
  assert.equal(syncs.length, 1);
  syncs[0].finish();
  for (let i = 0; i < 3; i++) await tick();
  assert.ok(a.done && a2.done);

  // A batch that may wait resolves at its commit, with no fsync.
  await put('b', { durable: false });
  assert.equal(syncs.length, 1);

  // A durable commit while an fsync runs waits for the next one, which begins after it.
  const c = settled(put('c'));
  for (let i = 0; i < 3; i++) await tick();
  assert.equal(syncs.length, 2);
  const d = settled(put('d'));
  for (let i = 0; i < 3; i++) await tick();
  assert.ok(await committed('d'));
  assert.equal(syncs.length, 2, 'no second fsync while one runs');
  syncs[1].finish();
  for (let i = 0; i < 3; i++) await tick();
  assert.equal(c.done, true);
  assert.equal(d.done, false, 'the fsync that ended began before d was committed');
  assert.equal(syncs.length, 3, 'the next one began when it ended');
  syncs[2].finish();
  for (let i = 0; i < 3; i++) await tick();
  assert.equal(d.done, true);

  // A failed fsync: the batches that waited for it are refused, and the store reports it.
  const e = settled(put('e'));
  for (let i = 0; i < 3; i++) await tick();
  // Committed while that fsync runs: it waits for the next one, which must never vouch for it.
  const e2 = settled(put('e2'));
  for (let i = 0; i < 3; i++) await tick();
  syncs[3].finish(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
  for (let i = 0; i < 3; i++) await tick();
  assert.equal(e.done, false);
  assert.equal(e.err?.code, 'store_unavailable');
  assert.equal(e2.done, false, 'a commit after the lost one is not durable either');
  assert.equal(e2.err?.code, 'store_unavailable');
  assert.equal(syncs.length, 4, 'and no fsync is started for it');
  assert.equal(lost.length, 1, 'the host is told once');
  assert.match(lost[0], /refused until memberwire is restarted/);
  // Nothing proves a later fsync covers what that one could not write: writes stop until a
  // restart, and health says so (no probe clears it); reads go on.
  assert.match(db.health()?.message ?? '', /refused until memberwire is restarted/);
  await assert.rejects(put('f', { durable: false }), /refused until memberwire is restarted/);
  assert.equal(syncs.length, 4);
  assert.ok(await committed('e'), 'the commit itself stands');
  assert.equal(await committed('f'), false);
  assert.ok(syncs.every((x) => typeof x.fd === 'number'));
});

test('a store told that another connection to its log lost a write refuses writes too, and says so', async (t) => {
  const told = [];
  const db = await openSqlite(await tempDir(t), { onLost: (err) => told.push(err.message) });
  t.after(() => db.close());
  const put = (name) => db.batch([{ sql: "INSERT INTO settings (name, value, updated_at) VALUES (?, '1', 0)", params: [name] }]);
  await put('before');
  db.lose('the registration thread could not make a write durable');
  await assert.rejects(put('after'), /registration thread could not make a write durable/);
  assert.match(db.health()?.message ?? '', /registration thread/);
  assert.equal(told.length, 1);
  assert.equal((await db.all("SELECT name FROM settings WHERE name IN ('before', 'after')", [])).length, 1, 'reads go on');
});
