// The admin API's CRM calls: the requests are built and the answers read by the same Rust
// clients the registration workflow uses (wasm crmFindByEmail / crmLoadContact / crmParse*);
// this file only performs them with `fetch`, each at its turn in the engine's one line to the
// CRM (js/engine/crm-queue.mjs), with a short wait-and-retry on 429 (Keap sends no Retry-After).
//
// Nothing here logs or returns a request: its headers carry the CRM's API token.

import { tokenBucket } from '../engine/crm-queue.mjs';

export class CrmCallError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'CrmCallError';
    this.code = 'crm_unavailable';
    this.status = 502;
    this.crmStatus = status ?? null;
  }
}

/**
 * @param {object} o
 * @param {object} o.wasm
 * @param {object} o.crm            the CrmConfig (holds the token: never echo it)
 * @param {typeof fetch} [o.fetch]
 * @param {(priority?: number) => Promise<void>} [o.turn]  the engine's turn at the CRM's rate limit
 *   (`engine.crmTurn`), so the admin page's calls and the registrations share one limit; without
 *   it the client keeps to the CRM's documented limit on its own
 * @param {() => number} [o.now]
 * @param {number} [o.timeoutMs]
 * @param {number} [o.rateLimit]  requests per second when the client keeps its own limit
 */
export function createCrmClient({ wasm, crm, fetch = globalThis.fetch, turn, now = Date.now, timeoutMs = 15_000, rateLimit }) {
  const own = turn ? null : tokenBucket((rateLimit ?? (crm?.kind ? wasm.crmRateLimit(crm.kind) : 0)) * 0.9, 1);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Performs one HttpRequest (from the wasm clients): {status, body}. */
  async function perform(request, { retries = 3 } = {}) {
    for (let attempt = 0; ; attempt++) {
      if (turn) await turn();
      else {
        const wait = own.reserve(now());
        if (wait > 0) await sleep(wait);
      }
      let response;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        // Only the error's name: its message could quote the URL, and the URL could hold a query.
        if (attempt < retries) {
          await sleep(300 * (attempt + 1));
          continue;
        }
        throw new CrmCallError(`no answer from the CRM (${err?.name ?? 'Error'})`);
      }
      const body = await response.text();
      if ((response.status === 429 || response.status >= 500) && attempt < retries) {
        await sleep(response.status === 429 ? 1000 : 300 * (attempt + 1));
        continue;
      }
      return { status: response.status, body };
    }
  }

  function ok(res, what) {
    if (res.status >= 200 && res.status < 300) return res;
    if (res.status === 401 || res.status === 403) throw new CrmCallError(`the CRM refused the API token while ${what} (status ${res.status})`, res.status);
    throw new CrmCallError(`the CRM answered ${res.status} while ${what}`, res.status);
  }

  /** The contact as the CRM has it now, or null when it does not exist. */
  async function load(contactId) {
    const requests = wasm.crmLoadContact(crm, String(contactId));
    const responses = [];
    for (const r of requests) {
      const res = await perform(r);
      if (res.status === 404) return null;
      responses.push(ok(res, 'loading a contact'));
    }
    const c = wasm.crmParseContact(crm, responses);
    if (!c) return null;
    return {
      contactId: String(contactId),
      email: c.email ?? null,
      firstName: c.firstName ?? null,
      lastName: c.lastName ?? null,
      tags: c.tags ?? [],
      hasPassword: Boolean(c.hasPassword),
    };
  }

  return {
    perform,
    load,

    /** Contacts whose email is `email` (each loaded in full). Throws invalid_email (400). */
    async find(email) {
      const request = wasm.crmFindByEmail(crm, email);
      // Drip, MailerLite, HubSpot and Mailchimp answer a lookup by email with 404 when nobody has it.
      const answer = await perform(request);
      const res = answer.status === 404 ? answer : ok(answer, 'finding contacts by email');
      const ids = wasm.crmParseFind(crm, res);
      const out = [];
      for (const id of ids.slice(0, 20)) {
        const c = await load(id);
        if (c) out.push(c);
      }
      return out;
    },

    /**
     * Every item of the CRM's tags or custom fields ([{id, name}]), page after page; throws
     * CrmCallError when the CRM refuses or fails.
     */
    async list(what, maxPages = 200) {
      const out = [];
      let page;
      for (let n = 0; n < maxPages; n++) {
        const request = wasm.crmListRequest(crm, what, page);
        if (!request) return out;
        const res = ok(await perform(request), `listing its ${what}`);
        const got = wasm.crmParseList(crm, what, page, res);
        out.push(...got.items);
        if (!got.next || got.next === page) return out;
        page = got.next;
      }
      return out;
    },

    /** One cheap authenticated request: does the token work? */
    async test() {
      const request = wasm.crmFindByEmail(crm, 'memberwire-connection-test@example.com');
      let res;
      try {
        res = await perform(request, { retries: 0 });
      } catch (err) {
        return { ok: false, message: err.message };
      }
      // A 404 to a lookup of a made-up address is an authenticated answer: nobody has it.
      if ((res.status >= 200 && res.status < 300) || res.status === 404) return { ok: true, status: res.status, message: `connected to ${crm.kind}` };
      if (res.status === 401 || res.status === 403) return { ok: false, status: res.status, message: 'the CRM refused the API token' };
      if (res.status === 429) return { ok: false, status: res.status, message: 'the CRM is rate limiting this account; try again in a minute' };
      return { ok: false, status: res.status, message: `the CRM answered ${res.status}` };
    },

    /**
     * Every contact carrying tag `tagId`: [{contactId, email, firstName, lastName}]. Keap:
     * `GET v2/tags/{id}/contacts`, paged with next_page_token. ActiveCampaign:
     * `GET /contacts?tagid=` paged with offset (the tagid filter is from ActiveCampaign's v3
     * reference; unverified here: the local sandbox does not model it).
     */
    async tagContacts(tagId, { max = 500_000 } = {}) {
      const id = String(tagId);
      if (!/^[0-9]{1,20}$/.test(id)) {
        const e = new Error('tag must be a tag id (digits)');
        e.code = 'invalid_field';
        e.status = 400;
        throw e;
      }
      const base = crm.baseUrl.replace(/\/$/, '');
      const out = [];
      if (crm.kind === 'keap') {
        const headers = [['X-Keap-API-Key', crm.token], ['Accept', 'application/json']];
        let token = '';
        do {
          const url = `${base}/v2/tags/${id}/contacts?page_size=1000${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
          const res = await perform({ method: 'GET', url, headers });
          if (res.status === 404) throw notFound(`tag ${id} does not exist in the CRM`);
          ok(res, 'listing the contacts of a tag');
          const page = JSON.parse(res.body);
          for (const c of page.contacts ?? []) {
            out.push({ contactId: String(c.id), email: c.email ?? '', firstName: c.given_name ?? '', lastName: c.family_name ?? '' });
          }
          token = page.next_page_token ?? '';
        } while (token && out.length < max);
      } else if (crm.kind === 'activecampaign') {
        const headers = [['Api-Token', crm.token], ['Accept', 'application/json']];
        for (let offset = 0; out.length < max; offset += 100) {
          const url = `${base}/contacts?tagid=${id}&limit=100&offset=${offset}`;
          const res = ok(await perform({ method: 'GET', url, headers }), 'listing the contacts of a tag');
          const page = JSON.parse(res.body);
          const list = page.contacts ?? [];
          for (const c of list) {
            out.push({ contactId: String(c.id), email: c.email ?? '', firstName: c.firstName ?? '', lastName: c.lastName ?? '' });
          }
          if (list.length < 100) break;
        }
      } else {
        throw new CrmCallError(`listing a tag's contacts is not supported for ${crm.kind}`);
      }
      return out;
    },
  };
}

function notFound(message) {
  const e = new Error(message);
  e.code = 'not_found';
  e.status = 404;
  return e;
}
