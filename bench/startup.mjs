// Start-up: compile + instantiate + first parsed post.
// - Node: in fresh processes (bench/startup-child.mjs), median of `runs`.
// - workerd (miniflare): time from creating the runtime to the first answer, for memberwire's
//   worker and, in the same run, for a baseline worker that answers a fixed JSON without wasm;
//   the difference is what the wasm adds. memberwire's answer includes recording the post in D1
//   and queueing it (a durable deployment's real first answer).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

const root = fileURLToPath(new URL('../', import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function runStartup({ runs = 7, log = console.log } = {}) {
  const node = [];
  for (let i = 0; i < runs; i++) {
    node.push(JSON.parse(execFileSync(process.execPath, [`${root}bench/startup-child.mjs`], { encoding: 'utf8' })));
  }
  const nodeResult = {
    compileMs: median(node.map((r) => r.compileMs)),
    instantiateMs: median(node.map((r) => r.instantiateMs)),
    firstParseMs: median(node.map((r) => r.firstParseMs)),
    totalMs: median(node.map((r) => r.totalMs)),
  };
  log(`startup node: compile ${nodeResult.compileMs.toFixed(1)} ms + instantiate ${nodeResult.instantiateMs.toFixed(1)} ms + first post ${nodeResult.firstParseMs.toFixed(1)} ms = ${nodeResult.totalMs.toFixed(1)} ms (median of ${runs})`);

  const key = 'mwk_startup-bench-key-0123456789abcdefghij';
  const rules = [
    { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
    { type: 'CompiledWasm', include: ['**/*.wasm'] },
    { type: 'Text', include: ['**/*.sql'] },
  ];
  // The Worker's D1 and queue, persisted across the runs: the first (not measured) applies the
  // migrations, as a deployment's first request would once.
  const persist = mkdtempSync(join(tmpdir(), 'mw-startup-'));
  const durable = {
    compatibilityFlags: ['nodejs_compat'],
    d1Databases: { DB: 'memberwire' },
    queueProducers: { EVENTS: { queueName: 'memberwire-events' } },
    defaultPersistRoot: persist,
  };
  async function firstAnswer(options, request) {
    const t0 = performance.now();
    const mf = new Miniflare({ compatibilityDate: '2026-04-26', modulesRoot: root, modules: true, modulesRules: rules, ...options });
    try {
      const res = await mf.dispatchFetch(...request);
      await res.text();
      return performance.now() - t0;
    } finally {
      await mf.dispose();
    }
  }
  const wasmTimes = [];
  const baseTimes = [];
  const post = ['http://localhost/hooks/json', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"contact_id":"1","email":"a@example.com"}' }];
  const memberwire = { scriptPath: `${root}js/hosts/worker.mjs`, bindings: { MEMBERWIRE_KEY: key }, ...durable };
  await firstAnswer(memberwire, post);
  for (let i = 0; i < Math.max(3, Math.floor(runs / 2)); i++) {
    baseTimes.push(await firstAnswer({ script: 'export default { fetch() { return Response.json({ outcome: "created" }); } }' }, post));
    wasmTimes.push(await firstAnswer(memberwire, post));
  }
  rmSync(persist, { recursive: true, force: true });
  const workerd = { memberwireMs: median(wasmTimes), baselineMs: median(baseTimes) };
  workerd.wasmAddsMs = workerd.memberwireMs - workerd.baselineMs;
  log(`startup workerd: first answer ${workerd.memberwireMs.toFixed(0)} ms vs ${workerd.baselineMs.toFixed(0)} ms for a one-line worker without wasm (workerd's own start included in both): loading memberwire's modules and wasm adds ${workerd.wasmAddsMs.toFixed(0)} ms`);
  return { node: nodeResult, workerd };
}

if (import.meta.url === `file://${process.argv[1]}`) await runStartup();
