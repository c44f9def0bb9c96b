// Cloudflare Workers (workerd) host: the wasm arrives as a compiled module import; the handler
// is the same edge function as everywhere. Bindings (env): MEMBERWIRE_KEY (the access key),
// MEMBERWIRE_CONFIG (RegistrarConfig as JSON; the CRM token may instead come from
// MEMBERWIRE_CRM_TOKEN).
//
// State here is per isolate and in memory: enough to parse, verify and run posts end to end
// against a CRM, not to keep members across isolates. A durable Workers deployment needs a
// directory and event store on D1 or Durable Objects (the ports in js/adapters/ are the seam).
import wasmModule from '../../pkg/memberwire_bg.wasm';
import * as wasm from '../../pkg/memberwire.js';
import { createEngine } from '../engine/engine.mjs';
import { createHandler } from '../engine/handler.mjs';
import { memoryDirectory } from '../adapters/directory.mjs';
import { memoryEvents } from '../adapters/events.mjs';

wasm.initSync({ module: wasmModule });

let handler = null;

async function build(env) {
  const config = env.MEMBERWIRE_CONFIG ? JSON.parse(env.MEMBERWIRE_CONFIG) : {};
  if (config.crm && env.MEMBERWIRE_CRM_TOKEN) config.crm.token = env.MEMBERWIRE_CRM_TOKEN;
  const engine = createEngine({
    wasm,
    config,
    events: memoryEvents(),
    directory: memoryDirectory(wasm),
  });
  const digest = env.MEMBERWIRE_KEY ? wasm.accessKeyDigest(env.MEMBERWIRE_KEY) : null;
  return createHandler({ wasm, engine, keyDigest: () => digest });
}

export default {
  async fetch(request, env, ctx) {
    handler ??= await build(env);
    return handler.fetch(request, env, ctx);
  },
};
