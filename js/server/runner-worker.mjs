// The registration thread (started by js/server/runner.mjs): an engine of its own, on its own
// wasm instance and its own connection to the server's SQLite database, that runs the events the
// main thread recorded (engine.runEvent: each restored from its saved state) and answers each
// with its final step. It never accepts posts and never writes settings.

import { readlinkSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadWasm } from '../hosts/node.mjs';
import { openSqlite } from '../store/sqlite.mjs';
import { sqlStore } from '../adapters/sql-store.mjs';
import { createEngine } from '../engine/engine.mjs';
import { createHttpClient } from './http-client.mjs';

const { dataDir, config, maxRunning, nice, faults } = workerData;

// On Linux the thread is named, so `top -H` and `ps -L` tell it from the main thread.
try {
  writeFileSync('/proc/thread-self/comm', 'mw-registration');
} catch {
  // not Linux: unnamed
}

// Registrations take the CPU after the posts: on Linux this thread runs at a lower priority
// (a higher nice value) than the main thread, which answers them.
if (nice) {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: the same priority as the main thread
  }
}
let limited = workerData.limited;

if (faults?.failStart) throw new Error('the store could not be opened (a fault injected by a test)');
const wasm = loadWasm();
const db = await openSqlite(dataDir, { shared: true, onLost: (err) => parentPort.postMessage({ type: 'lost', message: err.message }) });
const store = sqlStore(wasm, db);
const fetch = createHttpClient();
if (faults?.trapOn) {
  const apply = store.directory.apply;
  store.directory.apply = async (op, ...rest) => {
    if (op?.op === faults.trapOn) throw new WebAssembly.RuntimeError('unreachable');
    return apply(op, ...rest);
  };
}

// The CRM line is the main thread's: a turn is asked for there, unless the CRM has no limit.
const turns = new Map();
let nextTurn = 0;
const turn = (priority) => {
  if (!limited) return Promise.resolve();
  return new Promise((resolve) => {
    const n = ++nextTurn;
    turns.set(n, resolve);
    parentPort.postMessage({ type: 'turn', n, priority });
  });
};

// The answers and log records of one turn of the event loop cross in one message.
let finals = [];
let logs = [];
let sending = false;

// One runner per process: the main thread hands each event over once, so no lease is taken.
const { claim, ...events } = store.events;
const engine = createEngine({
  wasm,
  config,
  events,
  directory: store.directory,
  fetch,
  rateLimit: 0,
  turn,
  maxRunning,
  log: (record) => {
    logs.push(record);
    later();
  },
  // The log records go first; the answers not yet sent do not (the events go to a fresh thread).
  onFatal: (err) => {
    if (logs.length) parentPort.postMessage({ type: 'logs', list: logs });
    logs = [];
    parentPort.postMessage({ type: 'fatal', message: `${err?.name ?? 'Error'}: ${String(err?.message ?? err).slice(0, 120)}` });
  },
});

/** What crosses back of a final step: the outcome (ids and tags, never a secret), not the saved state. */
const answer = (final) => {
  const { save, ...rest } = final ?? { state: 'pending', code: 'host_error' };
  return rest;
};

function reply(id, final) {
  finals.push({ id, final: answer(final) });
  later();
}
function later() {
  if (sending) return;
  sending = true;
  setImmediate(sendFinals);
}
/** One message a turn, whatever it holds (a message costs both threads more than its contents). */
function sendFinals() {
  sending = false;
  if (logs.length || finals.length) parentPort.postMessage({ type: 'answers', logs, finals });
  logs = [];
  finals = [];
}

async function run({ id, priority, state }) {
  let final;
  try {
    // Without a state it is a resume (after a restart, or for a thread that died): an event
    // parked meanwhile stays parked, for its retry schedule.
    final = await engine.runEvent(id, priority, state, { resumeOnly: state === undefined });
  } catch (err) {
    // The store failed under it: the event stays recorded as running and is resumed.
    final = { state: 'pending', code: 'host_error', reason: `the registration thread could not run it (${err?.code ?? err?.name ?? 'error'}); it resumes` };
  }
  reply(id, final);
}

parentPort.on('message', async (m) => {
  switch (m.type) {
    case 'run':
      for (const item of m.list) run(item);
      break;
    case 'config':
      limited = m.limited;
      engine.reconfigure(m.config);
      break;
    case 'turn':
      turns.get(m.n)?.();
      turns.delete(m.n);
      break;
    case 'lost':
      db.lose(m.message);
      break;
    case 'close':
      // The workflows running finish (the main thread stops waiting after two seconds).
      await engine.idle().catch(() => {});
      sendFinals();
      await fetch.close();
      await db.close();
      process.exit(0);
  }
});
parentPort.postMessage({ type: 'ready' });
