// A local fake of the part of Kit's API v4 (formerly ConvertKit; https://api.kit.com/v4) that
// memberwire uses. listen() serves it at `${url}/v4/...`, so a client's base URL is url + '/v4'.
//
// Sources (details and URLs in docs/crm/kit.md): Kit's V4 OpenAPI document as published on
// developers.kit.com (operations "List subscribers", "Get a subscriber", "Update a subscriber",
// "List tags for a subscriber", "List tags", "Create a tag", "Tag a subscriber", "Tag a
// subscriber by email address", "Remove tag from subscriber", "List custom fields", and the
// legacy "List/Create/Delete a webhook"), and the "Rate limits" page.
//
// Unverified, and marked where it is implemented:
// - the 401 text for a bad API key (the OpenAPI example is the OAuth text "The access token is
//   invalid"), and that `Authorization: Bearer` is the header for OAuth tokens;
// - whether the 60 s rate window slides or is fixed (it slides here);
// - status and text for malformed JSON (400 here), for a bad cursor or per_page (422 here),
//   for a non-integer id in a path (404 here);
// - whether email matching is case-insensitive (it is here) and whether PUT keeps first_name
//   when it is omitted (it does here);
// - the length limit of a custom field value (fieldMaxLength, 255 here: a guess);
// - unknown field keys in PUT: the operation text says "returns an error", its response schema
//   says "ignored and reported in warnings"; both are available (unknownFields option), the
//   warning text is invented;
// - list ordering (ascending id here).
//
// Ids are integers in Kit's JSON. The audit log carries them as strings, as the other fakes do,
// because memberwire keeps contact ids as strings.

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
  parseId,
  readJsonObject,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

export const KIT_DEFAULT_API_KEY = 'kit-sandbox-api-key';
export const KIT_DEFAULT_ACCESS_TOKEN = 'kit-sandbox-oauth-token';
export const KIT_DEFAULT_ACCOUNT_ID = 1617;

// Cursor paging: "Number of results per page. Default 500, maximum 1000." (every list operation)
const DEFAULT_PER_PAGE = 500;
const MAX_PER_PAGE = 1000;
// "We support creating/updating a maximum of 140 custom fields at a time", and more than 10 in
// one request are applied asynchronously with a 202 (Update a subscriber).
const MAX_FIELDS_PER_REQUEST = 140;
const ASYNC_FIELDS_THRESHOLD = 10;
const STATES = ['active', 'cancelled', 'bounced', 'complained', 'inactive'];

export const KIT_DEFAULT_SEED = Object.freeze({
  fields: [
    { id: 101, label: 'Password' },
    { id: 102, label: 'Set Password Link' },
  ],
  tags: [
    { id: 5120001, name: 'Gold Member' },
    { id: 5120002, name: 'Newsletter' },
    { id: 5120003, name: 'Welcome' },
  ],
  subscribers: [
    { id: 3120001, first_name: 'Ada', email_address: 'ada.lovelace@example.com', tags: ['Gold Member', 'Newsletter'], fields: { password: 'Analytical-1843' } },
    { id: 3120002, first_name: 'Grace', email_address: 'Grace.Hopper@Example.COM' },
    // Cancelled: a search by email without status=all does not find it (status defaults to active).
    { id: 3120003, first_name: 'Alan', email_address: 'alan.turing@example.org', state: 'cancelled', tags: ['Newsletter'] },
    { id: 3120004, first_name: null, email_address: 'k.johnson@example.net' },
  ],
});

/** Kit timestamps: "2023-02-17T11:43:55Z" (UTC, whole seconds). */
function kitTime(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "The key is an ASCII-only, lowercased, underscored representation of your label." */
function keyFromLabel(label) {
  return label
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .toLowerCase()
    .trim()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Kit's error body: {"errors": ["..."]}. */
function kitError(status, message) {
  return new HttpError(status, message, { errors: [message] });
}

const notFound = () => kitError(404, 'Not Found');

/**
 * createKitSandbox(options?) -> sandbox
 *
 * options:
 *   apiKey          accepted X-Kit-Api-Key value (default KIT_DEFAULT_API_KEY)
 *   accessToken     accepted OAuth bearer token (default KIT_DEFAULT_ACCESS_TOKEN; null: none)
 *   rateLimit       {perSecond?, perMinute = 120, perHour?} for the API key, or false
 *   oauthRateLimit  the same for the OAuth token (default {perMinute: 600}; false when rateLimit is)
 *   now             () => milliseconds (default Date.now)
 *   sleep           (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed            {fields?, tags?, subscribers?}: each given list replaces the default
 *   fieldMaxLength  longest custom field value in code points (default 255; unverified)
 *   unknownFields   'warn' (default: ignored, named in `warnings`) or 'reject' (422)
 *   accountId       account id shown on webhooks (default KIT_DEFAULT_ACCOUNT_ID)
 */
export function createKitSandbox(options = {}) {
  const {
    apiKey = KIT_DEFAULT_API_KEY,
    accessToken = KIT_DEFAULT_ACCESS_TOKEN,
    rateLimit = { perMinute: 120 },
    now = Date.now,
    sleep = realSleep,
    seed = {},
    fieldMaxLength = 255,
    unknownFields = 'warn',
    accountId = KIT_DEFAULT_ACCOUNT_ID,
  } = options;
  const oauthRateLimit = options.oauthRateLimit ?? (rateLimit === false ? false : { perMinute: 600 });
  if (unknownFields !== 'warn' && unknownFields !== 'reject') throw new TypeError("unknownFields is 'warn' or 'reject'");
  if (!Number.isInteger(fieldMaxLength) || fieldMaxLength < 1) throw new TypeError('fieldMaxLength must be a positive integer');

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  // "120 requests in 60 seconds, for each API key"; "600 requests in 60 seconds, for each access
  // token" (Rate limits page). One window per credential.
  const limiters = {
    apiKey: createRateLimiter(rateLimit && { perMinute: 120, ...rateLimit }, now),
    oauth: createRateLimiter(oauthRateLimit && { perMinute: 600, ...oauthRateLimit }, now),
  };
  // authenticate() and admit() run back to back without an await in createPipeline, so the
  // credential of the request being admitted is the one authenticate() saw last.
  let credential = 'apiKey';
  const limiter =
    limiters.apiKey || limiters.oauth
      ? {
          admit: () => limiters[credential]?.admit() ?? { allowed: true, window: null, windows: [] },
          reset() {
            limiters.apiKey?.reset();
            limiters.oauth?.reset();
          },
        }
      : null;
  const sid = (n) => String(n);

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    state = {
      fields: new Map(), // id -> {id, label, key, name}
      tags: new Map(), // id -> {id, name, created_at}
      subscribers: new Map(), // id -> {id, first_name, email, state, created_at, canceled_at, fields: Map key -> value, tags: Map tagId -> ms}
      webhooks: new Map(), // id -> {id, event: {name, ...}, target_url}
      next: { field: 1, tag: 1, subscriber: 1, webhook: 1 },
    };
    for (const f of seed.fields ?? KIT_DEFAULT_SEED.fields) insertField(f);
    for (const t of seed.tags ?? KIT_DEFAULT_SEED.tags) insertTag(t);
    for (const s of seed.subscribers ?? KIT_DEFAULT_SEED.subscribers) insertSubscriber(s);
  }

  function takeId(kind, raw) {
    const id = raw === undefined ? state.next[kind] : parseId(raw);
    if (!id) throw new TypeError(`bad ${kind} id ${raw}`);
    state.next[kind] = Math.max(state.next[kind], id + 1);
    return id;
  }

  function insertField({ id, label, key }) {
    if (typeof label !== 'string' || label.trim() === '') throw new TypeError('a custom field needs a label');
    const fid = takeId('field', id);
    const k = key ?? keyFromLabel(label);
    if (state.fields.has(fid) || [...state.fields.values()].some((f) => f.key === k)) {
      throw new TypeError(`duplicate custom field ${fid} / ${k}`);
    }
    const field = { id: fid, label: label.trim(), key: k, name: `ck_field_${fid}_${k}` };
    state.fields.set(fid, field);
    return field;
  }

  function insertTag({ id, name }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a tag needs a name');
    const tid = takeId('tag', id);
    if (state.tags.has(tid)) throw new TypeError(`duplicate tag id ${tid}`);
    const tag = { id: tid, name, created_at: now() };
    state.tags.set(tid, tag);
    return tag;
  }

  function tagByRef(ref) {
    const id = parseId(ref);
    if (id && state.tags.has(id)) return state.tags.get(id);
    for (const t of state.tags.values()) if (t.name === ref) return t;
    throw new TypeError(`unknown tag ${ref}`);
  }

  function fieldByRef(ref) {
    const id = parseId(ref);
    if (id && state.fields.has(id)) return state.fields.get(id);
    for (const f of state.fields.values()) if (f.key === ref || f.label === ref) return f;
    throw new TypeError(`unknown custom field ${ref}`);
  }

  // Helper-side insert (seed and addContact): no API validation, no audit.
  function insertSubscriber(input) {
    const id = takeId('subscriber', input.id);
    if (state.subscribers.has(id)) throw new TypeError(`duplicate subscriber id ${id}`);
    const st = input.state ?? 'active';
    if (!STATES.includes(st)) throw new TypeError(`bad state ${st}`);
    const t = now();
    const sub = {
      id,
      first_name: input.first_name ?? null,
      email: input.email_address ?? input.email ?? '',
      state: st,
      created_at: t,
      canceled_at: st === 'cancelled' ? t : null,
      fields: new Map(),
      tags: new Map(),
    };
    for (const [ref, value] of Object.entries(input.fields ?? {})) sub.fields.set(fieldByRef(ref).key, value);
    for (const ref of input.tags ?? []) sub.tags.set(tagByRef(ref).id, t);
    state.subscribers.set(id, sub);
    return sub;
  }

  // ---- JSON views --------------------------------------------------------------------------

  const sortedFields = () => [...state.fields.values()].sort((a, b) => a.id - b.id);

  // `fields` names every custom field of the account, null where the subscriber has no value
  // (as in the OpenAPI examples: "fields": {"category": null}).
  function fieldsOf(sub) {
    const out = {};
    for (const f of sortedFields()) out[f.key] = sub.fields.has(f.key) ? sub.fields.get(f.key) : null;
    return out;
  }

  function subscriberJson(sub, extra = {}) {
    return {
      id: sub.id,
      first_name: sub.first_name,
      email_address: sub.email,
      state: sub.state,
      created_at: kitTime(sub.created_at),
      fields: fieldsOf(sub),
      ...extra,
    };
  }

  const tagJson = (t) => ({
    id: t.id,
    name: t.name,
    created_at: kitTime(t.created_at),
    subscriber_count: [...state.subscribers.values()].filter((s) => s.tags.has(t.id)).length,
  });

  const fieldJson = (f) => ({ id: f.id, name: f.name, key: f.key, label: f.label });

  const subscriberTags = (sub) =>
    [...sub.tags.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([tid, at]) => ({ id: tid, name: state.tags.get(tid).name, tagged_at: kitTime(at) }));

  const webhookJson = (w) => ({ id: w.id, account_id: accountId, event: { ...w.event }, target_url: w.target_url });

  // ---- request helpers ---------------------------------------------------------------------

  const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

  // Path ids are integers; anything else is a 404 (unverified: Kit may answer otherwise).
  function requireSubscriber(raw) {
    const id = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : null;
    const sub = id && state.subscribers.get(id);
    if (!sub) throw notFound();
    return sub;
  }

  function requireTag(raw) {
    const id = /^[0-9]{1,15}$/.test(raw) ? Number(raw) : null;
    const tag = id && state.tags.get(id);
    if (!tag) throw notFound();
    return tag;
  }

  function subscriberByEmail(email) {
    return [...state.subscribers.values()].find((s) => same(s.email, email));
  }

  // Cursors look like Kit's: base64 of a JSON array holding the id at the page edge ("WzExXQ==").
  const encodeCursor = (id) => Buffer.from(JSON.stringify([id])).toString('base64');
  function decodeCursor(raw) {
    try {
      const v = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
      if (Array.isArray(v) && v.length === 1 && Number.isSafeInteger(v[0])) return v[0];
    } catch {
      // fall through
    }
    throw kitError(422, 'Invalid cursor'); // status and text unverified
  }

  /** One page of `items` (sorted by ascending `id`) as {page, pagination}. */
  function paginate(items, url) {
    const rawPer = url.searchParams.get('per_page');
    let per = DEFAULT_PER_PAGE;
    if (rawPer !== null && rawPer !== '') {
      const n = Number(rawPer);
      if (!Number.isInteger(n) || n < 1) throw kitError(422, 'per_page must be a positive integer'); // unverified
      per = Math.min(n, MAX_PER_PAGE);
    }
    const after = url.searchParams.get('after');
    const before = url.searchParams.get('before');
    let page;
    if (after) {
      const c = decodeCursor(after);
      page = items.filter((x) => x.id > c).slice(0, per);
    } else if (before) {
      const c = decodeCursor(before);
      page = items.filter((x) => x.id < c).slice(-per);
    } else {
      page = items.slice(0, per);
    }
    const first = page[0];
    const last = page.at(-1);
    const pagination = {
      has_previous_page: first !== undefined && items.some((x) => x.id < first.id),
      has_next_page: last !== undefined && items.some((x) => x.id > last.id),
      start_cursor: first === undefined ? null : encodeCursor(first.id),
      end_cursor: last === undefined ? null : encodeCursor(last.id),
      per_page: per,
    };
    if (url.searchParams.get('include_total_count') === 'true') pagination.total_count = items.length;
    return { page, pagination };
  }

  /** Validates `fields: {key: value}`; returns {updates: [[field, value]], warnings}. Changes nothing. */
  function checkFields(raw) {
    if (raw === undefined || raw === null) return { updates: [], warnings: [] };
    if (typeof raw !== 'object' || Array.isArray(raw)) throw kitError(422, 'Fields must be an object'); // text unverified
    const entries = Object.entries(raw);
    if (entries.length > MAX_FIELDS_PER_REQUEST) {
      throw kitError(422, `At most ${MAX_FIELDS_PER_REQUEST} custom fields can be updated at a time`); // text unverified
    }
    const updates = [];
    const warnings = [];
    for (const [key, value] of entries) {
      const field = [...state.fields.values()].find((f) => f.key === key);
      if (!field) {
        if (unknownFields === 'reject') throw kitError(422, `Custom field ${key} does not exist`); // text unverified
        warnings.push(`Custom field '${key}' does not exist and was ignored`); // text unverified
        continue;
      }
      if (value !== null && typeof value !== 'string') {
        throw kitError(422, `Custom field ${key} must be a string`); // text unverified
      }
      if (value !== null && codePointLength(value) > fieldMaxLength) {
        // Never echo the value: it may be a password.
        throw kitError(422, `Custom field ${key} is too long (maximum is ${fieldMaxLength} characters)`); // unverified
      }
      updates.push([field, value]);
    }
    return { updates, warnings };
  }

  function writeFields(sub, updates) {
    for (const [field, value] of updates) {
      if (value === null) sub.fields.delete(field.key);
      else sub.fields.set(field.key, value);
      audit.record('field', {
        contactId: sid(sub.id),
        fieldId: sid(field.id),
        label: field.label,
        length: value === null ? 0 : codePointLength(value),
        truncated: false,
      });
    }
  }

  /** Applies a tag; returns true when it was new. */
  function applyTag(sub, tag) {
    const duplicate = sub.tags.has(tag.id);
    if (!duplicate) sub.tags.set(tag.id, now());
    audit.record('tag', { action: 'apply', contactId: sid(sub.id), tagId: sid(tag.id), tagName: tag.name, duplicate });
    return !duplicate;
  }

  function tagged(sub, tag, created) {
    return json(created ? 201 : 200, { subscriber: subscriberJson(sub, { tagged_at: kitTime(sub.tags.get(tag.id)) }) });
  }

  // ---- routes ------------------------------------------------------------------------------

  const B = '/v4';
  const ID = '([^/]+)';

  const routes = [
    // List subscribers. `email_address` takes one address or a comma-separated list; `status`
    // defaults to `active`, so a cancelled subscriber is only found with status=all (or
    // status=cancelled). include=tags adds [{id, name}] to each subscriber.
    ['GET', new RegExp(`^${B}/subscribers$`), (req, url) => {
      const status = url.searchParams.get('status') || 'active';
      if (status !== 'all' && !STATES.includes(status)) throw kitError(422, `Invalid status ${status}`); // text unverified
      const rawEmails = url.searchParams.get('email_address');
      const emails = rawEmails === null ? null : rawEmails.split(',').map((e) => e.trim()).filter(Boolean);
      const include = new Set((url.searchParams.get('include') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      const all = [...state.subscribers.values()]
        .filter((s) => status === 'all' || s.state === status)
        .filter((s) => emails === null || emails.some((e) => same(e, s.email)))
        .sort((a, b) => a.id - b.id);
      const { page, pagination } = paginate(all, url);
      return json(200, {
        subscribers: page.map((s) =>
          subscriberJson(s, include.has('tags') ? { tags: subscriberTags(s).map(({ id, name }) => ({ id, name })) } : {}),
        ),
        pagination,
      });
    }],

    ['GET', new RegExp(`^${B}/subscribers/${ID}$`), (req, url, id) => {
      const sub = requireSubscriber(id);
      return json(200, { subscriber: subscriberJson(sub, { canceled_at: sub.canceled_at === null ? null : kitTime(sub.canceled_at) }) });
    }],

    // Update a subscriber: {email_address (required by the request schema), first_name?,
    // fields?: {key: value}}. A rejected request changes nothing.
    ['PUT', new RegExp(`^${B}/subscribers/${ID}$`), async (req, url, id) => {
      const sub = requireSubscriber(id);
      const body = await readJsonObject(req);
      if (body.email_address === undefined || body.email_address === null || body.email_address === '') {
        throw kitError(422, "Email address can't be blank"); // requirement per schema; text unverified
      }
      if (!looksLikeEmail(body.email_address)) throw kitError(422, 'Email address is invalid');
      const other = subscriberByEmail(body.email_address);
      if (other && other !== sub) throw kitError(422, 'Email address has already been taken');
      if (body.first_name !== undefined && body.first_name !== null && typeof body.first_name !== 'string') {
        throw kitError(422, 'First name must be a string'); // text unverified
      }
      const { updates, warnings } = checkFields(body.fields);

      sub.email = body.email_address;
      if (body.first_name !== undefined) sub.first_name = body.first_name; // omitted: kept (unverified)
      writeFields(sub, updates);
      const out = { subscriber: subscriberJson(sub) };
      if (warnings.length > 0) out.warnings = warnings;
      return json(updates.length > ASYNC_FIELDS_THRESHOLD ? 202 : 200, out);
    }],

    ['GET', new RegExp(`^${B}/subscribers/${ID}/tags$`), (req, url, id) => {
      const sub = requireSubscriber(id);
      const { page, pagination } = paginate(subscriberTags(sub), url);
      return json(200, { tags: page, pagination });
    }],

    ['GET', new RegExp(`^${B}/tags$`), (req, url) => {
      const all = [...state.tags.values()].sort((a, b) => a.id - b.id);
      const { page, pagination } = paginate(all, url);
      return json(200, { tags: page.map(tagJson), pagination });
    }],

    // Create a tag: {name} -> 201 {tag}, or 200 with the existing tag of that name
    // (case-insensitive match: unverified).
    ['POST', new RegExp(`^${B}/tags$`), async (req) => {
      const body = await readJsonObject(req);
      if (typeof body.name !== 'string' || body.name.trim() === '') throw kitError(422, "Name can't be blank"); // text unverified
      const existing = [...state.tags.values()].find((t) => same(t.name, body.name));
      if (existing) return json(200, { tag: { id: existing.id, name: existing.name, created_at: kitTime(existing.created_at) } });
      const tag = insertTag({ name: body.name });
      return json(201, { tag: { id: tag.id, name: tag.name, created_at: kitTime(tag.created_at) } });
    }],

    // Tag a subscriber by email address: {email_address} -> 201, or 200 when already tagged.
    ['POST', new RegExp(`^${B}/tags/${ID}/subscribers$`), async (req, url, tagId) => {
      const tag = requireTag(tagId);
      const body = await readJsonObject(req);
      if (body.email_address === undefined || body.email_address === null || body.email_address === '') {
        throw kitError(422, 'Either subscriber id or email address is required to tag subscriber');
      }
      const sub = subscriberByEmail(String(body.email_address));
      if (!sub) throw notFound(); // "The subscriber being tagged must already exist"; status unverified
      return tagged(sub, tag, applyTag(sub, tag));
    }],

    // Tag a subscriber: body {} -> 201, or 200 when the subscriber already has the tag; 404 for
    // an unknown tag or subscriber.
    ['POST', new RegExp(`^${B}/tags/${ID}/subscribers/${ID}$`), async (req, url, tagId, subId) => {
      const tag = requireTag(tagId);
      const sub = requireSubscriber(subId);
      const text = await req.text();
      if (text.trim() !== '') {
        try {
          JSON.parse(text);
        } catch {
          throw kitError(400, 'The request body is not valid JSON'); // unverified
        }
      }
      return tagged(sub, tag, applyTag(sub, tag));
    }],

    ['DELETE', new RegExp(`^${B}/tags/${ID}/subscribers/${ID}$`), (req, url, tagId, subId) => {
      const tag = requireTag(tagId);
      const sub = requireSubscriber(subId);
      const wasApplied = sub.tags.delete(tag.id);
      audit.record('tag', { action: 'remove', contactId: sid(sub.id), tagId: sid(tag.id), tagName: tag.name, wasApplied });
      return empty(204);
    }],

    ['GET', new RegExp(`^${B}/custom_fields$`), (req, url) => {
      const { page, pagination } = paginate(sortedFields(), url);
      return json(200, { custom_fields: page.map(fieldJson), pagination });
    }],

    // Legacy webhooks (superseded by /v4/webhook_endpoints, which this fake does not model).
    // Create: {target_url, event: {name: "subscriber.tag_add", tag_id}} -> 201 {webhook}; the
    // stored event name drops the "subscriber." prefix, as in the documented examples.
    ['GET', new RegExp(`^${B}/webhooks$`), (req, url) => {
      const all = [...state.webhooks.values()].sort((a, b) => a.id - b.id);
      const { page, pagination } = paginate(all, url);
      return json(200, { webhooks: page.map(webhookJson), pagination });
    }],

    ['POST', new RegExp(`^${B}/webhooks$`), async (req) => {
      const body = await readJsonObject(req);
      const event = body.event;
      const hasTarget = typeof body.target_url === 'string' && body.target_url !== '';
      if (!hasTarget || event === null || typeof event !== 'object' || typeof event.name !== 'string') {
        throw kitError(422, '`event` and `target` parameters must be provided');
      }
      let target;
      try {
        target = new URL(body.target_url);
      } catch {
        throw kitError(422, 'Target url is invalid'); // text unverified
      }
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw kitError(422, 'Target url is invalid');
      const needs = {
        'subscriber.tag_add': 'tag_id',
        'subscriber.tag_remove': 'tag_id',
        'subscriber.form_subscribe': 'form_id',
        'subscriber.course_subscribe': 'sequence_id',
        'subscriber.course_complete': 'sequence_id',
        'subscriber.product_purchase': 'product_id',
        'subscriber.link_click': 'initiator_value',
        'custom_field.field_value_updated': 'custom_field_id',
      };
      const known = [
        ...Object.keys(needs),
        'subscriber.subscriber_activate',
        'subscriber.subscriber_unsubscribe',
        'subscriber.subscriber_bounce',
        'subscriber.subscriber_complain',
        'purchase.purchase_create',
        'custom_field.field_created',
        'custom_field.field_deleted',
      ];
      if (!known.includes(event.name)) throw kitError(422, `Unknown event ${event.name}`); // text unverified
      const param = needs[event.name];
      const stored = { name: event.name.split('.')[1] };
      if (param) {
        if (event[param] === undefined || event[param] === null || event[param] === '') {
          throw kitError(422, `${param} is required for ${event.name}`); // text unverified
        }
        if (param === 'tag_id' && !state.tags.has(parseId(event.tag_id))) throw notFound(); // unverified
        stored[param] = param === 'initiator_value' ? String(event[param]) : parseId(event[param]) ?? event[param];
      } else {
        stored.initiator_value = null;
      }
      const hook = { id: takeId('webhook'), event: stored, target_url: body.target_url };
      state.webhooks.set(hook.id, hook);
      return json(201, { webhook: webhookJson(hook) });
    }],

    ['DELETE', new RegExp(`^${B}/webhooks/${ID}$`), (req, url, id) => {
      const wid = /^[0-9]{1,15}$/.test(id) ? Number(id) : null;
      if (!wid || !state.webhooks.delete(wid)) throw notFound();
      return empty(204);
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  // "The response body is the plain text `Retry later`, not JSON. The response does not include
  // a Retry-After header." (Rate limits page). The content-type value is unverified.
  const retryLater = (headers = {}) =>
    new Response('Retry later', { status: 429, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });

  const hooks = {
    authenticate(request) {
      // API keys in X-Kit-Api-Key (OpenAPI securitySchemes); OAuth tokens as a bearer token
      // (the header form is unverified). 401 {"errors": ["The access token is invalid"]} is the
      // documented body; that it is the same for a bad API key is unverified.
      const key = request.headers.get('x-kit-api-key');
      if (key !== null && key === apiKey) {
        credential = 'apiKey';
        return null;
      }
      const auth = request.headers.get('authorization') ?? '';
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (accessToken && m && m[1] === accessToken) {
        credential = 'oauth';
        return null;
      }
      return json(401, { errors: ['The access token is invalid'] });
    },
    rateLimited() {
      return retryLater();
    },
    faultResponse(fault) {
      if (fault.status === 429 && fault.body === undefined) return retryLater(fault.headers);
      const body = fault.body ?? { errors: [fault.status >= 500 ? 'Internal Server Error' : 'Injected fault'] };
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err) {
      if (err.details?.errors) return json(err.status, { errors: err.details.errors });
      // dispatch()'s unknown endpoint and readJsonObject()'s bad body land here.
      return json(err.status, { errors: [err.status === 404 ? 'Not Found' : err.message] });
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const handle = createPipeline({ audit, limiter, faults, sleep, hooks });
  loadSeed();

  const full = (sub) => ({ subscriber: subscriberJson(sub), tags: subscriberTags(sub) });

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url + '/v4'. */
    listen: (opts) => listen(handle, opts),
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every subscriber as {subscriber, tags: [{id, name, tagged_at}]} in Kit JSON, deep copies. */
    contacts: () => [...state.subscribers.values()].sort((a, b) => a.id - b.id).map(full),
    /** One subscriber as {subscriber, tags}, or undefined. */
    contact(id) {
      const sub = state.subscribers.get(parseId(id));
      return sub ? full(sub) : undefined;
    },
    /** Adds a subscriber without a request: {id?, first_name, email_address, state?, fields: {keyOrLabel: value}, tags: [nameOrId]}. */
    addContact: (input) => full(insertSubscriber(input)),
    /** Adds a tag without a request: {id?, name}. */
    addTag: (input) => tagJson(insertTag(input)),
    tags: () => [...state.tags.values()].sort((a, b) => a.id - b.id).map(tagJson),
    /** Custom fields as {id, name, key, label}. */
    fields: () => sortedFields().map(fieldJson),
    /** Legacy webhooks registered through POST /v4/webhooks. */
    webhooks: () => [...state.webhooks.values()].sort((a, b) => a.id - b.id).map(webhookJson),

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
