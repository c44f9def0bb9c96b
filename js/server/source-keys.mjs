// An access key of its own for one hook route (`keap`, `kit`, `mapped/shop`, ...): a key that
// leaked from one CRM's URLs (Keap puts it in a URL that proxies log) is replaced for that route
// alone. A route with a key of its own no longer takes the shared access key; the others do.
// Only digests are kept, as for the shared key.

import { bad } from './settings.mjs';

export const SOURCE_KEYS = 'source-keys';
const ROUTE = /^(?:[a-z][a-z0-9-]{0,39}|mapped\/[a-z0-9][a-z0-9-]{0,39})$/;

export async function openSourceKeys(settings, wasm, { routes = () => [], now = Date.now } = {}) {
  let keys = (await settings.get(SOURCE_KEYS))?.keys ?? {};
  let readAt = now();
  let write = Promise.resolve();
  const save = (next) =>
    (write = write.catch(() => {}).then(() => settings.put(SOURCE_KEYS, { keys: next, updatedAt: new Date(now()).toISOString() })));

  const check = (route) => {
    if (typeof route !== 'string' || !ROUTE.test(route)) throw bad('a route is a hook route’s name, such as keap or mapped/shop');
    if (!route.startsWith('mapped/') && !routes().includes(route)) throw bad(`there is no hook route /hooks/${route}`);
  };

  return {
    /** The digest a post to `/hooks/ROUTE` must match: the route's own, or null (the shared key). */
    digestFor: (route) => keys[route]?.digest ?? null,
    /** The routes with a key of their own: {route: {createdAt}} (never a digest). */
    list: () => Object.fromEntries(Object.entries(keys).map(([r, k]) => [r, { createdAt: k.createdAt }])),
    /** A new key for `route`, shown once; the route's old key (or the shared one) stops working there. */
    async rotate(route) {
      check(route);
      const { key, digest } = wasm.generateAccessKey();
      const next = { ...keys, [route]: { digest, createdAt: new Date(now()).toISOString() } };
      await save(next);
      keys = next;
      return { route, key };
    },
    /** `route` takes the shared access key again. */
    async remove(route) {
      check(route);
      if (!keys[route]) return false;
      const { [route]: gone, ...next } = keys;
      await save(next);
      keys = next;
      return true;
    },
    /** Reads the keys again when this copy is older than `maxAgeMs` (Workers' isolates). */
    async fresh(maxAgeMs = 10_000) {
      if (now() - readAt < maxAgeMs) return;
      readAt = now();
      await write.catch(() => {});
      keys = (await settings.get(SOURCE_KEYS))?.keys ?? {};
    },
  };
}
