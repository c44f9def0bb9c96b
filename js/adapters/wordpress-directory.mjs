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
 *   (memberwire's rules, in wasm): stored with the user for the site's content gating
 */
export function wordpressDirectory(wasm, { url, user, appPassword, fetch = globalThis.fetch, timeoutMs = 15_000, levelsOf = () => [] }) {
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
          const row = wasm.memberRow(op.member);
          if (row.rejected) return { result: 'rejected', reason: row.rejected };
          return directory({ op: op.op, member: op.member, row, levels: levelsOf(op.member.tags ?? []) });
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
