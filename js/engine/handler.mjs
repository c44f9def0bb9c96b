// The edge function: a `fetch(request, env, ctx)` handler, the same on every host (Workers,
// Deno, Node). Routes CRM posts to the engine and answers JSON, always.
//
//   POST /hooks/keap            Keap "Send an HTTP post" (form)
//   POST /hooks/keap-rest       Keap REST hooks (JSON); answers the X-Hook-Secret handshake
//   POST /hooks/activecampaign  ActiveCampaign webhooks (form)
//   POST /hooks/kit, /hooks/drip, /hooks/mailerlite, /hooks/highlevel, /hooks/hubspot
//                               those CRMs' webhooks (JSON)
//   POST /hooks/mailchimp       Mailchimp audience webhooks (form; GET checks the URL)
//   POST /hooks/json            generic JSON
//   POST /hooks/mapped/NAME     a source the owner mapped (Settings → Sources)
//   GET  /health                liveness, version
//   GET|POST /set-password      the page that consumes a set-password link, and its form post
//
// Hook routes need the access key: `Authorization: Bearer K`, `X-Memberwire-Key: K`, or `?key=K`
// (Keap's HTTP post can only put it in the URL), checked in constant time against its digest.

import { SET_PASSWORD_PAGE } from './set-password-page.mjs';
import { attemptLimiter } from './attempts.mjs';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/**
 * A JSON answer's text, kept on the Response under this symbol: Node's HTTP bridge writes it as
 * it is instead of reading it back through the Response's body stream (js/server/http-bridge.mjs).
 */
export const BODY_TEXT = Symbol.for('memberwire.bodyText');

export function json(status, body, headers = {}) {
  const text = JSON.stringify(body);
  const init = { status, headers: { ...JSON_HEADERS, ...headers } };
  if (textResponses) return new TextResponse(text, init);
  const res = new Response(text, init);
  res[BODY_TEXT] = text;
  return res;
}

let textResponses = false;

/**
 * For a host that writes JSON answers from their text (BODY_TEXT), as Node's HTTP bridge does:
 * from here on `json` answers with a Response that keeps its text and makes a body stream only if
 * one is asked for (a Response's stream costs about 10 us a post on Node, most of what making the
 * answer costs). Workers and Deno read a Response's body from its internals, not through its
 * accessors, so only such a host may call this.
 */
export function answerWithText() {
  textResponses = true;
}

/** A Response whose body is its text: read as text, JSON or bytes without a stream. */
class TextResponse extends Response {
  #text;
  #stream = null;
  #used = false;
  constructor(text, init) {
    super(null, init);
    this.#text = text;
    this[BODY_TEXT] = text;
  }
  get body() {
    if (this.#used && !this.#stream) return new Response('').body;
    return (this.#stream ??= new Response(this.#text).body);
  }
  get bodyUsed() {
    return this.#used || Boolean(this.#stream?.locked);
  }
  #take() {
    if (this.bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    // Once its stream was handed out, the body is whatever is left of that stream.
    if (this.#stream) return new Response(this.#stream).text();
    this.#used = true;
    return Promise.resolve(this.#text);
  }
  text() {
    return this.#take();
  }
  async json() {
    return JSON.parse(await this.#take());
  }
  async arrayBuffer() {
    const bytes = new TextEncoder().encode(await this.#take());
    return bytes.buffer;
  }
  async bytes() {
    return new TextEncoder().encode(await this.#take());
  }
  async blob() {
    return new Blob([await this.#take()], { type: this.headers.get('content-type') ?? '' });
  }
  clone() {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    return new TextResponse(this.#text, { status: this.status, statusText: this.statusText, headers: this.headers });
  }
}

export function error(status, code, message, headers) {
  return json(status, { error: { code, message } }, headers);
}

/**
 * @param {object} o
 * @param {object} o.wasm        the initialized wasm package
 * @param {object} o.engine      from createEngine
 * @param {() => string|null} o.keyDigest  the stored access-key digest (may change on rotation)
 * @param {(route: string) => string|null} [o.routeKeyDigest]  a hook route's own key digest
 *   (`keap`, `mapped/shop`): where one is set, that route takes it instead of the shared key
 * @param {number} [o.budgetMs]  how long a post may take before it is answered 202 `queued`
 * @param {number} [o.maxBodyBytes]
 * @param {(request: Request, url: URL, ctx: object) => Promise<Response|null>} [o.extra]  more routes
 *   (the admin API); null means 404
 * @param {() => ({code: string, message: string}|null)} [o.health]  the store's failure, if any:
 *   /health answers 503 with it and posts are refused with 503 until it clears
 * @param {{limit: number, windowMs: number}} [o.setPasswordLimit]  set-password attempts per client
 * @param {(err: Error) => void} [o.onFatal]  called when the wasm instance trapped (the host replaces it)
 */
export function createHandler({ wasm, engine, keyDigest, routeKeyDigest = () => null, budgetMs = 3000, maxBodyBytes = 1024 * 1024, extra, health = () => null, setPasswordLimit = { limit: 20, windowMs: 10 * 60_000 }, onFatal = () => {} }) {
  const attempts = attemptLimiter(setPasswordLimit);
  return {
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      try {
        if (url.pathname === '/health') {
          const failure = health();
          const keyed = authorized(request, url, wasm, keyDigest());
          if (failure) {
            // The store's own words (they name files) only for callers holding the access key.
            const message = keyed ? failure.message : 'the store cannot be used right now; the server log says why';
            return json(503, { ok: false, version: wasm.version(), error: { code: failure.code, message } });
          }
          // Event counts only for callers holding the access key (monitoring, benchmarks).
          const detail = keyed ? { events: await engine.counts() } : {};
          return json(200, { ok: true, version: wasm.version(), ...detail });
        }
        if (url.pathname === '/set-password') return await setPassword(request, engine, attempts, clientOf(request, ctx));
        const source = wasm.sourceForRoute(url.pathname);
        if (!source) {
          const r = extra ? await extra(request, url, ctx) : null;
          return r ?? error(404, 'not_found', `no route ${url.pathname}`);
        }
        // The route's own key where it has one, else the shared access key.
        const route = url.pathname.replace(/^\/hooks\//, '').replace(/\/+$/, '');
        const digest = routeKeyDigest(route) ?? keyDigest();
        // Mailchimp checks a webhook's URL with a GET before it saves it.
        if (source === 'mailchimp' && (request.method === 'GET' || request.method === 'HEAD')) {
          if (!authorized(request, url, wasm, digest)) return error(401, 'unauthorized', 'a valid access key is required');
          return json(200, { ok: true, verified: true });
        }
        if (request.method !== 'POST') {
          if (source === 'mailchimp') return error(405, 'method_not_allowed', `${url.pathname} accepts POST (and GET, which checks the URL)`, { allow: 'GET, HEAD, POST' });
          return error(405, 'method_not_allowed', `${url.pathname} accepts POST only`, { allow: 'POST' });
        }
        if (!authorized(request, url, wasm, digest)) {
          return error(401, 'unauthorized', 'a valid access key is required: send it as `Authorization: Bearer KEY`, `X-Memberwire-Key: KEY` or `?key=KEY`');
        }
        // A store that cannot write would half-record the post: refuse it whole instead, so the
        // CRM sends it again later.
        const failure = health();
        if (failure) return error(503, failure.code, `memberwire cannot record posts right now (${failure.code}); send it again later`, { 'retry-after': '30' });
        const body = await readBody(request, maxBodyBytes);
        if (!body) return error(413, 'body_too_large', `the body is larger than ${maxBodyBytes} bytes`);
        // A mapped source is found by its route's name, so the route goes to the core.
        return await hook(source === 'mapped' ? url.pathname : source, request, body, { engine, budgetMs, ctx });
      } catch (err) {
        if (err instanceof WebAssembly.RuntimeError) {
          // Nothing more runs on this instance: the host replaces it. The post was not recorded.
          onFatal(err);
          return error(503, 'restarting', 'memberwire is restarting its engine; send the post again in a moment', { 'retry-after': '5' });
        }
        if (err?.code && err?.status) return error(err.status, err.code, err.message);
        // Never echo an unexpected error's details: they could hold request data.
        console.error(`memberwire: internal error on ${request.method} ${url.pathname}: ${err?.name ?? 'Error'}`);
        return error(500, 'internal', 'memberwire could not process this request; nothing it accepted is lost');
      }
    },
  };
}

async function hook(source, request, body, { engine, budgetMs, ctx }) {
  const accepted = await engine.accept(source, request.headers, body);
  if (accepted.kind === 'hook_verification') {
    // The core validated the secret as a safe header value; echo it as Keap asks.
    return json(200, { ok: true, verified: true }, { 'x-hook-secret': request.headers.get('x-hook-secret').trim() });
  }
  if (accepted.kind === 'ignored') return json(200, { outcome: 'ignored', reason: accepted.reason });
  // Recorded and handed to a queue (Workers): answered now, the consumer does the work.
  if (accepted.queued) {
    const q = accepted.queued;
    return json(202, q.length === 1 ? { outcome: 'queued', event: q[0] } : { outcome: 'queued', events: q });
  }
  const { runs } = accepted;
  // Every event is durably recorded by now; what is not finished within the budget goes on in
  // the background (ctx.waitUntil on Workers; the process keeps running on Node and Deno).
  const all = Promise.all(runs.map((r) => r.done));
  ctx?.waitUntil?.(all);
  let timer;
  const finals = await Promise.race([all, new Promise((resolve) => (timer = setTimeout(() => resolve(null), budgetMs)))]);
  clearTimeout(timer);
  if (runs.length === 1) {
    const f = finals?.[0];
    if (f?.state === 'done') return json(200, present(f.outcome));
    return json(202, { outcome: 'queued', event: runs[0].eventId });
  }
  if (finals && finals.every((f) => f.state === 'done')) {
    return json(200, { outcome: 'processed', results: finals.map((f) => present(f.outcome)) });
  }
  return json(202, { outcome: 'queued', events: runs.map((r) => r.eventId) });
}

/** The answer for one finished event: ids and tags, never a credential. */
export function present(o) {
  const out = { outcome: o.outcome, event: o.event };
  if (o.member) out.member = { id: o.member.id, email: o.member.email, contactId: o.member.contactId ?? null, tags: o.member.tags };
  if (o.conflict) out.conflict = o.conflict;
  return out;
}

function authorized(request, url, wasm, digest) {
  if (!digest) return false;
  const auth = request.headers.get('authorization');
  const presented =
    (auth && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : null) ??
    request.headers.get('x-memberwire-key') ??
    url.searchParams.get('key');
  return typeof presented === 'string' && presented.length > 0 && presented.length <= 200 && wasm.accessKeyMatches(presented, digest);
}

/** The body as bytes, or null when it is over `max` (read no further than that). */
export async function readBody(request, max) {
  // Node's bridge reads the bytes straight from its stream (js/server/http-bridge.mjs).
  if (typeof request.readBodyUpTo === 'function') return request.readBodyUpTo(max);
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) return null;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Who is asking: the socket's peer on Node, Cloudflare's connecting address on Workers. */
function clientOf(request, ctx) {
  return ctx?.remoteAddress ?? request.headers.get('cf-connecting-ip') ?? 'unknown';
}

async function setPassword(request, engine, attempts, client) {
  if (request.method === 'GET') {
    return new Response(SET_PASSWORD_PAGE, {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
      },
    });
  }
  if (request.method !== 'POST') return error(405, 'method_not_allowed', '/set-password accepts GET and POST', { allow: 'GET, POST' });
  // Guessing tokens is bounded per client (the form itself needs a handful of tries at most).
  const wait = attempts.retryAfter(client);
  if (wait) return error(429, 'too_many_attempts', `too many attempts from this address; try again in ${wait} s`, { 'retry-after': String(wait) });
  attempts.record(client);
  const body = await readBody(request, 16 * 1024);
  if (!body) return error(413, 'body_too_large', 'the body is larger than 16 KiB');
  let input;
  try {
    input = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return error(400, 'malformed_body', 'send {"token": "...", "password": "..."} as JSON');
  }
  if (typeof input?.token !== 'string' || typeof input?.password !== 'string') {
    return error(400, 'malformed_body', 'send {"token": "...", "password": "..."} as JSON');
  }
  const r = await engine.setPassword(input.token, input.password);
  if (!r.ok) return error(400, 'invalid_token', 'this link is invalid, expired or already used: ask the site for a new one');
  return json(200, { ok: true, email: r.email });
}
