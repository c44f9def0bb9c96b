// Deno host: `deno run --allow-read --allow-write --allow-net --allow-env js/hosts/deno.mjs`.
// Serves the edge function with Deno.serve and keeps everything in SQLite through Deno's
// built-in `node:sqlite`: the same schema (migrations/) and SQL adapters as the Node server, in
// MEMBERWIRE_DATA (default ./data). MEMBERWIRE_KEY is the hook access key; MEMBERWIRE_CONFIG the
// RegistrarConfig as JSON (the CRM token may come from MEMBERWIRE_CRM_TOKEN); PORT the port.
import { DatabaseSync } from 'node:sqlite';
import * as wasm from '../../pkg/memberwire.js';
import { createEngine } from '../engine/engine.mjs';
import { createHandler } from '../engine/handler.mjs';
import { sqlStore } from '../adapters/sql-store.mjs';
import { openSqlite } from '../store/sqlite.mjs';

wasm.initSync({ module: await Deno.readFile(new URL('../../pkg/memberwire_bg.wasm', import.meta.url)) });

/** The handler over a SQLite store in `env.MEMBERWIRE_DATA`; resumes what a restart interrupted. */
export async function createDenoHandler(env = Deno.env.toObject(), { retryEveryMs = 60_000 } = {}) {
  const config = env.MEMBERWIRE_CONFIG ? JSON.parse(env.MEMBERWIRE_CONFIG) : {};
  if (config.crm && env.MEMBERWIRE_CRM_TOKEN) config.crm.token = env.MEMBERWIRE_CRM_TOKEN;
  const db = await openSqlite(env.MEMBERWIRE_DATA ?? './data', { Database: DatabaseSync });
  const store = sqlStore(wasm, db);
  const engine = createEngine({ wasm, config, events: store.events, directory: store.directory });
  const resumed = await engine.resumeUnfinished();
  const timer = setInterval(() => {
    if (store.health()) return;
    engine.retryPending().catch(() => {});
    engine.resumeUnfinished().catch(() => {});
  }, retryEveryMs);
  const digest = env.MEMBERWIRE_KEY ? wasm.accessKeyDigest(env.MEMBERWIRE_KEY) : null;
  const handler = createHandler({ wasm, engine, keyDigest: () => digest, health: () => store.health() });
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

if (import.meta.main) {
  const handler = await createDenoHandler();
  console.log(`memberwire on Deno: data ${handler.file}${handler.resumed ? `, resumed ${handler.resumed} events` : ''}`);
  Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8787) }, (req) => handler.fetch(req, {}, undefined));
}
