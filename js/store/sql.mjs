// The SQL database port every durable store is written against, and what all its drivers share
// (migrations, error classification). Drivers: js/store/sqlite.mjs (Node, better-sqlite3) and
// js/store/d1.mjs (Cloudflare D1). The adapters in js/adapters/sql-*.mjs use only this port, so
// the same SQL runs on both.
//
// A driver is { kind, batch(statements), all(sql, params), first(sql, params) }:
//   batch([{sql, params}, ...]) runs the statements in order as one transaction: all of them or
//     none. It resolves, once durable, to one { rows, changes } per statement, and rejects with
//     a SqlConstraintError when a constraint stops it (nothing of it is kept).
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
  await db.batch([{ sql: MIGRATIONS_TABLE, params: [] }]);
  const done = new Set((await db.all('SELECT name FROM d1_migrations', [])).map((r) => r.name));
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
  return {
    async get(name) {
      const row = await db.first('SELECT value FROM settings WHERE name = ?', [name]);
      return row ? JSON.parse(row.value) : null;
    },
    async put(name, value) {
      await db.batch([
        {
          sql: 'INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
          params: [name, JSON.stringify(value), now()],
        },
      ]);
    },
    /** Stores `value` only if nothing is stored under `name` yet; resolves to whether it did. */
    async putIfAbsent(name, value) {
      const [r] = await db.batch([
        { sql: 'INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', params: [name, JSON.stringify(value), now()] },
      ]);
      return r.changes === 1;
    },
  };
}
