// A local fake of the part of HubSpot's CRM API v3 (https://api.hubapi.com) that memberwire uses.
// listen() serves it at the server's root: the API base is the server URL itself (paths start with
// /crm/v3, as on api.hubapi.com).
//
// Sources (see docs/crm/hubspot.md for the URL of each fact):
//   - HubSpot's OpenAPI files (github.com/HubSpot/HubSpot-public-api-spec-collection, CRM/Contacts,
//     CRM/Lists, CRM/Properties, v3): paths, query parameters, SimplePublicObject(Input), the Error
//     schema, PublicObjectSearchRequest, MembershipsUpdateResponse (whose `recordsIdsAdded` really is
//     spelled that way), RecordListMembership, PublicObjectList, Property and Option.
//   - HubSpot's usage guidelines (429 body with `policyName`, daily limit) and the developer
//     changelog (burst limits of 100 or 190 requests per 10 s, rate-limit headers).
//
// HubSpot has no tags. The fake offers both ways memberwire can read and write "tags":
//   - static lists (processingType MANUAL; the membership endpoints refuse DYNAMIC lists), and
//   - a multi-checkbox property `memberwire_tags` whose value is option values joined by ';'.
//
// Unverified here, and marked where it is implemented:
//   - 404 bodies: "resource not found" for a numeric id that does not exist, OBJECT_NOT_FOUND with
//     "Object not found.  objectId are usually numeric." for a non-numeric one (public captures);
//   - the 401 body (public captures), the 400 VALIDATION_ERROR texts and the 409 CONFLICT text;
//   - the 10-second 429's message and policyName TEN_SECONDLY_ROLLING (the documented example is the
//     daily one), the X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds header names, the
//     search limit (5 per second per token here; HubSpot has documented 4 and 5) and its 429 body;
//   - the 65,536-character cap on a property value;
//   - which properties GET and PATCH return beyond the requested ones (hs_object_id, createdate and
//     lastmodifieddate are always added here; PATCH answers every stored property);
//   - list error bodies (unknown list, DYNAMIC list), the list search's substring matching, and
//     the answer for a record that is in no list (200, empty results).

import { createHash, randomUUID } from 'node:crypto';

import {
  HttpError,
  codePointLength,
  createAuditLog,
  createFaultQueue,
  createPipeline,
  dispatch,
  fetchFor,
  isoTime,
  json,
  looksLikeEmail,
  realSleep,
} from './common.mjs';
import { listen } from '../server/http-bridge.mjs';

/** A made-up private app token (real ones look like pat-na1-<uuid>). */
export const HUBSPOT_DEFAULT_TOKEN = 'pat-na1-00000000-sand-box0-hubspot-token';
/** The portal (account) id the fake reports. */
export const HUBSPOT_DEFAULT_PORTAL_ID = 12345678;
/** The multi-checkbox property the fake offers as "tags". */
export const HUBSPOT_TAG_PROPERTY = 'memberwire_tags';

const TEN_SECONDS_MS = 10_000;
const DAY_MS = 86_400_000;
// Private apps: 100 requests per 10 s on Free/Starter, 190 on Professional/Enterprise (changelog);
// the daily figure for Free/Starter (250,000) is from secondary sources (unverified).
const DEFAULT_BURST = 100;
const DEFAULT_DAILY = 250_000;
const DEFAULT_SEARCH_PER_SECOND = 5; // unverified (documented as 4, later as 5)
const PROPERTY_VALUE_MAX = 65_536; // unverified
const SEARCH_LIMIT_MAX = 200; // PublicObjectSearchRequest.limit: "up to 200 objects"
const SEARCH_GROUPS_MAX = 5; // search guide (the schema text says 6)
const SEARCH_FILTERS_PER_GROUP = 6;
const SEARCH_FILTERS_TOTAL = 18;
const MEMBERSHIPS_LIMIT_MAX = 250; // GET /lists/{id}/memberships: "The maximum limit is 250"
const CONTACT_TYPE = '0-1';

// Properties a contact answers with when no `properties` are asked for (documented for search).
const DEFAULT_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'];
const ALWAYS_PROPERTIES = ['createdate', 'hs_object_id', 'lastmodifieddate'];
const SEARCH_OPERATORS = new Set(['BETWEEN', 'CONTAINS_TOKEN', 'EQ', 'GT', 'GTE', 'HAS_PROPERTY', 'IN', 'LT', 'LTE', 'NEQ', 'NOT_CONTAINS_TOKEN', 'NOT_HAS_PROPERTY', 'NOT_IN']);

const STANDARD_PROPERTIES = [
  { name: 'email', label: 'Email', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
  { name: 'firstname', label: 'First Name', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
  { name: 'lastname', label: 'Last Name', type: 'string', fieldType: 'text', groupName: 'contactinformation' },
  { name: 'hs_object_id', label: 'Record ID', type: 'number', fieldType: 'number', groupName: 'contactinformation', readOnly: true },
  { name: 'createdate', label: 'Create Date', type: 'datetime', fieldType: 'date', groupName: 'contactinformation', readOnly: true },
  { name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', fieldType: 'date', groupName: 'contactinformation', readOnly: true },
];

export const HUBSPOT_DEFAULT_SEED = Object.freeze({
  // Custom contact properties (the standard ones above always exist).
  properties: [
    { name: 'memberwire_password', label: 'Member password', type: 'string', fieldType: 'text' },
    { name: 'memberwire_set_password_link', label: 'Set password link', type: 'string', fieldType: 'textarea' },
  ],
  // Each tag is a MANUAL list and an option of the memberwire_tags checkbox property.
  tags: [
    { listId: '11', name: 'Gold Member' },
    { listId: '12', name: 'Newsletter' },
    { listId: '13', name: 'Welcome' },
  ],
  // Lists that are not tags (a DYNAMIC list cannot be written over the API).
  lists: [{ listId: '14', name: 'Engaged customers', processingType: 'DYNAMIC' }],
  contacts: [
    { id: '101', firstname: 'Ada', lastname: 'Lovelace', email: 'Ada.Lovelace@Example.com', tags: ['Gold Member'], lists: ['Engaged customers'] },
    { id: '151', firstname: 'Grace', lastname: 'Hopper', email: 'grace.hopper@example.org', tags: ['Gold Member', 'Newsletter'], properties: { memberwire_password: 'Cobol-1959' } },
    { id: '201', firstname: 'Alan', lastname: 'Turing', email: 'alan.turing@example.net' },
    // An id beyond 32 bits, as real portals have.
    { id: '112233445566', firstname: 'Katherine', lastname: 'Johnson', email: 'k.johnson@example.com', tags: ['Newsletter'] },
  ],
});

/** An option value for a tag name: lower case, words joined by '_' (HubSpot-style internal values). */
function optionValue(name) {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || createHash('md5').update(name).digest('hex').slice(0, 8);
}

/**
 * HubSpot's limits: a rolling 10-second burst window and a daily count (reset at midnight of the
 * account's time zone; UTC here). Verdicts carry what the rate headers report.
 */
function createHubSpotLimiter(config, now) {
  if (config === false || config === null) return null;
  const { per10Seconds = DEFAULT_BURST, perDay = DEFAULT_DAILY } = config;
  for (const [name, value] of [['per10Seconds', per10Seconds], ['perDay', perDay]]) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`rateLimit.${name} must be a positive integer`);
  }
  const hits = [];
  let day = null;
  let dayCount = 0;
  const snapshot = () => ({
    max: per10Seconds,
    remaining: Math.max(0, per10Seconds - hits.length),
    daily: perDay,
    dailyRemaining: Math.max(0, perDay - dayCount),
  });
  return {
    admit() {
      const t = now();
      while (hits.length > 0 && hits[0] <= t - TEN_SECONDS_MS) hits.shift();
      const d = Math.floor(t / DAY_MS);
      if (d !== day) {
        day = d;
        dayCount = 0;
      }
      if (dayCount >= perDay) return { allowed: false, policy: 'DAILY', ...snapshot() };
      if (hits.length >= per10Seconds) return { allowed: false, policy: 'TEN_SECONDLY_ROLLING', ...snapshot() };
      hits.push(t);
      dayCount += 1;
      return { allowed: true, ...snapshot() };
    },
    reset() {
      hits.length = 0;
      day = null;
      dayCount = 0;
    },
  };
}

/** A HubSpot-style error: {status: "error", message, correlationId, errors?, context?, category?}. */
function hsError(status, message, extra = {}) {
  return new HttpError(status, message, extra);
}

function validationError(message, extra = {}) {
  return hsError(400, message, { category: 'VALIDATION_ERROR', ...extra });
}

/**
 * The 400 HubSpot sends for bad property values (unverified wording; the shape follows public
 * captures). Values are never echoed: a password may be among them.
 */
function propertyErrors(problems) {
  const items = problems.map(({ name, code, text }) => ({ isValid: false, message: text, error: code, name, localizedErrorMessage: text }));
  return validationError(`Property values were not valid: ${JSON.stringify(items)}`, {
    errors: problems.map(({ name, code, text }) => ({ message: text, code, context: { propertyName: [name] } })),
  });
}

/**
 * createHubSpotSandbox(options?) -> sandbox
 *
 * options:
 *   token            accepted private app token, sent as `Authorization: Bearer` (HUBSPOT_DEFAULT_TOKEN)
 *   rateLimit        {per10Seconds = 100, perDay = 250000, searchPerSecond = 5} or false
 *   now              () => milliseconds (default Date.now)
 *   sleep            (ms, signal) => Promise, used by injected delays (default: real timers)
 *   seed             {properties?, tags?, lists?, contacts?}: each given list replaces the default
 *   portalId         the account id (HUBSPOT_DEFAULT_PORTAL_ID)
 *   maxPropertyLength  longest property value in characters (65,536, unverified)
 */
export function createHubSpotSandbox(options = {}) {
  const {
    token = HUBSPOT_DEFAULT_TOKEN,
    rateLimit = {},
    now = Date.now,
    sleep = realSleep,
    seed = {},
    portalId = HUBSPOT_DEFAULT_PORTAL_ID,
    maxPropertyLength = PROPERTY_VALUE_MAX,
  } = options;

  const audit = createAuditLog(now);
  const faults = createFaultQueue();
  const limiter = createHubSpotLimiter(rateLimit, now);
  const searchPerSecond = rateLimit === false ? null : (rateLimit.searchPerSecond ?? DEFAULT_SEARCH_PER_SECOND);
  if (searchPerSecond !== null && (!Number.isInteger(searchPerSecond) || searchPerSecond < 1)) {
    throw new TypeError('rateLimit.searchPerSecond must be a positive integer');
  }
  let searchHits = [];

  // ---- state -------------------------------------------------------------------------------
  let state;

  function loadSeed() {
    state = {
      properties: new Map(), // name -> property (see insertProperty)
      lists: new Map(), // listId -> {listId, name, processingType, listVersion, createdAt, updatedAt, members: Map(recordId -> {first, last})}
      contacts: new Map(), // id -> {id, props: Map(name -> string), createdAt, updatedAt}
      nextContact: 1001,
      nextList: 100,
    };
    for (const p of STANDARD_PROPERTIES) insertProperty({ ...p, hubspotDefined: true });
    for (const p of seed.properties ?? HUBSPOT_DEFAULT_SEED.properties) insertProperty(p);
    insertProperty({
      name: HUBSPOT_TAG_PROPERTY,
      label: 'Member tags',
      type: 'enumeration',
      fieldType: 'checkbox',
      description: 'memberwire: values separated by ";"',
    });
    for (const t of seed.tags ?? HUBSPOT_DEFAULT_SEED.tags) insertTag(t);
    for (const l of seed.lists ?? HUBSPOT_DEFAULT_SEED.lists) insertList(l);
    for (const c of seed.contacts ?? HUBSPOT_DEFAULT_SEED.contacts) insertContact(c);
  }

  function insertProperty({ name, label, type = 'string', fieldType = 'text', groupName = 'contactinformation', description = '', options = [], hubspotDefined = false, readOnly = false, maxLength }) {
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) throw new TypeError(`bad property name ${name}`);
    if (state.properties.has(name)) throw new TypeError(`duplicate property ${name}`);
    const t = now();
    const property = {
      name,
      label: label ?? name,
      type,
      fieldType,
      groupName,
      description,
      options: options.map((o, i) => ({ label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: false })),
      hubspotDefined,
      readOnly,
      maxLength: maxLength ?? maxPropertyLength,
      displayOrder: state.properties.size,
      createdAt: t,
      updatedAt: t,
    };
    state.properties.set(name, property);
    return property;
  }

  function insertList({ listId, name, processingType = 'MANUAL' }) {
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('a list needs a name');
    if (!['MANUAL', 'SNAPSHOT', 'DYNAMIC'].includes(processingType)) throw new TypeError(`bad processingType ${processingType}`);
    const id = listId === undefined ? String(state.nextList) : String(listId);
    if (!/^[0-9]{1,15}$/.test(id) || state.lists.has(id)) throw new TypeError(`bad or duplicate list id ${listId}`);
    if ([...state.lists.values()].some((l) => l.name.toLowerCase() === name.toLowerCase())) throw new TypeError(`duplicate list name ${name}`);
    state.nextList = Math.max(state.nextList, Number(id) + 1);
    const t = now();
    const list = { listId: id, name, processingType, listVersion: 1, createdAt: t, updatedAt: t, members: new Map() };
    state.lists.set(id, list);
    return list;
  }

  /** A tag: a MANUAL list plus an option of the checkbox property. */
  function insertTag({ listId, name, value }) {
    const list = insertList({ listId, name, processingType: 'MANUAL' });
    const property = state.properties.get(HUBSPOT_TAG_PROPERTY);
    const v = value ?? optionValue(name);
    if (property.options.some((o) => o.value === v)) throw new TypeError(`duplicate tag option ${v}`);
    property.options.push({ label: name, value: v, displayOrder: property.options.length, hidden: false });
    property.updatedAt = now();
    return list;
  }

  function listByRef(ref) {
    const byId = state.lists.get(String(ref));
    if (byId) return byId;
    for (const l of state.lists.values()) if (l.name === ref) return l;
    throw new TypeError(`unknown list ${ref}`);
  }

  function tagOption(ref) {
    const option = state.properties.get(HUBSPOT_TAG_PROPERTY).options.find((o) => o.label === ref || o.value === ref);
    if (!option) throw new TypeError(`unknown tag ${ref}`);
    return option;
  }

  // Helper-side insert (seed and addContact): friendly input, no API validation, no audit.
  function insertContact(input) {
    const id = input.id === undefined ? String(state.nextContact) : String(input.id);
    if (!/^[1-9][0-9]{0,17}$/.test(id) || state.contacts.has(id)) throw new TypeError(`bad or duplicate contact id ${input.id}`);
    if (/^[0-9]{1,15}$/.test(id)) state.nextContact = Math.max(state.nextContact, Number(id) + 50);
    const t = now();
    const contact = { id, props: new Map(), createdAt: t, updatedAt: t };
    for (const name of ['email', 'firstname', 'lastname']) if (input[name] != null) contact.props.set(name, String(input[name]));
    for (const [name, value] of Object.entries(input.properties ?? {})) {
      if (!state.properties.has(name)) throw new TypeError(`unknown property ${name}`);
      contact.props.set(name, String(value));
    }
    const tags = input.tags ?? [];
    if (tags.length > 0) contact.props.set(HUBSPOT_TAG_PROPERTY, tags.map((ref) => tagOption(ref).value).join(';'));
    state.contacts.set(id, contact);
    for (const ref of [...tags, ...(input.lists ?? [])]) listByRef(ref).members.set(id, { first: t, last: t });
    return contact;
  }

  // ---- JSON views --------------------------------------------------------------------------

  function propertyValue(c, name) {
    if (name === 'hs_object_id') return c.id;
    if (name === 'createdate') return isoTime(c.createdAt);
    if (name === 'lastmodifieddate') return isoTime(c.updatedAt);
    return c.props.has(name) ? c.props.get(name) : null;
  }

  /** SimplePublicObject. `names` null: every stored property (the helpers' full view). */
  function contactJson(c, names) {
    const wanted = names ?? [...new Set([...c.props.keys(), ...ALWAYS_PROPERTIES])];
    const properties = {};
    for (const name of [...new Set(wanted)].sort()) {
      if (!state.properties.has(name)) continue; // unknown properties are ignored (spec)
      properties[name] = propertyValue(c, name);
    }
    return { id: c.id, properties, createdAt: isoTime(c.createdAt), updatedAt: isoTime(c.updatedAt), archived: false };
  }

  function requestedProperties(url) {
    const raw = url.searchParams.getAll('properties').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    return raw.length === 0 ? DEFAULT_PROPERTIES : [...raw, ...ALWAYS_PROPERTIES];
  }

  function propertyJson(p) {
    return {
      updatedAt: isoTime(p.updatedAt),
      createdAt: isoTime(p.createdAt),
      name: p.name,
      label: p.label,
      type: p.type,
      fieldType: p.fieldType,
      description: p.description,
      groupName: p.groupName,
      options: p.options.map((o) => ({ ...o })),
      displayOrder: p.displayOrder,
      calculated: false,
      externalOptions: false,
      hasUniqueValue: p.name === 'email',
      hidden: false,
      hubspotDefined: p.hubspotDefined,
      modificationMetadata: { archivable: !p.hubspotDefined, readOnlyDefinition: p.hubspotDefined, readOnlyValue: p.readOnly },
      formField: !p.readOnly,
      dataSensitivity: 'non_sensitive',
    };
  }

  function listJson(l) {
    return {
      listId: l.listId,
      listVersion: l.listVersion,
      name: l.name,
      objectTypeId: CONTACT_TYPE,
      processingType: l.processingType,
      processingStatus: 'COMPLETE',
      createdAt: isoTime(l.createdAt),
      updatedAt: isoTime(l.updatedAt),
      filtersUpdatedAt: isoTime(l.createdAt),
      createdById: '1',
      updatedById: '1',
      size: l.members.size,
    };
  }

  // ---- request helpers ---------------------------------------------------------------------

  async function readJson(request) {
    const text = await request.text();
    if (text.trim() === '') throw validationError('Invalid input JSON: the request body is empty');
    try {
      return JSON.parse(text);
    } catch {
      throw validationError('Invalid input JSON on line 1: the request body is not valid JSON');
    }
  }

  async function readJsonObject(request) {
    const value = await readJson(request);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw validationError('Invalid input JSON: expected an object');
    return value;
  }

  const ci = (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

  function contactByEmail(email) {
    return [...state.contacts.values()].find((c) => ci(c.props.get('email'), email));
  }

  /** The contact named by a path id, with `idProperty` (email or hs_object_id) honoured. */
  function requireContact(rawId, url) {
    const idProperty = url.searchParams.get('idProperty');
    if (idProperty !== null && idProperty !== 'hs_object_id') {
      if (idProperty !== 'email') throw validationError(`${idProperty} is not a unique property of contacts`); // unverified
      const c = contactByEmail(rawId);
      if (!c) throw hsError(404, 'resource not found'); // unverified
      return c;
    }
    if (!/^[0-9]+$/.test(rawId)) {
      throw hsError(404, 'Object not found.  objectId are usually numeric.', { context: { id: [rawId] }, category: 'OBJECT_NOT_FOUND' });
    }
    const c = state.contacts.get(rawId.replace(/^0+(?=\d)/, ''));
    if (!c) throw hsError(404, 'resource not found');
    return c;
  }

  function requireList(rawId) {
    const l = /^[0-9]+$/.test(rawId) ? state.lists.get(rawId) : undefined;
    if (!l) throw hsError(404, `List ${rawId} does not exist.`, { category: 'OBJECT_NOT_FOUND' }); // unverified
    return l;
  }

  function tagNamesOf(value) {
    const options = state.properties.get(HUBSPOT_TAG_PROPERTY).options;
    return value.split(';').filter(Boolean).map((v) => options.find((o) => o.value === v)?.label ?? v);
  }

  /**
   * Validates a `properties` object for an update; returns [property, value] pairs and changes
   * nothing. Every invalid property is reported at once.
   */
  function checkProperties(input, self) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw validationError('Invalid input JSON: properties must be an object');
    }
    const problems = [];
    const updates = [];
    let conflict = null;
    for (const [name, raw] of Object.entries(input)) {
      const property = state.properties.get(name);
      if (!property) {
        problems.push({ name, code: 'PROPERTY_DOESNT_EXIST', text: `Property "${name}" does not exist` });
        continue;
      }
      if (property.readOnly) {
        problems.push({ name, code: 'READ_ONLY_VALUE', text: `"${name}" is a calculated property; its value cannot be set.` });
        continue;
      }
      if (raw !== null && !['string', 'number', 'boolean'].includes(typeof raw)) {
        problems.push({ name, code: 'INVALID_STRING', text: `Property "${name}" takes a string` });
        continue;
      }
      const value = raw === null ? '' : String(raw); // null clears, like "" (unverified)
      if (codePointLength(value) > property.maxLength) {
        problems.push({ name, code: 'INVALID_STRING', text: `Property "${name}" holds at most ${property.maxLength} characters` });
        continue;
      }
      if (name === 'email' && value !== '') {
        if (!looksLikeEmail(value)) {
          problems.push({ name, code: 'INVALID_EMAIL', text: 'Email address is invalid' }); // the real text echoes it
          continue;
        }
        const other = contactByEmail(value);
        if (other && other !== self) conflict = other;
      }
      if (property.type === 'enumeration' && value !== '') {
        const allowed = new Set(property.options.map((o) => o.value));
        const bad = value.split(';').filter((v) => v !== '' && !allowed.has(v));
        if (bad.length > 0) {
          problems.push({ name, code: 'INVALID_OPTION', text: `${bad.join(';')} was not one of the allowed options: ${[...allowed].join(', ')}` });
          continue;
        }
      }
      updates.push([property, value]);
    }
    if (problems.length > 0) throw propertyErrors(problems);
    if (conflict) throw hsError(409, `Contact already exists. Existing ID: ${conflict.id}`, { category: 'CONFLICT' });
    return updates;
  }

  function writeProperties(contact, updates) {
    for (const [property, value] of updates) {
      const before = contact.props.get(property.name) ?? '';
      if (value === '') contact.props.delete(property.name);
      else contact.props.set(property.name, value);
      if (property.name === HUBSPOT_TAG_PROPERTY) {
        const old = new Set(before.split(';').filter(Boolean));
        const next = new Set(value.split(';').filter(Boolean));
        for (const v of next) {
          audit.record('tag', { action: 'apply', via: 'property', contactId: contact.id, tagId: v, tagName: tagNamesOf(v)[0], duplicate: old.has(v) });
        }
        for (const v of old) {
          if (!next.has(v)) audit.record('tag', { action: 'remove', via: 'property', contactId: contact.id, tagId: v, tagName: tagNamesOf(v)[0], wasApplied: true });
        }
      } else if (!property.hubspotDefined) {
        audit.record('field', { contactId: contact.id, fieldId: property.name, label: property.label, length: codePointLength(value), truncated: false });
      }
    }
    contact.updatedAt = now();
  }

  /** Record ids from a memberships body: a JSON array of ids (strings per the spec; numbers accepted). */
  function checkRecordIds(body) {
    if (!Array.isArray(body)) throw validationError('Invalid input JSON: expected an array of record ids');
    return body.map((raw) => {
      if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw > 0) return String(raw);
      if (typeof raw === 'string' && /^[0-9]{1,18}$/.test(raw)) return raw.replace(/^0+(?=\d)/, '');
      throw validationError(`Invalid record id: ${JSON.stringify(raw)}`);
    });
  }

  function requireWritableList(rawId) {
    const list = requireList(rawId);
    if (list.processingType === 'DYNAMIC') {
      throw validationError(`List ${list.listId} has processingType DYNAMIC; memberships can only be changed for MANUAL or SNAPSHOT lists.`); // unverified
    }
    return list;
  }

  function searchAdmit() {
    if (searchPerSecond === null) return true;
    const t = now();
    searchHits = searchHits.filter((h) => h > t - 1000);
    if (searchHits.length >= searchPerSecond) return false;
    searchHits.push(t);
    return true;
  }

  function matchesFilter(c, f) {
    const stored = propertyValue(c, f.propertyName);
    const has = stored !== null && stored !== '';
    const eq = (v) => has && String(v).toLowerCase() === stored.toLowerCase();
    switch (f.operator) {
      case 'EQ': return eq(f.value);
      case 'NEQ': return !eq(f.value);
      case 'HAS_PROPERTY': return has;
      case 'NOT_HAS_PROPERTY': return !has;
      // IN compares against the lower-cased stored value: values must be lower case (search guide).
      case 'IN': return has && (f.values ?? []).some((v) => String(v) === stored.toLowerCase());
      case 'NOT_IN': return !has || !(f.values ?? []).some((v) => String(v) === stored.toLowerCase());
      case 'CONTAINS_TOKEN': return has && stored.toLowerCase().split(/[\s;@.]+/).includes(String(f.value).toLowerCase().replace(/\*/g, ''));
      case 'NOT_CONTAINS_TOKEN': return !has || !stored.toLowerCase().split(/[\s;@.]+/).includes(String(f.value).toLowerCase());
      default: {
        // Numeric/date comparisons: on numbers where both sides are numeric, else on strings.
        if (!has) return false;
        const a = Number(stored);
        const b = Number(f.value);
        const cmp = Number.isFinite(a) && Number.isFinite(b) ? a - b : stored.localeCompare(String(f.value));
        if (f.operator === 'GT') return cmp > 0;
        if (f.operator === 'GTE') return cmp >= 0;
        if (f.operator === 'LT') return cmp < 0;
        if (f.operator === 'LTE') return cmp <= 0;
        const hi = Number(f.highValue);
        return cmp >= 0 && (Number.isFinite(a) && Number.isFinite(hi) ? a <= hi : stored.localeCompare(String(f.highValue)) <= 0);
      }
    }
  }

  function checkSearch(body) {
    const groups = body.filterGroups ?? [];
    if (!Array.isArray(groups)) throw validationError('filterGroups must be an array');
    const all = [...groups];
    if (body.filters !== undefined) {
      if (!Array.isArray(body.filters)) throw validationError('filters must be an array');
      all.push({ filters: body.filters });
    }
    if (all.length > SEARCH_GROUPS_MAX) throw validationError(`Too many filter groups: at most ${SEARCH_GROUPS_MAX}`);
    let total = 0;
    for (const g of all) {
      if (g === null || typeof g !== 'object' || !Array.isArray(g.filters)) throw validationError('each filter group needs a filters array');
      if (g.filters.length > SEARCH_FILTERS_PER_GROUP) throw validationError(`Too many filters in a group: at most ${SEARCH_FILTERS_PER_GROUP}`);
      total += g.filters.length;
      for (const f of g.filters) {
        if (f === null || typeof f !== 'object' || typeof f.propertyName !== 'string') throw validationError('each filter needs a propertyName');
        if (!SEARCH_OPERATORS.has(f.operator)) throw validationError(`Unsupported operator: ${String(f.operator)}`);
        const needsValue = !['HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'IN', 'NOT_IN'].includes(f.operator);
        if (needsValue && (f.value === undefined || f.value === null)) throw validationError(`Operator ${f.operator} needs a value`);
        if ((f.operator === 'IN' || f.operator === 'NOT_IN') && !Array.isArray(f.values)) throw validationError(`Operator ${f.operator} needs values`);
      }
    }
    if (total > SEARCH_FILTERS_TOTAL) throw validationError(`Too many filters: at most ${SEARCH_FILTERS_TOTAL}`);
    const limit = body.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMIT_MAX) throw validationError(`limit must be an integer from 0 to ${SEARCH_LIMIT_MAX}`);
    const after = body.after === undefined || body.after === null || body.after === '' ? 0 : Number(body.after);
    if (!Number.isInteger(after) || after < 0) throw validationError('after must be a paging cursor from a previous response');
    if (body.properties !== undefined && !Array.isArray(body.properties)) throw validationError('properties must be an array');
    if (body.query !== undefined && typeof body.query !== 'string') throw validationError('query must be a string');
    return { groups: all, limit, after };
  }

  // ---- routes ------------------------------------------------------------------------------

  const C = '/crm/v3/objects/contacts';
  const L = '/crm/v3/lists';
  const P = '/crm/v3/properties/contacts';
  const ID = '([^/]+)';

  const routes = [
    // Search: {filterGroups: [{filters: [{propertyName, operator, value}]}], properties, limit, after}.
    ['POST', new RegExp(`^${C}/search$`), async (req) => {
      if (!searchAdmit()) {
        return json(429, { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName: 'SECONDLY', requestId: randomUUID() });
      }
      const body = await readJsonObject(req);
      const { groups, limit, after } = checkSearch(body);
      const query = body.query?.trim().toLowerCase();
      const matching = [...state.contacts.values()]
        .filter((c) => groups.length === 0 || groups.some((g) => g.filters.every((f) => matchesFilter(c, f))))
        .filter((c) => !query || ['firstname', 'lastname', 'email'].some((n) => (c.props.get(n) ?? '').toLowerCase().includes(query)))
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const names = body.properties?.length ? [...body.properties, ...ALWAYS_PROPERTIES] : DEFAULT_PROPERTIES;
      const page = matching.slice(after, after + limit);
      const out = { total: matching.length, results: page.map((c) => contactJson(c, names)) };
      if (after + limit < matching.length) out.paging = { next: { after: String(after + limit), link: '' } };
      return json(200, out);
    }],

    ['GET', new RegExp(`^${C}/${ID}$`), (req, url, id) => json(200, contactJson(requireContact(id, url), requestedProperties(url)))],

    // Update: {properties: {name: value}}; "" clears a value; unknown and read-only properties are 400s.
    ['PATCH', new RegExp(`^${C}/${ID}$`), async (req, url, id) => {
      const contact = requireContact(id, url);
      const body = await readJsonObject(req);
      if (body.properties === undefined) throw validationError('Invalid input JSON: properties is required');
      const updates = checkProperties(body.properties, contact);
      writeProperties(contact, updates);
      return json(200, contactJson(contact, null));
    }],

    ['GET', new RegExp(`^${P}$`), () => json(200, { results: [...state.properties.values()].map(propertyJson) })],
    ['GET', new RegExp(`^${P}/${ID}$`), (req, url, name) => {
      const p = state.properties.get(name);
      if (!p) throw hsError(404, `Unable to find property ${name} for object type contacts`, { category: 'OBJECT_NOT_FOUND' }); // unverified text
      return json(200, propertyJson(p));
    }],

    // Lists a record is a member of.
    ['GET', new RegExp(`^${L}/records/${ID}/${ID}/memberships$`), (req, url, objectTypeId, recordId) => {
      if (objectTypeId !== CONTACT_TYPE && objectTypeId !== 'contacts') throw validationError(`Unsupported object type ${objectTypeId}`);
      const results = [...state.lists.values()]
        .filter((l) => l.members.has(recordId))
        .sort((a, b) => Number(a.listId) - Number(b.listId))
        .map((l) => ({ listId: l.listId, listVersion: l.listVersion, firstAddedTimestamp: isoTime(l.members.get(recordId).first), lastAddedTimestamp: isoTime(l.members.get(recordId).last) }));
      return json(200, { results, total: results.length });
    }],

    // Search lists by name (empty query: all lists). {query, offset, count (20, max 500), processingTypes, listIds}.
    ['POST', new RegExp(`^${L}/search$`), async (req) => {
      const body = await readJsonObject(req);
      const count = body.count ?? 20;
      const offset = body.offset ?? 0;
      if (!Number.isInteger(count) || count < 1 || count > 500) throw validationError('count must be an integer from 1 to 500');
      if (!Number.isInteger(offset) || offset < 0) throw validationError('offset must be a non-negative integer');
      const q = typeof body.query === 'string' ? body.query.toLowerCase() : '';
      const types = Array.isArray(body.processingTypes) && body.processingTypes.length ? new Set(body.processingTypes) : null;
      const ids = Array.isArray(body.listIds) && body.listIds.length ? new Set(body.listIds.map(String)) : null;
      const matching = [...state.lists.values()]
        .filter((l) => l.name.toLowerCase().includes(q) && (!types || types.has(l.processingType)) && (!ids || ids.has(l.listId)))
        .sort((a, b) => Number(a.listId) - Number(b.listId));
      const page = matching.slice(offset, offset + count).map((l) => {
        const { size, ...rest } = listJson(l);
        return { ...rest, additionalProperties: { hs_list_size: String(size) } };
      });
      return json(200, { offset: offset + page.length, hasMore: offset + count < matching.length, lists: page, total: matching.length });
    }],

    // A list by name, case-insensitively.
    ['GET', new RegExp(`^${L}/object-type-id/${ID}/name/${ID}$`), (req, url, objectTypeId, name) => {
      const list = objectTypeId === CONTACT_TYPE ? [...state.lists.values()].find((l) => ci(l.name, name)) : undefined;
      if (!list) throw hsError(404, `List with name ${name} does not exist.`, { category: 'OBJECT_NOT_FOUND' }); // unverified
      return json(200, { list: listJson(list) });
    }],

    // Several lists by id: ?listIds=1&listIds=2.
    ['GET', new RegExp(`^${L}$`), (req, url) => {
      const ids = url.searchParams.getAll('listIds').flatMap((s) => s.split(','));
      const lists = ids.map((id) => state.lists.get(id)).filter(Boolean).map(listJson);
      return json(200, { lists });
    }],

    ['GET', new RegExp(`^${L}/${ID}$`), (req, url, id) => json(200, { list: listJson(requireList(id)) })],

    ['GET', new RegExp(`^${L}/${ID}/memberships$`), (req, url, id) => {
      const list = requireList(id);
      const limitRaw = Number(url.searchParams.get('limit') ?? 100);
      const limit = Number.isInteger(limitRaw) && limitRaw > 0 ? Math.min(limitRaw, MEMBERSHIPS_LIMIT_MAX) : 100;
      const after = url.searchParams.get('after');
      const all = [...list.members.entries()].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
      const start = after ? all.findIndex(([rid]) => BigInt(rid) > BigInt(/^[0-9]+$/.test(after) ? after : '0')) : 0;
      const slice = start < 0 ? [] : all.slice(start, start + limit);
      const out = { results: slice.map(([recordId, m]) => ({ recordId, membershipTimestamp: isoTime(m.last) })), total: all.length };
      if (start >= 0 && start + limit < all.length) out.paging = { next: { after: slice.at(-1)[0] } };
      return json(200, out);
    }],

    // Add records: body ["id", ...]. Missing records come back in recordIdsMissing; existing
    // members are ignored (neither added nor missing).
    ['PUT', new RegExp(`^${L}/${ID}/memberships/add$`), async (req, url, id) => {
      const list = requireWritableList(id);
      const ids = checkRecordIds(await readJson(req));
      const added = [];
      const missing = [];
      const t = now();
      for (const rid of [...new Set(ids)]) {
        if (!state.contacts.has(rid)) {
          missing.push(rid);
          continue;
        }
        const existing = list.members.get(rid);
        audit.record('tag', { action: 'apply', via: 'list', contactId: rid, tagId: list.listId, tagName: list.name, duplicate: Boolean(existing) });
        if (existing) continue;
        list.members.set(rid, { first: t, last: t });
        added.push(rid);
      }
      if (added.length > 0) {
        list.updatedAt = t;
        list.listVersion += 1;
      }
      return json(200, { recordIdsMissing: missing, recordIdsRemoved: [], recordsIdsAdded: added });
    }],

    ['PUT', new RegExp(`^${L}/${ID}/memberships/remove$`), async (req, url, id) => {
      const list = requireWritableList(id);
      const ids = checkRecordIds(await readJson(req));
      const removed = [];
      const missing = [];
      for (const rid of [...new Set(ids)]) {
        if (!state.contacts.has(rid)) {
          missing.push(rid);
          continue;
        }
        const wasApplied = list.members.delete(rid);
        audit.record('tag', { action: 'remove', via: 'list', contactId: rid, tagId: list.listId, tagName: list.name, wasApplied });
        if (wasApplied) removed.push(rid);
      }
      if (removed.length > 0) {
        list.updatedAt = now();
        list.listVersion += 1;
      }
      return json(200, { recordIdsMissing: missing, recordIdsRemoved: removed, recordsIdsAdded: [] });
    }],
  ];

  // ---- responses ---------------------------------------------------------------------------

  const errorBody = (message, extra = {}) => {
    const { category, ...rest } = extra;
    return { status: 'error', message, correlationId: randomUUID(), ...rest, ...(category ? { category } : {}) };
  };

  function rateLimitBody(policy) {
    const message = policy === 'DAILY' ? 'You have reached your daily limit.' : 'You have reached your ten_secondly_rolling limit.';
    return { status: 'error', message, errorType: 'RATE_LIMIT', correlationId: randomUUID(), policyName: policy, requestId: randomUUID() };
  }

  function rateHeaders(rate) {
    return {
      'x-hubspot-ratelimit-daily': String(rate.daily),
      'x-hubspot-ratelimit-daily-remaining': String(rate.dailyRemaining),
      'x-hubspot-ratelimit-interval-milliseconds': String(TEN_SECONDS_MS),
      'x-hubspot-ratelimit-max': String(rate.max),
      'x-hubspot-ratelimit-remaining': String(rate.remaining),
    };
  }

  const hooks = {
    // Private app tokens go in `Authorization: Bearer` (the legacy `hapikey` query parameter was
    // retired in 2022 and is refused like any missing credential).
    authenticate(request) {
      const header = request.headers.get('authorization') ?? '';
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m && m[1] === token) return null;
      return json(401, errorBody('Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview', { category: 'INVALID_AUTHENTICATION' }));
    },
    rateLimited(verdict) {
      return json(429, rateLimitBody(verdict.policy), rateHeaders(verdict));
    },
    decorate(response, rate) {
      if (response.headers.has('x-hubspot-ratelimit-max')) return response;
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(rateHeaders(rate))) headers.set(name, value);
      return new Response(response.body, { status: response.status, headers });
    },
    faultResponse(fault) {
      const body = fault.body ?? (fault.status === 429 ? rateLimitBody('TEN_SECONDLY_ROLLING') : errorBody('Injected fault'));
      return typeof body === 'string'
        ? new Response(body, { status: fault.status, headers: fault.headers })
        : json(fault.status, body, fault.headers);
    },
    errorResponse(err) {
      if (err.message === 'No such endpoint in this sandbox' || err.message === 'Malformed path') return json(err.status, errorBody('resource not found'));
      return json(err.status, errorBody(err.message, err.details ?? {}));
    },
    route(request, url) {
      return dispatch(routes, request, url);
    },
  };

  const pipeline = createPipeline({ audit, limiter, faults, sleep, hooks });
  // The retired `hapikey` query parameter authenticates nothing here, but a client may still send
  // a secret in it: its value is blanked before the request is logged.
  function handle(request) {
    if (typeof request?.url === 'string' && /[?&]hapikey=/i.test(request.url)) {
      const url = new URL(request.url);
      for (const name of [...url.searchParams.keys()]) if (name.toLowerCase() === 'hapikey') url.searchParams.set(name, '[redacted]');
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
      request = new Request(url, { method: request.method, headers: request.headers, body: hasBody ? request.body : undefined, duplex: 'half', signal: request.signal });
    }
    return pipeline(request);
  }
  loadSeed();

  const full = (c) => ({
    ...contactJson(c, null),
    listIds: [...state.lists.values()].filter((l) => l.members.has(c.id)).map((l) => l.listId).sort((a, b) => Number(a) - Number(b)),
  });
  const byId = (a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1);

  return {
    /** The Request -> Promise<Response> core; throws AbortError if the request is aborted. */
    handle,
    /** fetch(input, init) over handle. */
    fetch: fetchFor(handle),
    /** Serves handle over node:http; resolves to {url, close()}. The API base is the server url itself. */
    listen: (opts) => listen(handle, opts),
    injectFaults(list) {
      faults.add(list);
    },
    pendingFaults: () => faults.pending(),
    clearFaults: () => faults.clear(),

    /** Every contact as SimplePublicObject with every stored property, plus `listIds`; deep copies. */
    contacts: () => [...state.contacts.values()].sort(byId).map(full),
    /** One contact (by id) in the same form, or undefined. */
    contact(id) {
      const c = state.contacts.get(String(id));
      return c ? full(c) : undefined;
    },
    /**
     * Adds a contact without a request (no audit, no limits): {id?, email, firstname, lastname,
     * properties: {name: value}, tags: [tag name] (list membership and checkbox value),
     * lists: [list name or id]}.
     */
    addContact: (input) => full(insertContact(input)),
    /** Adds a tag without a request: a MANUAL list and a checkbox option. {name, listId?, value?}. */
    addTag: (input) => listJson(insertTag(input)),
    /** Every list (tags and others) in PublicObjectList form. */
    tags: () => [...state.lists.values()].sort((a, b) => Number(a.listId) - Number(b.listId)).map(listJson),
    /** Every contact property in Property form. */
    fields: () => [...state.properties.values()].map(propertyJson),
    portalId,

    /** Requests in arrival order: {seq, time, method, path, query, status, rateLimited?, fault?, aborted?}. */
    requests: () => audit.list('request'),
    /** Tag applications and removals: {seq, time, action, via: 'list' | 'property', contactId, tagId, tagName, duplicate | wasApplied}. */
    tagApplications: () => audit.list('tag'),
    /** Custom property writes, without values: {seq, time, contactId, fieldId, label, length, truncated}. */
    fieldWrites: () => audit.list('field'),
    /** All of the above in one sequence, each with its `kind`. */
    audit: () => audit.list(),

    /** Back to the seed: contacts, lists, properties, logs, faults and rate windows. */
    reset() {
      loadSeed();
      audit.clear();
      faults.clear();
      limiter?.reset();
      searchHits = [];
    },
  };
}
