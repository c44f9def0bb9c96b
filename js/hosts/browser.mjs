// Browser host: fetches and instantiates the wasm (await once), for the admin page's previews.
import init, * as wasm from '../../pkg/memberwire.js';

let ready = null;

/** The initialized wasm package. `url` overrides where memberwire_bg.wasm is served from. */
export function loadWasm(url) {
  ready ??= init(url ? { module_or_path: url } : undefined).then(() => wasm);
  return ready;
}
