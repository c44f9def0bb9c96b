// A local fake of the part of Mailchimp's Marketing API 3.0 (https://{dc}.api.mailchimp.com/3.0;
// the current docs also call https://api.mailchimp.com/3.0) that memberwire uses. listen() serves
// it under /3.0: the API base is url + '/3.0'. fetch() accepts any host; on a {dc}.api.mailchimp.com
// host the data center must match the key's suffix.
//
// Sources (see docs/crm/mailchimp.md for the URL of each fact):
//   - Mailchimp's developer documentation, as published in github.com/mailchimp/fern-marketing-api-docs:
//     authentication (HTTP Basic with any user name and the key as password, or Bearer), errors
//     (problem+json bodies, the error glossary: 401 API Key Invalid, 404 Resource Not Found, 429 over
//     10 simultaneous connections), rate limits and timeouts, merge fields (text values are
//     truncated to 255 bytes), contacts (subscriber_hash = MD5 of the lower-cased email), the tags
//     guide (POST .../tags answers with no body; GET .../tags shape), webhooks.
//   - Mailchimp's generated SDK models (mailchimp-marketing-typescript-sdk, -python-sdk): the list
//     member (id, contact_id, unique_email_id, web_id, merge_fields, tags up to 50, tags_count),
//     MergeField, the tag-search answer {tags: [{id, name}], total_items}, the member tags request.
//
// Unverified here, and marked where it is implemented:
//   - the exact `detail` texts and the `type` URL of the error bodies; "API Key Missing";
//   - a 400 for `fields` together with `exclude_fields` (documented as "mutually exclusive");
//   - `Authorization: apikey KEY` (older docs; the current ones show Basic and Bearer only);
//   - a 401 for a key sent to another data center's host;
//   - 400 "Invalid Resource" for an unknown merge tag (Mailchimp may drop it silently);
//   - merge tags matched case-insensitively; text values cut at a UTF-8 character boundary;
//   - a tag name longer than 100 characters refused; tags created on first use (third-party docs);
//   - tag-search matching by case-insensitive substring; segment and list JSON beyond id/name;
//   - unique_email_id changing, and web_id/contact_id staying, when the email address changes;
//   - which member fields are present and their defaults (stats, member_rating, source...).

import { createHash, randomUUID } from 'node:crypto';

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  dispatch,
  fetchFor,
  json,
  looksLikeEmail,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

/** A made-up API key; the part after the last '-' is the data center (us1). */
export const MAILCHIMP_DEFAULT_API_KEY = '0123456789abcdef0123456789abcdef-us1';
/** The audience (list) id of the seed. */
export const MAILCHIMP_DEFAULT_LIST = 'b7c1e0d2a4';

const MAX_CONCURRENT = 10; // "a limit of 10 simultaneous connections" per user
const TEXT_MAX_BYTES = 255; // text merge fields: "a string, truncated to 255 bytes"
const TAG_NAME_MAX = 100; // unverified
const DEFAULT_COUNT = 10; // list endpoints: count default 10, max 1000
const MAX_COUNT = 1000;
const ERROR_TYPE = 'https://mailchimp.com/developer/marketing/docs/errors/'; // unverified
const PROBLEM_JSON = 'application/problem+json; charset=utf-8';
const MEMBER_STATUSES = new Set(['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional']);

export const MAILCHIMP_DEFAULT_SEED = Object.freeze({
  list: { id: MAILCHIMP_DEFAULT_LIST, name: 'Members', web_id: 202601 },
  // The default audience fields (FNAME, LNAME, ADDRESS, PHONE) and memberwire's two.
  mergeFields: [
    { merge_id: 1, tag: 'FNAME', name: 'First Name', type: 'text' },
    { merge_id: 2, tag: 'LNAME', name: 'Last Name', type: 'text' },
    { merge_id: 3, tag: 'ADDRESS', name: 'Address', type: 'address' },
    { merge_id: 4, tag: 'PHONE', name: 'Phone Number', type: 'phone' },
    { merge_id: 5, tag: 'PASSWORD', name: 'Member password', type: 'text' },
    { merge_id: 6, tag: 'SETPWLINK', name: 'Set password link', type: 'text' },
  ],
  tags: [
    { id: 10101, name: 'Gold Member' },
    { id: 10102, name: 'Newsletter' },
    { id: 10103, name: 'Welcome' },
  ],
  members: [
    { email_address: 'Ada.Lovelace@Example.com', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' }, tags: ['Gold Member'] },
    { email_address: 'grace.hopper@example.org', merge_fields: { FNAME: 'Grace', LNAME: 'Hopper', PASSWORD: 'Cobol-1959' }, tags: ['Gold Member', 'Newsletter'] },
    { email_address: 'alan.turing@example.net', merge_fields: { FNAME: 'Alan', LNAME: 'Turing' } },
    { email_address: 'k.johnson@example.com', merge_fields: { FNAME: 'Katherine', LNAME: 'Johnson' }, tags: ['Newsletter'] },
  ],
});

const md5 = (text) => createHash('md5').update(text, 'utf8').digest('hex');

/** The subscriber hash: MD5 of the lower-cased email address. */
export function subscriberHash(email) {
  return md5(String(email).toLowerCase());
}

/** "2026-01-02T03:04:05+00:00", Mailchimp's ISO 8601 form. */
function mcTime(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** "2026-01-02 03:04:05", the form of tags' date_added and webhooks' fired_at. */
function mcStamp(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function truncateBytes(text, max) {
  if (Buffer.byteLength(text, 'utf8') <= max) return { value: text, truncated: false };
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return { value: out, truncated: true };
}

function problem(status, title, detail, extra = {}) {
  return new HttpError(status, title, { detail, ...extra });
}

const invalidResource = (errors, detail = "The resource submitted could not be validated. For field-specific details, see the 'errors' array.") =>
  problem(400, 'Invalid Resource', detail, { errors });
const notFound = () => problem(404, 'Resource Not Found', 'The requested resource could not be found.');

/**
 * createMailchimpSandbox(options?) -> sandbox
 *
 * options:
 *   apiKey      accepted API key (MAILCHIMP_DEFAULT_API_KEY); its suffix is the data center
 *   rateLimit   {maxConcurrent = 10} or false: requests in flight at once (Mailchimp's only limit)
 *   now         () => milliseconds (default Date.now), for timestamps
 *   sleep       (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed        {list?, mergeFields?, tags?, members?}: each given part replaces the default
 */
export function createMailchimpSandbox(options = {}) {
  const {
    apiKey = MAILCHIMP_DEFAULT_API_KEY,
    rateLimit = {},
    now = Date.now,
    sleep = realSleep,
    seed = {},
  } = options;
  const dc = /-([a-z]+[0-9]+)$/.exec(apiKey)?.[1];
  if (!dc) throw new TypeError('apiKey must end in -<data center>, e.g. -us1');

  const maxConcurrent = rateLimit === false ? null : (rateLimit.maxConcurrent ?? MAX_CONCURRENT);
  if (maxConcurrent !== null && (!Number.isInteger(maxConcurrent) || maxConcurrent < 1)) {
    throw new TypeError('rateLimit.maxConcurrent must be a positive integer');
  }
  let inFlight = 0;
  // The shared pipeline asks the limiter after authentication; the count includes this request.
  const limiter = maxConcurrent === null ? null : {
    admit: () => (inFlight <= maxConcurrent
      ? { allowed: true, inFlight, limit: maxConcurrent }
      : { allowed: false, inFlight: inFlight - 1, limit: maxConcurrent }),
    reset() {},
  };

  const audit = createAuditLog(now);
  const faults = createFaultQueue();

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    const list = seed.list ?? MAILCHIMP_DEFAULT_SEED.list;
    state = {
      list: { id: list.id, name: list.name, web_id: list.web_id ?? 1, created: now() },
      mergeFields: new Map(), // tag -> {merge_id, tag, name, type, required, default_value, public, display_order, options}
      tags: new Map(), // id -> {id, name, created, updated}
      members: new Map(), // serial -> member (see insertMember)
      nextSerial: 1,
      nextTagId: 10201,
      nextWebId: 310000001,
    };
    for (const f of seed.mergeFields ?? MAILCHIMP_DEFAULT_SEED.mergeFields) insertMergeField(f);
    for (const t of seed.tags ?? MAILCHIMP_DEFAULT_SEED.tags) insertTag(t);
    for (const m of seed.members ?? MAILCHIMP_DEFAULT_SEED.members) insertMember(m);
  }

  function insertMergeField({ merge_id, tag, name, type = 'text', required = false, default_value = '', options = {} }) {
    if (typeof tag !== 'string' || !/^[A-Z0-9_]{1,10}$/.test(tag)) throw new TypeError(`bad merge tag ${tag}`);
    if (state.mergeFields.has(tag)) throw new TypeError(`duplicate merge tag ${tag}`);
    const field = {
      merge_id: merge_id ?? state.mergeFields.size + 1,
      tag,
      name: name ?? tag,
      type,
      required,
      default_value,
      public: false,
      display_order: state.mergeFields.size + 2,
      options: type === 'text' ? { size: 25, ...options } : { ...options },
      help_text: '',
    };
    state.mergeFields.set(tag, field);
    return field;
  }

  function insertTag({ id, name }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a tag needs a name');
    if (tagByName(name)) throw new TypeError(`duplicate tag ${name}`);
    const tagId = id ?? state.nextTagId;
    if (!Number.isSafeInteger(tagId) || state.tags.has(tagId)) throw new TypeError(`bad or duplicate tag id ${id}`);
    state.nextTagId = Math.max(state.nextTagId, tagId + 1);
    const t = now();
    const tag = { id: tagId, name, created: t, updated: t };
    state.tags.set(tagId, tag);
    return tag;
  }

  // Tag names are matched case-insensitively (unverified).
  function tagByName(name) {
    return [...state.tags.values()].find((t) => t.name.toLowerCase() === String(name).toLowerCase());
  }

  function uniqueEmailId(email) {
    return md5(`ueid:${state.list.id}:${email.toLowerCase()}`).slice(0, 10);
  }

  // Helper-side insert (seed and addContact): friendly input, no API validation, no audit.
  function insertMember(input) {
    const email = input.email_address ?? input.email;
    if (!looksLikeEmail(email)) throw new TypeError(`bad email ${email}`);
    if (memberByEmail(email)) throw new TypeError(`duplicate member ${email}`);
    const serial = state.nextSerial++;
    const t = now();
    const member = {
      serial,
      email_address: email,
      unique_email_id: uniqueEmailId(email),
      contact_id: md5(`contact:${state.list.id}:${serial}`),
      web_id: state.nextWebId++,
      status: input.status ?? 'subscribed',
      merge: new Map(),
      tags: new Map(), // tag id -> date added (ms)
      signup: t,
      changed: t,
    };
    for (const [ref, value] of Object.entries(input.merge_fields ?? {})) {
      const field = state.mergeFields.get(ref.toUpperCase());
      if (!field) throw new TypeError(`unknown merge tag ${ref}`);
      member.merge.set(field.tag, String(value));
    }
    for (const name of input.tags ?? []) {
      const tag = tagByName(name) ?? insertTag({ name });
      member.tags.set(tag.id, t);
    }
    state.members.set(serial, member);
    return member;
  }

  const idOf = (m) => subscriberHash(m.email_address);

  function memberByEmail(email) {
    return [...state.members.values()].find((m) => m.email_address.toLowerCase() === String(email).toLowerCase());
  }

  // ---- JSON views --------------------------------------------------------------------------

  function mergeValue(field, member) {
    if (member.merge.has(field.tag)) {
      const v = member.merge.get(field.tag);
      return field.type === 'number' && v !== '' ? Number(v) : v;
    }
    return field.type === 'number' ? '' : '';
  }

  function tagList(member) {
    return [...member.tags.keys()].map((id) => state.tags.get(id)).filter(Boolean);
  }

  function memberJson(m) {
    const mergeFields = {};
    for (const field of state.mergeFields.values()) mergeFields[field.tag] = mergeValue(field, m);
    const tags = tagList(m);
    return {
      id: idOf(m),
      email_address: m.email_address,
      unique_email_id: m.unique_email_id,
      contact_id: m.contact_id,
      full_name: [m.merge.get('FNAME'), m.merge.get('LNAME')].filter(Boolean).join(' '),
      web_id: m.web_id,
      email_type: 'html',
      status: m.status,
      consents_to_one_to_one_messaging: true,
      merge_fields: mergeFields,
      stats: { avg_open_rate: 0, avg_click_rate: 0 },
      ip_signup: '',
      timestamp_signup: mcTime(m.signup),
      ip_opt: '',
      timestamp_opt: mcTime(m.signup),
      member_rating: 2,
      last_changed: mcTime(m.changed),
      language: '',
      vip: false,
      email_client: '',
      location: { latitude: 0, longitude: 0, gmtoff: 0, dstoff: 0, country_code: '', timezone: '', region: '' },
      source: 'API - Generic',
      tags_count: tags.length,
      // "Returns up to 50 tags applied to this member".
      tags: tags.slice(0, 50).map((t) => ({ id: t.id, name: t.name })),
      list_id: state.list.id,
    };
  }

  function mergeFieldJson(f) {
    return {
      merge_id: f.merge_id,
      tag: f.tag,
      name: f.name,
      type: f.type,
      required: f.required,
      default_value: f.default_value,
      public: f.public,
      display_order: f.display_order,
      options: { ...f.options },
      help_text: f.help_text,
      list_id: state.list.id,
    };
  }

  function segmentJson(t) {
    const count = [...state.members.values()].filter((m) => m.tags.has(t.id)).length;
    return { id: t.id, name: t.name, member_count: count, type: 'static', created_at: mcTime(t.created), updated_at: mcTime(t.updated), options: { match: 'any', conditions: [] }, list_id: state.list.id };
  }

  function listJson() {
    const members = [...state.members.values()];
    return {
      id: state.list.id,
      web_id: state.list.web_id,
      name: state.list.name,
      date_created: mcTime(state.list.created),
      stats: {
        member_count: members.filter((m) => m.status === 'subscribed').length,
        unsubscribe_count: members.filter((m) => m.status === 'unsubscribed').length,
        cleaned_count: members.filter((m) => m.status === 'cleaned').length,
        merge_field_count: state.mergeFields.size,
      },
    };
  }

  // ---- request helpers ---------------------------------------------------------------------

  async function readJsonObject(request) {
    const text = await request.text();
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      throw problem(400, 'JSON Parse Exception', 'We encountered an unspecified JSON parsing error.'); // detail unverified
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidResource([], 'The resource submitted could not be validated: the body must be a JSON object.');
    }
    return value;
  }

  function requireList(listId) {
    if (listId !== state.list.id) throw notFound();
  }

  /**
   * The member a path names: the subscriber hash (MD5 of the lower-cased email; a hash of the
   * address as typed, mixed case, is just an unknown member), or, as the reference allows, the
   * email address itself or the contact_id.
   */
  function requireMember(listId, ref) {
    requireList(listId);
    const members = [...state.members.values()];
    let m;
    if (ref.includes('@')) m = memberByEmail(ref);
    else if (/^[0-9a-f]{32}$/.test(ref)) m = members.find((x) => idOf(x) === ref || x.contact_id === ref);
    if (!m) throw notFound();
    return m;
  }

  function countOffset(url) {
    const count = url.searchParams.has('count') ? Number(url.searchParams.get('count')) : DEFAULT_COUNT;
    const offset = url.searchParams.has('offset') ? Number(url.searchParams.get('offset')) : 0;
    if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) {
      throw invalidResource([{ field: 'count', message: `count must be an integer from 0 to ${MAX_COUNT}` }]);
    }
    if (!Number.isInteger(offset) || offset < 0) throw invalidResource([{ field: 'offset', message: 'offset must be a non-negative integer' }]);
    return { count, offset };
  }

  /** Partial responses: `fields` keeps, `exclude_fields` drops, dotted paths (merge_fields.FNAME). */
  function partial(obj, url) {
    const pick = url.searchParams.get('fields');
    const drop = url.searchParams.get('exclude_fields');
    if (pick && drop) throw invalidResource([{ field: 'fields', message: 'fields and exclude_fields are mutually exclusive' }]);
    let out = obj;
    if (pick) {
      out = {};
      for (const path of pick.split(',').map((s) => s.trim()).filter(Boolean)) {
        const parts = path.split('.');
        let src = obj;
        let dst = out;
        for (let i = 0; i < parts.length && src !== undefined; i += 1) {
          const key = parts[i];
          if (!(key in Object(src))) break;
          if (i === parts.length - 1) dst[key] = structuredClone(src[key]);
          else {
            dst[key] ??= {};
            dst = dst[key];
            src = src[key];
          }
        }
      }
    }
    if (drop) {
      out = structuredClone(out);
      for (const path of drop.split(',').map((s) => s.trim()).filter(Boolean)) {
        const parts = path.split('.');
        let target = out;
        for (const key of parts.slice(0, -1)) target = target?.[key];
        if (target && typeof target === 'object') delete target[parts.at(-1)];
      }
    }
    return out;
  }

  /** Validates merge field updates; returns [field, value, truncated] triples, changing nothing. */
  function checkMergeFields(input) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw invalidResource([{ field: 'merge_fields', message: 'Schema describes object, array found instead' }]);
    }
    const errors = [];
    const updates = [];
    for (const [key, raw] of Object.entries(input)) {
      const field = state.mergeFields.get(key.toUpperCase());
      if (!field) {
        errors.push({ field: key, message: 'This merge field does not exist in this audience' }); // unverified
        continue;
      }
      if (field.type === 'address') {
        if (raw === '' || raw === null) {
          updates.push([field, '', false]);
          continue;
        }
        const ok = raw && typeof raw === 'object' && ['addr1', 'city', 'state', 'zip'].every((k) => typeof raw[k] === 'string');
        if (!ok) errors.push({ field: field.tag, message: 'Please enter a complete address' });
        else updates.push([field, JSON.stringify(raw), false]);
        continue;
      }
      if (raw !== null && typeof raw !== 'string' && typeof raw !== 'number') {
        errors.push({ field: field.tag, message: 'Please enter a value' });
        continue;
      }
      const text = raw === null ? '' : String(raw);
      if (field.type === 'number' && text !== '' && !Number.isFinite(Number(text))) {
        errors.push({ field: field.tag, message: 'Please enter a number' });
        continue;
      }
      if (field.type === 'url' && text !== '' && !/^https?:\/\/\S+$/i.test(text)) {
        errors.push({ field: field.tag, message: 'Please enter a valid URL' });
        continue;
      }
      const { value, truncated } = truncateBytes(text, TEXT_MAX_BYTES);
      updates.push([field, value, truncated]);
    }
    if (errors.length > 0) throw invalidResource(errors, 'Your merge fields were invalid.');
    return updates;
  }

  function checkTags(body) {
    if (!Array.isArray(body.tags)) throw invalidResource([{ field: 'tags', message: 'Schema describes array, object found instead' }]);
    const errors = [];
    const out = body.tags.map((t, i) => {
      const name = t?.name;
      if (typeof name !== 'string' || name.trim() === '') errors.push({ field: `tags item ${i}: name`, message: 'Required property name not found' });
      else if (codePointLength(name) > TAG_NAME_MAX) errors.push({ field: `tags item ${i}: name`, message: `String is too long (${codePointLength(name)} chars), maximum ${TAG_NAME_MAX} allowed` });
      if (t?.status !== 'active' && t?.status !== 'inactive') errors.push({ field: `tags item ${i}: status`, message: 'Value is not one of the values specified in the enum' });
      return { name: typeof name === 'string' ? name.trim() : name, status: t?.status };
    });
    if (errors.length > 0) throw invalidResource(errors);
    return out;
  }

  // ---- routes ------------------------------------------------------------------------------

  const B = '/3.0';
  const ID = '([^/]+)';

  const routes = [
    ['GET', new RegExp(`^${B}/ping$`), () => json(200, { health_status: "Everything's Chimpy!" })],

    ['GET', new RegExp(`^${B}/lists$`), () => json(200, { lists: [listJson()], total_items: 1 })],
    ['GET', new RegExp(`^${B}/lists/${ID}$`), (req, url, listId) => {
      requireList(listId);
      return json(200, partial(listJson(), url));
    }],

    ['GET', new RegExp(`^${B}/lists/${ID}/members/${ID}$`), (req, url, listId, ref) => json(200, partial(memberJson(requireMember(listId, ref)), url))],

    // Update: {merge_fields: {TAG: value}, email_address?, status?}. Text values over 255 bytes are cut.
    ['PATCH', new RegExp(`^${B}/lists/${ID}/members/${ID}$`), async (req, url, listId, ref) => {
      const member = requireMember(listId, ref);
      const body = await readJsonObject(req);
      const updates = body.merge_fields === undefined ? [] : checkMergeFields(body.merge_fields);
      let email;
      if (body.email_address !== undefined) {
        if (!looksLikeEmail(body.email_address)) {
          throw invalidResource([{ field: 'email_address', message: 'This value should be a valid email.' }]); // text unverified
        }
        const other = memberByEmail(body.email_address);
        if (other && other !== member) {
          throw problem(400, 'Member Exists', `${body.email_address} is already a list member. Use PUT to insert or update list members.`); // unverified
        }
        email = body.email_address;
      }
      if (body.status !== undefined && !MEMBER_STATUSES.has(body.status)) {
        throw invalidResource([{ field: 'status', message: 'Value is not one of the values specified in the enum' }]);
      }
      const contactId = idOf(member);
      for (const [field, value, truncated] of updates) {
        if (value === '') member.merge.delete(field.tag);
        else member.merge.set(field.tag, value);
        audit.record('field', { contactId, fieldId: field.tag, label: field.name, length: Buffer.byteLength(value, 'utf8'), truncated });
      }
      if (email !== undefined && email !== member.email_address) {
        member.email_address = email;
        member.unique_email_id = uniqueEmailId(email);
      }
      if (body.status !== undefined) member.status = body.status;
      member.changed = now();
      return json(200, memberJson(member));
    }],

    ['GET', new RegExp(`^${B}/lists/${ID}/members/${ID}/tags$`), (req, url, listId, ref) => {
      const member = requireMember(listId, ref);
      const { count, offset } = countOffset(url);
      const tags = [...member.tags.entries()].map(([id, added]) => ({ id, name: state.tags.get(id).name, date_added: mcStamp(added) }));
      return json(200, { tags: tags.slice(offset, offset + count), total_items: tags.length });
    }],

    // Add or remove tags: {tags: [{name, status: "active" | "inactive"}], is_syncing?} -> 204, no body.
    ['POST', new RegExp(`^${B}/lists/${ID}/members/${ID}/tags$`), async (req, url, listId, ref) => {
      const member = requireMember(listId, ref);
      const tags = checkTags(await readJsonObject(req));
      const contactId = idOf(member);
      const t = now();
      for (const { name, status } of tags) {
        let tag = tagByName(name);
        if (status === 'active') {
          tag ??= insertTag({ name }); // a new name creates the tag (unverified)
          const duplicate = member.tags.has(tag.id);
          if (!duplicate) member.tags.set(tag.id, t);
          tag.updated = t;
          audit.record('tag', { action: 'apply', contactId, tagId: String(tag.id), tagName: tag.name, duplicate });
        } else if (tag) {
          const wasApplied = member.tags.delete(tag.id);
          audit.record('tag', { action: 'remove', contactId, tagId: String(tag.id), tagName: tag.name, wasApplied });
        }
      }
      member.changed = t;
      return new Response(null, { status: 204 });
    }],

    // Tags of the audience whose name matches `name`.
    ['GET', new RegExp(`^${B}/lists/${ID}/tag-search$`), (req, url, listId) => {
      requireList(listId);
      const q = (url.searchParams.get('name') ?? '').toLowerCase();
      const tags = [...state.tags.values()].filter((t) => t.name.toLowerCase().includes(q)).sort((a, b) => a.id - b.id);
      return json(200, { tags: tags.map((t) => ({ id: t.id, name: t.name })), total_items: tags.length });
    }],

    // Tags are static segments; type=saved|static|fuzzy filters (only static ones exist here).
    ['GET', new RegExp(`^${B}/lists/${ID}/segments$`), (req, url, listId) => {
      requireList(listId);
      const type = url.searchParams.get('type');
      if (type !== null && !['saved', 'static', 'fuzzy'].includes(type)) {
        throw invalidResource([{ field: 'type', message: 'Value is not one of the values specified in the enum' }]);
      }
      const all = type === null || type === 'static' ? [...state.tags.values()].sort((a, b) => a.id - b.id) : [];
      const { count, offset } = countOffset(url);
      return json(200, { segments: all.slice(offset, offset + count).map(segmentJson), list_id: state.list.id, total_items: all.length });
    }],

    ['GET', new RegExp(`^${B}/lists/${ID}/merge-fields$`), (req, url, listId) => {
      requireList(listId);
      const all = [...state.mergeFields.values()].sort((a, b) => a.merge_id - b.merge_id);
      const { count, offset } = countOffset(url);
      return json(200, { merge_fields: all.slice(offset, offset + count).map(mergeFieldJson), list_id: state.list.id, total_items: all.length });
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  function problemResponse(status, title, detail, extra = {}, headers = {}) {
    return new Response(JSON.stringify({ type: ERROR_TYPE, title, status, detail, instance: randomUUID(), ...extra }), {
      status,
      headers: { 'content-type': PROBLEM_JSON, ...headers },
    });
  }

  /** The key a request carries: Basic (any user, key as password), Bearer, or `apikey` (legacy). */
  function presentedKey(request) {
    const header = request.headers.get('authorization');
    if (!header) return null;
    const [scheme, value = ''] = header.trim().split(/\s+/, 2);
    if (/^basic$/i.test(scheme)) {
      let decoded;
      try {
        decoded = Buffer.from(value, 'base64').toString('utf8');
      } catch {
        return '';
      }
      const i = decoded.indexOf(':');
      return i < 0 ? '' : decoded.slice(i + 1);
    }
    if (/^(bearer|apikey)$/i.test(scheme)) return value;
    return '';
  }

  const hooks = {
    authenticate(request) {
      const key = presentedKey(request);
      if (key === null) return problemResponse(401, 'API Key Missing', 'Your request did not include an API key.');
      // A key sent to another data center's host is refused (only checked on *.api.mailchimp.com hosts).
      const host = /^([a-z]+[0-9]+)\.api\.mailchimp\.com$/i.exec(new URL(request.url).hostname)?.[1]?.toLowerCase();
      if (key === apiKey && (host === undefined || host === dc)) return null;
      return problemResponse(401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
    },
    // No rate headers: Mailchimp documents none.
    rateLimited(verdict) {
      return problemResponse(429, 'Too Many Requests', `You have exceeded the limit of ${verdict.limit} simultaneous connections.`);
    },
    faultResponse(fault) {
      if (fault.body === undefined && fault.status === 429) return hooks.rateLimited({ limit: maxConcurrent ?? MAX_CONCURRENT });
      if (fault.body === undefined) return problemResponse(fault.status, fault.status >= 500 ? 'Internal Server Error' : 'Injected fault', 'Injected fault', {}, fault.headers);
      return typeof fault.body === 'string'
        ? new Response(fault.body, { status: fault.status, headers: fault.headers })
        : json(fault.status, fault.body, fault.headers);
    },
    errorResponse(err) {
      if (err.message === 'No such endpoint in this sandbox' || err.message === 'Malformed path') {
        return problemResponse(404, 'Resource Not Found', 'The requested resource could not be found.');
      }
      if (err.status === 405) {
        return problemResponse(405, 'Method Not Allowed', "The requested method and resource are not compatible. See the Allow header for this resource's available methods.");
      }
      if (err.status === 500) {
        return problemResponse(500, 'Internal Server Error', 'A deep, internal error has occurred during the processing of your request. Please contact support.');
      }
      const { detail = err.message, ...extra } = err.details ?? {};
      return problemResponse(err.status, err.message, detail, extra);
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const pipeline = createPipeline({ audit, limiter, faults, sleep, hooks });
  /** Counts requests in flight around the pipeline (the limiter reads the count). */
  async function handle(request) {
    inFlight += 1;
    try {
      return await pipeline(request);
    } finally {
      inFlight -= 1;
    }
  }
  loadSeed();

  const bySerial = (a, b) => a.serial - b.serial;
  const find = (ref) => {
    const s = String(ref);
    return [...state.members.values()].find((m) => idOf(m) === s || m.contact_id === s || m.email_address.toLowerCase() === s.toLowerCase() || String(m.web_id) === s);
  };

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url + '/3.0'. */
    listen: (opts) => listen(handle, opts),
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every member in list-member JSON (tags up to 50, merge_fields with every tag); deep copies. */
    contacts: () => [...state.members.values()].sort(bySerial).map(memberJson),
    /** One member by subscriber hash, email (any case), contact_id or web_id; or undefined. */
    contact(ref) {
      const m = find(ref);
      return m ? memberJson(m) : undefined;
    },
    /** Adds a member without a request: {email_address | email, merge_fields: {TAG: value}, tags: [name], status?}. */
    addContact: (input) => memberJson(insertMember(input)),
    /** Adds a tag (static segment) without a request: {name, id?}. Returns it as the tag-search item. */
    addTag: (input) => {
      const t = insertTag(input);
      return { id: t.id, name: t.name };
    },
    /** Every tag as a static segment. */
    tags: () => [...state.tags.values()].sort((a, b) => a.id - b.id).map(segmentJson),
    /** Every merge field. */
    fields: () => [...state.mergeFields.values()].sort((a, b) => a.merge_id - b.merge_id).map(mergeFieldJson),
    /** The audience id and data center the sandbox serves. */
    listId: () => state.list.id,
    dc,
    /** Requests in flight right now (the concurrency limit counts these). */
    inFlight: () => inFlight,

    requests: () => audit.list('request'),
    /** Tag applications and removals: {seq, time, action, contactId (subscriber hash), tagId, tagName, duplicate | wasApplied}. */
    tagApplications: () => audit.list('tag'),
    /** Merge field writes, without values: {seq, time, contactId, fieldId (merge tag), label, length (bytes), truncated}. */
    fieldWrites: () => audit.list('field'),
    audit: () => audit.list(),

    /** Back to the seed: members, tags, merge fields, logs and faults. */
    reset() {
      loadSeed();
      audit.clear();
      faults.clear();
    },
  };
}
