// The event store port: every accepted post's events, their workflow state after each step,
// and how they ended. Durable when given a file store (journal + periodic snapshot), memory
// only otherwise.
//
// An event: { id, source, receivedAt, contactKey, contact, status: running|done|pending,
//             state (the workflow's saved JSON), outcome?, pending?: {code, reason}, updatedAt }

const COLLECTION = 'events';

export async function openEventStore(store, { now = Date.now, snapshotEvery = 20_000 } = {}) {
  const events = new Map();
  const apply = (r) => {
    if (r.t === 'accept') {
      events.set(r.event.id, r.event);
      return;
    }
    const e = events.get(r.id);
    if (!e) return;
    e.state = r.state ?? e.state;
    e.updatedAt = r.at;
    if (r.t === 'progress') {
      if (r.status) e.status = r.status;
    } else if (r.t === 'finish') {
      e.status = 'done';
      e.outcome = r.outcome;
      delete e.pending;
    } else if (r.t === 'park') {
      e.status = 'pending';
      e.pending = r.pending;
    }
  };
  if (store) for (const r of await store.replay(COLLECTION)) apply(r);
  let sinceSnapshot = 0;

  function write(records) {
    for (const r of records) apply(r);
    if (!store) return Promise.resolve();
    const written = Promise.all(records.map((r) => store.append(COLLECTION, r)));
    sinceSnapshot += records.length;
    if (sinceSnapshot >= snapshotEvery) {
      sinceSnapshot = 0;
      // Built and handed to the store in the same tick: it holds exactly the records whose
      // appends were called so far, and the store's FIFO runs it right after them. (Waiting for
      // `written` first let appends called meanwhile land in a journal the snapshot retires.)
      const snap = [...events.values()].map((event) => ({ t: 'accept', event: { ...event } }));
      return Promise.all([written, store.snapshot(COLLECTION, snap)]).then(() => undefined);
    }
    return written;
  }

  const list = (pred) => [...events.values()].filter(pred);

  return {
    accept: (evs) => write(evs.map((e) => ({ t: 'accept', event: { ...e, status: 'running', updatedAt: e.receivedAt } }))),
    progress: (id, state, status) => write([{ t: 'progress', id, state, status, at: now() }]),
    finish: (id, outcome, state) => write([{ t: 'finish', id, outcome, state, at: now() }]),
    park: (id, pending, state) => write([{ t: 'park', id, pending, state, at: now() }]),
    get: async (id) => events.get(id) ?? null,
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
    counts() {
      const c = { running: 0, pending: 0, done: 0, total: events.size };
      for (const e of events.values()) c[e.status] += 1;
      return c;
    },
    get size() {
      return events.size;
    },
  };
}

/** What hosts show of an event: not the workflow state. */
export function view(e) {
  const { state, ...rest } = e;
  return rest;
}
