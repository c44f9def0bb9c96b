// The wasm core in the browser: previews and impacts come only from these functions
// (pkg/memberwire.js, loaded by the browser host). Nothing here recomputes them in JS.
import { loadWasm } from '../js/hosts/browser.mjs';

let loading = null;

/** The initialized wasm package (fetches /pkg/memberwire_bg.wasm once). */
export function wasm() {
  loading ??= loadWasm().catch((err) => {
    loading = null;
    throw Object.assign(new Error(`The WebAssembly core could not be loaded: ${err?.message ?? err}`), { code: 'wasm_unavailable' });
  });
  return loading;
}
