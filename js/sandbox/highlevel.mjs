// A local fake of the part of HighLevel's API v2 (LeadConnector, https://services.leadconnectorhq.com)
// that memberwire uses. listen() serves it at the server's root: the API base is the server URL
// itself (paths start with /contacts and /locations, as on services.leadconnectorhq.com).
//
// Sources (see docs/crm/highlevel.md for the URL of each fact):
//   - HighLevel's OpenAPI files (github.com/GoHighLevel/highlevel-api-docs: apps/contacts.json,
//     apps/locations.json, common/common-schemas.json): paths, the Version header, request DTOs
//     (UpdateContactDto, TagsDTO), response DTOs (ContactsByIdSuccessfulResponseDto,
//     UpdateContactsSuccessfulResponseDto, CreateAddTagSuccessfulResponseDto,
//     LocationTagsSuccessfulResponseDto, CustomFieldsListSuccessfulResponseDto) and the
//     400/401/422 error DTOs.
//   - HighLevel's help article "HighLevel API" (rate limits and X-RateLimit-* headers).
//
// Unverified here, and marked where it is implemented:
//   - the body of GET /contacts/search/duplicate (the OpenAPI file gives none; community code
//     reads {contact: {...} | null});
//   - 404 {"statusCode":404,"message":"Contact not found"} for an unknown contact (the OpenAPI file
//     lists only 400/401/422);
//   - the 429 body and the absence of Retry-After; the X-RateLimit-* headers are documented;
//   - 401 for a missing/invalid Version header, 403 for another location (community reports);
//   - tag names stored in lower case (tagCase option), tags created on the fly by POST tags;
//   - 422 for an unknown custom field id/key, the 10,000-character cap on a value, and `value`
//     accepted as an alias of the documented `field_value`;
//   - which keys a contact omits when empty (the fake omits unset names, email and phone).

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  createWindowLimiter,
  dispatch,
  fetchFor,
  isoTime,
  json,
  looksLikeEmail,
  readJsonObject,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

export const HIGHLEVEL_DEFAULT_TOKEN = 'pit-sandbox-highlevel-token';
export const HIGHLEVEL_DEFAULT_LOCATION = 'Lq7sNd2VbX9kPw4RtY6m';
/** The only `Version` header value the contact and location endpoints list (OpenAPI enum). */
export const HIGHLEVEL_API_VERSION = '2021-07-28';

// Documented limits: 100 requests per 10 seconds and 200,000 per day, per app per location.
const BURST_LIMIT = 100;
const BURST_WINDOW_MS = 10_000;
const DAILY_LIMIT = 200_000;
const DAY_MS = 86_400_000;

// Longest custom field value the fake takes (unverified: HighLevel documents no limit).
const FIELD_VALUE_MAX = 10_000;

const ID_PATTERN = /^[A-Za-z0-9]{20}$/;

export const HIGHLEVEL_DEFAULT_SEED = Object.freeze({
  customFields: [
    { id: 'Pw5dFx8KqL2nTz7RvB3m', name: 'Password', dataType: 'TEXT' },
    { id: 'Sp9LnK4xQw7mZt2RcV6b', name: 'Set Password Link', dataType: 'LARGE_TEXT' },
  ],
  tags: [
    { id: 'Tg1GoLdMbR7xQ2pLs9Vk', name: 'Gold Member' },
    { id: 'Tg2NwSlTr4kZ8mQx1Bc5', name: 'Newsletter' },
    { id: 'Tg3WlCmE6nP0rT5vY2Hd', name: 'Welcome' },
    { id: 'Tg4GoLdPlS3wK7zN1qJf', name: 'Gold Member Plus' },
  ],
  contacts: [
    { id: 'Ad4Lv9QxTz2mKp7RsN1b', firstName: 'Ada', lastName: 'Lovelace', email: 'Ada.Lovelace@Example.com', tags: ['Gold Member', 'Newsletter'] },
    { id: 'Gr8HpQ2wLx5nVc3ZtM6k', firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.org', tags: ['Newsletter'], customFields: { Password: 'Cobol-1959' } },
    { id: 'At7TrN4kWq9bXs2LpC5v', firstName: 'Alan', lastName: 'Turing', email: 'ALAN@TURING.EXAMPLE' },
    { id: 'Kj3JnS8vPz6mRq1TxB4w', firstName: 'Katherine', lastName: 'Johnson', email: 'K.Johnson@Example.NET', tags: ['Gold Member'] },
  ],
});

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Deterministic 20-character alphanumeric ids (mulberry32), so runs are reproducible. */
function idMaker(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return () => Array.from({ length: 20 }, () => ALNUM[next() % ALNUM.length]).join('');
}

function highLevelLimiter(config, now) {
  if (config === false || config === null) return null;
  // (createWindowLimiter checks each limit.)
  const specs = [
    [config.burst, BURST_WINDOW_MS, 'burst'],
    [config.perDay, DAY_MS, 'day'],
    [config.perSecond, 1000, 'second'],
    [config.perMinute, 60_000, 'minute'],
  ]
    .filter(([limit]) => limit !== undefined)
    .map(([limit, ms, unit]) => ({ limit, ms, unit }));
  return createWindowLimiter(specs, now);
}

/** NestJS-style 422 (UnprocessableDTO: message is a list of strings). */
function unprocessable(...messages) {
  return new HttpError(422, messages[0], { body: { statusCode: 422, message: messages, error: 'Unprocessable Entity' } });
}

/**
 * createHighLevelSandbox(options?) -> sandbox
 *
 * options:
 *   token       accepted bearer token (default HIGHLEVEL_DEFAULT_TOKEN, a Private Integration
 *               token of one sub-account)
 *   locationId  the sub-account (location) the token belongs to (default HIGHLEVEL_DEFAULT_LOCATION)
 *   rateLimit   {burst = 100 (per 10 s), perDay = 200000, perSecond?, perMinute?} or false
 *   now         () => milliseconds (default Date.now)
 *   sleep       (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed        {customFields?, tags?, contacts?}: each given list replaces the default
 *   tagCase     'lower' (default; unverified: HighLevel shows tags in lower case) or 'preserve'
 */
export function createHighLevelSandbox(options = {}) {
  const {
    token = HIGHLEVEL_DEFAULT_TOKEN,
    locationId = HIGHLEVEL_DEFAULT_LOCATION,
    rateLimit = { burst: BURST_LIMIT, perDay: DAILY_LIMIT },
    now = Date.now,
    sleep = realSleep,
    seed = {},
    tagCase = 'lower',
  } = options;
  if (tagCase !== 'lower' && tagCase !== 'preserve') throw new TypeError("tagCase is 'lower' or 'preserve'");
  if (!ID_PATTERN.test(locationId)) throw new TypeError('locationId must be 20 letters and digits');

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  const limiter = highLevelLimiter(rateLimit && { burst: BURST_LIMIT, perDay: DAILY_LIMIT, ...rateLimit }, now);
  const normTag = (name) => (tagCase === 'lower' ? name.trim().toLowerCase() : name.trim());
  const same = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

  // ---- state -------------------------------------------------------------------------------
  let state;
  let newId;

  function loadSeed() {
    newId = idMaker(0x5eed);
    state = {
      customFields: new Map(), // id -> {id, name, fieldKey, dataType, position, maxLength?}
      tags: new Map(), // id -> {id, name}
      contacts: new Map(), // id -> contact (see insertContact)
    };
    for (const f of seed.customFields ?? HIGHLEVEL_DEFAULT_SEED.customFields) insertField(f);
    for (const t of seed.tags ?? HIGHLEVEL_DEFAULT_SEED.tags) insertTag(t);
    for (const c of seed.contacts ?? HIGHLEVEL_DEFAULT_SEED.contacts) insertContact(c);
  }

  function freshId(map, raw) {
    const id = raw ?? newId();
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new TypeError(`ids are 20 letters and digits: ${id}`);
    if (map.has(id)) throw new TypeError(`duplicate id ${id}`);
    return id;
  }

  function insertField({ id, name, dataType = 'TEXT', fieldKey, placeholder = '', maxLength }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a custom field needs a name');
    const fid = freshId(state.customFields, id);
    const field = {
      id: fid,
      name,
      fieldKey: fieldKey ?? `contact.${name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
      dataType,
      placeholder,
      position: state.customFields.size * 50,
      maxLength,
    };
    state.customFields.set(fid, field);
    return field;
  }

  function tagByName(name) {
    for (const t of state.tags.values()) if (same(t.name, name)) return t;
    return undefined;
  }

  function insertTag({ id, name }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a tag needs a name');
    if (tagByName(name)) throw new TypeError(`duplicate tag ${name}`);
    const tag = { id: freshId(state.tags, id), name: normTag(name) };
    state.tags.set(tag.id, tag);
    return tag;
  }

  function fieldByRef(ref) {
    if (state.customFields.has(ref)) return state.customFields.get(ref);
    for (const f of state.customFields.values()) {
      if (f.name === ref || f.fieldKey === ref || f.fieldKey === `contact.${ref}`) return f;
    }
    return undefined;
  }

  // Helper-side insert (seed and addContact): friendly input, no API validation, no audit.
  function insertContact(input) {
    const id = freshId(state.contacts, input.id);
    const t = now();
    const contact = {
      id,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      email: input.email ?? null,
      phone: input.phone ?? null,
      source: input.source ?? 'public api',
      tags: [],
      custom: new Map(),
      dateAdded: t,
      dateUpdated: t,
    };
    for (const name of input.tags ?? []) {
      const known = tagByName(name) ?? insertTag({ name });
      if (!contact.tags.some((x) => same(x, known.name))) contact.tags.push(known.name);
    }
    for (const [ref, value] of Object.entries(input.customFields ?? {})) {
      const field = fieldByRef(ref);
      if (!field) throw new TypeError(`unknown custom field ${ref}`);
      contact.custom.set(field.id, String(value));
    }
    state.contacts.set(id, contact);
    return contact;
  }

  // ---- JSON views --------------------------------------------------------------------------
  // GetContectByIdSchema (sic) has many more members (dnd settings, attribution, address...);
  // the fake keeps those an integration reads. Keys of unset values are left out (unverified).

  function contactJson(c) {
    const out = { id: c.id, locationId };
    const full = [c.firstName, c.lastName].filter(Boolean).join(' ');
    if (full) {
      out.name = full;
      out.fullNameLowerCase = full.toLowerCase();
    }
    if (c.firstName) {
      out.firstName = c.firstName;
      out.firstNameLowerCase = c.firstName.toLowerCase();
    }
    if (c.lastName) {
      out.lastName = c.lastName;
      out.lastNameLowerCase = c.lastName.toLowerCase();
    }
    if (c.email) {
      out.email = c.email;
      out.emailLowerCase = c.email.toLowerCase();
    }
    if (c.phone) out.phone = c.phone;
    Object.assign(out, {
      dnd: false,
      type: 'lead',
      source: c.source,
      tags: [...c.tags],
      dateAdded: isoTime(c.dateAdded),
      dateUpdated: isoTime(c.dateUpdated),
      // Only fields holding a value are listed (unverified).
      customFields: [...c.custom].map(([id, value]) => ({ id, value })),
    });
    return out;
  }

  const tagJson = (t) => ({ name: t.name, locationId, id: t.id });

  const customFieldJson = (f) => ({
    id: f.id,
    name: f.name,
    fieldKey: f.fieldKey,
    placeholder: f.placeholder,
    dataType: f.dataType,
    position: f.position,
    picklistOptions: [],
    picklistImageOptions: [],
    isAllowedCustomOption: false,
    locationId,
    model: 'contact',
  });

  // ---- request helpers ---------------------------------------------------------------------

  // Unverified: status and body for an unknown id (one community report of this 404 body).
  function requireContact(rawId) {
    const c = state.contacts.get(rawId);
    if (!c) throw new HttpError(404, 'Contact not found', { body: { statusCode: 404, message: 'Contact not found' } });
    return c;
  }

  // A token belongs to one location; another location id is a 403 (unverified: community
  // reports quote this message).
  function requireLocation(id) {
    if (id === null || id === '') throw unprocessable('locationId should not be empty');
    if (id !== locationId) throw new HttpError(403, 'The token does not have access to this location.');
  }

  function contactByEmail(email) {
    return [...state.contacts.values()].find((c) => same(c.email, email));
  }

  /** Validates customFields items; returns [field, value] pairs (value null clears). */
  function checkCustomFields(list) {
    if (!Array.isArray(list)) throw unprocessable('customFields must be an array');
    return list.map((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        throw unprocessable(`customFields.${i} must be an object`);
      }
      const ref = item.id ?? item.key;
      if (typeof ref !== 'string' || ref === '') throw unprocessable(`customFields.${i}.id or key is required`);
      const field = fieldByRef(ref);
      if (!field) throw unprocessable(`customFields.${i}: unknown custom field ${ref}`);
      // `field_value` is the documented key; `value` is taken too (unverified alias).
      const raw = 'field_value' in item ? item.field_value : item.value;
      if (raw !== null && typeof raw !== 'string' && typeof raw !== 'number') {
        throw unprocessable(`customFields.${i}.field_value must be a string`);
      }
      const value = raw === null ? null : String(raw);
      const max = field.maxLength ?? FIELD_VALUE_MAX;
      if (value !== null && codePointLength(value) > max) {
        // Never echo the value: it may be a password.
        throw unprocessable(`customFields.${i}.field_value must be shorter than or equal to ${max} characters`);
      }
      return [field, value];
    });
  }

  function checkTagList(list, name = 'tags') {
    if (!Array.isArray(list)) throw unprocessable(`${name} must be an array`);
    if (list.some((t) => typeof t !== 'string' || t.trim() === '')) throw unprocessable(`each value in ${name} must be a non-empty string`);
    return list;
  }

  function checkName(value, name) {
    if (value !== undefined && value !== null && typeof value !== 'string') throw unprocessable(`${name} must be a string`);
    return value;
  }

  function writeField(contact, field, value) {
    if (value === null) contact.custom.delete(field.id);
    else contact.custom.set(field.id, value);
    audit.record('field', {
      contactId: contact.id,
      fieldId: field.id,
      label: field.name,
      length: value === null ? 0 : codePointLength(value),
      truncated: false,
    });
  }

  function applyTag(contact, rawName) {
    const tag = tagByName(rawName) ?? insertTag({ name: rawName }); // created on the fly (unverified)
    const duplicate = contact.tags.some((x) => same(x, tag.name));
    if (!duplicate) contact.tags.push(tag.name);
    audit.record('tag', { action: 'apply', contactId: contact.id, tagId: tag.id, tagName: tag.name, duplicate });
  }

  function removeTag(contact, rawName) {
    const i = contact.tags.findIndex((x) => same(x, rawName));
    const tag = tagByName(rawName);
    if (i >= 0) contact.tags.splice(i, 1);
    audit.record('tag', { action: 'remove', contactId: contact.id, tagId: tag?.id ?? null, tagName: tag?.name ?? normTag(rawName), wasApplied: i >= 0 });
  }

  // ---- routes ------------------------------------------------------------------------------

  const ID = '([^/]+)';

  const routes = [
    // Find by email: ?locationId=&email= (or &number=). The docs ask for URL-encoded values
    // ("test+abc@gmail.com will become test%2Babc%40gmail.com"): an unencoded '+' decodes to
    // a space here and matches nothing. Answer {contact: {...}} or {contact: null} (unverified).
    ['GET', /^\/contacts\/search\/duplicate$/, (req, url) => {
      requireLocation(url.searchParams.get('locationId'));
      const email = url.searchParams.get('email');
      const number = url.searchParams.get('number');
      let found;
      if (email !== null && email !== '') found = contactByEmail(email);
      else if (number !== null && number !== '') found = [...state.contacts.values()].find((c) => c.phone === number);
      else throw unprocessable('email or number is required');
      return json(200, { contact: found ? contactJson(found) : null });
    }],

    ['GET', new RegExp(`^/contacts/${ID}$`), (req, url, id) => json(200, { contact: contactJson(requireContact(id)) })],

    // Update: UpdateContactDto {firstName, lastName, name, email, phone, tags (replaces all
    // tags), customFields: [{id | key, field_value}]}. 200 {succeded (sic): true, contact}.
    ['PUT', new RegExp(`^/contacts/${ID}$`), async (req, url, id) => {
      const contact = requireContact(id);
      const body = await readJsonObject(req);
      // Validate everything first: a rejected update changes nothing.
      const firstName = checkName(body.firstName, 'firstName');
      const lastName = checkName(body.lastName, 'lastName');
      const phone = checkName(body.phone, 'phone');
      if (body.email !== undefined && body.email !== null) {
        if (!looksLikeEmail(body.email)) throw unprocessable('email must be an email');
        const other = contactByEmail(body.email);
        // The default "Allow Duplicate Contact = off" answer (community-reported shape).
        if (other && other !== contact) {
          throw new HttpError(400, 'This location does not allow duplicated contacts.', {
            body: { statusCode: 400, message: 'This location does not allow duplicated contacts.', meta: { contactId: other.id, matchingField: 'email' } },
          });
        }
      }
      const tags = body.tags === undefined ? null : checkTagList(body.tags);
      const updates = body.customFields === undefined ? [] : checkCustomFields(body.customFields);

      if (firstName !== undefined) contact.firstName = firstName;
      if (lastName !== undefined) contact.lastName = lastName;
      if (phone !== undefined) contact.phone = phone;
      if (body.email !== undefined) contact.email = body.email;
      if (tags) {
        for (const old of [...contact.tags]) if (!tags.some((t) => same(t.trim(), old))) removeTag(contact, old);
        for (const t of tags) applyTag(contact, t);
      }
      for (const [field, value] of updates) writeField(contact, field, value);
      contact.dateUpdated = now();
      return json(200, { succeded: true, contact: contactJson(contact) });
    }],

    // Add tags: TagsDTO {tags: [names]} -> 201 CreateAddTagSuccessfulResponseDto {tags}. The
    // answer lists the contact's tags after the call (unverified: the DTO does not say which).
    ['POST', new RegExp(`^/contacts/${ID}/tags$`), async (req, url, id) => {
      const contact = requireContact(id);
      const { tags } = await readJsonObject(req);
      checkTagList(tags);
      if (tags.length === 0) throw unprocessable('tags should not be empty'); // unverified
      for (const t of tags) applyTag(contact, t);
      contact.dateUpdated = now();
      return json(201, { tags: [...contact.tags] });
    }],

    // Remove tags: {tags: [names]} in a DELETE body -> 200 {tags} (response shape unverified).
    ['DELETE', new RegExp(`^/contacts/${ID}/tags$`), async (req, url, id) => {
      const contact = requireContact(id);
      const { tags } = await readJsonObject(req);
      checkTagList(tags);
      for (const t of tags) removeTag(contact, t);
      contact.dateUpdated = now();
      return json(200, { tags: [...contact.tags] });
    }],

    // Location tags: {tags: [{name, locationId, id}]}, no paging.
    ['GET', new RegExp(`^/locations/${ID}/tags$`), (req, url, loc) => {
      requireLocation(loc);
      const all = [...state.tags.values()].sort((a, b) => a.name.localeCompare(b.name));
      return json(200, { tags: all.map(tagJson) });
    }],

    // Location custom fields: ?model=contact|opportunity|all -> {customFields: [...]}, no paging.
    ['GET', new RegExp(`^/locations/${ID}/customFields$`), (req, url, loc) => {
      requireLocation(loc);
      const model = url.searchParams.get('model') ?? 'all';
      if (!['contact', 'opportunity', 'all'].includes(model)) {
        throw unprocessable('model must be one of the following values: contact, opportunity, all');
      }
      const all = model === 'opportunity' ? [] : [...state.customFields.values()].sort((a, b) => a.position - b.position);
      return json(200, { customFields: all.map(customFieldJson) });
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  const REASON = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 422: 'Unprocessable Entity', 429: 'Too Many Requests' };

  // Documented headers; their values on a 429 (remaining 0) follow from the names.
  function rateHeaders(rate) {
    const burst = rate.windows.find((w) => w.unit === 'burst') ?? rate.window;
    const day = rate.windows.find((w) => w.unit === 'day');
    const headers = {
      'x-ratelimit-max': String(burst.limit),
      'x-ratelimit-remaining': String(burst.available),
      'x-ratelimit-interval-milliseconds': String(burst.ms),
    };
    if (day) {
      headers['x-ratelimit-limit-daily'] = String(day.limit);
      headers['x-ratelimit-daily-remaining'] = String(day.available);
    }
    return headers;
  }

  const hooks = {
    authenticate(request) {
      // Bearer token (OpenAPI security "bearer"); the 401 body is UnauthorizedDTO's example.
      const auth = request.headers.get('authorization') ?? '';
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || m[1] !== token) {
        return json(401, { statusCode: 401, message: 'Invalid token: access token is invalid', error: 'Unauthorized' });
      }
      // Version is a required header on every endpoint; 401 and these messages are unverified
      // (community reports: "version header was not found." / "version header is invalid").
      const version = request.headers.get('version');
      if (version === null) return json(401, { statusCode: 401, message: 'version header was not found.' });
      if (version !== HIGHLEVEL_API_VERSION) return json(401, { statusCode: 401, message: 'version header is invalid' });
      return null;
    },
    // Unverified body; no Retry-After (not documented), the X-RateLimit-* headers at 0.
    rateLimited(verdict) {
      return json(429, { statusCode: 429, message: 'Too Many Requests' }, rateHeaders(verdict));
    },
    decorate(response, rate) {
      if (response.headers.has('x-ratelimit-max')) return response;
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(rateHeaders(rate))) headers.set(name, value);
      return new Response(response.body, { status: response.status, headers });
    },
    faultResponse(fault) {
      const body = fault.body ?? { statusCode: fault.status, message: REASON[fault.status] ?? 'Injected fault' };
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err) {
      if (err.details?.body) return json(err.status, err.details.body);
      return json(err.status, { statusCode: err.status, message: err.message, error: REASON[err.status] ?? 'Error' });
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const handle = createPipeline({ audit, limiter, faults, sleep, hooks });
  loadSeed();

  const sortedContacts = () => [...state.contacts.values()].sort((a, b) => a.dateAdded - b.dateAdded || a.id.localeCompare(b.id));

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url itself. */
    listen: (opts) => listen(handle, opts),
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** The location (sub-account) id the token belongs to. */
    locationId,
    /** Every contact as GET /contacts/{id} shows it (deep copies). */
    contacts: () => sortedContacts().map(contactJson),
    /** One contact as GET /contacts/{id} shows it, or undefined. */
    contact(id) {
      const c = state.contacts.get(id);
      return c ? contactJson(c) : undefined;
    },
    /** Adds a contact without a request: {id?, firstName, lastName, email, phone, tags: [names], customFields: {nameKeyOrId: value}}. */
    addContact: (input) => contactJson(insertContact(input)),
    /** Adds a location tag without a request: {id?, name}. */
    addTag: (input) => tagJson(insertTag(input)),
    tags: () => [...state.tags.values()].map(tagJson),
    fields: () => [...state.customFields.values()].map(customFieldJson),

    /** Requests in arrival order: {seq, time, method, path, query, status, rateLimited?, fault?, aborted?}. */
    requests: () => audit.list('request'),
    /** Tag applications and removals: {seq, time, action, contactId, tagId, tagName, duplicate | wasApplied}. */
    tagApplications: () => audit.list('tag'),
    /** Custom field writes, without values: {seq, time, contactId, fieldId, label, length, truncated}. */
    fieldWrites: () => audit.list('field'),
    audit: () => audit.list(),

    /** Back to the seed: contacts, tags, fields, ids, logs, faults and rate windows. */
    reset() {
      loadSeed();
      audit.clear();
      faults.clear();
      limiter?.reset();
    },
  };
}
