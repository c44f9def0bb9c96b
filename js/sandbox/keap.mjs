// A local fake of the part of Keap's REST API (https://api.infusionsoft.com/crm/rest/) that
// memberwire uses. It follows Keap's published shapes where they are documented and says so
// where they are not ("unverified"), so a client that works against it should meet few surprises
// against the real service.
//
// Sources: Keap's v2 OpenAPI-generated SDKs (github.com/infusionsoft/keap-sdk: models Contact,
// EmailAddress, CustomFieldValue, CustomFieldMetaData, Tag, BasicContact, ListTaggedContactsResponse,
// CreateUpdateTagRequest; ContactApi and TagsApi operation docs), Keap's "API Token Quota and Usage
// Measurements" page (x-keap-* headers, personal access token limits), and the project's reference
// file /work/shared/reference/crm-and-wordpress-facts.md.

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  createRateLimiter,
  decodePageToken,
  dispatch,
  empty,
  encodePageToken,
  fetchFor,
  isoTime,
  json,
  looksLikeEmail,
  parseId,
  readJsonObject,
  realSleep,
  truncateCodePoints,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

export const KEAP_DEFAULT_API_KEY = 'keap-sandbox-api-key';

// The legacy Contact.Password field holds at most 20 characters (reference file). The REST API
// has no password field, so integrations use a custom field; the fake applies the legacy limit
// to the custom field labelled "Password".
const PASSWORD_MAX = 20;

// Default page size of the list endpoints. Keap's documented default is not stated in the SDK
// docs (unverified); a small default makes clients that forget to page fail in tests.
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

// Properties a v2 contact carries when no `fields=` is given. Unverified: Keap documents `fields`
// as "properties to include in the response" without listing the default set; custom_fields and
// tag_ids are treated as opt-in, so a client must ask for them.
const DEFAULT_CONTACT_FIELDS = ['id', 'given_name', 'family_name', 'email_addresses', 'create_time', 'update_time'];
const KNOWN_CONTACT_FIELDS = new Set([...DEFAULT_CONTACT_FIELDS, 'custom_fields', 'tag_ids']);

export const KEAP_DEFAULT_SEED = Object.freeze({
  customFields: [
    { id: 11, label: 'Password', field_type: 'TEXT' },
    { id: 13, label: 'Set Password Link', field_type: 'TEXT_AREA' },
  ],
  tags: [
    { id: 91, name: 'Gold Member', category: 'Membership' },
    { id: 93, name: 'Newsletter', category: 'Marketing' },
    { id: 95, name: 'Welcome', category: 'Membership' },
    { id: 97, name: 'Silver Member', category: 'Membership' },
  ],
  contacts: [
    { id: 101, given_name: 'Ada', family_name: 'Lovelace', email: 'Ada.Lovelace@Example.com', tags: ['Gold Member', 'Newsletter'] },
    { id: 103, given_name: 'Grace', family_name: 'Hopper', email: 'grace.hopper@example.org', tags: ['Newsletter'], custom_fields: { Password: 'Cobol-1959' } },
    { id: 105, given_name: 'Alan', family_name: 'Turing', email: 'ALAN@TURING.EXAMPLE' },
    { id: 107, given_name: 'Katherine', family_name: 'Johnson', email: 'K.Johnson@Example.NET', tags: ['Gold Member'] },
  ],
});

const REASON = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * createKeapSandbox(options?) -> sandbox
 *
 * options:
 *   apiKey           accepted X-Keap-API-Key value (default KEAP_DEFAULT_API_KEY)
 *   idType           'string' (default; v2 SDK models declare ids as strings) or 'integer'
 *   rateLimit        {perSecond = 10, perMinute?} or false (default {perSecond: 10})
 *   now              () => milliseconds (default Date.now)
 *   sleep            (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed             {customFields?, tags?, contacts?}: each given list replaces the default
 *   fieldOverflow    'reject' (default: 400) or 'truncate' for values over a field's maxLength
 */
export function createKeapSandbox(options = {}) {
  const {
    apiKey = KEAP_DEFAULT_API_KEY,
    idType = 'string',
    rateLimit = { perSecond: 10 },
    now = Date.now,
    sleep = realSleep,
    seed = {},
    fieldOverflow = 'reject',
  } = options;
  if (idType !== 'string' && idType !== 'integer') throw new TypeError("idType is 'string' or 'integer'");
  if (fieldOverflow !== 'reject' && fieldOverflow !== 'truncate') {
    throw new TypeError("fieldOverflow is 'reject' or 'truncate'");
  }

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  // Personal access token / service account key: 10 requests per second (Keap quota page; it
  // also lists 240 per minute and 30,000 per day, available here as perMinute).
  const limiter = createRateLimiter(rateLimit && { perSecond: 10, ...rateLimit }, now);
  const exportId = (n) => (idType === 'integer' ? n : String(n));

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    state = {
      customFields: new Map(), // id -> {id, label, field_type, field_name, maxLength}
      categories: new Map(), // id -> {id, name}
      tags: new Map(), // id -> {id, name, description, categoryId, create_time}
      contacts: new Map(), // id -> contact (see newContact)
      nextContactId: 1,
      nextTagId: 1,
      nextCategoryId: 1,
    };
    for (const f of seed.customFields ?? KEAP_DEFAULT_SEED.customFields) {
      const id = parseId(f.id);
      if (!id || typeof f.label !== 'string') throw new TypeError('seed custom fields need an id and a label');
      state.customFields.set(id, {
        id,
        label: f.label,
        field_type: f.field_type ?? 'TEXT',
        field_name: f.field_name ?? `${f.label.replace(/[^A-Za-z0-9]/g, '')}${id}`,
        maxLength: f.maxLength ?? (f.label === 'Password' ? PASSWORD_MAX : undefined),
      });
    }
    for (const t of seed.tags ?? KEAP_DEFAULT_SEED.tags) insertTag(t);
    for (const c of seed.contacts ?? KEAP_DEFAULT_SEED.contacts) insertContact(c);
  }

  function categoryId(name) {
    if (name === undefined || name === null) return null;
    for (const c of state.categories.values()) if (c.name === name) return c.id;
    const id = state.nextCategoryId++;
    state.categories.set(id, { id, name });
    return id;
  }

  function insertTag({ id, name, description = '', category }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a tag needs a name');
    const tagId = id === undefined ? state.nextTagId : parseId(id);
    if (!tagId || state.tags.has(tagId)) throw new TypeError(`bad or duplicate tag id ${id}`);
    state.nextTagId = Math.max(state.nextTagId, tagId + 2);
    const tag = { id: tagId, name, description, categoryId: categoryId(category), create_time: now() };
    state.tags.set(tagId, tag);
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
    if (id && state.customFields.has(id)) return state.customFields.get(id);
    for (const f of state.customFields.values()) if (f.label === ref) return f;
    throw new TypeError(`unknown custom field ${ref}`);
  }

  // Helper-side insert (seed and addContact): friendly input, no API validation, no audit.
  function insertContact(input) {
    const id = input.id === undefined ? state.nextContactId : parseId(input.id);
    if (!id || state.contacts.has(id)) throw new TypeError(`bad or duplicate contact id ${input.id}`);
    state.nextContactId = Math.max(state.nextContactId, id + 2);
    const t = now();
    const emails = input.email_addresses
      ? input.email_addresses.map((e) => ({ email: e.email, field: e.field ?? 'EMAIL1' }))
      : input.email
        ? [{ email: input.email, field: 'EMAIL1' }]
        : [];
    const contact = {
      id,
      given_name: input.given_name,
      family_name: input.family_name,
      email_addresses: emails,
      custom: new Map(),
      tags: new Map(), // tag id -> applied time (ms)
      create_time: t,
      update_time: t,
    };
    const custom = input.custom_fields ?? {};
    const entries = Array.isArray(custom) ? custom.map((c) => [c.id, c.content]) : Object.entries(custom);
    for (const [ref, content] of entries) contact.custom.set(fieldByRef(ref).id, content);
    for (const ref of input.tags ?? input.tag_ids ?? []) contact.tags.set(tagByRef(ref).id, t);
    state.contacts.set(id, contact);
    return contact;
  }

  // ---- JSON views --------------------------------------------------------------------------

  // custom_fields lists every contact custom field, with content null when unset (as the v1 API
  // does; unverified for v2), so clients must tolerate null content.
  function contactJson(c, fields = null) {
    const want = (name) => fields === null || fields.has(name);
    const out = {};
    if (want('id')) out.id = exportId(c.id);
    if (want('given_name') && c.given_name != null) out.given_name = c.given_name;
    if (want('family_name') && c.family_name != null) out.family_name = c.family_name;
    if (want('email_addresses')) out.email_addresses = c.email_addresses.map((e) => ({ ...e }));
    if (want('custom_fields')) {
      out.custom_fields = [...state.customFields.keys()]
        .sort((a, b) => a - b)
        .map((fid) => ({ id: exportId(fid), content: c.custom.has(fid) ? c.custom.get(fid) : null }));
    }
    if (want('tag_ids')) out.tag_ids = [...c.tags.keys()].sort((a, b) => a - b).map(exportId);
    if (want('create_time')) out.create_time = isoTime(c.create_time);
    if (want('update_time')) out.update_time = isoTime(c.update_time);
    return out;
  }

  function tagJson(t) {
    const category = t.categoryId === null ? null : state.categories.get(t.categoryId);
    return {
      id: exportId(t.id),
      name: t.name,
      description: t.description,
      // Tag.category is a CategoryReference in the SDK; its {id, name} members are unverified.
      category: category ? { id: exportId(category.id), name: category.name } : null,
      create_time: isoTime(t.create_time),
    };
  }

  function customFieldJson(f) {
    return {
      id: exportId(f.id),
      label: f.label,
      // The v2 SDK's FieldTypeEnum is upper case: TEXT, TEXT_AREA, ... (the v1 API said "Text").
      field_type: f.field_type,
      field_name: f.field_name,
      record_type: 'CONTACT',
      default_value: null,
      options: [],
    };
  }

  // ---- request helpers ---------------------------------------------------------------------

  function requireContact(rawId) {
    const id = parseId(rawId);
    const c = id && state.contacts.get(id);
    if (!c) throw new HttpError(404, `Contact ${rawId} not found`);
    return c;
  }

  function parseFields(url) {
    const raw = url.searchParams.getAll('fields').join(',');
    if (raw.trim() === '') return new Set(DEFAULT_CONTACT_FIELDS);
    const set = new Set(['id']);
    for (const name of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      // Keap accepts many more properties; the ones this fake does not model are ignored.
      if (KNOWN_CONTACT_FIELDS.has(name)) set.add(name);
    }
    return set;
  }

  function pageParams(url, scope) {
    const rawSize = url.searchParams.get('page_size');
    let size = DEFAULT_PAGE_SIZE;
    if (rawSize !== null && rawSize !== '') {
      size = Number(rawSize);
      if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
        throw new HttpError(400, `page_size must be an integer from 0 to ${MAX_PAGE_SIZE}`);
      }
      if (size === 0) size = DEFAULT_PAGE_SIZE;
    }
    const token = url.searchParams.get('page_token');
    const offset = token ? decodePageToken(token, scope) : 0;
    return { size, offset };
  }

  // next_page_token is "" on the last page (Google AIP-158 style, which Keap v2 follows in its
  // page_token/page_size/filter/order_by parameters; the empty string itself is unverified).
  function page(items, { size, offset }, scope) {
    const slice = items.slice(offset, offset + size);
    const next = offset + size < items.length ? encodePageToken(offset + size, scope) : '';
    return { slice, next };
  }

  // v2 `filter` is `field==value` terms joined by ';' (ContactApi docs: "filter=given_name%3D%3DMary",
  // "company_id%3D%3D123%3Bfamily_name%3D%3DSmith"). URLSearchParams decodes '+' as a space, as a
  // Java servlet does, so an unencoded '+' in an email does not match: clients must encode it.
  function parseFilter(url, allowed) {
    const raw = url.searchParams.get('filter');
    if (raw === null || raw === '') return [];
    return raw
      .split(';')
      .filter((part) => part !== '')
      .map((part) => {
        const i = part.indexOf('==');
        if (i < 1) throw new HttpError(400, 'filter must be field==value terms joined by ;');
        const field = part.slice(0, i).trim();
        if (!allowed.includes(field)) throw new HttpError(400, `Unsupported filter field: ${field}`);
        return { field, value: part.slice(i + 2) };
      });
  }

  // Comparisons are case-insensitive: the reference file says so for email; for names it
  // follows from Keap's MySQL collation (unverified).
  const same = (a, b) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
  function contactMatches(c, { field, value }) {
    if (field === 'email') return c.email_addresses.some((e) => same(e.email, value));
    return same(c[field], value);
  }

  /** Validates custom field updates; returns [field, content] pairs without changing anything. */
  function checkCustomFields(list) {
    if (!Array.isArray(list)) throw new HttpError(400, 'custom_fields must be an array of {id, content}');
    return list.map((item) => {
      const id = parseId(item?.id);
      const field = id && state.customFields.get(id);
      if (!field) throw new HttpError(400, `Unknown custom field id: ${String(item?.id)}`);
      let content = item.content ?? null;
      if (content !== null && typeof content !== 'string') {
        throw new HttpError(400, `Custom field ${field.id} takes a string`);
      }
      let truncated = false;
      if (content !== null && field.maxLength !== undefined && codePointLength(content) > field.maxLength) {
        if (fieldOverflow === 'reject') {
          // Never echo the value: this field may hold a password.
          throw new HttpError(400, `Custom field ${field.id} (${field.label}) holds at most ${field.maxLength} characters`);
        }
        content = truncateCodePoints(content, field.maxLength);
        truncated = true;
      }
      return { field, content, truncated };
    });
  }

  function checkEmails(list) {
    if (!Array.isArray(list)) throw new HttpError(400, 'email_addresses must be an array of {email, field}');
    return list.map((e) => {
      const field = e?.field ?? 'EMAIL1';
      if (!['EMAIL1', 'EMAIL2', 'EMAIL3'].includes(field)) throw new HttpError(400, `Invalid email field: ${field}`);
      if (!looksLikeEmail(e?.email)) throw new HttpError(400, `Invalid email address in ${field}`);
      return { email: e.email, field };
    });
  }

  function checkName(value, name) {
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new HttpError(400, `${name} must be a string`);
    }
    return value;
  }

  function writeCustomFields(contact, updates) {
    for (const { field, content, truncated } of updates) {
      contact.custom.set(field.id, content);
      audit.record('field', {
        contactId: exportId(contact.id),
        fieldId: exportId(field.id),
        label: field.label,
        length: content === null ? 0 : codePointLength(content),
        truncated,
      });
    }
  }

  function mergeEmails(contact, emails) {
    for (const e of emails) {
      const i = contact.email_addresses.findIndex((x) => x.field === e.field);
      if (i >= 0) contact.email_addresses[i] = e;
      else contact.email_addresses.push(e);
    }
    contact.email_addresses.sort((a, b) => a.field.localeCompare(b.field));
  }

  // ---- routes ------------------------------------------------------------------------------

  const V1 = '/crm/rest/v1';
  const V2 = '/crm/rest/v2';
  const ID = '([^/]+)';

  const routes = [
    // Retrieve Contact Model (ObjectModel): custom_fields as CustomFieldMetaData. The
    // optional_properties member is unverified.
    ['GET', new RegExp(`^${V2}/contacts/model$`), () => json(200, {
      custom_fields: [...state.customFields.values()].sort((a, b) => a.id - b.id).map(customFieldJson),
      optional_properties: ['custom_fields', 'tag_ids'],
    })],

    ['GET', new RegExp(`^${V2}/contacts$`), (req, url) => {
      const terms = parseFilter(url, ['email', 'given_name', 'family_name']);
      const fields = parseFields(url);
      const scope = `contacts:${url.searchParams.get('filter') ?? ''}`;
      const matching = [...state.contacts.values()]
        .filter((c) => terms.every((t) => contactMatches(c, t)))
        .sort((a, b) => a.id - b.id);
      const { slice, next } = page(matching, pageParams(url, scope), scope);
      return json(200, { contacts: slice.map((c) => contactJson(c, fields)), next_page_token: next });
    }],

    ['POST', new RegExp(`^${V2}/contacts$`), async (req) => {
      const body = await readJsonObject(req);
      const emails = checkEmails(body.email_addresses ?? []);
      // ContactApi: "Contact must contain at least one item in email_addresses or phone_numbers".
      const phones = Array.isArray(body.phone_numbers) ? body.phone_numbers : [];
      if (emails.length === 0 && phones.length === 0) {
        throw new HttpError(400, 'A contact needs at least one email address or phone number');
      }
      const updates = checkCustomFields(body.custom_fields ?? []);
      const given = checkName(body.given_name, 'given_name');
      const family = checkName(body.family_name, 'family_name');
      // Creating does not de-duplicate by email: two POSTs make two contacts, as in Keap.
      const contact = insertContact({ given_name: given, family_name: family, email_addresses: [] });
      mergeEmails(contact, emails);
      writeCustomFields(contact, updates);
      return json(201, contactJson(contact));
    }],

    ['GET', new RegExp(`^${V2}/contacts/${ID}$`), (req, url, id) => json(200, contactJson(requireContact(id), parseFields(url)))],

    ['PATCH', new RegExp(`^${V2}/contacts/${ID}$`), async (req, url, id) => {
      const contact = requireContact(id);
      const body = await readJsonObject(req);
      // update_mask: "If set, only the provided properties will be updated" (ContactApi docs).
      const maskRaw = url.searchParams.getAll('update_mask').join(',');
      const mask = maskRaw ? new Set(maskRaw.split(',').map((s) => s.trim())) : null;
      const has = (name) => body[name] !== undefined && (mask === null || mask.has(name));
      // Validate everything first: a rejected PATCH changes nothing.
      const emails = has('email_addresses') ? checkEmails(body.email_addresses) : null;
      const updates = has('custom_fields') ? checkCustomFields(body.custom_fields) : [];
      const given = has('given_name') ? checkName(body.given_name, 'given_name') : undefined;
      const family = has('family_name') ? checkName(body.family_name, 'family_name') : undefined;

      if (given !== undefined) contact.given_name = given;
      if (family !== undefined) contact.family_name = family;
      if (emails) mergeEmails(contact, emails);
      writeCustomFields(contact, updates);
      contact.update_time = now();
      return json(200, contactJson(contact));
    }],

    // v1: apply tags. Body {"tagIds": [..]} (integers in v1; digit strings are accepted too, as
    // a JSON-binding server would coerce them). The response maps each tag id to an outcome; the
    // SDK types it as Map<String, String>, the values "SUCCESS"/"DUPLICATE" are unverified.
    ['POST', new RegExp(`^${V1}/contacts/${ID}/tags$`), async (req, url, id) => {
      const contact = requireContact(id);
      const body = await readJsonObject(req);
      if (!Array.isArray(body.tagIds) || body.tagIds.length === 0) {
        throw new HttpError(400, 'tagIds must be a non-empty array of tag ids');
      }
      const tagIds = body.tagIds.map(parseId);
      const unknown = body.tagIds.filter((raw, i) => !tagIds[i] || !state.tags.has(tagIds[i]));
      if (unknown.length > 0) throw new HttpError(400, `Unknown tag ids: ${unknown.join(',')}`);
      const outcome = {};
      for (const tagId of tagIds) {
        const duplicate = contact.tags.has(tagId);
        if (!duplicate) contact.tags.set(tagId, now());
        outcome[String(tagId)] = duplicate ? 'DUPLICATE' : 'SUCCESS';
        audit.record('tag', {
          action: 'apply',
          contactId: exportId(contact.id),
          tagId: exportId(tagId),
          tagName: state.tags.get(tagId).name,
          duplicate,
        });
      }
      contact.update_time = now();
      return json(200, outcome);
    }],

    // v1: remove tags, `?ids=1,2`; 204 on success.
    ['DELETE', new RegExp(`^${V1}/contacts/${ID}/tags$`), (req, url, id) => {
      const contact = requireContact(id);
      const raw = (url.searchParams.get('ids') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      if (raw.length === 0) throw new HttpError(400, 'ids must list the tag ids to remove');
      const tagIds = raw.map(parseId);
      const unknown = raw.filter((r, i) => !tagIds[i] || !state.tags.has(tagIds[i]));
      if (unknown.length > 0) throw new HttpError(400, `Unknown tag ids: ${unknown.join(',')}`);
      for (const tagId of tagIds) {
        const wasApplied = contact.tags.delete(tagId);
        audit.record('tag', {
          action: 'remove',
          contactId: exportId(contact.id),
          tagId: exportId(tagId),
          tagName: state.tags.get(tagId).name,
          wasApplied,
        });
      }
      contact.update_time = now();
      return empty(204);
    }],

    ['GET', new RegExp(`^${V2}/tags$`), (req, url) => {
      const terms = parseFilter(url, ['name']);
      const scope = `tags:${url.searchParams.get('filter') ?? ''}`;
      const matching = [...state.tags.values()]
        .filter((t) => terms.every(({ value }) => same(t.name, value)))
        .sort((a, b) => a.id - b.id);
      const { slice, next } = page(matching, pageParams(url, scope), scope);
      return json(200, { tags: slice.map(tagJson), next_page_token: next });
    }],

    // Create Tag: CreateUpdateTagRequest {name (up to 255 characters), description, category};
    // 201 with the Tag. Tag.name is "the unique name of this tag"; the status for a duplicate
    // name is unverified (400 here).
    ['POST', new RegExp(`^${V2}/tags$`), async (req) => {
      const body = await readJsonObject(req);
      if (typeof body.name !== 'string' || body.name.trim() === '') throw new HttpError(400, 'name is required');
      if (codePointLength(body.name) > 255) throw new HttpError(400, 'name holds at most 255 characters');
      if ([...state.tags.values()].some((t) => same(t.name, body.name))) {
        throw new HttpError(400, `A tag named ${JSON.stringify(body.name)} already exists`);
      }
      let category;
      if (body.category?.id !== undefined) {
        const cid = parseId(body.category.id);
        if (!cid || !state.categories.has(cid)) throw new HttpError(400, 'Unknown tag category');
        category = state.categories.get(cid).name;
      }
      const tag = insertTag({ name: body.name, description: body.description ?? '', category });
      return json(201, tagJson(tag));
    }],

    // List Tagged Contacts: ListTaggedContactsResponse {contacts: [BasicContact], next_page_token};
    // BasicContact is {applied_time, email, family_name, given_name, id}.
    ['GET', new RegExp(`^${V2}/tags/${ID}/contacts$`), (req, url, rawTagId) => {
      const tagId = parseId(rawTagId);
      if (!tagId || !state.tags.has(tagId)) throw new HttpError(404, `Tag ${rawTagId} not found`);
      const scope = `tag:${tagId}`;
      const tagged = [...state.contacts.values()].filter((c) => c.tags.has(tagId)).sort((a, b) => a.id - b.id);
      const { slice, next } = page(tagged, pageParams(url, scope), scope);
      return json(200, {
        contacts: slice.map((c) => {
          const out = { id: exportId(c.id) };
          const email = c.email_addresses.find((e) => e.field === 'EMAIL1') ?? c.email_addresses[0];
          if (email) out.email = email.email;
          if (c.given_name != null) out.given_name = c.given_name;
          if (c.family_name != null) out.family_name = c.family_name;
          out.applied_time = isoTime(c.tags.get(tagId));
          return out;
        }),
        next_page_token: next,
      });
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  // Error bodies are unverified. v2 follows the SDK's Error model {code, message, status,
  // details}; v1 answers {message}.
  function errorBody(status, message, url) {
    if (url.pathname.startsWith(V1)) return { message };
    return { code: status, message, status: REASON[status] ?? 'Error', details: [] };
  }

  // Spike-throttle headers named as on Keap's quota page (x-keap-product-throttle-*). The page
  // shows them for OAuth's per-minute throttle; their values for a personal access token's
  // per-second limit are this fake's reading.
  function throttleHeaders(rate) {
    const w = rate.window;
    return {
      'x-keap-product-throttle-limit': String(w.limit),
      'x-keap-product-throttle-time-unit': w.unit,
      'x-keap-product-throttle-interval': '1',
      'x-keap-product-throttle-available': String(w.available),
      'x-keap-product-throttle-used': String(w.used),
    };
  }

  const hooks = {
    authenticate(request) {
      // Personal access tokens and service account keys go in X-Keap-API-Key (reference file).
      // The 401 body is unverified.
      if (request.headers.get('x-keap-api-key') === apiKey) return null;
      return json(401, { code: 401, message: 'Invalid or missing API key', status: 'Unauthorized', details: [] });
    },
    // Body as reported by Keap users on integration.keap.com ("Quota Exceeded" / "Request
    // Throttled"); quota headers and, per the reference file, no Retry-After.
    rateLimited(rate) {
      return json(429, { code: '429', message: 'Quota Exceeded', status: 'Request Throttled', details: null }, throttleHeaders(rate));
    },
    decorate(response, rate) {
      if (response.headers.has('x-keap-product-throttle-limit')) return response; // an injected 429
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(throttleHeaders(rate))) headers.set(name, value);
      return new Response(response.body, { status: response.status, headers });
    },
    faultResponse(fault, rate, url) {
      if (fault.status === 429 && fault.body === undefined) {
        const limit = rate?.window.limit ?? 10;
        return hooks.rateLimited({ window: { unit: rate?.window.unit ?? 'second', limit, used: limit, available: 0 } });
      }
      const body = fault.body ?? errorBody(fault.status, REASON[fault.status] ?? 'Injected fault', url);
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err, url) {
      return json(err.status, errorBody(err.status, err.message, url));
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const handle = createPipeline({ audit, limiter, faults, sleep, hooks });
  loadSeed();

  // ---- the sandbox -------------------------------------------------------------------------
  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle, for code that takes a fetch function. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url + '/crm/rest'. */
    listen: (opts) => listen(handle, opts),
    /** Queues faults, consumed one per matching request (see common.mjs createFaultQueue). */
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every contact as full v2 JSON (all modelled fields), deep copies. */
    contacts: () => [...state.contacts.values()].sort((a, b) => a.id - b.id).map((c) => contactJson(c)),
    /** One contact as full v2 JSON, or undefined. */
    contact(id) {
      const c = state.contacts.get(parseId(id));
      return c ? contactJson(c) : undefined;
    },
    /**
     * Adds a contact without a request (no audit, no limits). Input: {id?, given_name,
     * family_name, email | email_addresses, custom_fields: {labelOrId: content} | [{id, content}],
     * tags: [nameOrId]}. Returns its full JSON.
     */
    addContact: (input) => contactJson(insertContact(input)),
    /** Adds a tag without a request: {id?, name, description?, category?}. */
    addTag: (input) => tagJson(insertTag(input)),
    tags: () => [...state.tags.values()].sort((a, b) => a.id - b.id).map(tagJson),
    customFields: () => [...state.customFields.values()].sort((a, b) => a.id - b.id).map(customFieldJson),

    /** Requests in arrival order: {seq, time, method, path, query, status, rateLimited?, fault?, aborted?}. */
    requests: () => audit.list('request'),
    /** Tag applications and removals: {seq, time, action, contactId, tagId, tagName, duplicate | wasApplied}. */
    tagApplications: () => audit.list('tag'),
    /** Custom field writes, without contents: {seq, time, contactId, fieldId, label, length, truncated}. */
    fieldWrites: () => audit.list('field'),
    /** All of the above in one sequence, each with its `kind`. */
    audit: () => audit.list(),

    /** Back to the seed: contacts, tags, logs, faults and rate windows. */
    reset() {
      loadSeed();
      audit.clear();
      faults.clear();
      limiter?.reset();
    },
  };
}
