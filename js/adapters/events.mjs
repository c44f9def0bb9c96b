// The event store port in memory: every accepted post's events, their workflow state after each
// step, and how they ended. For tests and hosts that keep no state; durable hosts use
// js/adapters/sql-events.mjs, with the same functions.
//
// An event: { id, source, receivedAt, contactKey, contact, status: running|done|pending,
//             state (the workflow's saved JSON), outcome?, pending?: {code, reason}, updatedAt,
//             attempts (times parked), nextRetryAt (when the next automatic retry is due) }

import { MANUAL_ONLY, RETRY_CAP_MS, RETRY_FIRST_MS } from './retry-schedule.mjs';

export function memoryEvents({ now = Date.now } = {}) {
  const events = new Map();
  const change = (id, fn) => {
    const e = events.get(id);
    if (e) {
      fn(e);
      e.updatedAt = now();
    }
  };
  const list = (pred) => [...events.values()].filter(pred);

  return {
    async accept(evs) {
      for (const e of evs) if (!events.has(e.id)) events.set(e.id, { ...e, status: 'running', updatedAt: e.receivedAt, attempts: 0, nextRetryAt: null });
    },
    async progress(id, state, status) {
      change(id, (e) => {
        e.state = state ?? e.state;
        if (status) e.status = status;
      });
    },
    async finish(id, outcome, state) {
      change(id, (e) => {
        e.state = state ?? e.state;
        e.status = 'done';
        e.outcome = outcome;
        e.nextRetryAt = null;
        delete e.pending;
      });
    },
    async park(id, pending, state) {
      change(id, (e) => {
        e.state = state ?? e.state;
        e.status = 'pending';
        e.pending = pending;
        e.nextRetryAt = MANUAL_ONLY.includes(pending?.code) ? null : now() + Math.min(RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** Math.min(e.attempts, 12));
        e.attempts += 1;
      });
    },
    /** Parked events whose automatic retry is due, the most overdue first. */
    due: async (at) => list((e) => e.status === 'pending' && e.nextRetryAt !== null && e.nextRetryAt <= at).sort((a, b) => a.nextRetryAt - b.nextRetryAt),
    get: async (id) => (events.has(id) ? { ...events.get(id) } : null),
    unfinished: async () => list((e) => e.status === 'running'),
    pending: async () => list((e) => e.status === 'pending'),
    /** Newest first; `status` filters (running, done, pending, conflict). */
    async page({ status, offset = 0, limit = 50 } = {}) {
      const hits = list((e) =>
        !status || (status === 'conflict' ? e.outcome?.outcome === 'conflict' : e.status === status),
      ).sort((a, b) => b.receivedAt - a.receivedAt || (a.id < b.id ? 1 : -1));
      return { total: hits.length, events: hits.slice(offset, offset + limit).map(view) };
    },
    /** How many events are in each state. */
    async counts() {
      const c = { running: 0, pending: 0, done: 0, total: events.size };
      for (const e of events.values()) c[e.status] += 1;
      return c;
    },
  };
}

/** What hosts show of an event: not the workflow state. */
export function view(e) {
  const { state, ...rest } = e;
  return rest;
}
