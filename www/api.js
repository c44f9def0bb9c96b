// The admin API client (docs/admin-api.md). Same-origin cookies; the CSRF token from the session
// answer goes on every non-GET request.
//
// Inside wp-admin (the WordPress plugin's pages) the page names another base: the plugin's REST
// proxy (`data-api-base` on #app, either /wp-json/memberwire/v1/admin or the ?rest_route= form),
// which checks the WordPress session with the `data-nonce` sent as X-WP-Nonce and calls
// memberwire with a token it keeps server-side.

const host = typeof document === 'undefined' ? null : document.getElementById('app');
/** {base, nonce, route} inside wp-admin; null on memberwire's own admin page. */
export const embedded = host?.dataset.apiBase ? { base: host.dataset.apiBase.replace(/\/+$/, ''), nonce: host.dataset.nonce ?? '', route: host.dataset.route ?? 'members' } : null;

let csrf = null;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code ?? `http_${status}`;
  }
}

export function setCsrf(token) {
  csrf = token ?? null;
}

/** Called when the server answers 401 on a route other than the session ones. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** api('GET', '/members', null, {q: 'x'}) → parsed JSON. Throws ApiError. */
export async function api(method, path, body = undefined, query = undefined) {
  let url = embedded ? `${embedded.base}${path}` : `/api${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    const qs = params.toString();
    if (qs) url += `${url.includes('?') ? '&' : '?'}${qs}`;
  }
  const headers = { Accept: 'application/json' };
  if (embedded) headers['X-WP-Nonce'] = embedded.nonce;
  else if (method !== 'GET' && method !== 'HEAD') {
    if (csrf) headers['X-Memberwire-CSRF'] = csrf;
  }
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check that memberwire is running.');
  }
  const textBody = await res.text();
  let data = null;
  if (textBody) {
    try {
      data = JSON.parse(textBody);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data?.error ?? {};
    const err = new ApiError(res.status, e.code, e.message ?? (res.status === 429 ? 'Too many attempts; wait a minute.' : `The server answered ${res.status}.`));
    if (res.status === 401 && !path.startsWith('/session') && !path.startsWith('/setup')) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path, query) => api('GET', path, undefined, query);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body = {}) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);
