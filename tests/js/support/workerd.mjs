// The Worker (js/hosts/worker.mjs) as miniflare runs it in the tests: the repository's modules
// (the wasm as a compiled module, the migrations as text), D1, the events queue with its
// dead-letter queue, and every outbound fetch handed to `outboundService`.
import { ROOT } from './registration.mjs';

export const QUEUE = 'memberwire-events';
export const DLQ = 'memberwire-events-dlq';

/**
 * @param {object} o
 * @param {string} o.persist              where D1 and the queues keep their state
 * @param {Record<string, string>} o.bindings
 * @param {(req: Request) => Promise<Response>} o.outboundService
 * @param {string} [o.assets]             the admin page's files for the ASSETS binding
 */
export function miniflareOptions({ persist, bindings, outboundService, assets }) {
  return {
    ...(assets ? { assets: { directory: assets, binding: 'ASSETS', routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } } } : {}),
    compatibilityDate: '2026-04-26',
    compatibilityFlags: ['nodejs_compat'],
    modulesRoot: ROOT,
    modules: true,
    scriptPath: `${ROOT}js/hosts/worker.mjs`,
    // Custom rules come before miniflare's defaults, so .js (pkg/memberwire.js) needs its own.
    modulesRules: [
      { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
      { type: 'Text', include: ['**/*.sql'] },
    ],
    bindings,
    d1Databases: { DB: 'memberwire' },
    queueProducers: { EVENTS: { queueName: QUEUE } },
    queueConsumers: {
      [QUEUE]: { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 3, deadLetterQueue: DLQ },
      [DLQ]: { maxBatchSize: 10, maxBatchTimeout: 1 },
    },
    defaultPersistRoot: persist,
    unsafeTriggerHandlers: true,
    outboundService,
  };
}

/** A Node Request for what the worker fetched (miniflare's own Request type differs). */
export async function forwardInit(req) {
  return { method: req.method, headers: Object.fromEntries(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.text() };
}
