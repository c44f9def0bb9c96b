// The Worker as miniflare runs it in the tests: built as `wrangler deploy` ships it
// (scripts/build-worker.mjs: js/hosts/worker.mjs bundled, minified and split, the wasm and the
// migrations beside it), with D1, the events queue with its dead-letter queue, and every outbound
// fetch handed to `outboundService`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorker, workerModules } from '../../../scripts/build-worker.mjs';

/** One build per test process. */
const BUILT = mkdtempSync(join(tmpdir(), 'mw-test-worker-'));
process.on('exit', () => rmSync(BUILT, { recursive: true, force: true }));
await buildWorker(BUILT);

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
    ...workerModules(BUILT),
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
