// Hash routes and notices carried across a navigation.

/** '#/members/m1?q=x' → { parts: ['members', 'm1'], params: URLSearchParams } */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, params: new URLSearchParams(query) };
}

/** Builds a hash route: route(['members', id], {q, page}); page 1 and empty values are left out. */
export function route(parts, params = {}) {
  const path = parts.map((p) => encodeURIComponent(p)).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (k === 'page' && Number(v) === 1) continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

let pending = null;

/** Shows a notice on the next screen rendered (after a navigation). */
export function flash(type, message) {
  pending = { type, message };
}

/** The flashed notice, once. */
export function takeFlash() {
  const f = pending;
  pending = null;
  return f;
}
