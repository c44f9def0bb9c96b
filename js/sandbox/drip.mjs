// A local fake of the part of Drip's REST API v2 (https://api.getdrip.com/v2/{account_id}) that
// memberwire uses. listen() serves it at `${url}/v2/${accountId}/...`, so a client's base URL is
// url + '/v2/' + accountId.
//
// Sources (details and URLs in docs/crm/drip.md): Drip's API reference (developer.drip.com,
// built from github.com/DripEmail/api-docs: Authentication, Rate Limiting, Pagination, Errors,
// Subscribers, Tags, Custom Fields, Webhooks, Webhook Events) and Drip's own API clients
// (DripEmail/drip-ruby, drip-nodejs).
//
// Unverified, and marked where it is implemented:
// - that a request without a User-Agent is refused (every documented example sends one; the
//   400 answer here is invented), and the 401 body for a bad token (the status is documented);
// - the answer for another account's id in the path (403 here);
// - POST /subscribers: 200 for an update and 201 for a create (Drip's OpenAPI draft lists 200,
//   its Ruby client's tests stub 201), one subscriber per request, unknown custom field
//   identifiers being created on first use, the identifier pattern, the value length limit
//   (fieldMaxLength, 255 here: a guess) and null clearing a value;
// - POST /tags: that an unknown email creates the subscriber, and that only `email` (not a
//   subscriber id) identifies the subscriber (the documented arguments are email and tag);
// - whether email and tag-name matching is case-insensitive (it is here);
// - whether the hourly window slides or is fixed (it slides here).
//
// Subscriber ids are Drip-style 20-character lower-case alphanumeric strings ("z1togz2hcjrkpp5treip").

import { createHash } from 'node:crypto';

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  createRateLimiter,
  dispatch,
  empty,
  fetchFor,
  json,
  looksLikeEmail,
  readJsonObject,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

export const DRIP_DEFAULT_TOKEN = 'drip-sandbox-api-token';
export const DRIP_DEFAULT_ACCESS_TOKEN = 'drip-sandbox-oauth-token';
export const DRIP_DEFAULT_ACCOUNT = '9081726';

const API_ORIGIN = 'https://api.getdrip.com';
// Pagination: "Each page contains a maximum of 100 items"; subscribers take per_page up to 1000.
const DEFAULT_PER_PAGE = 100;
const MAX_PER_PAGE = 1000;
// Identifiers as Drip shows them (shirt_size, first_name): letters, digits, underscores (unverified).
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;
const RATE_DOC = 'https://www.getdrip.com/docs/rest-api#rate-limting';

export const DRIP_DEFAULT_SEED = Object.freeze({
  customFields: ['password', 'set_password_link'],
  tags: ['Gold Member', 'Newsletter', 'Welcome'],
  subscribers: [
    { id: 'z1togz2hcjrkpp5treip', email: 'ada.lovelace@example.com', first_name: 'Ada', last_name: 'Lovelace', tags: ['Gold Member', 'Newsletter'], custom_fields: { password: 'Analytical-1843' } },
    { id: 'q8m3vx0dl5nhs2kbwa7e', email: 'Grace.Hopper@Example.COM', first_name: 'Grace', last_name: 'Hopper' },
    { id: 'c4ry9pu6ebt1oz3jxk2m', email: 'alan.turing@example.org', first_name: 'Alan', last_name: 'Turing', status: 'unsubscribed', tags: ['Newsletter'] },
    { id: 'h7wf2ka5nq0gl8cdvz4s', email: 'k.johnson@example.net' },
  ],
});

/** Drip timestamps: "2013-06-21T10:31:58Z". */
function dripTime(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Drip's error body: {"errors": [{"code", "attribute"?, "message"}]}. */
function dripError(status, code, message, attribute) {
  const error = attribute === undefined ? { code, message } : { code, attribute, message };
  return new HttpError(status, message, { errors: [error] });
}

const notFound = () => dripError(404, 'not_found_error', 'The resource you requested was not found');

/**
 * createDripSandbox(options?) -> sandbox
 *
 * options:
 *   apiToken          personal API token, the Basic auth user name (default DRIP_DEFAULT_TOKEN)
 *   accessToken       OAuth token accepted as `Authorization: Bearer` (default DRIP_DEFAULT_ACCESS_TOKEN; null: none)
 *   accountId         the account in the path (default DRIP_DEFAULT_ACCOUNT)
 *   rateLimit         {perSecond?, perMinute?, perHour = 3600} or false
 *   requireUserAgent  refuse requests without a User-Agent (default true; unverified)
 *   now               () => milliseconds (default Date.now)
 *   sleep             (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed              {customFields?, tags?, subscribers?}: each given list replaces the default
 *   fieldMaxLength    longest custom field value in code points (default 255; unverified)
 */
export function createDripSandbox(options = {}) {
  const {
    apiToken = options.token ?? DRIP_DEFAULT_TOKEN,
    accessToken = DRIP_DEFAULT_ACCESS_TOKEN,
    accountId = DRIP_DEFAULT_ACCOUNT,
    rateLimit = { perHour: 3600 },
    requireUserAgent = true,
    now = Date.now,
    sleep = realSleep,
    seed = {},
    fieldMaxLength = 255,
  } = options;
  if (!/^[0-9]{1,15}$/.test(String(accountId))) throw new TypeError('accountId is a string of digits');
  if (!Number.isInteger(fieldMaxLength) || fieldMaxLength < 1) throw new TypeError('fieldMaxLength must be a positive integer');
  const account = String(accountId);

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  // "3,600 individual requests per hour" per account (Rate Limiting). The batch endpoints' own
  // 50 per hour is not modelled: this fake has no batch endpoints.
  const limiter = createRateLimiter(rateLimit && { perHour: 3600, ...rateLimit }, now);

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    state = {
      customFields: new Set(), // identifiers in use
      tags: new Map(), // lower-case name -> name as first written
      subscribers: new Map(), // id -> subscriber (see insertSubscriber)
      webhooks: new Map(), // id -> {id, post_url, events, include_received_email, created_at}
      serial: 0, // drives generated ids
      nextWebhook: 77701,
    };
    for (const id of seed.customFields ?? DRIP_DEFAULT_SEED.customFields) state.customFields.add(id);
    for (const t of seed.tags ?? DRIP_DEFAULT_SEED.tags) tagName(t);
    for (const s of seed.subscribers ?? DRIP_DEFAULT_SEED.subscribers) insertSubscriber(s);
  }

  /** The account's spelling of a tag, registering it on first use (matching ignores case; unverified). */
  function tagName(name) {
    const key = name.toLowerCase();
    if (!state.tags.has(key)) state.tags.set(key, name);
    return state.tags.get(key);
  }

  /** A new Drip-style id: 20 characters of [0-9a-z], deterministic per sandbox. */
  function newId() {
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
    for (;;) {
      state.serial += 1;
      const bytes = createHash('sha256').update(`drip-sandbox:${state.serial}`).digest();
      let id = '';
      for (let i = 0; i < 20; i += 1) id += alphabet[bytes[i] % 36];
      if (!state.subscribers.has(id)) return id;
    }
  }

  // Helper-side insert (seed, addContact, and creates through the API after validation).
  function insertSubscriber(input) {
    const id = input.id ?? newId();
    if (typeof id !== 'string' || !/^[0-9a-z]{1,64}$/.test(id) || state.subscribers.has(id)) {
      throw new TypeError(`bad or duplicate subscriber id ${input.id}`);
    }
    const t = now();
    const sub = {
      id,
      email: input.email ?? '',
      first_name: input.first_name ?? null,
      last_name: input.last_name ?? null,
      status: input.status ?? 'active',
      custom: new Map(),
      tags: new Map(), // lower-case name -> applied time
      created_at: t,
      seq: (state.seq = (state.seq ?? 0) + 1),
    };
    for (const [k, v] of Object.entries(input.custom_fields ?? {})) {
      state.customFields.add(k);
      sub.custom.set(k, String(v));
    }
    for (const name of input.tags ?? []) sub.tags.set(tagName(name).toLowerCase(), t);
    state.subscribers.set(id, sub);
    return sub;
  }

  // ---- JSON views --------------------------------------------------------------------------

  const links = { 'subscribers.account': `${API_ORIGIN}/v2/accounts/{subscribers.account}` };
  const webhookLinks = { 'webhooks.account': `${API_ORIGIN}/v2/accounts/{webhooks.account}` };

  // The documented subscriber object; address, phone and SMS members are left out (null in an
  // account that never set them), as are members an integration does not read.
  function subscriberJson(sub) {
    return {
      id: sub.id,
      status: sub.status,
      email: sub.email,
      first_name: sub.first_name,
      last_name: sub.last_name,
      eu_consent: 'unknown',
      time_zone: 'Etc/UTC',
      utc_offset: 0,
      visitor_uuid: null,
      custom_fields: Object.fromEntries(sub.custom),
      tags: [...sub.tags.keys()].map((k) => state.tags.get(k)),
      ip_address: null,
      user_agent: null,
      original_referrer: null,
      landing_url: null,
      prospect: null,
      lead_score: null,
      lifetime_value: null,
      created_at: dripTime(sub.created_at),
      href: `${API_ORIGIN}/v2/${account}/subscribers/${sub.id}`,
      user_id: null,
      base_lead_score: 30,
      links: { account },
    };
  }

  const webhookJson = (w) => ({
    id: w.id,
    href: `${API_ORIGIN}/v2/${account}/webhooks/${w.id}`,
    post_url: w.post_url,
    version: '2',
    include_received_email: w.include_received_email,
    events: [...w.events],
    created_at: dripTime(w.created_at),
    links: { account },
  });

  // ---- request helpers ---------------------------------------------------------------------

  const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
  const byEmail = (email) => [...state.subscribers.values()].find((s) => same(s.email, email));

  /** GET/DELETE by "id_or_email": an '@' means an email address (matched ignoring case; unverified). */
  function requireSubscriber(idOrEmail) {
    const sub = idOrEmail.includes('@') ? byEmail(idOrEmail) : state.subscribers.get(idOrEmail);
    if (!sub) throw notFound();
    return sub;
  }

  /** Validates a custom_fields object; returns [identifier, value|null] pairs. Changes nothing. */
  function checkCustomFields(raw) {
    if (raw === undefined) return [];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw dripError(422, 'format_error', 'Custom fields must be an object', 'custom_fields');
    }
    return Object.entries(raw).map(([key, value]) => {
      if (!IDENTIFIER.test(key)) {
        throw dripError(422, 'format_error', `Custom field identifier ${JSON.stringify(key)} is not valid`, 'custom_fields'); // unverified
      }
      if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw dripError(422, 'format_error', `Custom field ${key} must be a string`, 'custom_fields'); // unverified
      }
      const text = value === null ? null : String(value);
      if (text !== null && codePointLength(text) > fieldMaxLength) {
        // Never echo the value: it may be a password.
        throw dripError(422, 'length_error', `Custom field ${key} must be at most ${fieldMaxLength} characters`, 'custom_fields'); // unverified
      }
      return [key, text];
    });
  }

  function checkTagList(raw, attribute) {
    if (raw === undefined) return [];
    if (!Array.isArray(raw) || raw.some((t) => typeof t !== 'string' || t.trim() === '')) {
      throw dripError(422, 'format_error', `${attribute} must be an array of tag names`, attribute); // text unverified
    }
    return raw;
  }

  function writeCustomFields(sub, pairs) {
    for (const [key, value] of pairs) {
      state.customFields.add(key);
      if (value === null) sub.custom.delete(key);
      else sub.custom.set(key, value);
      audit.record('field', {
        contactId: sub.id,
        fieldId: key,
        label: key,
        length: value === null ? 0 : codePointLength(value),
        truncated: false,
      });
    }
  }

  function applyTag(sub, name, extra = {}) {
    const spelled = tagName(name);
    const key = spelled.toLowerCase();
    const duplicate = sub.tags.has(key);
    if (!duplicate) sub.tags.set(key, now());
    audit.record('tag', { action: 'apply', contactId: sub.id, tagId: spelled, tagName: spelled, duplicate, ...extra });
  }

  function removeTag(sub, name) {
    const key = name.toLowerCase();
    const wasApplied = sub.tags.delete(key);
    const spelled = state.tags.get(key) ?? name;
    audit.record('tag', { action: 'remove', contactId: sub.id, tagId: spelled, tagName: spelled, wasApplied });
  }

  /** The single-element `key` array of a request body. */
  function onlyItem(body, key) {
    const list = body[key];
    if (!Array.isArray(list) || list.length === 0) throw dripError(422, 'presence_error', `${key} is required`, key); // text unverified
    if (list.length > 1) {
      throw dripError(422, 'length_error', `${key} must hold one item; use the batch API for more`, key); // unverified
    }
    const item = list[0];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw dripError(422, 'format_error', `${key} items must be objects`, key); // unverified
    }
    return item;
  }

  // ---- routes ------------------------------------------------------------------------------

  const A = '/v2/([^/]+)';
  const ID = '([^/]+)';

  const routes = [
    // Fetch a subscriber by id, email address (URL-encode '@' and '+') or visitor UUID. The
    // answer is always a one-element `subscribers` array.
    ['GET', new RegExp(`^${A}/subscribers/${ID}$`), (req, url, acct, idOrEmail) => {
      const sub = requireSubscriber(idOrEmail);
      return json(200, { links, subscribers: [subscriberJson(sub)] });
    }],

    // List subscribers: status (default active), tags (comma list, any of), page, per_page.
    ['GET', new RegExp(`^${A}/subscribers$`), (req, url) => {
      const status = url.searchParams.get('status') || 'active';
      const statuses = {
        all: null,
        active: ['active'],
        unsubscribed: ['unsubscribed'],
        active_or_unsubscribed: ['active', 'unsubscribed'],
        undeliverable: ['undeliverable'],
      };
      if (!(status in statuses)) throw dripError(422, 'format_error', `Invalid status ${status}`, 'status'); // text unverified
      const wanted = (url.searchParams.get('tags') ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
      const page = Number(url.searchParams.get('page') ?? 1);
      const per = Number(url.searchParams.get('per_page') ?? DEFAULT_PER_PAGE);
      if (!Number.isInteger(page) || page < 1) throw dripError(422, 'range_error', 'page must be a positive integer', 'page'); // unverified
      if (!Number.isInteger(per) || per < 1 || per > MAX_PER_PAGE) {
        throw dripError(422, 'range_error', `per_page must be from 1 to ${MAX_PER_PAGE}`, 'per_page'); // unverified
      }
      const all = [...state.subscribers.values()]
        .filter((s) => statuses[status] === null || statuses[status].includes(s.status))
        .filter((s) => wanted.length === 0 || wanted.some((t) => s.tags.has(t)))
        .sort((a, b) => a.created_at - b.created_at || a.seq - b.seq);
      const slice = all.slice((page - 1) * per, page * per);
      return json(200, {
        links,
        meta: { page, count: slice.length, total_pages: Math.max(1, Math.ceil(all.length / per)), total_count: all.length },
        subscribers: slice.map(subscriberJson),
      });
    }],

    // Create or update: {"subscribers": [{email | id, new_email?, first_name?, last_name?,
    // custom_fields?: {identifier: value}, tags?: [names], remove_tags?: [names], status?}]}.
    // Everything is checked before anything changes.
    ['POST', new RegExp(`^${A}/subscribers$`), async (req) => {
      const item = onlyItem(await readJsonObject(req), 'subscribers');
      if (item.id === undefined && item.email === undefined && item.visitor_uuid === undefined) {
        throw dripError(422, 'presence_error', 'Email is required', 'email');
      }
      if (item.id !== undefined && typeof item.id !== 'string') throw dripError(422, 'format_error', 'Id is not valid', 'id'); // unverified
      if (item.email !== undefined && !looksLikeEmail(item.email)) throw dripError(422, 'email_error', 'Email is not a valid email address', 'email');
      if (item.new_email !== undefined && !looksLikeEmail(item.new_email)) {
        throw dripError(422, 'email_error', 'New email is not a valid email address', 'new_email');
      }
      for (const name of ['first_name', 'last_name']) {
        if (item[name] !== undefined && item[name] !== null && typeof item[name] !== 'string') {
          throw dripError(422, 'format_error', `${name} must be a string`, name); // unverified
        }
      }
      if (item.status !== undefined && item.status !== 'active' && item.status !== 'unsubscribed') {
        throw dripError(422, 'format_error', 'Status must be active or unsubscribed', 'status'); // text unverified
      }
      const pairs = checkCustomFields(item.custom_fields);
      const addTags = checkTagList(item.tags, 'tags');
      const dropTags = checkTagList(item.remove_tags, 'remove_tags');

      let sub;
      if (item.id !== undefined) {
        sub = state.subscribers.get(item.id);
        if (!sub) throw notFound(); // unverified
      } else if (item.email !== undefined) {
        sub = byEmail(item.email);
      } else {
        throw notFound(); // visitor_uuid: no visitors in this fake
      }
      const newEmail = item.new_email ?? (item.id !== undefined ? item.email : undefined);
      if (newEmail !== undefined) {
        const other = byEmail(newEmail);
        if (other && other !== sub) throw dripError(422, 'uniqueness_error', 'Email is already taken', 'email'); // text unverified
      }

      const created = !sub;
      if (created) sub = insertSubscriber({ email: item.new_email ?? item.email });
      else if (newEmail !== undefined) sub.email = newEmail;
      for (const name of ['first_name', 'last_name']) if (item[name] !== undefined) sub[name] = item[name];
      if (item.status !== undefined) sub.status = item.status;
      writeCustomFields(sub, pairs);
      for (const name of addTags) applyTag(sub, name);
      for (const name of dropTags) removeTag(sub, name);
      return json(created ? 201 : 200, { links, subscribers: [subscriberJson(sub)] });
    }],

    // Apply a tag: {"tags": [{"email", "tag"}]} -> 201 {}. Every item is checked before any
    // tag is applied.
    ['POST', new RegExp(`^${A}/tags$`), async (req) => {
      const body = await readJsonObject(req);
      if (!Array.isArray(body.tags) || body.tags.length === 0) throw dripError(422, 'presence_error', 'Tags is required', 'tags'); // text unverified
      const items = body.tags.map((item) => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          throw dripError(422, 'format_error', 'tags items must be objects', 'tags'); // unverified
        }
        // Only `email` is a documented argument; a subscriber id is refused (unverified).
        if (item.email === undefined || item.email === null || item.email === '') {
          throw dripError(422, 'presence_error', 'Email is required', 'email');
        }
        if (!looksLikeEmail(item.email)) throw dripError(422, 'email_error', 'Email is not a valid email address', 'email');
        if (typeof item.tag !== 'string' || item.tag.trim() === '') throw dripError(422, 'presence_error', 'Tag is required', 'tag');
        return item;
      });
      for (const item of items) {
        let sub = byEmail(item.email);
        const createdSubscriber = !sub;
        if (!sub) sub = insertSubscriber({ email: item.email }); // unverified: Drip may refuse instead
        applyTag(sub, item.tag, createdSubscriber ? { createdSubscriber: true } : {});
      }
      return json(201, {});
    }],

    ['DELETE', new RegExp(`^${A}/subscribers/${ID}/tags/${ID}$`), (req, url, acct, idOrEmail, tag) => {
      removeTag(requireSubscriber(idOrEmail), tag);
      return empty(204);
    }],

    // All tags used in the account, as names.
    ['GET', new RegExp(`^${A}/tags$`), () => json(200, { tags: [...state.tags.values()] })],

    // All custom field identifiers used in the account.
    ['GET', new RegExp(`^${A}/custom_field_identifiers$`), () => json(200, { custom_field_identifiers: [...state.customFields] })],

    ['GET', new RegExp(`^${A}/webhooks$`), () => json(200, { links: webhookLinks, webhooks: [...state.webhooks.values()].map(webhookJson) })],

    // Create a webhook: {"webhooks": [{post_url, events?, include_received_email?}]} -> 201.
    ['POST', new RegExp(`^${A}/webhooks$`), async (req) => {
      const item = onlyItem(await readJsonObject(req), 'webhooks');
      let target;
      try {
        target = new URL(item.post_url);
      } catch {
        throw dripError(422, 'url_error', 'Post url is not a valid URL', 'post_url');
      }
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw dripError(422, 'url_error', 'Post url is not a valid URL', 'post_url');
      const events = item.events ?? [];
      if (!Array.isArray(events) || events.some((e) => typeof e !== 'string' || !/^[a-z_]+\.[a-z_]+$/.test(e))) {
        throw dripError(422, 'format_error', 'Events must be an array of event names', 'events'); // unverified
      }
      const id = String(state.nextWebhook++);
      const hook = { id, post_url: item.post_url, events, include_received_email: item.include_received_email === true, created_at: now() };
      state.webhooks.set(id, hook);
      return json(201, { links: webhookLinks, webhooks: [webhookJson(hook)] });
    }],

    ['DELETE', new RegExp(`^${A}/webhooks/${ID}$`), (req, url, acct, id) => {
      if (!state.webhooks.delete(id)) throw notFound();
      return empty(204);
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  // "X-RateLimit-Limit" and "X-RateLimit-Remaining" on every rate-limited response (Rate
  // Limiting); the hour window is the documented one. On a 429 too (unverified).
  function rateHeaders(rate) {
    const w = rate.windows?.find((x) => x.unit === 'hour') ?? rate.window;
    return w ? { 'x-ratelimit-limit': String(w.limit), 'x-ratelimit-remaining': String(w.available) } : {};
  }

  const rateBody = { message: 'API rate limit exceeded. Please try again in an hour.', documentation: RATE_DOC };

  const hooks = {
    authenticate(request) {
      // Requests must name the client (every documented example sends User-Agent; refusing
      // one without it, and the 400 answer, are unverified).
      if (requireUserAgent && !(request.headers.get('user-agent') ?? '').trim()) {
        return json(400, { errors: [{ code: 'presence_error', attribute: 'User-Agent', message: 'A User-Agent header is required' }] });
      }
      // Personal token: Basic with the token as user name and an empty password; OAuth: Bearer.
      // Anonymous or bad credentials are a 401 (documented); the body is unverified.
      const auth = request.headers.get('authorization') ?? '';
      let ok = false;
      const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth);
      if (basic) {
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
        ok = decoded === `${apiToken}:`;
      }
      const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
      if (bearer && accessToken) ok = bearer[1] === accessToken;
      if (!ok) {
        return json(401, { errors: [{ code: 'authentication_error', message: 'You must be authenticated to access this resource' }] });
      }
      // Another account's id in the path: 403 (unverified).
      const m = /^\/v2\/([^/]+)(\/|$)/.exec(new URL(request.url).pathname);
      if (m && m[1] !== account) {
        return json(403, { errors: [{ code: 'authorization_error', message: 'You are not authorized to access this resource' }] });
      }
      return null;
    },
    rateLimited(verdict) {
      return json(429, rateBody, rateHeaders(verdict));
    },
    decorate(response, rate) {
      if (response.headers.has('x-ratelimit-limit')) return response;
      const headers = new Headers(response.headers);
      for (const [k, v] of Object.entries(rateHeaders(rate))) headers.set(k, v);
      return new Response(response.body, { status: response.status, headers });
    },
    faultResponse(fault) {
      if (fault.status === 429 && fault.body === undefined) {
        return json(429, rateBody, { 'x-ratelimit-limit': '3600', 'x-ratelimit-remaining': '0', ...fault.headers });
      }
      const body = fault.body ?? { errors: [{ code: fault.status >= 500 ? 'server_error' : 'injected_fault', message: 'Injected fault' }] };
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err) {
      if (err.details?.errors) return json(err.status, { errors: err.details.errors });
      if (err.status === 404) return json(404, { errors: [{ code: 'not_found_error', message: 'The resource you requested was not found' }] });
      // readJsonObject()'s bad body (400), dispatch()'s 405, the pipeline's 500 (codes unverified).
      const code = err.status === 400 ? 'format_error' : err.status === 405 ? 'method_not_allowed' : 'server_error';
      return json(err.status, { errors: [{ code, message: err.message }] });
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const handle = createPipeline({ audit, limiter, faults, sleep, hooks });
  loadSeed();

  const ordered = () => [...state.subscribers.values()].sort((a, b) => a.created_at - b.created_at || a.seq - b.seq);

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url + '/v2/' + accountId. */
    listen: (opts) => listen(handle, opts),
    /** The account id in the paths. */
    accountId: account,
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every subscriber in Drip JSON (tags as names, custom_fields as an object), deep copies. */
    contacts: () => ordered().map(subscriberJson),
    /** One subscriber by id or email, or undefined. */
    contact(idOrEmail) {
      const key = String(idOrEmail);
      const sub = key.includes('@') ? byEmail(key) : state.subscribers.get(key);
      return sub ? subscriberJson(sub) : undefined;
    },
    /** Adds a subscriber without a request: {id?, email, first_name?, last_name?, status?, custom_fields?: {identifier: value}, tags?: [names]}. */
    addContact: (input) => subscriberJson(insertSubscriber(input)),
    /** Adds a tag to the account without a request: {name} or a name; returns its spelling. */
    addTag: (input) => tagName(typeof input === 'string' ? input : input.name),
    tags: () => [...state.tags.values()],
    /** Custom field identifiers in use. */
    fields: () => [...state.customFields],
    webhooks: () => [...state.webhooks.values()].map(webhookJson),

    requests: () => audit.list('request'),
    tagApplications: () => audit.list('tag'),
    fieldWrites: () => audit.list('field'),
    audit: () => audit.list(),

    reset() {
      loadSeed();
      audit.clear();
      faults.clear();
      limiter?.reset();
    },
  };
}
