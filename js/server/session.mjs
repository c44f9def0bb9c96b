// Administrator sessions for the admin API: the password (bcrypt `$2y$`, hashed and checked by
// the wasm), session cookies, CSRF tokens, the Origin check and the failed-login limit.
//
// Sessions live in this process's memory only: a restart logs every administrator out (they
// log in again; nothing else is lost). The cookie holds 32 random bytes; the map is keyed by
// their SHA-256, so not even a heap dump of the map holds a usable cookie.

import { createHash, timingSafeEqual } from 'node:crypto';

const ADMIN = 'admin';
// A session's last use is written back at most this often (its idle timer survives restarts
// to within this much).
const TOUCH_EVERY_MS = 60_000;
export const COOKIE = 'mw_session';
export const CSRF_HEADER = 'x-memberwire-csrf';
const IDLE_MS = 12 * 3600 * 1000;
// Failed logins back off; they never lock the administrator out. A client with FAIL_LIMIT
// failures in FAIL_WINDOW_MS may still try once every CLIENT_SPACING_MS after its last failure;
// once the account has ACCOUNT_LIMIT failures in ACCOUNT_WINDOW_MS (from anywhere), every client
// together tries at most once every ACCOUNT_SPACING_MS. A right password always gets in at its
// turn, and a guesser gets a handful of tries a minute per address.
const FAIL_WINDOW_MS = 60_000;
const FAIL_LIMIT = 10;
const CLIENT_SPACING_MS = 10_000;
const ACCOUNT_WINDOW_MS = 10 * 60_000;
const ACCOUNT_LIMIT = 100;
const ACCOUNT_SPACING_MS = 1_000;
const ACCOUNT = '*account*';
const MAX_SESSIONS = 1000;
// API tokens: for a server that calls the admin API on the administrator's behalf (the WordPress
// plugin's wp-admin pages). Sent as `Authorization: Bearer mwt_...`; only their SHA-256 digests
// are stored, under this setting.
const API_TOKENS = 'api-tokens';
const MAX_API_TOKENS = 20;
const TOKEN_PREFIX = 'mwt_';

export class AuthError extends Error {
  constructor(status, code, message, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function randomToken() {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64url');
}

const digest = (s) => createHash('sha256').update(s).digest('base64url');

/** Constant-time string equality (false at once when the lengths differ: lengths are not secret). */
export function safeEqual(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/** Every value the Cookie header gives `name` (a planted duplicate must not hide the real one). */
export function cookieValues(header, name) {
  const out = [];
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i >= 1 && part.slice(0, i).trim() === name) out.push(part.slice(i + 1).trim());
  }
  return out;
}

/**
 * @param {object} o
 * @param {object} o.wasm        verifyPassword, accessKeyMatches
 * @param {object} o.settings    named settings (the administrator's password hash)
 * @param {object} [o.stored]    where sessions persist ({load, put, delete, clear}); none: memory only
 * @param {object} o.registrar   hashNewPassword (the engine's: same policy and bcrypt cost)
 * @param {() => string|null} o.keyDigest  the current access-key digest
 * @param {string[]|(() => string[])} [o.origins] the origins this server is reached at (its public URL's, its listening address's)
 * @param {() => number} [o.now]
 * @param {(line: string) => void} [o.log]
 */
export function createSessions({ wasm, settings, stored = null, registrar, keyDigest, origins = [], now = Date.now, log = () => {} }) {
  const sessions = new Map(); // sha256(sid) -> {csrf, createdAt, lastSeen}
  const failures = new Map(); // ip -> [times]
  let admin; // undefined: not read yet; null: none
  let apiTokens; // undefined: not read yet; else [{id, label, digest, createdAt}]
  let tokensReadAt = 0;
  let tokenWrite = Promise.resolve();

  // Re-read now and then: on Workers another isolate may have created or revoked one.
  async function readTokens() {
    if (apiTokens === undefined || now() - tokensReadAt > 10_000) {
      apiTokens = (await settings.get(API_TOKENS))?.tokens ?? [];
      tokensReadAt = now();
    }
    return apiTokens;
  }
  /** Read, change and write the token list one change at a time. */
  function changeTokens(fn) {
    const run = tokenWrite.catch(() => {}).then(async () => {
      apiTokens = undefined;
      const list = await readTokens();
      const { next, result } = fn(list);
      if (next !== list) {
        await settings.put(API_TOKENS, { tokens: next });
        apiTokens = next;
      }
      return result;
    });
    tokenWrite = run;
    return run;
  }
  const tokenView = ({ id, label, createdAt }) => ({ id, label, createdAt });

  async function readAdmin() {
    if (admin === undefined) {
      admin = (await settings.get(ADMIN)) ?? null;
    }
    return admin;
  }

  /** The first administrator: stored only if none exists (concurrent setups: one wins). */
  async function createAdmin(passwordHash) {
    const t = new Date(now()).toISOString();
    const next = { passwordHash, createdAt: t, updatedAt: t };
    if (!(await settings.putIfAbsent(ADMIN, next))) {
      admin = undefined; // another setup won: read theirs next time
      return false;
    }
    admin = next;
    return true;
  }

  // Persisting is best effort after the first write: a failed touch or delete is logged, and
  // the session in memory stays right.
  const persist = (what, p) => p?.catch((err) => log(`admin: could not ${what} a session: ${err?.code ?? err?.name ?? 'error'}`));
  const forget = (k) => {
    sessions.delete(k);
    if (stored) persist('remove', stored.delete(k));
  };

  function sweep() {
    const t = now();
    for (const [k, s] of sessions) if (t - s.lastSeen > IDLE_MS) forget(k);
    for (const [key, times] of failures) {
      const live = times.filter((x) => t - x < (key === ACCOUNT ? ACCOUNT_WINDOW_MS : FAIL_WINDOW_MS));
      if (live.length) failures.set(key, live);
      else {
        failures.delete(key);
        turns.delete(key);
      }
    }
  }

  const recent = (key, windowMs) => (failures.get(key) ?? []).filter((x) => now() - x < windowMs);
  const turns = new Map(); // key -> when its last throttled attempt was let through
  /** The failure counters an attempt from `ip` counts against: the client's, and the account's. */
  // API tokens (256 random bits: not guessable) count against the client only, so nobody can
  // slow every token holder down by failing on purpose from elsewhere.
  const gates = (ip, { accountWide = true } = {}) => [
    [ip, { windowMs: FAIL_WINDOW_MS, limit: FAIL_LIMIT, spacing: CLIENT_SPACING_MS }],
    ...(accountWide ? [[ACCOUNT, { windowMs: ACCOUNT_WINDOW_MS, limit: ACCOUNT_LIMIT, spacing: ACCOUNT_SPACING_MS }]] : []),
  ];

  /** Lets an attempt through, or throws 429 with the seconds until this client's next turn. */
  function checkRate(ip, options) {
    const t = now();
    const throttled = [];
    for (const [key, g] of gates(ip, options)) {
      const times = recent(key, g.windowMs);
      if (times.length < g.limit) continue;
      const next = Math.max(times.at(-1), turns.get(key) ?? 0) + g.spacing;
      if (t < next) {
        const retry = Math.max(1, Math.ceil((next - t) / 1000));
        throw new AuthError(429, 'too_many_attempts', `too many failed logins; the next try is allowed in ${retry} s`, { 'retry-after': String(retry) });
      }
      throttled.push(key);
    }
    for (const key of throttled) turns.set(key, t);
  }

  function fail(ip, options) {
    for (const [key, g] of gates(ip, options)) {
      const list = recent(key, g.windowMs);
      list.push(now());
      failures.set(key, list);
    }
    if (failures.size > 10_000) sweep();
  }

  function keyMatches(key) {
    const d = keyDigest();
    return typeof key === 'string' && key.length > 0 && key.length <= 200 && Boolean(d) && wasm.accessKeyMatches(key, d);
  }

  async function open() {
    if (sessions.size >= MAX_SESSIONS) sweep();
    if (sessions.size >= MAX_SESSIONS) {
      // Drop the least recently used one rather than refuse the administrator.
      let oldest = null;
      for (const [k, s] of sessions) if (!oldest || s.lastSeen < oldest[1].lastSeen) oldest = [k, s];
      forget(oldest[0]);
    }
    const sid = randomToken();
    const csrf = randomToken();
    const s = { csrf, createdAt: now(), lastSeen: now(), stored: now() };
    // Durable before the cookie is handed out: a restart keeps the administrator logged in.
    if (stored) await stored.put(digest(sid), s);
    sessions.set(digest(sid), s);
    return { sid, csrf };
  }

  function cookieFor(url, sid, maxAge) {
    const secure = url.protocol === 'https:' ? '; Secure' : '';
    return `${COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${secure}`;
  }

  return {
    cookieFor,

    /** Loads the sessions kept by the store (at start). */
    async restore() {
      if (!stored) return 0;
      const t = now();
      for (const r of await stored.load()) {
        if (t - r.last_seen > IDLE_MS) persist('remove', stored.delete(r.sid_hash));
        else sessions.set(r.sid_hash, { csrf: r.csrf, createdAt: r.created_at, lastSeen: r.last_seen, stored: r.last_seen });
      }
      return sessions.size;
    },

    /**
     * The API token this request presents (`Authorization: Bearer mwt_...`): {apiToken: id}, or
     * null when it presents none. A wrong token counts as a failed login and gets 401.
     */
    async bearer(request, ip) {
      // Only `Bearer mwt_…` is a token; any other Authorization (a proxy's Basic, say) leaves
      // the request to its session cookie.
      const m = /^Bearer[ ]+(mwt_\S{1,200})[ ]*$/i.exec(request.headers.get('authorization') ?? '');
      if (!m) return null;
      const presented = m[1];
      checkRate(ip, { accountWide: false });
      let found = null;
      // Every stored digest is compared (constant time each), so the answer's timing does not
      // say which token came close.
      for (const t of await readTokens()) if (wasm.accessKeyMatches(presented, t.digest) && !found) found = t;
      if (!found) {
        fail(ip, { accountWide: false });
        log(`admin: a request with a wrong API token from ${ip}`);
        throw new AuthError(401, 'unauthorized', 'the API token is not right (it may have been revoked)');
      }
      return { apiToken: found.id };
    },

    /** Creates an API token; resolves, once it is durable, to {id, label, createdAt, token} (the token shown once). */
    async createToken(label) {
      if (typeof label !== 'string' || !label.trim() || label.length > 100) {
        throw new AuthError(400, 'invalid_field', 'label must be a short name for the token (at most 100 characters)');
      }
      const token = TOKEN_PREFIX + randomToken();
      const t = { id: `t${randomToken().slice(0, 12)}`, label: label.trim(), digest: wasm.tokenDigest(token), createdAt: new Date(now()).toISOString() };
      await changeTokens((list) => {
        if (list.length >= MAX_API_TOKENS) throw new AuthError(409, 'too_many_tokens', `at most ${MAX_API_TOKENS} API tokens: revoke one first`);
        return { next: [...list, t] };
      });
      log(`admin: API token ${t.id} created (${t.label})`);
      return { ...tokenView(t), token };
    },

    async listTokens() {
      return (await readTokens()).map(tokenView);
    },

    /** Revokes a token; false when there is none with this id. */
    async revokeToken(id) {
      const gone = await changeTokens((list) => {
        const next = list.filter((t) => t.id !== id);
        return next.length === list.length ? { next: list, result: false } : { next, result: true };
      });
      if (gone) log(`admin: API token ${id} revoked`);
      return gone;
    },

    async needsSetup() {
      return !(await readAdmin());
    },

    /** The session of this request (refreshing its idle timer), or null. Every mw_session cookie is tried. */
    current(request) {
      for (const sid of cookieValues(request.headers.get('cookie'), COOKIE).slice(0, 8)) {
        if (!sid || sid.length > 100) continue;
        const key = digest(sid);
        const s = sessions.get(key);
        if (!s) continue;
        if (now() - s.lastSeen > IDLE_MS) {
          forget(key);
          continue;
        }
        s.lastSeen = now();
        if (stored && s.lastSeen - s.stored >= TOUCH_EVERY_MS) {
          s.stored = s.lastSeen;
          persist('refresh', stored.put(key, s));
        }
        return { key, csrf: s.csrf };
      }
      return null;
    },

    /**
     * Origin (when sent) must be one this server is configured to be reached at: never the
     * origin the request's own Host header claims, which a DNS-rebinding page controls. Only a
     * host with no configured origin (a Worker without MEMBERWIRE_PUBLIC_URL, which Cloudflare
     * routes by hostname) falls back to the request's. Then, for a session, the CSRF header must
     * match. Throws 403 csrf_failed.
     */
    checkOrigin(request, url) {
      const origin = request.headers.get('origin');
      if (origin === null) return;
      const allowed = typeof origins === 'function' ? origins() : origins;
      if (allowed.length ? allowed.includes(origin) : origin === url.origin) return;
      throw new AuthError(403, 'csrf_failed', 'the request came from another origin');
    },

    checkCsrf(request, session) {
      const sent = request.headers.get(CSRF_HEADER);
      if (!sent || !safeEqual(sent, session.csrf)) {
        throw new AuthError(403, 'csrf_failed', `this request needs the ${CSRF_HEADER} header of the session`);
      }
    },

    /** First run: the access key proves ownership; sets the password and logs in. */
    async setup(ip, { password, accessKey }) {
      checkRate(ip);
      if (!(await this.needsSetup())) throw new AuthError(409, 'already_set_up', 'an administrator password exists already: log in');
      if (typeof password !== 'string' || typeof accessKey !== 'string') {
        throw new AuthError(400, 'malformed_body', 'send {"password": "...", "accessKey": "..."}');
      }
      if (!keyMatches(accessKey)) {
        fail(ip);
        log(`admin: setup refused (wrong access key) from ${ip}`);
        throw new AuthError(401, 'unauthorized', 'the access key is not right');
      }
      let hash;
      try {
        hash = registrar.hashNewPassword(password);
      } catch (err) {
        if (err?.code === 'password_rejected') throw new AuthError(400, 'password_rejected', err.message);
        throw err;
      }
      if (!(await createAdmin(hash))) throw new AuthError(409, 'already_set_up', 'an administrator password exists already: log in');
      log('admin: administrator password set');
      return open();
    },

    /**
     * Logs in with the administrator password. The hook access key is not accepted here: CRMs
     * put it in URLs that proxies log, so it only proves ownership once, at first-run setup.
     */
    async login(ip, body) {
      checkRate(ip);
      const { password, accessKey } = body ?? {};
      if (typeof password !== 'string') {
        if (typeof accessKey === 'string') {
          throw new AuthError(400, 'access_key_not_accepted', 'the access key only sets up the first administrator; log in with the administrator password');
        }
        throw new AuthError(400, 'malformed_body', 'send {"password": "..."}');
      }
      const a = await readAdmin();
      // bcrypt verification is the slow part; an over-long input is refused without it.
      const good = Boolean(a) && password.length <= 1024 && wasm.verifyPassword(password, a.passwordHash);
      if (!good) {
        fail(ip);
        log(`admin: failed login from ${ip}`);
        throw new AuthError(401, 'unauthorized', 'wrong password');
      }
      failures.delete(ip);
      return open();
    },

    async logout(session) {
      if (!session) return;
      sessions.delete(session.key);
      if (stored) await stored.delete(session.key);
    },

    /** Logs every session out (tests, and a future "log out everywhere"). */
    async clear() {
      sessions.clear();
      if (stored) await stored.clear();
    },

    get size() {
      return sessions.size;
    },
  };
}
