// Node host: loads the wasm from pkg/ synchronously. Everything else is host-independent.
import { readFileSync } from 'node:fs';
import * as wasm from '../../pkg/memberwire.js';

let loaded = null;
let exports = null;

/** The initialized wasm package (compiled once per process). */
export function loadWasm() {
  if (!loaded) {
    exports = wasm.initSync({ module: readFileSync(new URL('../../pkg/memberwire_bg.wasm', import.meta.url)) });
    loaded = wasm;
  }
  return loaded;
}

let compiled = null;
let instances = 0;

/**
 * A new, separate instance of the wasm package (its own module record and memory), for a host
 * that drops an instance that trapped: nothing of the old one is shared.
 */
export async function freshWasm() {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('../../pkg/memberwire_bg.wasm', import.meta.url)));
  instances += 1;
  const fresh = await import(`../../pkg/memberwire.js?instance=${instances}`);
  fresh.initSync({ module: compiled });
  return fresh;
}

/** The size of the wasm instance's linear memory in bytes (benchmarks). */
export function wasmMemoryBytes() {
  loadWasm();
  return exports.memory.buffer.byteLength;
}
