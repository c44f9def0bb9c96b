// The SQL port (js/store/sql.mjs) on Cloudflare D1: the Workers host's store. D1 is SQLite, so
// the adapters' SQL runs unchanged; `batch()` is D1's own transaction (all statements or none),
// and D1 acknowledges a write only once it is durable.
//
// D1 refuses BEGIN and most PRAGMAs: nothing here uses them.

import { constraintOf, StoreError } from './sql.mjs';

/** @param {object} d1  a D1Database binding (env.DB), or miniflare's proxy of one */
export function d1Driver(d1, { now = Date.now, failureShownMs = 30_000 } = {}) {
  let failure = null;
  const fail = (err, what) => {
    const c = constraintOf(err);
    if (c) return c;
    const e = new StoreError('store_unavailable', `D1 ${what} failed: ${String(err?.message ?? err).slice(0, 300)}`, { cause: err });
    failure = { code: e.code, message: e.message, at: now() };
    return e;
  };
  const prepare = ({ sql, params = [] }) => d1.prepare(sql).bind(...params.map((p) => (p === undefined ? null : p)));

  return {
    kind: 'd1',
    async batch(stmts) {
      let results;
      try {
        results = await d1.batch(stmts.map(prepare));
      } catch (err) {
        throw fail(err, 'write');
      }
      failure = null;
      return results.map((r) => ({ rows: r.results ?? [], changes: r.meta?.changes ?? 0 }));
    },
    async all(sql, params = []) {
      try {
        return (await prepare({ sql, params }).all()).results ?? [];
      } catch (err) {
        throw fail(err, 'read');
      }
    },
    async first(sql, params = []) {
      try {
        return (await prepare({ sql, params }).first()) ?? null;
      } catch (err) {
        throw fail(err, 'read');
      }
    },
    /**
     * The last failure, until a write succeeds or it is older than `failureShownMs`: each request
     * tries D1 anew, so a failure is a recent fact, not a state to wait out.
     */
    health: () => (failure && now() - failure.at < failureShownMs ? { code: failure.code, message: failure.message } : null),
  };
}
