// Settings of the admin API: the access rules, a read-only view of the running configuration
// (never the CRM token or the access key) and access-key rotation. Kept as named settings in
// the store (js/store/sql.mjs `settingsOn`).

/** The setting that holds the access rules. */
export const RULES = 'rules';
export const ACCESS_KEY = 'access-key';
export const SOURCES = 'sources';
const MAX_RULES = 1000;

/** A 400 the admin API answers with `code` and the message naming the setting. */
export function bad(message, code = 'invalid_field') {
  return Object.assign(new Error(message), { code, status: 400 });
}

/** The access rules, validated by the wasm (the same types `levelsFor` reads). */
export async function openRules(settings, wasm, { now = Date.now } = {}) {
  let rules = (await settings.get(RULES))?.rules ?? [];
  let readAt = now();
  let write = Promise.resolve();
  // Fills in tag names from the CRM's catalog (js/server/catalog.mjs), so a rule that names a
  // tag matches members whose tags carry only its id.
  let named = (tags) => tags;
  return {
    get: () => rules,
    /** Names tags with `fn` (the catalog's `named`) before rules are matched against them. */
    setNamer(fn) {
      named = fn;
    },
    named: (tags) => named(tags ?? []),
    /**
     * Reads the rules again when the copy here is older than `maxAgeMs`: where several instances
     * share one store (Workers' isolates), a rule saved through one reaches the others.
     */
    async fresh(maxAgeMs = 10_000) {
      if (now() - readAt < maxAgeMs) return;
      readAt = now();
      await write.catch(() => {});
      rules = (await settings.get(RULES))?.rules ?? [];
    },
    levels: (tags) => (rules.length ? wasm.levelsFor(rules, named(tags ?? [])) : []),
    /** Validates and saves `next`; resolves once it is durable. */
    async put(next) {
      if (!Array.isArray(next)) throw bad('rules must be an array');
      if (next.length > MAX_RULES) throw bad(`at most ${MAX_RULES} rules`);
      const ids = new Set();
      const clean = next.map((r, i) => {
        if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad(`rule ${i + 1} is not an object`);
        if (typeof r.id !== 'string' || !r.id.trim() || r.id.length > 100) throw bad(`rule ${i + 1} needs an id (a short string)`);
        if (ids.has(r.id)) throw bad(`two rules have the id ${JSON.stringify(r.id)}`);
        ids.add(r.id);
        if (typeof r.level !== 'string' || !r.level.trim() || r.level.length > 200) throw bad(`rule ${r.id} needs a level (a short string)`);
        const list = (name) => {
          const v = r[name] ?? [];
          if (!Array.isArray(v) || v.some((t) => typeof t !== 'string' || !t.trim() || t.length > 255)) {
            throw bad(`rule ${r.id}: ${name} must be a list of tag ids or names`);
          }
          return v;
        };
        return { id: r.id, level: r.level, anyOf: list('anyOf'), allOf: list('allOf'), noneOf: list('noneOf') };
      });
      // The wasm reads them exactly as levelsFor and the previews will: refuse what it refuses.
      try {
        wasm.levelsFor(clean, []);
      } catch (err) {
        throw bad(err?.message ?? 'the rules are not valid');
      }
      const saved = (write = write.catch(() => {}).then(() =>
        settings.put(RULES, { rules: clean, updatedAt: new Date().toISOString() }),
      ));
      await saved;
      rules = clean;
      readAt = now();
      return clean;
    },
  };
}

/**
 * The owner's mapped sources (posts to /hooks/mapped/NAME read by a JSON mapping), kept in the
 * settings store. `apply(list)` hands a list to the engine: at open, after each save, and when a
 * fresher copy is read (Workers' isolates share one store).
 */
export async function openSources(settings, wasm, { apply = () => {}, now = Date.now } = {}) {
  let list = (await settings.get(SOURCES))?.sources ?? [];
  let readAt = now();
  let write = Promise.resolve();
  apply(list);
  return {
    get: () => list,
    async fresh(maxAgeMs = 10_000) {
      if (now() - readAt < maxAgeMs) return;
      readAt = now();
      await write.catch(() => {});
      const next = (await settings.get(SOURCES))?.sources ?? [];
      if (JSON.stringify(next) !== JSON.stringify(list)) apply(next);
      list = next;
    },
    /** Checks `next` in the core (each source's name and paths), saves it, applies it. */
    async put(next) {
      if (!Array.isArray(next)) throw bad('sources must be an array');
      if (next.length > 100) throw bad('at most 100 sources');
      try {
        wasm.checkSources(next);
      } catch (err) {
        throw bad(err?.message ?? 'the sources are not valid');
      }
      const clean = JSON.parse(JSON.stringify(next));
      const saved = (write = write.catch(() => {}).then(() => settings.put(SOURCES, { sources: clean, updatedAt: new Date().toISOString() })));
      await saved;
      list = clean;
      readAt = now();
      apply(list);
      return clean;
    },
  };
}

/** What GET /api/settings shows: no token, no key, no password. */
export function settingsView({ wasm, crm, sandbox, passwordMode, publicUrl }) {
  // The connected CRM's routes and the generic JSON one.
  const hookUrls = {};
  for (const r of wasm.hookRoutes(crm.kind)) hookUrls[r] = `${publicUrl}/hooks/${r}`;
  return {
    crm: { kind: crm.kind, baseUrl: crm.baseUrl, sandbox: Boolean(sandbox) },
    passwordMode,
    welcomeTag: crm.welcomeTag ?? null,
    passwordField: crm.passwordField ?? null,
    linkField: crm.linkField ?? null,
    hookUrls,
  };
}

/**
 * A new access key: its digest is stored (durable before this resolves), the key is returned to
 * be shown once.
 */
export async function rotateAccessKey(settings, wasm) {
  const { key, digest } = wasm.generateAccessKey();
  await settings.put(ACCESS_KEY, { digest, createdAt: new Date().toISOString() });
  return { key, digest };
}
