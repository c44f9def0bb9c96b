// A fetch-shaped HTTP client on node:http and node:https: the Node server's `fetch` port for
// registrations (the engine's calls to the CRM). Node's own fetch (undici) spends several times
// the CPU per request: a PATCH with a small JSON answer over a kept-alive connection cost about
// 0.49 ms of CPU at both ends against 0.13 ms here (one process, 16 at a time), and a new member
// makes two or three such calls, on the same event loop that answers the posts.
//
// What callers get is what fetch gives them, for the requests a CRM call makes:
// - `init`: method, headers (an object, a Headers, or [name, value] pairs), a body (a string, a
//   Uint8Array or URLSearchParams), `signal` (an aborted request rejects with the signal's reason,
//   as fetch does: a TimeoutError for AbortSignal.timeout), `redirect` ('follow', 'manual', 'error');
// - the answer: status, statusText, ok, url, redirected, headers.get/has (repeated headers joined
//   with ", "), text(), json(); the body is read whole before the promise resolves (a CRM's
//   answers are small; more than 32 MiB is refused);
// - redirects as fetch follows them: at most 20; a 303, or a 301/302 answering a POST, goes on
//   as a GET without the body; a redirect to another origin drops the Authorization header;
// - gzip, deflate (zlib or raw) and br answers are decoded (it asks for them, as fetch does),
//   except for HEAD, 204 and 304;
// - connections are kept alive and reused. An idempotent request (GET, HEAD, PUT, DELETE,
//   OPTIONS) sent on a reused connection that the server had closed meanwhile (a reset before
//   any byte of an answer) is sent again on a new connection, at most three times; a POST or a
//   PATCH is not (the server may have read it), and fails as with fetch. Idle connections close
//   after 4 s, or a second before the server's `Keep-Alive: timeout` hint.
// Failures reject with a TypeError('fetch failed') whose `cause` is the socket's error, like
// fetch's; the message never carries the request (its headers hold the CRM's API token).

import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

const MAX_BODY = 32 * 1024 * 1024;
const MAX_REDIRECTS = 20;
const RETRIES_ON_STALE_CONNECTION = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * @param {{ idleMs?: number, maxBody?: number }} [o]
 * @returns {((url: string | URL, init?: object) => Promise<object>) & { close(): void }}
 */
export function createHttpClient({ idleMs = 4000, maxBody = MAX_BODY } = {}) {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: idleMs }),
    'https:': new https.Agent({ keepAlive: true, timeout: idleMs }),
  };

  async function fetchLike(input, init = {}) {
    let url = new URL(String(input));
    let method = (init.method ?? 'GET').toUpperCase();
    let headers = headerObject(init.headers);
    let body = bodyOf(init.body, headers);
    const signal = init.signal ?? null;
    const redirect = init.redirect ?? 'follow';
    for (let redirects = 0; ; redirects++) {
      const answer = await send(url, method, headers, body, signal);
      const location = REDIRECTS.has(answer.status) ? (answer.headers.location ?? null) : null;
      if (location === null || redirect === 'manual') return response(answer, url, redirects > 0);
      if (redirect === 'error') throw new TypeError('fetch failed: the server answered with a redirect');
      if (redirects >= MAX_REDIRECTS) throw new TypeError('fetch failed: too many redirects');
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new TypeError('fetch failed: a redirect to a URL that is not http(s)');
      if (answer.status === 303 ? method !== 'HEAD' : (answer.status === 301 || answer.status === 302) && method === 'POST') {
        method = 'GET';
        body = null;
        for (const h of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) delete headers[h];
      }
      if (next.origin !== url.origin) {
        headers = { ...headers };
        delete headers.authorization;
        delete headers.cookie;
        delete headers['proxy-authorization'];
      }
      url = next;
    }
  }

  function send(url, method, headers, body, signal) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TypeError(`fetch failed: ${url.protocol} URLs are not supported`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const agent = agents[url.protocol];
    const lib = url.protocol === 'https:' ? https : http;
    const outHeaders = { ...headers };
    if (body !== null) outHeaders['content-length'] = String(body.length);
    else if (method === 'POST' || method === 'PUT' || method === 'PATCH') outHeaders['content-length'] = '0';
    return new Promise((resolve, reject) => {
      let settled = false;
      let current = null;
      const finish = (fn, value) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        fn(value);
      };
      const onAbort = () => {
        current?.destroy();
        finish(reject, signal.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const attempt = (retriesLeft) => {
        let answered = false;
        const req = lib.request(url, { method, headers: outHeaders, agent });
        current = req;
        req.on('response', (res) => {
          answered = true;
          const chunks = [];
          let size = 0;
          const tooLarge = () => new TypeError('fetch failed: the answer is larger than the client accepts');
          res.on('data', (chunk) => {
            size += chunk.length;
            if (size > maxBody) {
              req.destroy();
              finish(reject, tooLarge());
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            // No body to decode: a HEAD's answer, 204 and 304 (fetch decodes none of them).
            const encoding = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304 ? '' : String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
            let body;
            try {
              body = decode(raw, encoding, maxBody);
            } catch (err) {
              finish(reject, err?.code === 'ERR_BUFFER_TOO_LARGE' ? tooLarge() : new TypeError('fetch failed: the answer could not be decoded', { cause: err }));
              return;
            }
            finish(resolve, { status: res.statusCode, statusText: res.statusMessage ?? '', headers: res.headers, body });
          });
          res.on('error', (err) => finish(reject, new TypeError('fetch failed', { cause: err })));
        });
        req.on('error', (err) => {
          if (settled) return;
          // The server closed a kept-alive connection just as this request went out on it: the
          // request never reached it, so it goes again on a fresh connection.
          // Only a request that may safely go twice: a reset does not prove the server never
          // read a POST (as fetch, which sends none again).
          if (!answered && req.reusedSocket && retriesLeft > 0 && IDEMPOTENT.has(method) && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
            attempt(retriesLeft - 1);
            return;
          }
          finish(reject, new TypeError('fetch failed', { cause: err }));
        });
        req.end(body ?? undefined);
      };
      attempt(RETRIES_ON_STALE_CONNECTION);
    });
  }

  fetchLike.close = async () => {
    agents['http:'].destroy();
    agents['https:'].destroy();
  };
  return fetchLike;
}

/** The request's headers as a plain object with lower-case names. */
function headerObject(given) {
  const out = {};
  if (!given) return out;
  const entries = typeof given.entries === 'function' && !Array.isArray(given) ? given.entries() : Array.isArray(given) ? given : Object.entries(given);
  for (const [name, value] of entries) {
    const key = String(name).toLowerCase();
    out[key] = key in out ? `${out[key]}, ${value}` : String(value);
  }
  out['accept'] ??= '*/*';
  out['accept-encoding'] ??= 'gzip, deflate, br';
  out['user-agent'] ??= 'memberwire';
  return out;
}

/** The body as bytes (null for none); URLSearchParams sets the form content type, as fetch does. */
function bodyOf(body, headers) {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
    return Buffer.from(body.toString(), 'utf8');
  }
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('this client sends a string, a Uint8Array or URLSearchParams as a body');
}

/**
 * The answer's body, decoded when the server compressed it (whole: a CRM's answers are small),
 * at most `max` bytes decoded. `deflate` is read in the zlib format the standard names, or raw,
 * as some servers send it (fetch reads both; the first byte tells them apart).
 */
function decode(body, encoding, max) {
  // An empty body stays empty, whatever it says it is encoded with (some proxies say so).
  if (!body.length) return body;
  // A stream cut short gives what it holds, as fetch does (no error for the missing end).
  const opts = { maxOutputLength: max, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body, opts);
    case 'deflate':
      return (body[0] & 0x0f) === 0x08 ? zlib.inflateSync(body, opts) : zlib.inflateRawSync(body, opts);
    case 'br':
      return zlib.brotliDecompressSync(body, { maxOutputLength: max, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    default:
      return body;
  }
}

/** The Response-like object callers read. */
function response({ status, statusText, headers, body }, url, redirected) {
  let used = false;
  const text = async () => {
    if (used) throw new TypeError('the body has already been read');
    used = true;
    return body.toString('utf8');
  };
  return {
    status,
    statusText,
    ok: status >= 200 && status <= 299,
    url: url.href,
    redirected,
    headers: {
      get(name) {
        const v = headers[String(name).toLowerCase()];
        if (v === undefined) return null;
        return Array.isArray(v) ? v.join(', ') : v;
      },
      has: (name) => headers[String(name).toLowerCase()] !== undefined,
    },
    text,
    json: async () => JSON.parse(await text()),
  };
}
