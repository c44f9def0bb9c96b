// Shared machinery of the CRM sandboxes (keap.mjs, activecampaign.mjs): the sliding-window rate
// limiter, the fault queue, the audit log and the request pipeline that ties them together.
// Only Node's standard library and the web-standard Request/Response globals (Node 18+).

/** An HTTP error raised by a route; each sandbox turns it into its CRM's error body. */
export class HttpError extends Error {
  constructor(status, message, details = undefined) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.details = details;
  }
}

/** A JSON response. */
export function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** A response without a body (204). */
export function empty(status = 204, headers = {}) {
  return new Response(null, { status, headers });
}

/** Reads a JSON object body; a missing, malformed or non-object body is a 400. */
export async function readJsonObject(request) {
  const text = await request.text();
  if (text.trim() === '') throw new HttpError(400, 'A JSON request body is required');
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'The request body must be a JSON object');
  }
  return value;
}

/** A positive integer id from a JSON number or a string of digits, else null. */
export function parseId(value) {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) {
    const n = Number(value);
    return n > 0 ? n : null;
  }
  return null;
}

/** A loose but real email check: one @, no spaces, a dot in the domain. */
export function looksLikeEmail(value) {
  return typeof value === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}

/** Length in code points (what a CRM column limit counts, rather than UTF-16 units). */
export function codePointLength(text) {
  return [...text].length;
}

/** Cuts a string to at most `max` code points. */
export function truncateCodePoints(text, max) {
  return [...text].slice(0, max).join('');
}

// Query parameters whose values must never reach the audit log (credentials some clients put in
// URLs); page tokens and filters stay readable.
const SECRET_PARAM = /^(access_?token|api_?key|api_?token|key|token|secret|password|pass|auth|sig|signature)$/i;

/** The query string with credential-looking parameter values redacted. */
export function redactQuery(searchParams) {
  const out = new URLSearchParams();
  for (const [name, value] of searchParams) {
    out.append(name, SECRET_PARAM.test(name) ? '[redacted]' : value);
  }
  return out.toString();
}

function abortError(signal) {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Waits `ms` milliseconds (Infinity: until aborted), rejecting with the signal's AbortError
 * when the request is aborted. The default `sleep` of the sandboxes.
 */
export function realSleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      if (timer !== null) clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms)
      : null;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sliding-window rate limiter over any windows: `specs` is `[{limit, ms, unit}]`. Only admitted
 * requests count; a request at time t stops counting at t + ms. A refusal names the full window
 * and when it frees a slot (`retryAfterMs`); an admission reports the first window, or with
 * `report: 'tightest'` the one with the fewest slots left (as an X-RateLimit-Remaining header
 * would).
 */
export function createWindowLimiter(specs, now, { report = 'first' } = {}) {
  const windows = specs.map((w) => {
    if (!Number.isInteger(w.limit) || w.limit < 1) throw new TypeError(`rateLimit: ${w.unit} limit must be a positive integer`);
    return { ...w, hits: [] };
  });
  if (windows.length === 0) return null;
  const snapshot = (w) => ({ unit: w.unit, ms: w.ms, limit: w.limit, used: w.hits.length, available: Math.max(0, w.limit - w.hits.length) });
  return {
    /** Admits the request or reports the window that refuses it. */
    admit() {
      const t = now();
      for (const w of windows) {
        while (w.hits.length > 0 && w.hits[0] <= t - w.ms) w.hits.shift();
      }
      const full = windows.find((w) => w.hits.length >= w.limit);
      if (full) return { allowed: false, window: snapshot(full), windows: windows.map(snapshot), retryAfterMs: full.hits[0] + full.ms - t };
      for (const w of windows) w.hits.push(t);
      const shown = report === 'tightest' ? windows.reduce((a, b) => (b.limit - b.hits.length < a.limit - a.hits.length ? b : a)) : windows[0];
      return { allowed: true, window: snapshot(shown), windows: windows.map(snapshot) };
    },
    reset() {
      for (const w of windows) w.hits.length = 0;
    },
  };
}

/**
 * The usual windows: `config` is `{perSecond, perMinute, perHour, perDay}` (each optional) or
 * false.
 */
export function createRateLimiter(config, now) {
  if (config === false || config === null || config === undefined) return null;
  const specs = [
    [config.perSecond, 1000, 'second'],
    [config.perMinute, 60_000, 'minute'],
    [config.perHour, 3_600_000, 'hour'],
    [config.perDay, 86_400_000, 'day'],
  ]
    .filter(([limit]) => limit !== undefined)
    .map(([limit, ms, unit]) => ({ limit, ms, unit }));
  return createWindowLimiter(specs, now);
}

/**
 * Queue of injected faults. A fault is
 *   { status?, body?, headers?, delayMs?, phase?: 'before' | 'after', match?: {method?, pathPrefix?} }
 * and is consumed by the first request it matches. phase 'before' (default) acts before the
 * request is processed; 'after' lets the request change state and then delays or replaces the
 * response (the "committed, but the answer was lost" case).
 */
export function createFaultQueue() {
  let queue = [];

  function normalize(fault) {
    if (fault === null || typeof fault !== 'object') throw new TypeError('a fault must be an object');
    const { status, body, headers, delayMs, phase = 'before', match = {} } = fault;
    if (status !== undefined && !(Number.isInteger(status) && status >= 200 && status <= 599)) {
      throw new TypeError('fault.status must be an HTTP status code');
    }
    if (delayMs !== undefined && !(typeof delayMs === 'number' && delayMs >= 0)) {
      throw new TypeError('fault.delayMs must be a number >= 0 (Infinity: until the request is aborted)');
    }
    if (status === undefined && delayMs === undefined) {
      throw new TypeError('a fault needs a status, a delayMs, or both');
    }
    if (phase !== 'before' && phase !== 'after') throw new TypeError("fault.phase is 'before' or 'after'");
    return {
      status,
      body,
      headers: headers ? { ...headers } : undefined,
      delayMs,
      phase,
      match: {
        method: match.method ? String(match.method).toUpperCase() : undefined,
        pathPrefix: match.pathPrefix ? String(match.pathPrefix) : undefined,
      },
    };
  }

  return {
    add(faults) {
      const list = Array.isArray(faults) ? faults : [faults];
      const normalized = list.map(normalize); // validate all before queueing any
      queue.push(...normalized);
    },
    take(method, path) {
      const i = queue.findIndex(
        (f) =>
          (f.match.method === undefined || f.match.method === method) &&
          (f.match.pathPrefix === undefined || path.startsWith(f.match.pathPrefix)),
      );
      return i < 0 ? null : queue.splice(i, 1)[0];
    },
    pending() {
      return structuredClone(queue);
    },
    clear() {
      queue = [];
    },
  };
}

/**
 * Audit log: one sequence for every entry kind ('request', 'tag', 'field'), so tests can check
 * order even when the injected clock does not move. Entries never hold header values or
 * custom-field contents.
 */
export function createAuditLog(now) {
  let seq = 0;
  let entries = [];
  return {
    record(kind, fields) {
      const entry = { seq: ++seq, kind, time: now(), ...fields };
      entries.push(entry);
      return entry; // requests fill in their status when they finish
    },
    list(kind) {
      return structuredClone(kind ? entries.filter((e) => e.kind === kind) : entries);
    },
    clear() {
      seq = 0;
      entries = [];
    },
  };
}

/**
 * Matches a request against a route table of [method, RegExp, handler]. Handlers get
 * (request, url, ...captures). An unknown path is a 404, a known path with another method a 405.
 */
export function dispatch(routes, request, url) {
  let pathKnown = false;
  for (const [method, pattern, handler] of routes) {
    const m = pattern.exec(url.pathname);
    if (!m) continue;
    pathKnown = true;
    if (method !== request.method) continue;
    let captures;
    try {
      captures = m.slice(1).map(decodeURIComponent);
    } catch {
      throw new HttpError(404, 'Malformed path');
    }
    return handler(request, url, ...captures);
  }
  if (pathKnown) throw new HttpError(405, `Method ${request.method} is not allowed here`);
  throw new HttpError(404, 'No such endpoint in this sandbox');
}

/**
 * The request pipeline shared by both sandboxes:
 *   audit (on arrival) → authenticate → rate limit → fault (before) → route → fault (after).
 * Product-specific behaviour comes in through the hooks:
 *   authenticate(request) -> Response | null      (a Response refuses the request)
 *   rateLimited(rate) -> Response                 (the CRM's 429)
 *   decorate(response, rate) -> Response          (e.g. quota headers), optional
 *   faultResponse(fault, rate, url) -> Response   (injected status)
 *   errorResponse(HttpError, url) -> Response     (the CRM's error body)
 *   route(request, url) -> Response | Promise<Response>
 */
export function createPipeline({ audit, limiter, faults, sleep, hooks }) {
  return async function handle(request) {
    // A Request, or what Node's bridge hands over (js/server/http-bridge.mjs: the same members).
    if (typeof request?.url !== 'string' || typeof request?.method !== 'string' || typeof request?.text !== 'function') {
      throw new TypeError('handle() takes a Request; use sandbox.fetch(input, init) for fetch-style calls');
    }
    const url = new URL(request.url);
    const entry = audit.record('request', {
      method: request.method,
      path: url.pathname,
      query: redactQuery(url.searchParams),
      status: null,
    });
    let rate = null;
    const finish = (response) => {
      const out = rate && hooks.decorate ? hooks.decorate(response, rate) : response;
      entry.status = out.status;
      return out;
    };

    try {
      const refused = hooks.authenticate(request);
      if (refused) return finish(refused);

      if (limiter) {
        const verdict = limiter.admit();
        if (!verdict.allowed) {
          entry.rateLimited = true;
          entry.status = 429;
          return hooks.rateLimited(verdict);
        }
        rate = verdict;
      }

      const fault = faults.take(request.method, url.pathname);
      if (fault) entry.fault = { phase: fault.phase, status: fault.status, delayMs: fault.delayMs };
      if (fault?.phase === 'before') {
        if (fault.delayMs !== undefined) await sleep(fault.delayMs, request.signal);
        if (fault.status !== undefined) return finish(hooks.faultResponse(fault, rate, url));
      }

      let response;
      try {
        response = await hooks.route(request, url);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        response = hooks.errorResponse(err, url);
      }

      if (fault?.phase === 'after') {
        if (fault.delayMs !== undefined) await sleep(fault.delayMs, request.signal);
        if (fault.status !== undefined) response = hooks.faultResponse(fault, rate, url);
      }
      return finish(response);
    } catch (err) {
      if (err?.name === 'AbortError' || request.signal?.aborted) {
        entry.status = 0;
        entry.aborted = true;
        throw err;
      }
      // A bug in the sandbox itself: answer 500 and keep the message (never request data).
      entry.status = 500;
      entry.error = String(err?.message ?? err);
      return hooks.errorResponse(new HttpError(500, 'Sandbox internal error'), url);
    }
  };
}

/** fetch-compatible wrapper around handle(). */
export function fetchFor(handle) {
  return (input, init) => handle(input instanceof Request && init === undefined ? input : new Request(input, init));
}

/** ISO-8601 timestamp in UTC for a millisecond clock value. */
export function isoTime(ms) {
  return new Date(ms).toISOString();
}

/** Opaque page tokens (base64url JSON); a token that does not decode is a 400. */
export function encodePageToken(offset, scope) {
  return Buffer.from(JSON.stringify({ o: offset, s: scope })).toString('base64url');
}

export function decodePageToken(token, scope) {
  try {
    const { o, s } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Number.isInteger(o) && o >= 0 && s === scope) return o;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'Invalid page_token');
}
