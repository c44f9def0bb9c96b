// The admin API (docs/admin-api.md), mounted as the hook handler's `extra` routes on the Node
// server and the Worker, plus the admin page's static files (given by the host). Host glue only: members, rules, plans, levels and
// CRM requests are the wasm's; this file routes, authenticates and carries data.
//
// Nothing here returns or logs a password, a password hash, a set-password token, the CRM token
// or the access key (except POST /api/settings/rotate-key, which shows the new key once).

import { json, error, readBody } from '../engine/handler.mjs';
import { view as eventView } from '../adapters/events.mjs';
import { createSessions, AuthError } from './session.mjs';
import { openRules, openSources, settingsView, rotateAccessKey } from './settings.mjs';
import { openCatalog } from './catalog.mjs';
import { openSourceKeys } from './source-keys.mjs';
import { openBulk } from './bulk.mjs';
import { createCrmClient } from './crm-client.mjs';

const MAX_JSON = 1024 * 1024;
const MAX_CSV = 8 * 1024 * 1024;
const MAX_NAME = 200;
const MAX_TAGS = 1000;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const fail = (status, code, message) => {
  throw new ApiError(status, code, message);
};

/** A member as the API shows it: the directory's record without any hash, with its levels. */
function memberOut(m, rules) {
  if (!m) return null;
  const { passwordHash, password_hash, ...rest } = m;
  // Tags by name where the CRM addresses them by id (the catalog's names).
  const tags = rules.named(rest.tags ?? []);
  return { ...rest, tags, levels: rules.levels(tags) };
}

function intParam(url, name, dflt, max) {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) fail(400, 'invalid_field', `${name} must be a whole number >= 0`);
  return Math.min(n, max);
}

function checkName(v, field) {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') fail(400, 'invalid_field', `${field} must be a string`);
  const t = v.trim();
  if ([...t].length > MAX_NAME) fail(400, 'field_too_large', `${field} holds at most ${MAX_NAME} characters`);
  return t || undefined;
}

function checkTags(tags) {
  if (!Array.isArray(tags)) fail(400, 'invalid_field', 'tags must be a list of {id?, name?}');
  if (tags.length > MAX_TAGS) fail(400, 'invalid_field', `at most ${MAX_TAGS} tags`);
  return tags.map((t, i) => {
    if (!t || typeof t !== 'object' || Array.isArray(t)) fail(400, 'invalid_field', `tag ${i + 1} is not an object`);
    const out = {};
    for (const k of ['id', 'name']) {
      if (t[k] === undefined || t[k] === null) continue;
      if (typeof t[k] !== 'string' || !t[k].trim() || t[k].length > 255) fail(400, 'invalid_field', `tag ${i + 1}: ${k} must be a short string`);
      out[k] = t[k];
    }
    if (!out.id && !out.name) fail(400, 'invalid_field', `tag ${i + 1} needs an id or a name`);
    return out;
  });
}

const tagFromRef = (ref) => (/^[0-9]+$/.test(ref) ? { id: ref } : { name: ref });

/**
 * @param {object} o
 * @param {object} o.wasm
 * @param {object} o.store        the host's store (js/adapters/sql-store.mjs): settings, sessions, bulk runs
 * @param {object} o.engine
 * @param {object} o.directory
 * @param {object} o.events
 * @param {object} o.crm          CrmConfig (holds the token: never shown)
 * @param {boolean} o.sandbox     whether the CRM is the built-in sandbox
 * @param {string} o.passwordMode
 * @param {() => string} o.publicUrl
 * @param {() => string|null} o.keyDigest
 * @param {(digest: string) => void} o.setKeyDigest
 * @param {boolean} [o.keyFromEnv]  MEMBERWIRE_KEY is set: rotation must happen there
 * @param {(body: string) => Promise<Response>} o.testPost  posts to /hooks/json through the handler
 * @param {typeof fetch} [o.fetch]  the HTTP client for CRM calls (default: the global fetch)
 * @param {() => number} [o.now]
 * @param {(line: string) => void} [o.log]
 */
export async function createAdminApi(o) {
  const { wasm, store, engine, directory, events, crm, now = Date.now, log = () => {} } = o;
  const account = 'default';
  const rules = o.rules ?? (await openRules(store.settings, wasm));
  const sources = o.sources ?? (await openSources(store.settings, wasm, { apply: (list) => engine.setSources(list) }));
  const catalog = o.catalog ?? (await openCatalog(store.settings, crm));
  const sourceKeys = o.sourceKeys ?? (await openSourceKeys(store.settings, wasm, { routes: () => wasm.hookRoutes() }));
  if (!o.catalog) rules.setNamer(catalog.named);
  const sourceUrls = (list) => Object.fromEntries(list.map((s) => [s.name, `${o.publicUrl()}/hooks/mapped/${s.name}`]));
  // The admin page's CRM calls wait in the engine's one line to the CRM.
  const crmClient = createCrmClient({ wasm, crm, fetch: o.fetch, turn: engine.crmTurn, now });
  // The CRM's tag names are listed once the admin API is up (in the background), so the first
  // screens show names without waiting for them.
  if (crm.kind && crm.kind !== 'generic') catalog.ready(crmClient, { waitMs: 0 }).catch(() => {});
  const bulk = await openBulk({ wasm, store, directory, engine, events, crm, crmClient, account, now, log });
  // The origins the admin page is served from: the configured ones (o.origins: the public URL,
  // the listening address), else the public URL alone; none on a Worker without a public URL.
  const origins = [...new Set([...(o.origins ?? []), o.publicUrl()].flatMap((u) => {
    try {
      return u ? [new URL(u).origin] : [];
    } catch {
      return [];
    }
  }))];
  const sessions = createSessions({ wasm, settings: store.settings, stored: store.sessions, registrar: engine.registrar, keyDigest: o.keyDigest, origins, now, log });
  await sessions.restore();
  // The admin page's files: from disk on Node (js/server/static.mjs), from the ASSETS binding on
  // Workers; none: the API alone.
  const serveStatic = o.staticFiles ?? (() => null);

  async function body(request, max = MAX_JSON) {
    const bytes = await readBody(request, max);
    if (!bytes) fail(413, 'body_too_large', `the body is larger than ${max} bytes`);
    const text = new TextDecoder().decode(bytes);
    if (!text.trim()) return {};
    let v;
    try {
      v = JSON.parse(text);
    } catch {
      fail(400, 'malformed_body', 'the body must be JSON');
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) fail(400, 'malformed_body', 'the body must be a JSON object');
    return v;
  }

  const getMember = async (id) => {
    if (!ID_RE.test(id)) return null;
    return (await directory.get(id)) ?? null;
  };

  // ---- members ----------------------------------------------------------------------------

  async function addMember(input) {
    const { email, contactId, level, sendWelcome = false } = input;
    if (typeof email !== 'string' || !email.trim()) fail(400, 'invalid_email', 'email is required');
    if (email.length > 254) fail(400, 'invalid_email', 'email is too long');
    if (typeof sendWelcome !== 'boolean') fail(400, 'invalid_field', 'sendWelcome must be true or false');
    const firstName = checkName(input.firstName, 'firstName');
    const lastName = checkName(input.lastName, 'lastName');
    let cid = contactId === undefined || contactId === null || contactId === '' ? null : String(contactId).trim();
    if (cid !== null && !/^[0-9]{1,20}$/.test(cid)) fail(400, 'invalid_contact_id', 'contactId must be the CRM contact id (digits)');
    let tags = [];
    if (level !== undefined && level !== null && level !== '') {
      if (typeof level !== 'string') fail(400, 'invalid_field', 'level must be a string');
      // With a welcome the workflow copies the CRM's tags: a level must come from the CRM then.
      if (sendWelcome) fail(400, 'invalid_field', 'level applies to members added without a welcome; with sendWelcome the CRM contact\'s tags decide the levels');
      // The tags of the first rule granting the level: all of allOf, the first of anyOf.
      const rule = rules.get().find((r) => r.level === level && (r.allOf.length || r.anyOf.length));
      if (!rule) fail(400, 'unknown_level', `no access rule grants the level ${JSON.stringify(level)}`);
      tags = [...rule.allOf, ...rule.anyOf.slice(0, 1)].map(tagFromRef);
    }

    if (!sendWelcome) {
      const member = {
        email,
        ...(cid ? { contact: { crm: crm.kind, account, contactId: cid } } : {}),
        ...(firstName ? { firstName } : {}),
        ...(lastName ? { lastName } : {}),
        tags,
        credentials: 'none',
        welcome: 'not_sent',
        createdAt: now(),
        updatedAt: now(),
      };
      const r = await directory.apply({ op: 'insert', member });
      if (r.result === 'exists') {
        fail(409, r.on === 'contact' ? 'contact_taken' : 'email_taken', r.on === 'contact' ? `contact ${cid} already belongs to member ${r.member.id}` : `the email belongs to member ${r.member.id}`);
      }
      if (r.result !== 'inserted') fail(500, 'internal', 'the directory did not insert the member');
      log(`admin: member ${r.member.id} added by hand`);
      return { status: 201, body: memberOut((await directory.get(r.member.id)) ?? r.member, rules) };
    }

    // sendWelcome: the registration workflow does it all (member, set-password link in the
    // CRM, welcome tag), started for the contact as a post naming it would start it.
    if (!crm?.kind || crm.kind === 'generic') fail(400, 'not_supported', 'sending a welcome needs a connected CRM');
    if (!cid) {
      const found = await crmClient.find(email);
      if (found.length === 0) fail(400, 'contact_required', 'no CRM contact has this email: give contactId, or add the contact in the CRM first');
      if (found.length > 1) fail(409, 'ambiguous_contact', `${found.length} CRM contacts have this email: give contactId`);
      cid = found[0].contactId;
    }
    const byContact = await directory.apply({ op: 'get_by_contact', key: `${crm.kind}:${account}:${cid}` });
    if (byContact.member) fail(409, 'contact_taken', `contact ${cid} already belongs to member ${byContact.member.id}`);
    const byEmail = await directory.apply({ op: 'get_by_email', email });
    if (byEmail.member) fail(409, 'email_taken', `the email belongs to member ${byEmail.member.id}`);
    const accepted = await engine.register(cid, { email: email.trim(), source: 'admin' });
    if (!(accepted.runs?.length || accepted.queued?.length)) fail(400, 'ignored', 'the registration was not started');
    const r = await settle(accepted);
    if (r.queued) return { status: 202, body: r.queued };
    if (r.outcome.outcome === 'conflict') {
      const c = r.outcome.conflict;
      fail(409, c?.reason?.includes('contact') ? 'contact_taken' : 'email_taken', `conflict: ${c?.reason ?? 'taken'} (member ${c?.otherMember ?? '?'})`);
    }
    log(`admin: member ${r.member?.id ?? '?'} registered with a welcome (${r.event})`);
    return { status: 201, body: { ...memberOut(r.member, rules), event: r.event, outcome: r.outcome.outcome } };
  }

  /**
   * A started workflow's end, waited for up to 10 s: {event, outcome, member} once done, else
   * {queued: the 202 body, with the pending code when it parked}.
   */
  async function settle(accepted) {
    if (accepted.queued?.length) return { queued: { outcome: 'queued', event: accepted.queued[0] } };
    const run = accepted.runs[0];
    const final = await Promise.race([run.done, new Promise((resolve) => setTimeout(() => resolve(null), 10_000))]);
    if (!final || final.state !== 'done') {
      return { queued: { outcome: 'queued', event: run.eventId, ...(final?.code ? { pending: { code: final.code, reason: final.reason } } : {}) } };
    }
    const out = final.outcome;
    return { event: run.eventId, outcome: out, member: out.member ? await directory.get(out.member.id) : null };
  }

  async function applyTags(id, input) {
    const m = await getMember(id);
    if (!m) fail(404, 'not_found', 'no such member');
    if (!Number.isInteger(input.version)) fail(400, 'invalid_field', 'version (the member version the tags were computed from) is required');
    const tags = checkTags(input.tags);
    if (m.version !== input.version) fail(409, 'stale', 'the member changed meanwhile: reload it and preview again');
    const { hasPassword, levels, ...record } = m;
    const r = await directory.apply({ op: 'update', member: { ...record, tags, updatedAt: now() } });
    if (r.result === 'stale') fail(409, 'stale', 'the member changed meanwhile: reload it and preview again');
    if (r.result !== 'updated') fail(409, 'conflict', `the directory refused the change (${r.result})`);
    log(`admin: tags of member ${id} replaced (${tags.length} tags)`);
    return memberOut(await directory.get(id), rules);
  }

  // ---- routes -----------------------------------------------------------------------------

  // [method, pattern, handler(ctx, ...captures)]; session routes are public, the rest need a session.
  const PUBLIC = new Set(['GET /api/session', 'POST /api/session', 'DELETE /api/session', 'POST /api/setup']);
  // API tokens are made and revoked by a logged-in administrator only, never with a token.
  const SESSION_ONLY = /^\/api\/settings\/api-tokens(\/|$)/;
  const routes = [
    ['GET', /^\/api\/session$/, async ({ session }) => {
      const needsSetup = await sessions.needsSetup();
      return json(200, { authenticated: Boolean(session), needsSetup, ...(session ? { csrf: session.csrf } : {}) });
    }],
    ['POST', /^\/api\/setup$/, async ({ request, url, ip }) => {
      const { sid, csrf } = await sessions.setup(ip, await body(request));
      return json(200, { csrf, authenticated: true }, { 'set-cookie': sessions.cookieFor(url, sid, 12 * 3600) });
    }],
    ['POST', /^\/api\/session$/, async ({ request, url, ip }) => {
      const { sid, csrf } = await sessions.login(ip, await body(request));
      return json(200, { csrf, authenticated: true }, { 'set-cookie': sessions.cookieFor(url, sid, 12 * 3600) });
    }],
    ['DELETE', /^\/api\/session$/, async ({ request, url, session }) => {
      if (session) {
        sessions.checkCsrf(request, session);
        await sessions.logout(session);
      }
      return json(200, { authenticated: false }, { 'set-cookie': sessions.cookieFor(url, '', 0) });
    }],

    ['GET', /^\/api\/members$/, async ({ url }) => {
      const q = (url.searchParams.get('q') ?? '').slice(0, 200);
      const r = await directory.search(q, intParam(url, 'offset', 0, 1e9), intParam(url, 'limit', 20, 200));
      return json(200, { total: r.total, members: r.members.map((m) => memberOut(m, rules)) });
    }],
    ['POST', /^\/api\/members$/, async ({ request }) => {
      const r = await addMember(await body(request));
      return json(r.status, r.body);
    }],
    ['GET', /^\/api\/members\/([^/]+)$/, async (ctx, id) => {
      const m = await getMember(id);
      if (!m) fail(404, 'not_found', 'no such member');
      return json(200, memberOut(m, rules));
    }],
    ['GET', /^\/api\/members\/([^/]+)\/crm$/, async (ctx, id) => {
      const m = await getMember(id);
      if (!m) fail(404, 'not_found', 'no such member');
      if (!m.contact) fail(409, 'no_contact', 'this member is not linked to a CRM contact');
      if (m.contact.crm !== crm.kind) fail(409, 'other_crm', `this member is linked to ${m.contact.crm}, not to the configured ${crm.kind}`);
      const c = await crmClient.load(m.contact.contactId);
      if (!c) fail(404, 'crm_contact_missing', `contact ${m.contact.contactId} does not exist in the CRM`);
      return json(200, { ...c, tags: rules.named(c.tags) });
    }],
    // "Refresh from CRM" (WordPress's profile screen, or any admin client): the member's tags
    // and names from the CRM; new credentials and the welcome tag only when asked.
    ['POST', /^\/api\/members\/([^/]+)\/refresh$/, async ({ request }, id) => {
      const { credentials = false, welcome = false } = await body(request);
      if (typeof credentials !== 'boolean' || typeof welcome !== 'boolean') fail(400, 'invalid_field', 'credentials and welcome must be true or false');
      // The welcome email carries the credentials: it follows new ones, never alone.
      if (welcome && !credentials) fail(400, 'invalid_field', 'welcome needs credentials: true (the welcome email carries them)');
      const m = await getMember(id);
      if (!m) fail(404, 'not_found', 'no such member');
      if (!m.contact) fail(409, 'no_contact', 'this member is not linked to a CRM contact: set its contact id first');
      if (m.contact.crm !== crm.kind) fail(409, 'other_crm', `this member is linked to ${m.contact.crm}, not to the configured ${crm.kind}`);
      const accepted = await engine.refresh(m.contact.contactId, { credentials, welcome });
      log(`admin: member ${id} refreshed from the CRM${credentials ? ' with new credentials' : ''}${welcome ? ' and the welcome' : ''}`);
      const r = await settle(accepted);
      if (r.queued?.pending?.code === 'not_a_member') fail(409, 'not_a_member', r.queued.pending.reason);
      if (r.queued) return json(202, r.queued);
      return json(200, { outcome: r.outcome.outcome, credentials: r.outcome.credentials, welcome: r.outcome.welcome, event: r.event, member: memberOut(r.member, rules) });
    }],
    // Links a member to another contact of the configured CRM (or unlinks it: contactId null).
    ['PUT', /^\/api\/members\/([^/]+)\/contact$/, async ({ request }, id) => {
      const { contactId } = await body(request);
      const cid = contactId === null ? null : String(contactId ?? '').trim();
      if (cid !== null && !/^[0-9]{1,20}$/.test(cid)) fail(400, 'invalid_contact_id', 'contactId must be the CRM contact id (digits), or null');
      const m = await getMember(id);
      if (!m) fail(404, 'not_found', 'no such member');
      const { hasPassword, levels, contact, ...record } = m;
      const next = { ...record, ...(cid ? { contact: { crm: crm.kind, account, contactId: cid } } : {}), updatedAt: now() };
      const r = await directory.apply({ op: 'update', member: next });
      if (r.result === 'taken') fail(409, 'contact_taken', `contact ${cid} already belongs to member ${r.member.id}`);
      if (r.result === 'stale') fail(409, 'stale', 'the member changed meanwhile: try again');
      if (r.result !== 'updated') fail(409, 'conflict', `the directory refused the change (${r.result})`);
      log(`admin: member ${id} ${cid ? `linked to contact ${cid}` : 'unlinked from its contact'}`);
      return json(200, memberOut(await directory.get(id), rules));
    }],
    ['POST', /^\/api\/members\/([^/]+)\/tags$/, async ({ request }, id) => json(200, await applyTags(id, await body(request)))],
    ['GET', /^\/api\/access-index$/, async () => {
      // Built in wasm in one pass and sent as is: 100,000 members must not take seconds.
      return new Response(`{"members":${await directory.accessIndexJson()}}`, {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      });
    }],

    ['GET', /^\/api\/crm\/find$/, async ({ url }) => {
      const email = url.searchParams.get('email');
      if (!email) fail(400, 'invalid_email', 'give ?email=');
      const contacts = await crmClient.find(email);
      return json(200, { contacts: contacts.map((c) => ({ ...c, tags: rules.named(c.tags) })) });
    }],
    ['POST', /^\/api\/crm\/test$/, async () => json(200, await crmClient.test())],
    // The CRM's tags and custom fields with their names: listed again when over an hour old, or
    // on demand (Refresh on the Settings screen).
    ['GET', /^\/api\/crm\/catalog$/, async () => json(200, { crm: crm.kind, ...(await catalog.fresh(crmClient)) })],
    ['POST', /^\/api\/crm\/catalog\/refresh$/, async () => {
      try {
        return json(200, { crm: crm.kind, ...(await catalog.refresh(crmClient)) });
      } catch (err) {
        fail(502, 'crm_unavailable', `the CRM's tags and fields could not be listed: ${err?.message ?? err}`);
      }
    }],

    ['GET', /^\/api\/rules$/, async () => json(200, { rules: rules.get() })],
    // Mapped sources: any JSON webhook, read by paths (Settings → Sources). The admin page
    // previews a pasted sample with the same wasm parser before saving.
    ['GET', /^\/api\/sources$/, async () => json(200, { sources: sources.get(), urls: sourceUrls(sources.get()) })],
    ['PUT', /^\/api\/sources$/, async ({ request }) => {
      const saved = await sources.put((await body(request)).sources);
      log(`admin: mapped sources saved (${saved.length})`);
      return json(200, { sources: saved, saved: true, urls: sourceUrls(saved) });
    }],
    ['PUT', /^\/api\/rules$/, async ({ request }) => {
      const saved = await rules.put((await body(request)).rules);
      log(`admin: access rules saved (${saved.length})`);
      // A directory that keeps levels itself (WordPress, for its content gating) gets them anew.
      const resynced = directory.syncLevels ? await directory.syncLevels(rules.levels) : undefined;
      return json(200, { rules: saved, saved: true, ...(resynced !== undefined ? { levelsUpdated: resynced } : {}) });
    }],

    // Moving over from WP Fusion (a WordPress directory only): {"dryRun": true} says what it would do.
    ['POST', /^\/api\/import\/wpfusion$/, async ({ request }) => {
      if (!directory.importWpFusion) fail(400, 'not_supported', 'importing from WP Fusion needs the WordPress directory (memberwire serve --directory wordpress)');
      const { dryRun = true } = await body(request);
      if (typeof dryRun !== 'boolean') fail(400, 'invalid_field', 'dryRun must be true or false');
      const r = await directory.importWpFusion({ crm: crm.kind, account, dryRun, now: now() });
      if (!dryRun) log(`admin: WP Fusion import linked ${r.counts.linked} users (${r.counts.conflict} conflicts, ${r.counts.invalid} invalid)`);
      return json(200, r);
    }],
    ['POST', /^\/api\/bulk\/plan$/, async ({ request }) => json(200, await bulk.plan(await body(request, MAX_CSV)))],
    ['POST', /^\/api\/bulk\/run$/, async ({ request }) => {
      const { planId } = await body(request);
      if (typeof planId !== 'string') fail(400, 'malformed_body', 'send {"planId": "..."}');
      return json(202, await bulk.run(planId));
    }],
    ['GET', /^\/api\/bulk$/, async () => json(200, { runs: bulk.list() })],
    ['GET', /^\/api\/bulk\/([^/]+)$/, async (ctx, runId) => {
      const r = bulk.get(runId);
      if (!r) fail(404, 'not_found', 'no such run');
      return json(200, r);
    }],
    ['POST', /^\/api\/bulk\/([^/]+)\/cancel$/, async (ctx, runId) => json(200, await bulk.cancel(runId))],
    ['POST', /^\/api\/bulk\/([^/]+)\/resume$/, async (ctx, runId) => json(200, await bulk.resume(runId))],

    ['GET', /^\/api\/events$/, async ({ url }) => {
      const status = url.searchParams.get('status') || undefined;
      if (status && !['running', 'done', 'pending', 'conflict'].includes(status)) fail(400, 'invalid_field', 'status is running, done, pending or conflict');
      return json(200, await events.page({ status, offset: intParam(url, 'offset', 0, 1e9), limit: intParam(url, 'limit', 50, 200) }));
    }],
    ['GET', /^\/api\/events\/([^/]+)$/, async (ctx, id) => {
      const e = ID_RE.test(id) ? await events.get(id) : null;
      if (!e) fail(404, 'not_found', 'no such event');
      return json(200, eventView(e));
    }],
    ['POST', /^\/api\/events\/([^/]+)\/retry$/, async (ctx, id) => {
      const e = ID_RE.test(id) ? await events.get(id) : null;
      if (!e) fail(404, 'not_found', 'no such event');
      const run = engine.retry(id);
      await Promise.race([run, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      log(`admin: event ${id} retried`);
      return json(200, eventView(await events.get(id)));
    }],
    ['POST', /^\/api\/test-post$/, async ({ request }) => {
      const input = await body(request);
      let email = input.email ?? 'memberwire-test@example.com';
      if (typeof email !== 'string' || email.length > 254) fail(400, 'invalid_email', 'email must be a string');
      const sample = {
        contact_id: 'memberwire-test',
        email,
        first_name: 'Test',
        last_name: 'Member',
        tags: ['memberwire test'],
      };
      const res = await o.testPost(JSON.stringify(sample));
      const answer = await res.json();
      log(`admin: test post sent (${res.status})`);
      return json(200, { status: res.status, answer });
    }],

    ['GET', /^\/api\/settings\/api-tokens$/, async () => json(200, { tokens: await sessions.listTokens() })],
    ['POST', /^\/api\/settings\/api-tokens$/, async ({ request }) => json(201, await sessions.createToken((await body(request)).label))],
    ['DELETE', /^\/api\/settings\/api-tokens\/([^/]+)$/, async (ctx, id) => {
      if (!(await sessions.revokeToken(id))) fail(404, 'not_found', 'no such API token');
      return json(200, { revoked: id });
    }],
    ['GET', /^\/api\/settings$/, async () =>
      json(200, {
        ...settingsView({ wasm, crm, sandbox: typeof o.sandbox === 'function' ? o.sandbox() : o.sandbox, passwordMode: typeof o.passwordMode === 'function' ? o.passwordMode() : o.passwordMode, publicUrl: o.publicUrl() }),
        // The settings this page may change, and the ones the environment fixes.
        ...(o.connection ? { editable: o.connection.view() } : {}),
      })],
    // Hook routes with access keys of their own: a new one is shown once; DELETE returns the
    // route to the shared key.
    ['GET', /^\/api\/settings\/source-keys$/, async () => json(200, { routes: sourceKeys.list() })],
    ['POST', /^\/api\/settings\/source-keys\/([^/]+)\/rotate$/, async (ctx, route) => {
      const r = await sourceKeys.rotate(route);
      log(`admin: a new access key for /hooks/${r.route} (the old one no longer works there)`);
      return json(200, r);
    }],
    ['DELETE', /^\/api\/settings\/source-keys\/([^/]+)$/, async (ctx, route) => {
      if (!(await sourceKeys.remove(route))) fail(404, 'not_found', `/hooks/${route} has no key of its own`);
      log(`admin: /hooks/${route} takes the shared access key again`);
      return json(200, { route, removed: true });
    }],
    // Saves settings (partial: what the form changed) and applies them to the next post.
    ['PUT', /^\/api\/settings\/connection$/, async ({ request }) => {
      if (!o.connection) fail(409, 'not_supported', 'this host takes its settings from its environment (wrangler.toml and secrets)');
      const view = await o.connection.put(await body(request));
      return json(200, { saved: true, editable: view });
    }],
    ['POST', /^\/api\/settings\/rotate-key$/, async () => {
      if (o.keyFromEnv) fail(409, 'key_from_env', 'the access key comes from MEMBERWIRE_KEY: change it there and restart');
      const { key, digest } = await rotateAccessKey(store.settings, wasm);
      o.setKeyDigest(digest);
      log('admin: access key rotated (the old key no longer works)');
      return json(200, { key });
    }],
  ];

  /** Routes that show tags wait for the CRM's first catalog listing (their names). */
  async function namesReady(url) {
    if (crm.kind && crm.kind !== 'generic' && /^\/api\/(members|crm\/find)/.test(url.pathname)) await catalog.ready(crmClient);
  }

  async function route(request, url, ctx) {
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
        fail(404, 'not_found', 'malformed path');
      }
      const key = `${method} ${url.pathname}`;
      const ip = ctx?.remoteAddress ?? 'unknown';
      // A server calling on the administrator's behalf: a bearer token, no cookie, so no CSRF.
      const token = PUBLIC.has(key) ? null : await sessions.bearer(request, ip);
      if (token) {
        if (SESSION_ONLY.test(url.pathname)) fail(403, 'session_required', 'API tokens are managed by a logged-in administrator, not with a token');
        await namesReady(url);
        return handler({ request, url, session: token, ip }, ...captures);
      }
      const session = sessions.current(request);
      if (method !== 'GET' && method !== 'HEAD') sessions.checkOrigin(request, url);
      if (!PUBLIC.has(key)) {
        if (!session) fail(401, 'unauthorized', 'log in first');
        if (method !== 'GET' && method !== 'HEAD') sessions.checkCsrf(request, session);
      }
      await namesReady(url);
      return handler({ request, url, session, ip }, ...captures);
    }
    if (pathKnown) fail(405, 'method_not_allowed', `${request.method} is not allowed on ${url.pathname}`);
    fail(404, 'not_found', `no route ${url.pathname}`);
  }

  /** The handler's `extra`: admin API and static files; null for other paths. */
  async function extra(request, url, ctx) {
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      try {
        const res = await route(request, url, ctx);
        res.headers.set('x-content-type-options', 'nosniff');
        return res;
      } catch (err) {
        if (err instanceof ApiError || err instanceof AuthError) return error(err.status, err.code, err.message, err.headers);
        // wasm MemberwireErrors and port errors carry a code and status; their messages name
        // fields and reasons, never values that could be secret.
        if (err?.code && Number.isInteger(err?.status) && err.status >= 400 && err.status < 600) return error(err.status, err.code, err.message);
        log(`admin: internal error on ${request.method} ${url.pathname}: ${err?.code ?? err?.name ?? 'Error'}`);
        return error(500, 'internal', 'the admin API could not answer this request');
      }
    }
    return serveStatic(request, url);
  }

  return {
    extra,
    sessions,
    bulk,
    rules,
    /** After the engine resumed its events: continue bulk runs that were running. */
    start: () => bulk.resumeAll(),
    close: () => bulk.close(),
  };
}

