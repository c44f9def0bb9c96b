// The event store port over the SQL schema (the `events` table, an inbox keyed by event id), for
// every SQL driver. Same functions as the in-memory store (js/adapters/events.mjs).

import { view } from './events.mjs';
import { MANUAL_ONLY, RETRY_CAP_MS, RETRY_FIRST_MS } from './retry-schedule.mjs';

const COLS = 'id, source, received_at, contact_key, contact, status, state, outcome, pending, updated_at, attempts, next_retry_at';


function eventOf(r) {
  const e = {
    id: r.id,
    source: r.source,
    receivedAt: r.received_at,
    contactKey: r.contact_key,
    contact: JSON.parse(r.contact),
    status: r.status,
    state: r.state,
    updatedAt: r.updated_at,
    attempts: r.attempts ?? 0,
    nextRetryAt: r.next_retry_at ?? null,
  };
  if (r.outcome) e.outcome = JSON.parse(r.outcome);
  if (r.pending) e.pending = JSON.parse(r.pending);
  return e;
}

/** @param {object} db  a SQL driver (js/store/sql.mjs) */
export function sqlEvents(db, { now = Date.now } = {}) {
  const write = (sql, params) => db.batch([{ sql, params }]);
  const where = (status) =>
    !status ? ['', []] : status === 'conflict' ? ["WHERE outcome_kind = 'conflict'", []] : ['WHERE status = ?', [status]];

  return {
    /** Records new events (an event id already recorded is kept as it is). */
    async accept(evs) {
      if (!evs.length) return;
      await db.batch(
        evs.map((e) => ({
          sql: `INSERT INTO events (id, source, received_at, contact_key, contact, status, state, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (id) DO NOTHING`,
          params: [e.id, e.source, e.receivedAt, e.contactKey ?? null, JSON.stringify(e.contact ?? {}), e.state, e.receivedAt],
        })),
      );
    },
    // A save that keeps the status names no status column: SQLite rewrites the entries of every
    // index over a column the SET assigns, changed or not, and the status has two (three pages
    // written per save instead of one).
    progress: (id, state, status) =>
      status
        ? write('UPDATE events SET state = coalesce(?, state), status = ?, updated_at = ? WHERE id = ?', [state ?? null, status, now(), id])
        : write('UPDATE events SET state = coalesce(?, state), updated_at = ? WHERE id = ?', [state ?? null, now(), id]),
    // `{ durable: false }`: the engine's record of a finished workflow, which a replay from the
    // last saved state redoes (js/store/sql.mjs).
    finish: (id, outcome, state, opts) =>
      db.batch(
        [
          {
            sql: "UPDATE events SET state = coalesce(?, state), status = 'done', outcome = ?, outcome_kind = ?, pending = NULL, lease_until = NULL, next_retry_at = NULL, updated_at = ? WHERE id = ?",
            params: [state ?? null, JSON.stringify(outcome ?? null), outcome?.outcome ?? null, now(), id],
          },
        ],
        opts,
      ),
    /**
     * Parks an event; its next automatic retry is due after a delay that doubles with each park
     * (none for a code only an operator can fix).
     */
    park: (id, pending, state) =>
      write(
        `UPDATE events SET state = coalesce(?, state), status = 'pending', pending = ?, lease_until = NULL, updated_at = ?,
           next_retry_at = CASE WHEN ? THEN NULL ELSE ? + min(?, ? * (1 << min(attempts, 12))) END, attempts = attempts + 1
         WHERE id = ?`,
        [state ?? null, JSON.stringify(pending), now(), MANUAL_ONLY.includes(pending?.code) ? 1 : 0, now(), RETRY_CAP_MS, RETRY_FIRST_MS, id],
      ),
    /** Parked events whose automatic retry is due, the most overdue first. */
    due: async (at) =>
      (await db.all(`SELECT ${COLS} FROM events WHERE status = 'pending' AND next_retry_at IS NOT NULL AND next_retry_at <= ? ORDER BY next_retry_at LIMIT 200`, [at])).map(eventOf),
    /** Takes the event for one runner until `at + leaseMs`; false while another runner holds it or when it is done. */
    /** Gives up a lease (its runner stopped): another runner may take the event at once. */
    async release(id) {
      await db.batch([{ sql: "UPDATE events SET lease_until = NULL WHERE id = ? AND status <> 'done'", params: [id] }]);
    },

    async claim(id, at, leaseMs) {
      const [r] = await db.batch([
        {
          sql: "UPDATE events SET lease_until = ? WHERE id = ? AND status <> 'done' AND (lease_until IS NULL OR lease_until < ?)",
          params: [at + leaseMs, id, at],
        },
      ]);
      return r.changes === 1;
    },
    /** Events still running that nobody holds and that have not moved since `before`. */
    stale: async (before, at) =>
      (await db.all(`SELECT ${COLS} FROM events WHERE status = 'running' AND updated_at < ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY received_at LIMIT 500`, [before, at])).map(eventOf),
    async get(id) {
      const r = await db.first(`SELECT ${COLS} FROM events WHERE id = ?`, [id]);
      return r ? eventOf(r) : null;
    },
    unfinished: async () => (await db.all(`SELECT ${COLS} FROM events WHERE status = 'running' ORDER BY received_at`, [])).map(eventOf),
    pending: async () => (await db.all(`SELECT ${COLS} FROM events WHERE status = 'pending' ORDER BY received_at`, [])).map(eventOf),
    /** Newest first; `status` filters (running, done, pending, conflict). */
    async page({ status, offset = 0, limit = 50 } = {}) {
      const [w, p] = where(status);
      const total = (await db.first(`SELECT COUNT(*) AS n FROM events ${w}`, p)).n;
      const rows = await db.all(`SELECT ${COLS} FROM events ${w} ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?`, [...p, limit, offset]);
      return { total, events: rows.map((r) => view(eventOf(r))) };
    },
    /** How many events are in each state. */
    async counts() {
      const c = { running: 0, pending: 0, done: 0, total: 0 };
      for (const r of await db.all('SELECT status, COUNT(*) AS n FROM events GROUP BY status', [])) {
        c[r.status] = r.n;
        c.total += r.n;
      }
      return c;
    },
  };
}
