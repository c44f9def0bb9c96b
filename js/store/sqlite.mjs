// The SQL port (js/store/sql.mjs) on SQLite: the embedded store, one file DIR/memberwire.db.
// Node uses better-sqlite3; Deno passes its `node:sqlite` DatabaseSync (the two share the
// synchronous prepare/all/get/run API this file uses; transactions are plain SQL here).
//
// Durability: WAL, every commit with synchronous=NORMAL (SQLite writes the commit's frames to
// the write-ahead log and does not wait for the disk), and the wait for the disk done here, off
// the thread: a batch's promise resolves only after its commit AND an fsync of the log that
// began after that commit, run on Node's thread pool (fs.fsync). The thread goes on answering
// meanwhile, and the write lock is free for the other connection during the fsync (SQLite's own
// FULL mode holds it through one). So an acknowledged post survives kill -9 and power loss.
// fsyncs coalesce: every commit made while one runs waits for the next, one for all of them.
// A batch written with { durable: false } (a workflow's directory writes and its final record,
// which a replay redoes) resolves at its commit: it survives a crash of the process at once,
// and a power loss from the next fsync on, which covers every frame of the log before it, in
// order. So a power loss can only take a suffix of such writes, never one that a durable write
// after it relies on. (Checkpoints keep this: in NORMAL mode SQLite syncs the log before it
// copies frames into the database file, and the database file before the log is reused.)
// Group commit: the batches called within one turn of the event loop run as one transaction
// (each inside its own savepoint, so a batch a constraint refuses rolls back alone) and share
// one commit, and its durable batches one fsync.
// (Committing the batches that need no fsync at once, each alone, was measured and not kept:
// each commit writes its pages to the log again, and the CPU per registration rose by a third.)
//
// Failure: a commit that fails (disk full, I/O error, read-only file) rejects every batch of
// its group with store_unavailable and nothing of them is kept; `health()` then reports the
// failure until a write succeeds again (it probes at most once a second), so the server
// answers 503 meanwhile and recovers without a restart. A failed fsync is different: the
// commit stands, but nothing proves it reached the disk, nor will a later fsync; every write is
// refused until a restart, and health() says so. A database file that is not SQLite or
// fails SQLite's integrity check refuses to open with store_corrupt naming the file.
//
// One process at a time: the first connection of a process also holds DIR/memberwire.lock, a
// tiny SQLite file kept under an exclusive lock until it closes (the operating system drops it
// when the process dies, kill -9 included), so a second server on the same DIR gets
// store_locked. The database itself uses SQLite's normal locking, so more connections of the
// same process (the Node server's registration thread, js/server/runner.mjs) can share it.

import { chmodSync, closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { applyMigrations, constraintOf, StoreError } from './sql.mjs';

const require = createRequire(import.meta.url);
export const DB_FILE = 'memberwire.db';
const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);

/** The SQL files of migrations/, as [{ name, sql }] (the same files wrangler applies to D1). */
export function readMigrations() {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, sql: readFileSync(new URL(name, MIGRATIONS_DIR), 'utf8') }));
}

function loadDriver() {
  try {
    return require('better-sqlite3');
  } catch (err) {
    throw new StoreError('store_unavailable', `better-sqlite3 is not installed (run \`npm ci\`, or \`npm start\`, which installs it): ${err.message}`, { cause: err });
  }
}

/** A PRAGMA's value (both bindings return a row object). */
const pragma = (conn, name) => {
  const row = conn.prepare(`PRAGMA ${name}`).get();
  return row ? Object.values(row)[0] : undefined;
};

/** Whether a statement returns rows (better-sqlite3 says so; node:sqlite lists its columns). */
const returnsRows = (stmt) => ('reader' in stmt ? stmt.reader : stmt.columns().length > 0);

/** SQLite's result code of an error from either binding, as a SQLITE_* name where it matters. */
function sqliteCode(err) {
  if (typeof err?.code === 'string' && err.code.startsWith('SQLITE_')) return err.code;
  const m = String(err?.message ?? '');
  if (err?.errcode === 26 || /file is not a database/.test(m)) return 'SQLITE_NOTADB';
  if (err?.errcode === 11 || /malformed/.test(m)) return 'SQLITE_CORRUPT';
  if (err?.errcode === 5 || /database is locked/.test(m)) return 'SQLITE_BUSY';
  if (err?.errcode === 13 || /database or disk is full/.test(m)) return 'SQLITE_FULL';
  return err?.code ?? 'error';
}

export const LOCK_FILE = 'memberwire.lock';
/** How long a write waits for another connection's write lock before failing as busy. */
const BUSY_LIMIT_MS = 1000;

/**
 * Opens (creating if needed) DIR/memberwire.db and applies the migrations.
 * @param {string} dir
 * @param {{ now?: () => number, probeEveryMs?: number, Database?: Function, shared?: boolean }} [options]
 *   Database: the binding's class (default better-sqlite3; Deno passes node:sqlite's DatabaseSync)
 *   shared: a further connection of a process that already opened DIR (the registration
 *   thread's): it neither takes the process lock nor checks or migrates the database
 *   syncFile: fs.fsync's shape (tests watch it)
 *   onLost: called once when this connection's fsync failed (see `lose` for the other side)
 */
export async function openSqlite(dir, { now = Date.now, probeEveryMs = 1000, Database = null, shared = false, syncFile = fsync, onLost = null } = {}) {
  Database ??= loadDriver();
  dir = path.resolve(dir);
  const file = path.join(dir, DB_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError('store_unavailable', `cannot create the data directory ${dir}: ${err.code ?? err.message}`, { cause: err, file: dir });
  }
  let raw;
  let lock = null;
  try {
    if (!shared) lock = processLock(Database, path.join(dir, LOCK_FILE));
    raw = new Database(file, { timeout: 1000 });
    // Member data and digests: readable by the owner only (the WAL file takes the same mode).
    chmodSync(file, 0o600);
    raw.exec('PRAGMA busy_timeout = 1000');
    raw.exec('PRAGMA journal_mode = WAL');
    raw.exec('PRAGMA synchronous = NORMAL'); // the fsync is ours (syncLog below)
    raw.exec('PRAGMA foreign_keys = ON');
    if (!shared) {
      // A write lock held elsewhere (an older version keeps the database itself locked) fails here.
      raw.exec('BEGIN IMMEDIATE; COMMIT');
      const check = pragma(raw, 'quick_check');
      if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
    }
    // From here a write that meets another connection's lock waits without blocking (flush).
    raw.exec('PRAGMA busy_timeout = 0');
  } catch (err) {
    raw?.close();
    lock?.close();
    throw openError(err, file);
  }

  const statements = new Map();
  const prepared = (sql) => {
    let s = statements.get(sql);
    if (!s) {
      s = raw.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const runOne = ({ sql, params = [] }) => {
    const s = prepared(sql);
    if (returnsRows(s)) return { rows: s.all(...params), changes: 0 };
    return { rows: [], changes: Number(s.run(...params).changes) };
  };
  // One transaction for the group, a savepoint per batch: a batch a constraint refuses rolls
  // back alone; any other error rolls back the whole group. A group of one batch needs no
  // savepoint (its transaction is the batch). The control statements are prepared once.
  const control = (sql) => {
    const s = raw.prepare(sql);
    return () => s.run();
  };
  const begin = control('BEGIN IMMEDIATE');
  const commit = control('COMMIT');
  const savepoint = control('SAVEPOINT mw_batch');
  const release = control('RELEASE mw_batch');
  const rollbackTo = control('ROLLBACK TO mw_batch');
  // null: another connection of this process holds the write lock (see flush).
  const runGroup = (group) => {
    try {
      begin();
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_BUSY') return null;
      throw err;
    }
    try {
      if (group.length === 1) {
        let out;
        try {
          out = [{ ok: group[0].statements.map(runOne) }];
        } catch (err) {
          const c = constraintOf(err);
          if (!c) throw err;
          raw.exec('ROLLBACK');
          return [{ err: c }];
        }
        commit();
        return out;
      }
      const out = group.map((item) => {
        savepoint();
        try {
          const ok = item.statements.map(runOne);
          release();
          return { ok };
        } catch (err) {
          const c = constraintOf(err);
          if (!c) throw err;
          rollbackTo();
          release();
          return { err: c };
        }
      });
      commit();
      return out;
    } catch (err) {
      try {
        raw.exec('ROLLBACK');
      } catch {
        // no transaction left to roll back
      }
      throw err;
    }
  };

  let queue = [];
  let scheduled = false;
  let failure = null; // { code, message, since }
  let lastProbe = 0;
  let closed = false;

  const unavailable = (err, what) => {
    const code = sqliteCode(err);
    return new StoreError(code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' ? 'store_corrupt' : 'store_unavailable', `${what} ${file} failed: ${code}: ${err?.message ?? err}`, { cause: err, file });
  };

  // When another connection holds the write lock (the registration thread's, for a commit's
  // fraction of a millisecond), the group waits a turn of the event loop and tries again,
  // instead of putting the thread to sleep in SQLite's busy handler (1 ms at least), which would
  // stop every answer meanwhile. After BUSY_LIMIT_MS of that, it fails as a busy store would.
  // The first two retries take the next turn, the others wait a millisecond (the other thread
  // may be the one waiting for this core).
  let busySince = 0;
  let busyTries = 0;
  function flush() {
    scheduled = false;
    const group = queue;
    queue = [];
    if (!group.length) return;
    let outcomes;
    try {
      if (closed) throw new Error('the store is closed');
      // After a failed fsync nothing more is written (see startSync).
      if (lost) throw lost;
      outcomes = runGroup(group);
      if (outcomes === null) {
        const t = now();
        busySince ||= t;
        if (t - busySince < BUSY_LIMIT_MS) {
          queue = group.concat(queue);
          busyTries += 1;
          if (busyTries <= 2) schedule();
          else if (!scheduled) {
            scheduled = true;
            setTimeout(flush, 1);
          }
          return;
        }
        // Held that long, the lock is someone's fault, not the disk's: this group is refused
        // (its callers answer 503 and the CRM sends again), and the store is not marked failed.
        busySince = 0;
        busyTries = 0;
        const e = new StoreError('store_unavailable', `writing to ${file} failed: SQLITE_BUSY: another connection held the write lock for ${BUSY_LIMIT_MS} ms`, { file });
        for (const item of group) item.reject(e);
        return;
      }
      busySince = 0;
      busyTries = 0;
    } catch (err) {
      busySince = 0;
      busyTries = 0;
      // The whole group rolled back: nothing of it is stored, and every caller is told so.
      const e = closed ? new StoreError('store_unavailable', 'the store is closed') : err === lost ? lost : unavailable(err, 'writing to');
      if (!closed && err !== lost) failure = { code: e.code, message: e.message, since: now() };
      for (const item of group) item.reject(e);
      return;
    }
    failure = null;
    let synced = null;
    group.forEach((item, i) => {
      const o = outcomes[i];
      if (o.err) item.reject(o.err);
      else if (!item.durable) item.resolve(o.ok);
      else {
        synced ??= syncLog();
        synced.then(
          () => item.resolve(o.ok),
          (err) => item.reject(err),
        );
      }
    });
  }

  // The write-ahead log's fsync, on the thread pool. `syncLog()` resolves after an fsync that
  // began after the call: when one is running (it may have begun before the caller's commit),
  // the callers wait for the next, which begins when it ends, one for all of them.
  let logFd = null;
  let dirSynced = false;
  // Set once an fsync failed: the kernel may have dropped the pages it could not write and now
  // calls them clean, so no later fsync proves anything. Writes are refused from then on and
  // health() reports it until the server is restarted (after the disk is looked at); reads go on.
  let lost = null;
  let syncing = null; // the promise of the fsync running
  let next = null;
  function syncLog() {
    if (!next) {
      let resolve;
      let reject;
      const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
      next = { promise, resolve, reject };
    }
    const mine = next.promise;
    if (!syncing) startSync();
    return mine;
  }
  // Marks the store lost (once) and tells the host, which may have other connections to stop.
  function markLost(err, message) {
    if (lost) return;
    const code = err ? sqliteCode(err) : 'lost';
    lost = new StoreError('store_unavailable', message ?? `making ${file} durable failed (${code}): writes are refused until memberwire is restarted; check the disk first`, { cause: err ?? undefined, file });
    try {
      onLost?.(lost);
    } catch {
      // the host's business
    }
  }
  function startSync() {
    const waiting = next;
    next = null;
    // Once lost, no fsync proves anything: every later commit was made after the lost one, in
    // the same log, and recovery stops at the first damaged frame.
    if (lost) {
      waiting.reject(lost);
      return;
    }
    syncing = waiting.promise.catch(() => {});
    const done = (err) => {
      syncing = null;
      if (err) markLost(err);
      if (lost) {
        waiting.reject(lost);
        // The commits waiting for the next fsync are refused with this one.
        if (next) startSync();
        return;
      }
      waiting.resolve();
      if (next) startSync();
    };
    try {
      // Opened for writing, though nothing is written through it: Windows flushes only such handles.
      logFd ??= openSync(`${file}-wal`, 'r+');
    } catch (err) {
      done(err);
      return;
    }
    syncFile(logFd, (err) => {
      // A log file new to this directory: its name must reach the disk too, once. As SQLite's own
      // first sync of a new log, this is done where the system allows it and its failure ignored
      // (Windows opens no directory; its file system keeps names durable by itself).
      if (err || dirSynced) return done(err);
      dirSynced = true;
      let dirFd;
      try {
        dirFd = openSync(dir, 'r');
      } catch {
        return done(null);
      }
      syncFile(dirFd, () => {
        closeSync(dirFd);
        done(null);
      });
    });
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }

  function read(fn) {
    if (closed) return Promise.reject(new StoreError('store_unavailable', 'the store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      const e = unavailable(err, 'reading');
      failure = { code: e.code, message: e.message, since: now() };
      return Promise.reject(e);
    }
  }

  const db = {
    kind: 'sqlite',
    file,
    dir,
    batch(stmts, { durable = true } = {}) {
      return new Promise((resolve, reject) => {
        queue.push({ statements: stmts, durable, resolve, reject });
        schedule();
      });
    },
    all: (sql, params = []) => read(() => prepared(sql).all(...params)),
    first: (sql, params = []) => read(() => prepared(sql).get(...params) ?? null),

    /**
     * null when the store works; else { code, message } of the last failure. While failing it
     * tries a small write at most once per probe interval, and reports healthy once one commits.
     */
    health() {
      if (lost && !closed) return { code: lost.code, message: lost.message };
      if (!failure || closed) return closed ? { code: 'store_unavailable', message: 'the store is closed' } : null;
      if (now() - lastProbe >= probeEveryMs) {
        lastProbe = now();
        try {
          raw.prepare("INSERT INTO settings (name, value, updated_at) VALUES ('store-probe', '0', ?) ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at").run(now());
          // The failure may have been the disk's: the probe's write must reach it too. A failed
          // fsync here is what a failed one anywhere is: the store is lost.
          if (logFd !== null) {
            try {
              fsyncSync(logFd);
            } catch (err) {
              markLost(err);
              return { code: lost.code, message: lost.message };
            }
          }
          failure = null;
        } catch {
          // still failing
        }
      }
      return failure && { code: failure.code, message: failure.message };
    },

    /**
     * Another connection to the same log (the registration thread's) lost a write: this one
     * refuses writes too, until a restart (no fsync of the shared log proves anything now).
     */
    lose(message) {
      markLost(null, message);
    },

    /** The binding's connection, for tests and benchmarks (for example PRAGMA max_page_count). */
    raw,

    async close() {
      if (closed) return;
      if (queue.length) flush();
      closed = true;
      // The fsyncs asked for go first (their callers are waiting, and the descriptor must stay open).
      while (syncing) await syncing;
      raw.close();
      lock?.close();
      if (logFd !== null) closeSync(logFd);
      logFd = null;
    },
  };

  if (shared) return db;
  try {
    await applyMigrations(db, readMigrations());
  } catch (err) {
    raw.close();
    lock?.close();
    throw err instanceof StoreError ? err : openError(err, file);
  }
  return db;
}

/**
 * The process lock: DIR/memberwire.lock, a SQLite file this connection writes once in exclusive
 * locking mode, which keeps its exclusive lock until the connection closes. Another process
 * (or another first connection of this one) gets SQLITE_BUSY: store_locked.
 */
function processLock(Database, file) {
  const conn = new Database(file, { timeout: 0 });
  try {
    chmodSync(file, 0o600);
    conn.exec('PRAGMA busy_timeout = 0');
    conn.exec('PRAGMA locking_mode = EXCLUSIVE');
    conn.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (unixepoch()); COMMIT');
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

function openError(err, file) {
  if (err instanceof StoreError) return err;
  switch (sqliteCode(err)) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return new StoreError('store_corrupt', `${file} is damaged (${err.message}); memberwire will not start on it. Restore it from a backup, or move it away to start empty.`, { cause: err, file });
    case 'SQLITE_BUSY':
      return new StoreError('store_locked', `${file} is in use by another memberwire process`, { cause: err, file });
    default:
      return new StoreError('store_unavailable', `cannot open ${file}: ${sqliteCode(err)}: ${err?.message ?? err}`, { cause: err, file });
  }
}
