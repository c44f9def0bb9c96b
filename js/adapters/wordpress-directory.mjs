// The directory port over a WordPress site with the memberwire plugin (wordpress-plugin/): the
// members are the site's WordPress users. The plugin keeps only the primitives, enforced by
// InnoDB (an identity table claimed in the transaction that creates or adopts the user); every
// rule stays in the Rust core, which also computes what the plugin stores (`wasm.memberRow`:
// the limits, the normalized email, the contact key). It answers as the in-memory reference
// does (tests/js/wordpress.test.mjs runs the conformance suite against a real WordPress).
//
// One WordPress-only behaviour: looking up an email that an existing WordPress user has, when
// no member does, adopts that user as a member without a contact, so the workflow links it
// instead of creating a second account.
//
// It reaches the site through `fetch` with an application password of a user holding the
// memberwire_sync capability, at `?rest_route=` (no pretty permalinks needed).

import { StoreError } from '../store/sql.mjs';

/**
 * @param {object} wasm  the initialized wasm package
 * @param {object} o
 * @param {string} o.url          the site's address (https://members.example.com)
 * @param {string} o.user         the sync user's login
 * @param {string} o.appPassword  its application password (never logged)
 * @param {typeof fetch} [o.fetch]
 * @param {(tags: object[]) => string[]} [o.levelsOf]  the access levels a member's tags grant
 * @param {(tags: object[]) => object[]} [o.named]  fills in tag names from the CRM's catalog (kept
 *   on the user, so the profile shows tags by name where the CRM addresses them by id)
 *   (memberwire's rules, in wasm): stored with the user for the site's content gating
 */
export function wordpressDirectory(wasm, { url, user, appPassword, fetch = globalThis.fetch, timeoutMs = 15_000, levelsOf = () => [], named = (tags) => tags }) {
  const base = String(url).replace(/\/+$/, '');
  const auth = `Basic ${btoa(`${user}:${appPassword}`)}`;

  async function call(method, route, { query = {}, body } = {}) {
    const params = new URLSearchParams({ rest_route: `/memberwire/v1${route}`, ...query });
    let res;
    try {
      res = await fetch(`${base}/?${params}`, {
        method,
        headers: { authorization: auth, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new StoreError('store_unavailable', `WordPress at ${base} did not answer: ${err?.name ?? 'error'}`);
    }
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StoreError('store_unavailable', `WordPress at ${base} answered ${res.status} without JSON (is the memberwire plugin active?)`);
    }
    if (res.ok) return json;
    const code = json?.error?.code ?? json?.code ?? 'wordpress_error';
    const message = json?.error?.message ?? json?.message ?? `WordPress answered ${res.status}`;
    if (res.status === 404 && code === 'not_found') return null;
    // Refused credentials, a missing capability, a database that fails: the store cannot be used.
    throw new StoreError('store_unavailable', `WordPress at ${base} refused ${route} (${res.status} ${code}): ${String(message).slice(0, 200)}`, { wordpressCode: code });
  }

  const directory = (op) => call('POST', '/directory', { body: op });

  return {
    kind: 'wordpress',

    /** Performs one directory operation (DirOp) and resolves to its DirResult. */
    async apply(op) {
      switch (op?.op) {
        case 'insert':
        case 'update': {
          // Tag names from the CRM's catalog go into the stored record (the profile shows them).
          const member = op.member.tags?.length ? { ...op.member, tags: named(op.member.tags) } : op.member;
          const row = wasm.memberRow(member);
          if (row.rejected) return { result: 'rejected', reason: row.rejected };
          return directory({ op: op.op, member, row, levels: levelsOf(member.tags ?? []) });
        }
        case 'get_by_email':
          // The core normalizes the email; the row also lets WordPress adopt an existing user.
          return directory({ op: 'get_by_email', row: wasm.memberRow({ email: op.email, tags: [] }) });
        case 'get_by_contact':
        case 'put_token':
        case 'consume_token':
        case 'set_password':
          return directory(op);
        default:
          throw Object.assign(new Error(`unknown directory operation ${op?.op}`), { code: 'invalid_field', status: 400 });
      }
    },

    /** A member as hosts may show it (no password hash), or null. */
    async get(id) {
      if (!/^m[1-9][0-9]{0,18}$/.test(String(id ?? ''))) return null;
      return call('GET', `/members/${id}`);
    },

    async search(query, offset = 0, limit = 20) {
      return call('GET', '/members', { query: { q: String(query ?? '').trim().toLowerCase(), offset: String(offset), limit: String(limit) } });
    },

    async accessIndexJson() {
      return JSON.stringify(await call('GET', '/export', { query: { fields: 'index' } }));
    },

    async planImport(csv, crm, account) {
      const dir = new wasm.Directory();
      try {
        dir.loadMembersJson(JSON.stringify(await call('GET', '/export', { query: { fields: 'plan' } })));
        return dir.planImport(csv, crm, account);
      } finally {
        dir.free();
      }
    },

    async size() {
      return (await call('GET', '/members', { query: { limit: '0' } })).total;
    },

    /**
     * Moving over from WP Fusion: links the WordPress users it linked to contacts of `crm`
     * ({slug}_contact_id, {slug}_tags usermeta) to those contacts, as members with their tags and
     * their own passwords (no credentials are issued, no welcome). Through the same claims as a
     * webhook, so it can never duplicate a member. `dryRun` only says what it would do.
     * Resolves to { dryRun, counts: {linked, conflict, invalid}, rows (the first 100) }.
     */
    async importWpFusion({ crm, account = 'default', dryRun = true, now = Date.now() }) {
      const slug = { keap: 'infusionsoft', activecampaign: 'activecampaign' }[crm];
      if (!slug) throw Object.assign(new Error(`WP Fusion's import needs a CRM memberwire speaks (keap, activecampaign), not ${crm}`), { code: 'not_supported', status: 400 });
      const counts = { linked: 0, conflict: 0, invalid: 0 };
      const rows = [];
      const note = (row) => {
        counts[row.outcome] += 1;
        if (rows.length < 100) rows.push(row);
      };
      // A real run makes members of what it links, and those leave the list: its next page
      // starts after the users it left alone.
      let offset = 0;
      let left = 0;
      for (;;) {
        const users = await call('GET', '/wpfusion', { query: { crm: slug, offset: String(dryRun ? offset : left), limit: '500' } });
        for (const u of users) {
          const member = {
            email: u.email,
            contact: { crm, account, contactId: u.contactId },
            ...(u.firstName ? { firstName: u.firstName } : {}),
            ...(u.lastName ? { lastName: u.lastName } : {}),
            tags: u.tags.map((id) => ({ id })),
            credentials: 'password',
            welcome: 'not_sent',
            createdAt: now,
            updatedAt: now,
          };
          const base = { userId: u.userId, email: u.email, contactId: u.contactId };
          let row;
          try {
            row = wasm.memberRow(member);
          } catch (err) {
            left += 1;
            note({ ...base, outcome: 'invalid', reason: err.message });
            continue;
          }
          if (row.rejected) {
            left += 1;
            note({ ...base, outcome: 'invalid', reason: row.rejected });
            continue;
          }
          if (dryRun) {
            // Looks only: a dry run adopts no account.
            const byContact = await directory({ op: 'get_by_contact', key: row.contactKey });
            const holder = byContact.member ?? (await directory({ op: 'get_by_email', row, noAdopt: true })).member;
            if (holder) note({ ...base, outcome: 'conflict', otherMember: holder.id });
            else note({ ...base, outcome: 'linked' });
            continue;
          }
          const r = await directory({ op: 'insert', member, row, levels: levelsOf(member.tags), adoptUserId: u.userId });
          if (r.result === 'inserted') note({ ...base, outcome: 'linked', member: r.member.id });
          else {
            left += 1;
            note({ ...base, outcome: r.result === 'rejected' ? 'invalid' : 'conflict', otherMember: r.member?.id, reason: r.reason });
          }
        }
        if (users.length < 500) break;
        offset += users.length;
      }
      return { dryRun, counts, rows };
    },

    /**
     * Recomputes every member's levels (after the rules changed) and stores those that differ.
     * Resolves to how many users' levels changed.
     */
    async syncLevels(levels) {
      const index = await call('GET', '/export', { query: { fields: 'index' } });
      let changed = 0;
      for (let i = 0; i < index.length; i += 500) {
        const chunk = index.slice(i, i + 500).map((m) => ({ id: m.id, levels: levels(m.tags ?? []) }));
        changed += (await call('POST', '/levels', { body: { members: chunk } })).changed;
      }
      return changed;
    },
  };
}
