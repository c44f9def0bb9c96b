// Everything a host keeps, over one SQL driver (SQLite on Node, D1 on Workers): the directory,
// the event inbox, named settings (access-key digest, administrator, rules), admin sessions and
// bulk runs. One schema (migrations/) for every host.

import { sqlDirectory } from './sql-directory.mjs';
import { sqlEvents } from './sql-events.mjs';
import { settingsOn } from '../store/sql.mjs';

/** The setting that records which email normal form the stored members are in. */
export const EMAIL_FORM = 'email-form';
const EMAIL_FORM_VERSION = 2;

/**
 * @param {object} wasm  the initialized wasm package
 * @param {object} db    a SQL driver (js/store/sqlite.mjs, js/store/d1.mjs)
 */
export function sqlStore(wasm, db, { now = Date.now } = {}) {
  const one = (sql, ...params) => db.batch([{ sql, params }]);
  const directory = sqlDirectory(wasm, db);
  const settings = settingsOn(db, now);
  return {
    db,
    directory,
    events: sqlEvents(db, { now }),
    settings,

    /**
     * Once per store, after the migrations: data written by an earlier version brought to this
     * one's forms (emails: NFC and A-label domains). Resolves to what changed, or null when
     * there was nothing to do.
     */
    async upgrade() {
      if ((await settings.get(EMAIL_FORM))?.version === EMAIL_FORM_VERSION) return null;
      const r = await directory.renormalizeEmails();
      await settings.put(EMAIL_FORM, { version: EMAIL_FORM_VERSION, changed: r.changed, clashes: r.clashes });
      return r;
    },

    /** Administrator sessions, by the digest of the session id. */
    sessions: {
      async load() {
        return db.all('SELECT sid_hash, csrf, created_at, last_seen FROM sessions', []);
      },
      put: (hash, s) =>
        one(
          'INSERT INTO sessions (sid_hash, csrf, created_at, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT (sid_hash) DO UPDATE SET last_seen = excluded.last_seen',
          hash,
          s.csrf,
          s.createdAt,
          s.lastSeen,
        ),
      delete: (hash) => one('DELETE FROM sessions WHERE sid_hash = ?', hash),
      clear: () => one('DELETE FROM sessions'),
    },

    /** Bulk runs (one row per run, replaced as it advances) and their plans. */
    bulk: {
      async runs() {
        return (await db.all('SELECT data FROM bulk_runs ORDER BY created_at', [])).map((r) => JSON.parse(r.data));
      },
      putRun: (run) =>
        one(
          'INSERT INTO bulk_runs (run_id, plan_id, created_at, data) VALUES (?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET data = excluded.data',
          run.runId,
          run.planId,
          run.createdAt,
          JSON.stringify(run),
        ),
      putPlan: (plan) => one('INSERT INTO bulk_plans (plan_id, created_at, data) VALUES (?, ?, ?) ON CONFLICT (plan_id) DO UPDATE SET data = excluded.data', plan.planId, plan.createdAt, JSON.stringify(plan)),
      async getPlan(planId) {
        const r = await db.first('SELECT data FROM bulk_plans WHERE plan_id = ?', [planId]);
        return r ? JSON.parse(r.data) : null;
      },
    },

    /** null while the store works, else { code, message } (hosts answer 503 meanwhile). */
    health: () => db.health?.() ?? null,
    close: () => db.close?.(),
  };
}
