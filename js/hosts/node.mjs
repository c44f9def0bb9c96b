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

/** The size of the wasm instance's linear memory in bytes (benchmarks). */
export function wasmMemoryBytes() {
  loadWasm();
  return exports.memory.buffer.byteLength;
}
