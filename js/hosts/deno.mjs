// Deno host: `deno run --allow-read --allow-write --allow-net --allow-env js/hosts/deno.mjs`.
// Serves the edge function with Deno.serve and keeps everything in SQLite through Deno's
// built-in `node:sqlite`: the same schema (migrations/) and SQL adapters as the Node server, in
// MEMBERWIRE_DATA (default ./data). MEMBERWIRE_KEY is the hook access key; MEMBERWIRE_CONFIG the
// RegistrarConfig as JSON (the CRM token may come from MEMBERWIRE_CRM_TOKEN); PORT the port.
import { DatabaseSync } from 'node:sqlite';
import * as firstWasm from '../../pkg/memberwire.js';
import { createEngine } from '../engine/engine.mjs';
import { createHandler } from '../engine/handler.mjs';
import { sqlStore } from '../adapters/sql-store.mjs';
import { openSqlite } from '../store/sqlite.mjs';

const compiled = new WebAssembly.Module(await Deno.readFile(new URL('../../pkg/memberwire_bg.wasm', import.meta.url)));
firstWasm.initSync({ module: compiled });
let instances = 0;

/** A separate instance of the wasm package (its own module record and memory). */
async function freshWasm() {
  instances += 1;
  const fresh = await import(`../../pkg/memberwire.js?instance=${instances}`);
  fresh.initSync({ module: compiled });
  return fresh;
}

/** The handler over a SQLite store in `env.MEMBERWIRE_DATA`; resumes what a restart interrupted. */
export async function createDenoHandler(env = Deno.env.toObject(), { retryEveryMs = 60_000, wasm = firstWasm, onFatal = () => {} } = {}) {
  const config = env.MEMBERWIRE_CONFIG ? JSON.parse(env.MEMBERWIRE_CONFIG) : {};
  if (config.crm && env.MEMBERWIRE_CRM_TOKEN) config.crm.token = env.MEMBERWIRE_CRM_TOKEN;
  const db = await openSqlite(env.MEMBERWIRE_DATA ?? './data', { Database: DatabaseSync });
  const store = sqlStore(wasm, db);
  await store.upgrade();
  const engine = createEngine({ wasm, config, events: store.events, directory: store.directory, onFatal });
  const resumed = await engine.resumeUnfinished();
  const timer = setInterval(() => {
    if (store.health()) return;
    engine.retryPending().catch(() => {});
    engine.resumeUnfinished().catch(() => {});
  }, retryEveryMs);
  const digest = env.MEMBERWIRE_KEY ? wasm.accessKeyDigest(env.MEMBERWIRE_KEY) : null;
  const handler = createHandler({ wasm, engine, keyDigest: () => digest, health: () => store.health(), onFatal });
  return {
    ...handler,
    file: db.file,
    resumed,
    async close() {
      clearInterval(timer);
      await engine.idle();
      await db.close();
    },
  };
}

/**
 * The handler, kept running: when its wasm instance traps (nothing more can run on it), the
 * store is closed and the handler built again over a fresh instance; the events the old one was
 * running resume on the new one.
 */
export async function superviseDeno(env = Deno.env.toObject()) {
  let current;
  let restarting = null;
  const onFatal = (err) => {
    if (restarting) return;
    restarting = (async () => {
      console.error(`memberwire: the wasm instance trapped (${String(err?.message ?? err).slice(0, 80)}); starting a fresh one`);
      await current.close();
      current = await createDenoHandler(env, { wasm: await freshWasm(), onFatal });
    })().finally(() => {
      restarting = null;
    });
  };
  current = await createDenoHandler(env, { onFatal });
  return {
    get current() {
      return current;
    },
    async fetch(request, envArg, ctx) {
      if (restarting) await restarting;
      return current.fetch(request, envArg, ctx);
    },
  };
}

if (import.meta.main) {
  const handler = await superviseDeno();
  const first = handler.current;
  console.log(`memberwire on Deno: data ${first.file}${first.resumed ? `, resumed ${first.resumed} events` : ''}`);
  Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8787) }, (req) => handler.fetch(req, {}, undefined));
}
