// Deno host: `deno run --allow-read --allow-net --allow-env js/hosts/deno.mjs`. Serves the edge
// function with Deno.serve, with in-memory state (as the Workers host; see js/hosts/worker.mjs).
import * as wasm from '../../pkg/memberwire.js';
import { createEngine } from '../engine/engine.mjs';
import { createHandler } from '../engine/handler.mjs';
import { memoryDirectory } from '../adapters/directory.mjs';
import { memoryEvents } from '../adapters/events.mjs';

wasm.initSync({ module: await Deno.readFile(new URL('../../pkg/memberwire_bg.wasm', import.meta.url)) });

export async function createDenoHandler(env = Deno.env.toObject()) {
  const config = env.MEMBERWIRE_CONFIG ? JSON.parse(env.MEMBERWIRE_CONFIG) : {};
  const engine = createEngine({ wasm, config, events: memoryEvents(), directory: memoryDirectory(wasm) });
  const digest = env.MEMBERWIRE_KEY ? wasm.accessKeyDigest(env.MEMBERWIRE_KEY) : null;
  return createHandler({ wasm, engine, keyDigest: () => digest });
}

if (import.meta.main) {
  const handler = await createDenoHandler();
  Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8787) }, (req) => handler.fetch(req, {}, undefined));
}
