// The SQL database port every durable store is written against, and what all its drivers share
// (migrations, error classification). Drivers: js/store/sqlite.mjs (Node, better-sqlite3) and
// js/store/d1.mjs (Cloudflare D1). The adapters in js/adapters/sql-*.mjs use only this port, so
// the same SQL runs on both.
//
// A driver is { kind, batch(statements), all(sql, params), first(sql, params) }:
//   batch([{sql, params}, ...], { durable }) runs the statements in order as one transaction: all
//     of them or none. It resolves, once durable, to one { rows, changes } per statement, and
//     rejects with a SqlConstraintError when a constraint stops it (nothing of it is kept).
//     `durable: false` (default true) lets a driver resolve once committed, before the commit
//     reaches the disk, provided a later durable batch's commit makes it durable too (SQLite's
//     write-ahead log does): for writes a replay redoes, such as a workflow's directory writes.
//   all / first read committed data.

export class StoreError extends Error {
  /** code: store_unavailable (a write or read failed: disk full, I/O, read-only), store_corrupt, store_locked */
  constructor(code, message, extra = {}) {
    super(message, extra.cause !== undefined ? { cause: extra.cause } : undefined);
    this.name = 'StoreError';
    this.code = code;
    this.status = 503;
    for (const [k, v] of Object.entries(extra)) if (k !== 'cause') this[k] = v;
  }
}

/** A batch that a constraint refused: `constraint` is `unique` (a primary key or unique index) or the CHECK's name. */
export class SqlConstraintError extends Error {
  constructor(constraint, message) {
    super(message);
    this.name = 'SqlConstraintError';
    this.constraint = constraint;
  }
}

/**
 * Classifies a driver's error: a SqlConstraintError for a constraint, else null. SQLite's
 * messages are the same through better-sqlite3 and D1 ("UNIQUE constraint failed: t.c",
 * "CHECK constraint failed: name"); D1 prefixes its own words.
 */
export function constraintOf(err) {
  const m = String(err?.message ?? '');
  const unique = /UNIQUE constraint failed|PRIMARY KEY constraint failed/.exec(m);
  if (unique) return new SqlConstraintError('unique', m.slice(unique.index));
  const check = /CHECK constraint failed: ([A-Za-z_]+)/.exec(m);
  if (check) return new SqlConstraintError(check[1], m.slice(check.index));
  return null;
}

/** Splits a migration file into statements: `--` comments dropped, split at `;` ending a line. */
export function statementsOf(sqlText) {
  return sqlText
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The table wrangler keeps its applied migrations in; the Node host keeps the same one. */
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

/**
 * Applies the migrations not applied yet, each in one batch with its bookkeeping row, in name
 * order. `migrations` is [{ name, sql }]. Returns the names applied now.
 */
export async function applyMigrations(db, migrations) {
  // One read when everything is applied (every start after the first); the table is made only
  // when that read finds none.
  let names;
  try {
    names = await db.all('SELECT name FROM d1_migrations', []);
  } catch {
    await db.batch([{ sql: MIGRATIONS_TABLE, params: [] }]);
    names = await db.all('SELECT name FROM d1_migrations', []);
  }
  const done = new Set(names.map((r) => r.name));
  const applied = [];
  for (const m of [...migrations].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (done.has(m.name)) continue;
    await db.batch([
      ...statementsOf(m.sql).map((sql) => ({ sql, params: [] })),
      { sql: 'INSERT INTO d1_migrations (name) VALUES (?)', params: [m.name] },
    ]);
    applied.push(m.name);
  }
  return applied;
}

/** A named JSON document in the `settings` table: get(name) → value or null; put(name, value). */
export function settingsOn(db, now = Date.now) {
  // Values read ahead by preload(), each handed out once by the next get() of its name.
  const ahead = new Map();
  return {
    async get(name) {
      if (ahead.has(name)) {
        const v = ahead.get(name);
        ahead.delete(name);
        return v;
      }
      const row = await db.first('SELECT value FROM settings WHERE name = ?', [name]);
      return row ? JSON.parse(row.value) : null;
    },
    /** Forgets what preload() read and no get() took: later reads go to the store. */
    forgetPreloaded() {
      ahead.clear();
    },
    /**
     * Reads several settings in one query (a start-up reads each once): the next get() of each is
     * answered from it. `also`: other reads sent in the same round trip (one batch), whose rows
     * it resolves to, in order.
     */
    async preload(names, also = []) {
      const read = { sql: `SELECT name, value FROM settings WHERE name IN (${names.map(() => '?').join(', ')})`, params: names };
      let rows;
      let others = [];
      if (also.length) {
        const results = await db.batch(names.length ? [...also, read] : also);
        others = results.slice(0, also.length).map((r) => r.rows);
        rows = names.length ? results[also.length].rows : [];
      } else {
        rows = names.length ? await db.all(read.sql, read.params) : [];
      }
      for (const n of names) ahead.set(n, null);
      for (const r of rows) ahead.set(r.name, JSON.parse(r.value));
      return others;
    },
    async put(name, value) {
      ahead.delete(name);
      await db.batch([
        {
          sql: 'INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
          params: [name, JSON.stringify(value), now()],
        },
      ]);
    },
    /** Stores `value` only if nothing is stored under `name` yet; resolves to whether it did. */
    async putIfAbsent(name, value) {
      ahead.delete(name);
      const [r] = await db.batch([
        { sql: 'INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', params: [name, JSON.stringify(value), now()] },
      ]);
      return r.changes === 1;
    },
  };
}
