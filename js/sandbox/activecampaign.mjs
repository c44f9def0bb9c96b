// A local fake of the part of ActiveCampaign's API v3 (https://{account}.api-us1.com/api/3) that
// memberwire uses. Shapes follow ActiveCampaign's developer reference (developers.activecampaign.com:
// overview, create-fieldvalue, and the example bodies of contactTags, fields, fieldValues, tags);
// what that material does not show is marked "unverified".
//
// In AC JSON every id is a string of digits ("id": "1"); requests may send numbers or strings.

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  createRateLimiter,
  dispatch,
  fetchFor,
  json,
  looksLikeEmail,
  parseId,
  readJsonObject,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

export const AC_DEFAULT_API_TOKEN = 'ac-sandbox-api-token';

// Default and maximum `limit` of list endpoints (AC pages with limit/offset; the 20/100 figures
// follow AC's reference, "limit ... Default: 20" for contacts and tags, 100 for fields).
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

export const AC_DEFAULT_SEED = Object.freeze({
  fields: [
    { id: 1, title: 'Password', type: 'text', perstag: 'PASSWORD' },
    { id: 2, title: 'Set Password Link', type: 'textarea', perstag: 'SET_PASSWORD_LINK' },
  ],
  tags: [
    { id: 1, tag: 'Gold Member' },
    { id: 2, tag: 'Newsletter' },
    { id: 3, tag: 'Welcome' },
    // `GET /tags?search=Gold Member` matches this one too: search is a substring match.
    { id: 4, tag: 'Gold Member Plus' },
  ],
  contacts: [
    { id: 1, firstName: 'Ada', lastName: 'Lovelace', email: 'Ada.Lovelace@Example.com', tags: ['Gold Member', 'Newsletter'] },
    { id: 2, firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.org', tags: ['Newsletter'], fields: { Password: 'Cobol-1959' } },
    { id: 3, firstName: 'Alan', lastName: 'Turing', email: 'ALAN@TURING.EXAMPLE' },
    { id: 4, firstName: 'Katherine', lastName: 'Johnson', email: 'K.Johnson@Example.NET', tags: ['Gold Member'] },
  ],
});

/** AC timestamps look like "2017-06-08T16:11:53-05:00" (account time zone; UTC here). */
function acTime(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** The "created_timestamp" style: "2019-08-14 15:12:50". */
function acStamp(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
}

/** A 422 in AC's JSON:API-like error list. */
function unprocessable(title, code, pointer) {
  return new HttpError(422, title, { errors: [{ title, detail: '', code, source: { pointer } }] });
}

/**
 * createActiveCampaignSandbox(options?) -> sandbox
 *
 * options:
 *   apiToken    accepted Api-Token value (default AC_DEFAULT_API_TOKEN)
 *   rateLimit   {perSecond = 5, perMinute?} or false (default {perSecond: 5}, per account)
 *   now         () => milliseconds (default Date.now)
 *   sleep       (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed        {fields?, tags?, contacts?}: each given list replaces the default
 */
export function createActiveCampaignSandbox(options = {}) {
  const {
    apiToken = AC_DEFAULT_API_TOKEN,
    rateLimit = { perSecond: 5 },
    now = Date.now,
    sleep = realSleep,
    seed = {},
  } = options;

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  const limiter = createRateLimiter(rateLimit && { perSecond: 5, ...rateLimit }, now);
  const sid = (n) => String(n);

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    state = {
      fields: new Map(), // id -> {id, title, type, perstag, ordernum, maxLength?, cdate}
      tags: new Map(), // id -> {id, tag, tagType, description, cdate}
      contacts: new Map(), // id -> {id, email, firstName, lastName, phone, cdate, udate}
      contactTags: new Map(), // id -> {id, contact, tag, cdate}
      fieldValues: new Map(), // id -> {id, contact, field, value, cdate, udate}
      next: { contact: 1, tag: 1, field: 1, contactTag: 1, fieldValue: 1 },
    };
    for (const f of seed.fields ?? AC_DEFAULT_SEED.fields) insertField(f);
    for (const t of seed.tags ?? AC_DEFAULT_SEED.tags) insertTag(t);
    for (const c of seed.contacts ?? AC_DEFAULT_SEED.contacts) insertContact(c);
  }

  function takeId(kind, raw) {
    const id = raw === undefined ? state.next[kind] : parseId(raw);
    if (!id) throw new TypeError(`bad ${kind} id ${raw}`);
    state.next[kind] = Math.max(state.next[kind], id + 1);
    return id;
  }

  function insertField({ id, title, type = 'text', perstag, maxLength }) {
    const fid = takeId('field', id);
    if (state.fields.has(fid)) throw new TypeError(`duplicate field id ${fid}`);
    const field = {
      id: fid,
      title,
      type,
      perstag: perstag ?? title.toUpperCase().replace(/[^A-Z0-9]+/g, '_'),
      ordernum: state.fields.size + 1,
      maxLength,
      cdate: now(),
    };
    state.fields.set(fid, field);
    return field;
  }

  function insertTag({ id, tag, tagType = 'contact', description = '' }) {
    if (typeof tag !== 'string' || tag.trim() === '') throw new TypeError('a tag needs a name');
    const tid = takeId('tag', id);
    if (state.tags.has(tid)) throw new TypeError(`duplicate tag id ${tid}`);
    const record = { id: tid, tag, tagType, description, cdate: now() };
    state.tags.set(tid, record);
    return record;
  }

  function byRef(map, ref, nameKey, what) {
    const id = parseId(ref);
    if (id && map.has(id)) return map.get(id);
    for (const item of map.values()) if (item[nameKey] === ref) return item;
    throw new TypeError(`unknown ${what} ${ref}`);
  }

  function insertContact(input) {
    const cid = takeId('contact', input.id);
    if (state.contacts.has(cid)) throw new TypeError(`duplicate contact id ${cid}`);
    const t = now();
    const contact = {
      id: cid,
      email: input.email ?? '',
      firstName: input.firstName ?? '',
      lastName: input.lastName ?? '',
      phone: input.phone ?? '',
      cdate: t,
      udate: t,
    };
    state.contacts.set(cid, contact);
    for (const [ref, value] of Object.entries(input.fields ?? {})) {
      upsertFieldValue(contact, byRef(state.fields, ref, 'title', 'field'), String(value), false);
    }
    for (const ref of input.tags ?? []) attachTag(contact, byRef(state.tags, ref, 'tag', 'tag'), false);
    return contact;
  }

  // ---- mutations shared by routes and helpers ----------------------------------------------

  function upsertFieldValue(contact, field, value, record = true) {
    const t = now();
    let fv = [...state.fieldValues.values()].find((v) => v.contact === contact.id && v.field === field.id);
    if (fv) {
      fv.value = value;
      fv.udate = t;
    } else {
      fv = { id: takeId('fieldValue'), contact: contact.id, field: field.id, value, cdate: t, udate: t };
      state.fieldValues.set(fv.id, fv);
    }
    if (record) {
      audit.record('field', {
        contactId: sid(contact.id),
        fieldId: sid(field.id),
        label: field.title,
        length: codePointLength(value),
        truncated: false,
      });
    }
    return fv;
  }

  function attachTag(contact, tag, record = true) {
    const existing = [...state.contactTags.values()].find((ct) => ct.contact === contact.id && ct.tag === tag.id);
    if (record) {
      audit.record('tag', {
        action: 'apply',
        contactId: sid(contact.id),
        tagId: sid(tag.id),
        tagName: tag.tag,
        duplicate: Boolean(existing),
      });
    }
    if (existing) return { contactTag: existing, created: false };
    const ct = { id: takeId('contactTag'), contact: contact.id, tag: tag.id, cdate: now() };
    state.contactTags.set(ct.id, ct);
    return { contactTag: ct, created: true };
  }

  // ---- JSON views --------------------------------------------------------------------------
  // The real objects carry more members (bounce counters, hashes, `links` with account URLs);
  // the fake keeps the ones an integration reads and leaves `links` out.

  function contactJson(c) {
    return {
      cdate: acTime(c.cdate),
      email: c.email,
      phone: c.phone,
      firstName: c.firstName,
      lastName: c.lastName,
      orgid: '0',
      deleted: '0',
      anonymized: '0',
      udate: acTime(c.udate),
      id: sid(c.id),
    };
  }

  function tagJson(t) {
    return {
      tagType: t.tagType,
      tag: t.tag,
      description: t.description,
      cdate: acTime(t.cdate),
      subscriber_count: sid([...state.contactTags.values()].filter((ct) => ct.tag === t.id).length),
      created_timestamp: acStamp(t.cdate),
      updated_timestamp: acStamp(t.cdate),
      id: sid(t.id),
    };
  }

  function contactTagJson(ct) {
    return {
      contact: sid(ct.contact),
      tag: sid(ct.tag),
      cdate: acTime(ct.cdate),
      created_timestamp: acStamp(ct.cdate),
      updated_timestamp: acStamp(ct.cdate),
      created_by: null,
      updated_by: null,
      id: sid(ct.id),
    };
  }

  function fieldValueJson(fv) {
    return {
      contact: sid(fv.contact),
      field: sid(fv.field),
      value: fv.value,
      cdate: acTime(fv.cdate),
      udate: acTime(fv.udate),
      created_by: null,
      updated_by: null,
      id: sid(fv.id),
      owner: sid(fv.contact),
    };
  }

  function fieldJson(f) {
    return {
      title: f.title,
      descript: null,
      type: f.type,
      isrequired: '0',
      perstag: f.perstag,
      defval: null,
      show_in_list: '0',
      rows: '0',
      cols: '0',
      visible: '1',
      service: '',
      ordernum: sid(f.ordernum),
      cdate: acTime(f.cdate),
      udate: acTime(f.cdate),
      options: [],
      relations: [],
      id: sid(f.id),
    };
  }

  const contactFieldValues = (c) =>
    [...state.fieldValues.values()].filter((v) => v.contact === c.id).sort((a, b) => a.id - b.id);
  const contactTagsOf = (c) =>
    [...state.contactTags.values()].filter((ct) => ct.contact === c.id).sort((a, b) => a.id - b.id);

  // ---- request helpers ---------------------------------------------------------------------

  // 404 text as AC answers for a missing record ("No Result found for Tag with id 1"); contacts
  // are "Subscriber" in that message (unverified for contacts).
  function notFound(kind, rawId) {
    return new HttpError(404, `No Result found for ${kind} with id ${rawId}`);
  }

  function requireContact(rawId) {
    const c = state.contacts.get(parseId(rawId));
    if (!c) throw notFound('Subscriber', rawId);
    return c;
  }

  function limitOffset(url) {
    const limitRaw = Number(url.searchParams.get('limit') ?? DEFAULT_LIMIT);
    const offsetRaw = Number(url.searchParams.get('offset') ?? 0);
    const limit = Number.isInteger(limitRaw) && limitRaw > 0 ? Math.min(limitRaw, MAX_LIMIT) : DEFAULT_LIMIT;
    const offset = Number.isInteger(offsetRaw) && offsetRaw >= 0 ? offsetRaw : 0;
    return { limit, offset };
  }

  const ci = (a, b) => a.toLowerCase() === b.toLowerCase();

  // Emails are unique per account and matched case-insensitively (unverified; AC stores them in
  // MySQL with a case-insensitive collation).
  function contactByEmail(email) {
    return [...state.contacts.values()].find((c) => ci(c.email, email));
  }

  /** Validates a `fieldValues: [{field, value}]` list; returns [field, value] pairs. */
  function checkFieldValues(list) {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw unprocessable('fieldValues must be an array', 'invalid', '/data/attributes/fieldValues');
    return list.map((item) => checkFieldValue(item?.field, item?.value, '/data/attributes/fieldValues'));
  }

  function checkFieldValue(rawField, rawValue, pointer) {
    const field = state.fields.get(parseId(rawField));
    // Status and text for an unknown field id are unverified.
    if (!field) throw unprocessable(`Field ${String(rawField)} does not exist`, 'field_invalid', pointer);
    if (rawValue !== null && typeof rawValue !== 'string' && typeof rawValue !== 'number') {
      throw unprocessable('Field value must be a string', 'invalid', pointer);
    }
    const value = rawValue === null ? '' : String(rawValue);
    if (field.maxLength !== undefined && codePointLength(value) > field.maxLength) {
      throw unprocessable(`Field ${field.id} holds at most ${field.maxLength} characters`, 'too_long', pointer);
    }
    return [field, value];
  }

  function checkContactAttrs(body, { requireEmail, self }) {
    const c = body.contact;
    if (c === null || typeof c !== 'object' || Array.isArray(c)) {
      throw unprocessable('Missing attribute', 'field_missing', '/data/attributes/contact');
    }
    if (c.email !== undefined || requireEmail) {
      if (!looksLikeEmail(c.email)) {
        throw unprocessable('Contact Email Address is not valid.', 'email_invalid', '/data/attributes/email');
      }
      const other = contactByEmail(c.email);
      if (other && self && other !== self) {
        throw unprocessable('Email address already exists in the system.', 'duplicate', '/data/attributes/email');
      }
    }
    for (const name of ['firstName', 'lastName', 'phone']) {
      if (c[name] !== undefined && c[name] !== null && typeof c[name] !== 'string') {
        throw unprocessable(`${name} must be a string`, 'invalid', `/data/attributes/${name}`);
      }
    }
    return { attrs: c, values: checkFieldValues(c.fieldValues) };
  }

  function applyContactAttrs(contact, { attrs, values }) {
    for (const name of ['email', 'firstName', 'lastName', 'phone']) {
      if (attrs[name] !== undefined) contact[name] = attrs[name] ?? '';
    }
    contact.udate = now();
    for (const [field, value] of values) upsertFieldValue(contact, field, value);
  }

  const contactWithValues = (c) => ({ fieldValues: contactFieldValues(c).map(fieldValueJson), contact: contactJson(c) });

  // ---- routes ------------------------------------------------------------------------------

  const B = '/api/3';
  const ID = '([^/]+)';

  const routes = [
    // List contacts; `email` filters by exact address. '+' in the query decodes to a space (as
    // PHP's $_GET does), so clients must percent-encode it.
    ['GET', new RegExp(`^${B}/contacts$`), (req, url) => {
      const email = url.searchParams.get('email');
      const all = [...state.contacts.values()]
        .filter((c) => email === null || ci(c.email, email))
        .sort((a, b) => a.id - b.id);
      const { limit, offset } = limitOffset(url);
      return json(200, {
        scoreValues: [],
        contacts: all.slice(offset, offset + limit).map(contactJson),
        meta: { total: sid(all.length) },
      });
    }],

    ['GET', new RegExp(`^${B}/contacts/${ID}$`), (req, url, id) => {
      const c = requireContact(id);
      return json(200, {
        contactAutomations: [],
        contactLists: [],
        deals: [],
        fieldValues: contactFieldValues(c).map(fieldValueJson),
        geoAddresses: [],
        geoIps: [],
        contact: contactJson(c),
      });
    }],

    // Update: {contact: {email, firstName, lastName, phone, fieldValues: [{field, value}]}}.
    ['PUT', new RegExp(`^${B}/contacts/${ID}$`), async (req, url, id) => {
      const c = requireContact(id);
      const checked = checkContactAttrs(await readJsonObject(req), { requireEmail: false, self: c });
      applyContactAttrs(c, checked);
      return json(200, contactWithValues(c));
    }],

    // Sync: upsert by email. 201 when created, 200 when updated (status split unverified).
    ['POST', new RegExp(`^${B}/contact/sync$`), async (req) => {
      const body = await readJsonObject(req);
      const existing = looksLikeEmail(body.contact?.email) ? contactByEmail(body.contact.email) : undefined;
      const checked = checkContactAttrs(body, { requireEmail: true, self: existing });
      const c = existing ?? insertContact({ email: checked.attrs.email });
      applyContactAttrs(c, checked);
      return json(existing ? 200 : 201, contactWithValues(c));
    }],

    // A missing contact is a 404 here (unverified: AC may answer an empty list).
    ['GET', new RegExp(`^${B}/contacts/${ID}/contactTags$`), (req, url, id) => {
      const c = requireContact(id);
      return json(200, { contactTags: contactTagsOf(c).map(contactTagJson) });
    }],

    ['GET', new RegExp(`^${B}/contacts/${ID}/fieldValues$`), (req, url, id) => {
      const c = requireContact(id);
      return json(200, { fieldValues: contactFieldValues(c).map(fieldValueJson) });
    }],

    // `search` matches tag names containing the text, case-insensitively: callers must pick the
    // exact name out of the results.
    ['GET', new RegExp(`^${B}/tags$`), (req, url) => {
      const search = url.searchParams.get('search');
      const all = [...state.tags.values()]
        .filter((t) => !search || t.tag.toLowerCase().includes(search.toLowerCase()))
        .sort((a, b) => a.id - b.id);
      const { limit, offset } = limitOffset(url);
      return json(200, { tags: all.slice(offset, offset + limit).map(tagJson), meta: { total: sid(all.length) } });
    }],

    // Create tag: {tag: {tag, tagType: "contact" | "template", description}} -> 201 {tag}.
    // Rejecting a duplicate name with 422 is unverified.
    ['POST', new RegExp(`^${B}/tags$`), async (req) => {
      const { tag } = await readJsonObject(req);
      if (typeof tag?.tag !== 'string' || tag.tag.trim() === '') {
        throw unprocessable('Missing attribute', 'field_missing', '/data/attributes/tag');
      }
      const tagType = tag.tagType ?? 'contact';
      if (tagType !== 'contact' && tagType !== 'template') {
        throw unprocessable('tagType must be contact or template', 'invalid', '/data/attributes/tagType');
      }
      if ([...state.tags.values()].some((t) => ci(t.tag, tag.tag))) {
        throw unprocessable('Duplicate tag', 'duplicate', '/data/attributes/tag');
      }
      const created = insertTag({ tag: tag.tag, tagType, description: tag.description ?? '' });
      return json(201, { tag: tagJson(created) });
    }],

    // Add a tag to a contact: {contactTag: {contact, tag}} -> 201 {contactTag}. 404/422 bodies
    // as in AC's reference; answering an existing pair with 200 and the existing contactTag is
    // unverified.
    ['POST', new RegExp(`^${B}/contactTags$`), async (req) => {
      const { contactTag } = await readJsonObject(req);
      for (const name of ['contact', 'tag']) {
        if (contactTag?.[name] === undefined || contactTag[name] === null || contactTag[name] === '') {
          throw new HttpError(422, 'Missing attribute', {
            errors: [{ status: 422, title: 'Missing attribute', source: { pointer: `/data/attributes/${name}` } }],
          });
        }
      }
      const contact = state.contacts.get(parseId(contactTag.contact));
      if (!contact) {
        throw new HttpError(404, 'Contact not found', { errors: [{ status: 404, title: 'Not Found', detail: 'Contact not found' }] });
      }
      const tag = state.tags.get(parseId(contactTag.tag));
      if (!tag) {
        throw new HttpError(404, 'Tag not found', { errors: [{ status: 404, title: 'Not Found', detail: 'Tag not found' }] });
      }
      const { contactTag: ct, created } = attachTag(contact, tag);
      return json(created ? 201 : 200, { contactTag: contactTagJson(ct) });
    }],

    ['DELETE', new RegExp(`^${B}/contactTags/${ID}$`), (req, url, id) => {
      const ct = state.contactTags.get(parseId(id));
      if (!ct) throw notFound('ContactTag', id);
      state.contactTags.delete(ct.id);
      audit.record('tag', {
        action: 'remove',
        contactId: sid(ct.contact),
        tagId: sid(ct.tag),
        tagName: state.tags.get(ct.tag)?.tag,
        wasApplied: true,
      });
      return json(200, {});
    }],

    ['GET', new RegExp(`^${B}/fields$`), (req, url) => {
      const all = [...state.fields.values()].sort((a, b) => a.id - b.id);
      const limit = Math.min(Number(url.searchParams.get('limit')) || 100, MAX_LIMIT);
      const offset = Math.max(Number(url.searchParams.get('offset')) || 0, 0);
      return json(200, {
        fieldOptions: [],
        fieldRels: [],
        fields: all.slice(offset, offset + limit).map(fieldJson),
        meta: { total: sid(all.length) },
      });
    }],

    // Create a custom field value: {fieldValue: {contact, field, value}, useDefaults} -> 200
    // {contacts: [...], fieldValue}. One value per contact and field: a second POST updates it.
    ['POST', new RegExp(`^${B}/fieldValues$`), async (req) => {
      const { fieldValue } = await readJsonObject(req);
      if (fieldValue === null || typeof fieldValue !== 'object') {
        throw unprocessable('Missing attribute', 'field_missing', '/data/attributes/fieldValue');
      }
      const contact = state.contacts.get(parseId(fieldValue.contact));
      if (!contact) throw notFound('Subscriber', fieldValue.contact);
      const [field, value] = checkFieldValue(fieldValue.field, fieldValue.value ?? null, '/data/attributes/field');
      const fv = upsertFieldValue(contact, field, value);
      contact.udate = now();
      return json(200, { contacts: [contactJson(contact)], fieldValue: fieldValueJson(fv) });
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  const hooks = {
    authenticate(request) {
      // AC reads the key from the Api-Token header (developer reference, "Authentication").
      // The status (403) and body for a bad key are unverified.
      if (request.headers.get('api-token') === apiToken) return null;
      return json(403, { message: 'You are not authorized to access this resource' });
    },
    // 5 requests per second per account (AC "Rate limits"). The 429 body and the absence of
    // rate headers are unverified.
    rateLimited() {
      return json(429, { message: 'Too Many Requests' });
    },
    faultResponse(fault) {
      const body = fault.body ?? { message: fault.status === 429 ? 'Too Many Requests' : 'Injected fault' };
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err) {
      if (err.details?.errors) return json(err.status, { errors: err.details.errors });
      return json(err.status, { message: err.message });
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const handle = createPipeline({ audit, limiter, faults, sleep, hooks });
  loadSeed();

  const full = (c) => ({ ...contactWithValues(c), contactTags: contactTagsOf(c).map(contactTagJson) });

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is url + '/api/3'. */
    listen: (opts) => listen(handle, opts),
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every contact as {contact, fieldValues, contactTags} in AC JSON, deep copies. */
    contacts: () => [...state.contacts.values()].sort((a, b) => a.id - b.id).map(full),
    /** One contact as {contact, fieldValues, contactTags}, or undefined. */
    contact(id) {
      const c = state.contacts.get(parseId(id));
      return c ? full(c) : undefined;
    },
    /** Adds a contact without a request: {id?, email, firstName, lastName, phone, fields: {titleOrId: value}, tags: [nameOrId]}. */
    addContact: (input) => full(insertContact(input)),
    /** Adds a tag without a request: {id?, tag, tagType?, description?}. */
    addTag: (input) => tagJson(insertTag(input)),
    tags: () => [...state.tags.values()].sort((a, b) => a.id - b.id).map(tagJson),
    fields: () => [...state.fields.values()].sort((a, b) => a.id - b.id).map(fieldJson),

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
