// The Node server's registration thread: recorded events run in a worker thread with its own
// wasm instance and its own connection to the same SQLite database, while the main thread
// answers posts, records them and serves the admin page. On one event loop the registrations
// took most of it, and posts arriving during a burst waited behind them; here they run beside.
//
// The main thread's engine is created with `runner` (this object's `run`): it records events
// as before and hands each to the thread with the state just recorded (a resumed or retried
// one without: the thread reads it from the store), which restores it (engine.runEvent) and
// answers with its final step. Runs and answers cross in one message per turn of the event loop. The thread's CRM calls wait in the main thread's one line to
// the CRM (engine.crmTurn), so the process keeps one rate limit with the admin page's calls;
// a new configuration (the Settings screen) is sent before any event recorded under it.
//
// When the thread dies (a trapped wasm instance, an error nobody caught), a fresh one starts
// after a short wait that doubles while it keeps dying (up to 30 s), and every event handed
// over and not answered is handed to it again: each is recorded as running, and resumes from
// its saved state.

import { Worker } from 'node:worker_threads';

const WORKER = new URL('./runner-worker.mjs', import.meta.url);
const MAX_BACKOFF_MS = 30_000;

/**
 * @param {object} o
 * @param {string} o.dataDir          the server's data directory (already opened and migrated)
 * @param {object} o.config           the Registrar configuration
 * @param {(config: object) => boolean} o.limited  whether the CRM of a configuration has a rate limit
 * @param {(priority: number) => Promise<void>} o.turn  the main thread's CRM line
 * @param {(record: object) => void} o.log
 * @param {(records: object[]) => void} [o.logRecords]  the thread's records, a batch at a time
 *   (else `log` takes them one by one)
 * @param {(message: string) => void} [o.onStoreLost]  the thread's connection could not make a
 *   write durable (the main thread's store then refuses writes too)
 * @param {number} [o.maxRunning]
 * @param {number} [o.nice]  the thread's nice value on Linux (10: below the main thread; 0: the same)
 * @param {{ trapOn?: string, failStart?: boolean }} [o.faults]  tests only: the first thread's
 *   directory traps (as wasm's `unreachable` does) on operations of this kind, or the first
 *   thread fails as it starts
 */
export function registrationThread({ dataDir, config, limited, turn, log, logRecords = null, onStoreLost = () => {}, maxRunning, nice = 10, faults = null }) {
  const waiting = new Map(); // event id -> { priority, resolve }
  let current = config;
  let worker = null;
  let closing = null; // the thread being closed: its answers, turns and logs are still taken
  let closed = false;
  // The first thread's start: resolves once it is ready, rejects when it dies before (the server
  // does not start without it).
  let firstUp;
  let firstDown;
  const first = new Promise((resolve, reject) => ((firstUp = resolve), (firstDown = reject)));
  first.catch(() => {});
  let everUp = false;
  let restarts = 0;
  let backoff = 250;
  let lastStart = 0;

  function spawn() {
    lastStart = Date.now();
    // Faults (tests only) go to the first thread: the fresh one must work.
    const w = new Worker(WORKER, { workerData: { dataDir, config: current, limited: limited(current), maxRunning, nice, faults: restarts === 0 ? faults : null } });
    worker = w;
    w.on('message', (m) => {
      if (w !== worker && w !== closing) return;
      switch (m.type) {
        case 'ready':
          everUp = true;
          firstUp();
          break;
        case 'answers':
          // The log records first: a registration's lines are out before its answer.
          if (m.logs.length) {
            if (logRecords) logRecords(m.logs);
            else for (const record of m.logs) log(record);
          }
          for (const { id, final } of m.finals) {
            const entry = waiting.get(id);
            waiting.delete(id);
            for (const resolve of entry?.resolvers ?? []) resolve(final);
          }
          break;
        case 'turn':
          turn(m.priority).then(
            () => w.postMessage({ type: 'turn', n: m.n }),
            () => w.postMessage({ type: 'turn', n: m.n }),
          );
          break;
        case 'logs':
          if (logRecords) logRecords(m.list);
          else for (const record of m.list) log(record);
          break;
        case 'lost':
          onStoreLost(m.message);
          break;
        case 'fatal':
          if (w === worker) died(w, m.message);
          break;
      }
    });
    w.on('error', (err) => died(w, `${err?.name ?? 'Error'}: ${String(err?.message ?? err).slice(0, 120)}`));
    w.on('exit', (code) => died(w, `exited with code ${code}`));
    // Everything handed over and not answered goes to the fresh thread (which reads each
    // event's state from the store: it may have moved on since it was recorded; one the old
    // thread parked stays parked, for its retry schedule).
    outbox = [];
    const list = [...waiting].map(([id, { priority }]) => ({ id, priority }));
    if (list.length) w.postMessage({ type: 'run', list });
  }

  // The runs handed over within one turn of the event loop cross in one message.
  let outbox = [];
  let sending = false;
  function send(item) {
    outbox.push(item);
    if (sending) return;
    sending = true;
    setImmediate(() => {
      sending = false;
      const list = outbox;
      outbox = [];
      if (list.length) worker?.postMessage({ type: 'run', list });
    });
  }

  function died(w, why) {
    if (w !== worker || closed) return;
    worker = null;
    if (!everUp) {
      // It never started (the wasm or the store could not be opened): the server says why.
      w.terminate().catch(() => {});
      firstDown(new Error(`the registration thread could not start (${why})`));
      return;
    }
    // A thread that lived a while starts again at once; one that keeps dying, ever more slowly.
    backoff = Date.now() - lastStart > 60_000 ? 250 : Math.min(backoff * 2, MAX_BACKOFF_MS);
    log({ level: 'error', event: 'registrations', message: `the registration thread stopped (${why}); a fresh one starts in ${backoff} ms and resumes the ${waiting.size} event(s) it was running (nothing recorded is lost)` });
    restarts += 1;
    // The fresh one starts once the old one has stopped: never two running the same events.
    const gone = w.terminate().catch(() => {});
    setTimeout(() => {
      gone.then(() => {
        if (!closed) spawn();
      });
    }, backoff).unref();
  }

  spawn();

  return {
    /**
     * Runs a recorded event in the thread; resolves to its final step (never rejects). `state`:
     * the state just recorded for it (else the thread reads it from the store).
     */
    run(id, priority, state) {
      return new Promise((resolve) => {
        if (closed) {
          resolve({ state: 'pending', code: 'host_error', reason: 'the server is stopping; the event resumes at the next start' });
          return;
        }
        // Handed over already: the same answer for both callers.
        const entry = waiting.get(id);
        if (entry) {
          entry.resolvers.push(resolve);
          return;
        }
        waiting.set(id, { priority, resolvers: [resolve] });
        if (worker) send({ id, priority, state });
      });
    },

    /** A new configuration, for every event handed over from now on. */
    configure(next) {
      current = next;
      // The runs handed over before the change go first, under the configuration they were recorded with.
      if (outbox.length) {
        worker?.postMessage({ type: 'run', list: outbox });
        outbox = [];
      }
      worker?.postMessage({ type: 'config', config: next, limited: limited(next) });
    },

    /** The main thread's connection lost a write: the thread's refuses writes too. */
    storeLost(message) {
      worker?.postMessage({ type: 'lost', message });
    },

    /** Resolves once the first thread has opened the store and loaded its wasm; rejects when it could not. */
    ready: () => first,

    get restarts() {
      return restarts;
    },

    /**
     * Stops the thread. Workflows still running stay recorded as running and resume at the next
     * start; their callers are answered `pending` now.
     */
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      if (w) {
        // Until it exits, its answers and CRM turns are still served (its workflows get up to
        // two seconds to finish; those that do not resume at the next start).
        closing = w;
        // Runs not handed over yet stay recorded as running: they resume at the next start.
        outbox = [];
        const done = new Promise((resolve) => w.once('exit', resolve));
        w.postMessage({ type: 'close' });
        const timer = setTimeout(() => w.terminate().catch(() => {}), 2_000);
        await done;
        clearTimeout(timer);
        closing = null;
      }
      const stopped = { state: 'pending', code: 'host_error', reason: 'the server stopped before this event finished; it resumes at the next start' };
      for (const { resolvers } of waiting.values()) for (const resolve of resolvers) resolve(stopped);
      waiting.clear();
    },
  };
}
