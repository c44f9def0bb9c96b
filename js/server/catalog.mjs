// The CRM's catalog: its tags and custom fields with their names, listed through the core's
// request builders (wasm crmListRequest / crmParseList) and kept in the settings store. Used to
// show tags by name where the CRM addresses them by id (Keap, ActiveCampaign, Kit, MailerLite),
// to match access rules that name a tag against members whose tags carry only its id, and to
// offer the CRM's fields and tags in the admin page's pickers.

export const CATALOG = 'crm-catalog';
/** A catalog older than this is listed again when a screen asks for it. */
export const CATALOG_MAX_AGE_MS = 60 * 60_000;
/** Most pages read from one list (Keap's pages hold 1,000 tags, ActiveCampaign's 100). */
const MAX_PAGES = 200;

/**
 * @param {object} settings  the settings store (get/put)
 * @param {object} crm       the CrmConfig (its kind and base URL name the catalog)
 * @param {{now?: () => number}} [o]
 */
export async function openCatalog(settings, crm, { now = Date.now } = {}) {
  const ownerOf = (c) => `${c?.kind ?? 'generic'} ${c?.baseUrl ?? ''} ${c?.accountId ?? ''}`;
  let owner = ownerOf(crm);
  let stored = await settings.get(CATALOG);
  // A catalog listed from another CRM account names other tags: it is not used.
  if (stored?.owner !== owner) stored = null;
  let names = nameMap(stored);
  let refreshing = null;

  function nameMap(c) {
    return new Map((c?.tags ?? []).map((t) => [String(t.id), t.name]));
  }

  const api = {
    /** The CRM changed (Settings): another account's names are dropped, and listed again. */
    rebind(next) {
      const o = ownerOf(next);
      if (o === owner) return;
      owner = o;
      stored = null;
      names = nameMap(null);
    },

    /** {tags, fields, fetchedAt} as last listed, or empty lists before the first listing. */
    get: () => ({ tags: stored?.tags ?? [], fields: stored?.fields ?? [], fetchedAt: stored?.fetchedAt ?? null, error: stored?.error ?? null }),

    /** `tags` with the catalog's name filled in where a tag has only its id. */
    named(tags) {
      if (!names.size || !Array.isArray(tags)) return tags;
      return tags.map((t) => (t && t.id != null && !t.name && names.has(String(t.id)) ? { ...t, name: names.get(String(t.id)) } : t));
    },

    /**
     * Lists both from the CRM through `client` (the admin API's CRM client: its requests wait
     * their turn in the engine's line to the CRM) and keeps them. One listing at a time.
     */
    async refresh(client) {
      refreshing ??= (async () => {
        try {
          const [tags, fields] = [await client.list('tags', MAX_PAGES), await client.list('fields', MAX_PAGES)];
          stored = { owner, tags, fields, fetchedAt: new Date(now()).toISOString(), error: null };
        } catch (err) {
          // The last good lists stay; the error says why they are old.
          stored = { ...(stored ?? { owner, tags: [], fields: [] }), owner, error: String(err?.message ?? err).slice(0, 300), failedAt: new Date(now()).toISOString() };
          await settings.put(CATALOG, stored);
          throw err;
        }
        await settings.put(CATALOG, stored);
        names = nameMap(stored);
        return api.get();
      })().finally(() => {
        refreshing = null;
      });
      return refreshing;
    },

    /**
     * Before tags are shown: the first listing is waited for, up to `waitMs` (a failure is kept
     * and not tried again before `maxAgeMs`); an old one is listed again in the background.
     */
    async ready(client, { maxAgeMs = CATALOG_MAX_AGE_MS, waitMs = 2000 } = {}) {
      const at = Date.parse(stored?.failedAt ?? stored?.fetchedAt ?? '');
      if (Number.isFinite(at) && now() - at < maxAgeMs) return;
      const listing = api.refresh(client).catch(() => {});
      // Never listed: wait a little (a slow CRM's long list goes on in the background).
      if (!Number.isFinite(at)) {
        let timer;
        await Promise.race([listing, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
        clearTimeout(timer);
      }
    },

    /** Lists again when the catalog is older than `maxAgeMs` (or was never listed); a failure is kept, not thrown. */
    async fresh(client, maxAgeMs = CATALOG_MAX_AGE_MS) {
      const at = Date.parse(stored?.failedAt ?? stored?.fetchedAt ?? '');
      if (Number.isFinite(at) && now() - at < maxAgeMs) return api.get();
      await api.refresh(client).catch(() => {});
      return api.get();
    },
  };
  return api;
}
