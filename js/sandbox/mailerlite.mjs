// A local fake of the part of the new MailerLite API (https://connect.mailerlite.com/api; not the
// classic api.mailerlite.com/api/v2) that memberwire uses. listen() serves it under /api: the API
// base is the server URL + '/api'.
//
// Sources (see docs/crm/mailerlite.md for the URL of each fact):
//   - developers.mailerlite.com: getting started (base URL, Bearer auth, 401 body, 120
//     requests per minute), subscribers, groups, fields and webhooks pages;
//   - responses recorded from the live API by MailerLite's own SDKs (mailerlite-python
//     tests/vcr_cassettes, mailerlite-nodejs tapes): subscriber, group, field and webhook JSON,
//     page-based list meta, x-ratelimit-limit/-remaining headers, 401 {"message":"Unauthenticated."},
//     404 {"message":"No query results for model [...]"}, 200 with the group for an assignment,
//     unknown keys in `fields` ignored by PUT /subscribers/{id}.
//
// Unverified here, and marked where it is implemented:
//   - the 429 body {"message":"Too Many Attempts."} and Retry-After (taken from a third-party
//     transcription of the getting-started page);
//   - the 422 messages (Laravel's wording), 400 for a body that is not JSON;
//   - the 1,024-character cap on a field value, the default page size 25 and the cap of 100;
//   - the shape of `groups` inside a subscriber (full group objects here);
//   - emails matched case-insensitively and stored as given;
//   - the 404 text for GET /subscribers/{email} and for the group/webhook routes.

import { createHmac } from 'node:crypto';

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  createWindowLimiter,
  dispatch,
  empty,
  fetchFor,
  json,
  looksLikeEmail,
  readJsonObject,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

export const MAILERLITE_DEFAULT_TOKEN = 'mailerlite-sandbox-api-token';

// "MailerLite API has a global rate limit of 120 requests per minute" (getting started).
const PER_MINUTE = 120;

// Longest field value the fake takes (unverified).
const FIELD_VALUE_MAX = 1024;

// List paging: `limit` default 25 as documented for subscribers (groups and fields unverified);
// the cap of 100 is unverified.
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;

/** Webhook events of the current API (webhooks page; the last four from a transcription). */
export const MAILERLITE_WEBHOOK_EVENTS = Object.freeze([
  'subscriber.created',
  'subscriber.updated',
  'subscriber.unsubscribed',
  'subscriber.added_to_group',
  'subscriber.removed_from_group',
  'subscriber.added_through_form',
  'subscriber.bounced',
  'subscriber.automation_triggered',
  'subscriber.automation_completed',
  'subscriber.spam_reported',
  'campaign.sent',
  'subscriber.deleted',
  'subscriber.active',
  'campaign.open',
  'campaign.click',
]);

/**
 * The `Signature` header MailerLite puts on a webhook delivery: HMAC-SHA256 of the raw JSON body
 * with the webhook's secret, hex encoded (the docs' PHP example is hash_hmac('sha256', ...)).
 */
export function mailerLiteSignature(rawBody, secret) {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

// The account's default fields, with the ids and keys the live API returns.
const DEFAULT_FIELDS = [
  { id: '1', name: 'Name', key: 'name' },
  { id: '2', name: 'Last name', key: 'last_name' },
  { id: '3', name: 'Company', key: 'company' },
  { id: '4', name: 'Country', key: 'country' },
  { id: '5', name: 'City', key: 'city' },
  { id: '6', name: 'Phone', key: 'phone' },
  { id: '7', name: 'State', key: 'state' },
  { id: '8', name: 'Zip', key: 'z_i_p' },
];

export const MAILERLITE_DEFAULT_SEED = Object.freeze({
  // Custom fields, added after the default ones.
  fields: [
    { id: '951001', name: 'Password', key: 'password', type: 'text' },
    { id: '951002', name: 'Set Password Link', key: 'set_password_link', type: 'text' },
  ],
  groups: [
    { id: '102817459301155841', name: 'Gold Member' },
    { id: '102817459301155907', name: 'Newsletter' },
    { id: '102817459301156012', name: 'Welcome' },
    // `filter[name]=Gold Member` matches this one too: the filter is a partial match.
    { id: '102817459301156133', name: 'Gold Member Plus' },
  ],
  subscribers: [
    { id: '31897397363737859', email: 'Ada.Lovelace@Example.com', fields: { name: 'Ada', last_name: 'Lovelace' }, groups: ['Gold Member', 'Newsletter'] },
    { id: '31986843064993537', email: 'grace.hopper@example.org', fields: { name: 'Grace', last_name: 'Hopper', password: 'Cobol-1959' }, groups: ['Newsletter'] },
    { id: '32005011548914739', email: 'ALAN@TURING.EXAMPLE', fields: { name: 'Alan', last_name: 'Turing' } },
    { id: '32005011549963320', email: 'K.Johnson@Example.NET', fields: { name: 'Katherine', last_name: 'Johnson' }, groups: ['Gold Member'] },
  ],
});

/** MailerLite timestamps: "2021-09-01 14:03:50" (UTC). */
function mlTime(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
}

function mailerLiteLimiter(config, now) {
  if (config === false || config === null) return null;
  if (config.burst !== undefined) throw new TypeError('rateLimit: MailerLite has no burst window; use perMinute or perSecond');
  const specs = [
    [config.perMinute, 60_000, 'minute'],
    [config.perSecond, 1000, 'second'],
  ]
    .filter(([limit]) => limit !== undefined)
    .map(([limit, ms, unit]) => ({ limit, ms, unit }));
  return createWindowLimiter(specs, now, { report: 'tightest' });
}

/** A Laravel validation error: 422 {message, errors: {field: [text]}} (wording unverified). */
function invalid(errors) {
  return new HttpError(422, 'The given data was invalid.', { errors });
}

/** Laravel's route-model-binding 404 (recorded for subscribers, groups and fields). */
function noModel(model) {
  return new HttpError(404, `No query results for model [App\\Models\\${model}].`);
}

/**
 * createMailerLiteSandbox(options?) -> sandbox
 *
 * options:
 *   token      accepted bearer token (default MAILERLITE_DEFAULT_TOKEN)
 *   rateLimit  {perMinute = 120, perSecond?} or false (`burst` is HighLevel's; a TypeError here)
 *   now        () => milliseconds (default Date.now)
 *   sleep      (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed       {fields?, groups?, subscribers?}: each given list replaces the default (the
 *              account's default fields name, last_name, ... always exist)
 */
export function createMailerLiteSandbox(options = {}) {
  const {
    token = MAILERLITE_DEFAULT_TOKEN,
    rateLimit = { perMinute: PER_MINUTE },
    now = Date.now,
    sleep = realSleep,
    seed = {},
  } = options;

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  const limiter = mailerLiteLimiter(rateLimit && { perMinute: PER_MINUTE, ...rateLimit }, now);
  const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    state = {
      fields: new Map(), // id -> {id, name, key, type, isDefault}
      groups: new Map(), // id -> {id, name, createdAt}
      subscribers: new Map(), // id -> subscriber (see insertSubscriber)
      webhooks: new Map(), // id -> webhook
      nextBig: 165968862226941797n, // snowflake-like ids for new subscribers, groups, webhooks
      nextField: 951100,
      secretSeed: 1,
    };
    for (const f of DEFAULT_FIELDS) insertField({ ...f, isDefault: true });
    for (const f of seed.fields ?? MAILERLITE_DEFAULT_SEED.fields) insertField(f);
    for (const g of seed.groups ?? MAILERLITE_DEFAULT_SEED.groups) insertGroup(g);
    for (const s of seed.subscribers ?? MAILERLITE_DEFAULT_SEED.subscribers) insertSubscriber(s);
  }

  function bigId() {
    state.nextBig += 1048583n;
    return String(state.nextBig);
  }

  function checkId(raw, map, digits) {
    if (typeof raw !== 'string' || !new RegExp(`^[0-9]{${digits}}$`).test(raw)) throw new TypeError(`bad id ${raw}`);
    if (map.has(raw)) throw new TypeError(`duplicate id ${raw}`);
    return raw;
  }

  function insertField({ id, name, key, type = 'text', isDefault = false }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a field needs a name');
    const fid = id === undefined ? String(state.nextField++) : checkId(String(id), state.fields, '1,12');
    const fkey = key ?? name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
    if ([...state.fields.values()].some((f) => f.key === fkey)) throw new TypeError(`duplicate field key ${fkey}`);
    const field = { id: fid, name, key: fkey, type, isDefault };
    state.fields.set(fid, field);
    return field;
  }

  function groupByName(name) {
    for (const g of state.groups.values()) if (g.name === name) return g;
    return undefined;
  }

  function insertGroup({ id, name }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a group needs a name');
    const gid = id === undefined ? bigId() : checkId(String(id), state.groups, '15,19');
    const group = { id: gid, name, createdAt: now() };
    state.groups.set(gid, group);
    return group;
  }

  function groupByRef(ref) {
    return state.groups.get(String(ref)) ?? groupByName(ref);
  }

  const fieldByKey = (key) => [...state.fields.values()].find((f) => f.key === key);

  // Helper-side insert (seed and addContact): friendly input, no API validation, no audit.
  function insertSubscriber(input) {
    const id = input.id === undefined ? bigId() : checkId(String(input.id), state.subscribers, '15,19');
    const t = now();
    const sub = {
      id,
      email: input.email ?? '',
      status: input.status ?? 'active',
      source: input.source ?? 'api',
      values: new Map(), // field key -> string value
      groups: new Set(), // group ids, in assignment order
      createdAt: t,
      updatedAt: t,
      subscribedAt: t,
    };
    for (const [key, value] of Object.entries(input.fields ?? {})) {
      const field = fieldByKey(key) ?? [...state.fields.values()].find((f) => f.name === key);
      if (!field) throw new TypeError(`unknown field ${key}`);
      if (value !== null && value !== undefined) sub.values.set(field.key, String(value));
    }
    for (const ref of input.groups ?? []) {
      const group = groupByRef(ref);
      if (!group) throw new TypeError(`unknown group ${ref}`);
      sub.groups.add(group.id);
    }
    state.subscribers.set(id, sub);
    return sub;
  }

  // ---- JSON views --------------------------------------------------------------------------

  function groupJson(g) {
    const members = [...state.subscribers.values()].filter((s) => s.groups.has(g.id));
    const count = (status) => members.filter((s) => s.status === status).length;
    return {
      id: g.id,
      name: g.name,
      active_count: count('active'),
      sent_count: 0,
      opens_count: 0,
      open_rate: { float: 0, string: '0%' },
      clicks_count: 0,
      click_rate: { float: 0, string: '0%' },
      unsubscribed_count: count('unsubscribed'),
      unconfirmed_count: count('unconfirmed'),
      bounced_count: count('bounced'),
      junk_count: count('junk'),
      created_at: mlTime(g.createdAt),
    };
  }

  // Every field key is present, null when unset (as the live API answers).
  function subscriberJson(s) {
    const fields = {};
    for (const f of state.fields.values()) fields[f.key] = s.values.has(f.key) ? s.values.get(f.key) : null;
    return {
      id: s.id,
      email: s.email,
      status: s.status,
      source: s.source,
      sent: 0,
      opens_count: 0,
      clicks_count: 0,
      open_rate: 0,
      click_rate: 0,
      ip_address: null,
      subscribed_at: mlTime(s.subscribedAt),
      unsubscribed_at: null,
      created_at: mlTime(s.createdAt),
      updated_at: mlTime(s.updatedAt),
      fields,
      // Full group objects (unverified: the recorded responses show only an empty list).
      groups: [...s.groups].map((gid) => groupJson(state.groups.get(gid))),
      opted_in_at: null,
      optin_ip: null,
    };
  }

  const fieldJson = (f) => ({ id: f.id, name: f.name, key: f.key, type: f.type, is_default: f.isDefault, used_in_automations: false });

  const webhookJson = (w) => ({
    id: w.id,
    name: w.name,
    url: w.url,
    events: [...w.events],
    enabled: w.enabled,
    is_blocked: false,
    secret: w.secret,
    created_at: mlTime(w.createdAt),
    updated_at: mlTime(w.updatedAt),
    batchable: w.batchable,
    version: '2022-01',
    last_fired_at: null,
    response_code: null,
  });

  // ---- request helpers ---------------------------------------------------------------------

  // GET /subscribers/{id or email}. An email is matched case-insensitively (unverified).
  function requireSubscriber(ref) {
    const sub = ref.includes('@')
      ? [...state.subscribers.values()].find((s) => same(s.email, ref))
      : state.subscribers.get(ref);
    if (!sub) throw noModel('Subscriber\\Subscriber');
    return sub;
  }

  function requireGroup(ref) {
    const g = state.groups.get(ref);
    if (!g) throw noModel('Group\\Group');
    return g;
  }

  /** Page-based list answer, as groups and fields answer: {data, links, meta}. */
  function pageOf(items, url, view) {
    const rawLimit = url.searchParams.get('limit');
    const rawPage = url.searchParams.get('page');
    const errors = {};
    const limit = rawLimit === null ? DEFAULT_LIMIT : Number(rawLimit);
    const page = rawPage === null ? 1 : Number(rawPage);
    if (!Number.isInteger(limit) || limit < 1) errors.limit = ['The limit must be an integer.'];
    else if (limit > MAX_LIMIT) errors.limit = [`The limit may not be greater than ${MAX_LIMIT}.`];
    if (!Number.isInteger(page) || page < 1) errors.page = ['The page must be at least 1.'];
    if (Object.keys(errors).length > 0) throw invalid(errors);

    const path = `${url.origin}${url.pathname}`;
    const total = items.length;
    const lastPage = Math.max(1, Math.ceil(total / limit));
    const start = (page - 1) * limit;
    const slice = items.slice(start, start + limit);
    const at = (p) => `${path}?page=${p}`;
    return json(200, {
      data: slice.map(view),
      links: {
        first: at(1),
        last: at(lastPage),
        prev: page > 1 ? at(page - 1) : null,
        next: page < lastPage ? at(page + 1) : null,
      },
      meta: {
        current_page: page,
        from: slice.length > 0 ? start + 1 : null,
        last_page: lastPage,
        links: [
          { url: page > 1 ? at(page - 1) : null, label: '&laquo; Previous', active: false },
          ...Array.from({ length: lastPage }, (_, i) => ({ url: at(i + 1), label: String(i + 1), active: i + 1 === page })),
          { url: page < lastPage ? at(page + 1) : null, label: 'Next &raquo;', active: false },
        ],
        path,
        per_page: limit,
        to: slice.length > 0 ? start + slice.length : null,
        total,
      },
    });
  }

  function sortBy(items, raw, allowed) {
    if (raw === null || raw === '') return items;
    const desc = raw.startsWith('-');
    const key = desc ? raw.slice(1) : raw;
    if (!allowed.includes(key)) throw invalid({ sort: ['The selected sort is invalid.'] });
    const val = (x) => (key === 'name' ? x.name.toLowerCase() : key === 'type' ? x.type : key === 'created_at' ? x.createdAt ?? 0 : 0);
    const sorted = [...items].sort((a, b) => (val(a) < val(b) ? -1 : val(a) > val(b) ? 1 : 0));
    return desc ? sorted.reverse() : sorted;
  }

  /** Validates `fields: {key: value}`; unknown keys are ignored, as the live API does. */
  function checkFields(fields) {
    if (fields === undefined) return [];
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw invalid({ fields: ['The fields must be an array.'] });
    }
    const out = [];
    const errors = {};
    for (const [key, value] of Object.entries(fields)) {
      const field = fieldByKey(key);
      if (!field) continue; // silently dropped (recorded: `fields.email` was ignored)
      if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
        errors[`fields.${key}`] = [`The fields.${key} must be a string.`];
        continue;
      }
      const text = value === null ? null : String(value);
      if (field.type === 'number' && text !== null && text !== '' && !Number.isFinite(Number(text))) {
        errors[`fields.${key}`] = [`The fields.${key} must be a number.`];
        continue;
      }
      if (text !== null && codePointLength(text) > FIELD_VALUE_MAX) {
        // Never echo the value: it may be a password.
        errors[`fields.${key}`] = [`The fields.${key} may not be greater than ${FIELD_VALUE_MAX} characters.`];
        continue;
      }
      out.push([field, text]);
    }
    if (Object.keys(errors).length > 0) throw invalid(errors);
    return out;
  }

  function checkGroupIds(groups) {
    if (groups === undefined) return [];
    if (!Array.isArray(groups)) throw invalid({ groups: ['The groups must be an array.'] });
    const errors = {};
    const out = groups.map((raw, i) => {
      const g = typeof raw === 'string' || typeof raw === 'number' ? state.groups.get(String(raw)) : undefined;
      if (!g) errors[`groups.${i}`] = [`The selected groups.${i} is invalid.`];
      return g;
    });
    if (Object.keys(errors).length > 0) throw invalid(errors);
    return out;
  }

  function writeField(sub, field, value) {
    if (value === null) sub.values.delete(field.key);
    else sub.values.set(field.key, value);
    audit.record('field', {
      contactId: sub.id,
      fieldId: field.id,
      label: field.name,
      length: value === null ? 0 : codePointLength(value),
      truncated: false,
    });
  }

  function assign(sub, group) {
    const duplicate = sub.groups.has(group.id);
    sub.groups.add(group.id);
    audit.record('tag', { action: 'apply', contactId: sub.id, tagId: group.id, tagName: group.name, duplicate });
  }

  // ---- routes ------------------------------------------------------------------------------

  const B = '/api';
  const ID = '([^/]+)';
  const STATUSES = ['active', 'unsubscribed', 'unconfirmed', 'bounced', 'junk'];

  const routes = [
    // Fetch by id or by email: {data: subscriber}.
    ['GET', new RegExp(`^${B}/subscribers/${ID}$`), (req, url, ref) => json(200, { data: subscriberJson(requireSubscriber(ref)) })],

    // Update: {fields: {key: value}, groups: [group ids], status, ...} -> 200 {data}. Groups
    // listed are added, never removed (unverified).
    ['PUT', new RegExp(`^${B}/subscribers/${ID}$`), async (req, url, ref) => {
      if (ref.includes('@')) throw noModel('Subscriber\\Subscriber'); // the path takes an id
      const sub = requireSubscriber(ref);
      const body = await readJsonObject(req);
      const values = checkFields(body.fields);
      const groups = checkGroupIds(body.groups);
      if (body.status !== undefined && !STATUSES.includes(body.status)) throw invalid({ status: ['The selected status is invalid.'] });
      for (const [field, value] of values) writeField(sub, field, value);
      for (const g of groups) assign(sub, g);
      if (body.status !== undefined) sub.status = body.status;
      sub.updatedAt = now();
      return json(200, { data: subscriberJson(sub) });
    }],

    // Assign to a group: no body -> 200 {data: group} (recorded), also when already assigned.
    ['POST', new RegExp(`^${B}/subscribers/${ID}/groups/${ID}$`), (req, url, ref, groupId) => {
      if (ref.includes('@')) throw noModel('Subscriber\\Subscriber');
      const sub = requireSubscriber(ref);
      const group = requireGroup(groupId);
      assign(sub, group);
      sub.updatedAt = now();
      return json(200, { data: groupJson(group) });
    }],

    // Unassign: 204.
    ['DELETE', new RegExp(`^${B}/subscribers/${ID}/groups/${ID}$`), (req, url, ref, groupId) => {
      const sub = requireSubscriber(ref);
      const group = requireGroup(groupId);
      const wasApplied = sub.groups.delete(group.id);
      audit.record('tag', { action: 'remove', contactId: sub.id, tagId: group.id, tagName: group.name, wasApplied });
      return empty(204);
    }],

    // Groups: ?limit&page&filter[name] (partial match)&sort=name|-name|created_at|... -> page.
    ['GET', new RegExp(`^${B}/groups$`), (req, url) => {
      const filter = url.searchParams.get('filter[name]');
      const matching = [...state.groups.values()].filter((g) => !filter || g.name.toLowerCase().includes(filter.toLowerCase()));
      const sorted = sortBy(matching, url.searchParams.get('sort'), ['name', 'total', 'open_rate', 'click_rate', 'created_at']);
      return pageOf(sorted, url, groupJson);
    }],

    // Fields: ?limit&page&filter[keyword]&filter[type]&sort=name|type -> page.
    ['GET', new RegExp(`^${B}/fields$`), (req, url) => {
      const keyword = url.searchParams.get('filter[keyword]');
      const type = url.searchParams.get('filter[type]');
      const matching = [...state.fields.values()].filter(
        (f) => (!keyword || f.name.toLowerCase().includes(keyword.toLowerCase()) || f.key.includes(keyword.toLowerCase())) && (!type || f.type === type),
      );
      return pageOf(sortBy(matching, url.searchParams.get('sort'), ['name', 'type']), url, fieldJson);
    }],

    ['GET', new RegExp(`^${B}/webhooks$`), (req, url) => pageOf([...state.webhooks.values()], url, webhookJson)],

    // Register: {name?, events: [...], url, enabled?, batchable?} -> 201 {data} with its secret.
    ['POST', new RegExp(`^${B}/webhooks$`), async (req) => {
      const body = await readJsonObject(req);
      const errors = {};
      let target = null;
      try {
        target = typeof body.url === 'string' ? new URL(body.url) : null;
      } catch {
        target = null;
      }
      if (!target || !/^https?:$/.test(target.protocol)) errors.url = ['The url must be a valid URL.'];
      if (!Array.isArray(body.events) || body.events.length === 0) errors.events = ['The events field is required.'];
      else {
        body.events.forEach((e, i) => {
          if (!MAILERLITE_WEBHOOK_EVENTS.includes(e)) errors[`events.${i}`] = [`The selected events.${i} is invalid.`];
        });
      }
      if (body.name !== undefined && typeof body.name !== 'string') errors.name = ['The name must be a string.'];
      if (Object.keys(errors).length > 0) throw invalid(errors);
      const t = now();
      // Secrets look like "yaEgW3JvHz" (10 letters and digits); derived, so runs repeat.
      const secret = createHmac('sha256', 'mailerlite-sandbox').update(String(state.secretSeed++)).digest('base64url').replace(/[-_]/g, 'x').slice(0, 10);
      const hook = {
        id: bigId(),
        name: body.name ?? '',
        url: body.url,
        events: [...new Set(body.events)],
        enabled: body.enabled ?? true,
        batchable: body.batchable === true,
        secret,
        createdAt: t,
        updatedAt: t,
      };
      state.webhooks.set(hook.id, hook);
      return json(201, { data: webhookJson(hook) });
    }],

    ['GET', new RegExp(`^${B}/webhooks/${ID}$`), (req, url, id) => {
      const hook = state.webhooks.get(id);
      if (!hook) throw noModel('Webhook\\Webhook');
      return json(200, { data: webhookJson(hook) });
    }],

    ['DELETE', new RegExp(`^${B}/webhooks/${ID}$`), (req, url, id) => {
      if (!state.webhooks.delete(id)) throw noModel('Webhook\\Webhook');
      return empty(204);
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  const hooks = {
    authenticate(request) {
      // "Authorization: Bearer XXX"; anything else is 401 {"message": "Unauthenticated."}.
      const m = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '');
      if (m && m[1] === token) return null;
      return json(401, { message: 'Unauthenticated.' });
    },
    // Body, Retry-After and X-RateLimit-Remaining 0 as transcribed from the getting-started
    // page (unverified).
    rateLimited(verdict) {
      return json(429, { message: 'Too Many Attempts.' }, {
        'x-ratelimit-limit': String(verdict.window.limit),
        'x-ratelimit-remaining': '0',
        'retry-after': String(Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))),
      });
    },
    // Every admitted answer carries x-ratelimit-limit / x-ratelimit-remaining (recorded).
    decorate(response, rate) {
      if (response.headers.has('x-ratelimit-limit')) return response;
      const headers = new Headers(response.headers);
      headers.set('x-ratelimit-limit', String(rate.window.limit));
      headers.set('x-ratelimit-remaining', String(rate.window.available));
      return new Response(response.body, { status: response.status, headers });
    },
    faultResponse(fault) {
      if (fault.status === 429 && fault.body === undefined) {
        return json(429, { message: 'Too Many Attempts.' }, { 'x-ratelimit-limit': String(PER_MINUTE), 'x-ratelimit-remaining': '0', 'retry-after': '60', ...fault.headers });
      }
      const body = fault.body ?? { message: fault.status >= 500 ? 'Server Error' : 'Injected fault' };
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err) {
      if (err.details?.errors) return json(err.status, { message: err.message, errors: err.details.errors });
      return json(err.status, { message: err.message });
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const handle = createPipeline({ audit, limiter, faults, sleep, hooks });
  loadSeed();

  const addGroup = (input) => groupJson(insertGroup(input));

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url + '/api'. */
    listen: (opts) => listen(handle, opts),
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every subscriber as GET /subscribers/{id} shows it (`data`), deep copies. */
    contacts: () => [...state.subscribers.values()].map(subscriberJson),
    /** One subscriber (by id or email) as GET /subscribers/{id} shows it, or undefined. */
    contact(ref) {
      try {
        return subscriberJson(requireSubscriber(String(ref)));
      } catch {
        return undefined;
      }
    },
    /** Adds a subscriber without a request: {id?, email, status?, fields: {key: value}, groups: [nameOrId]}. */
    addContact: (input) => subscriberJson(insertSubscriber(input)),
    /** Adds a group (MailerLite's tags) without a request: {id?, name}. */
    addGroup,
    addTag: addGroup,
    /** Groups as GET /groups lists them. */
    tags: () => [...state.groups.values()].map(groupJson),
    groups: () => [...state.groups.values()].map(groupJson),
    fields: () => [...state.fields.values()].map(fieldJson),
    /** Registered webhooks, with their secrets (for signing test deliveries). */
    webhooks: () => [...state.webhooks.values()].map(webhookJson),

    requests: () => audit.list('request'),
    /** Group assignments (kind 'tag'): {seq, time, action, contactId, tagId, tagName, duplicate | wasApplied}. */
    tagApplications: () => audit.list('tag'),
    /** Field writes, without values: {seq, time, contactId, fieldId, label, length, truncated}. */
    fieldWrites: () => audit.list('field'),
    audit: () => audit.list(),

    /** Back to the seed: subscribers, groups, fields, webhooks, logs, faults and rate windows. */
    reset() {
      loadSeed();
      audit.clear();
      faults.clear();
      limiter?.reset();
    },
  };
}
