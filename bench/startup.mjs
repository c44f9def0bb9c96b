// Start-up: compile + instantiate + first parsed post.
// - Node: in fresh processes (bench/startup-child.mjs), median of `runs`.
// - workerd (miniflare): time from starting the workerd process to the first answer. memberwire's Worker
//   runs as `wrangler deploy` ships it (`wrangler deploy --dry-run --outdir`, which runs
//   scripts/build-worker.mjs: the entry, the chunks it imports, the chunks loaded at their first
//   `import()`, the wasm and the migrations beside them), and its answer records the post in D1 and
//   queues it (a durable deployment's real first answer). Baselines in the same run: a Worker
//   without wasm doing the same platform work (one D1 insert, one queue send), and a one-line
//   Worker answering a fixed JSON (workerd's own start).
//   The clock starts when Miniflare spawns workerd, with the configuration ready to write to its
//   stdin: before that Miniflare builds the configuration in Node, and its Cap'n Proto encoder
//   (capnp-es, a single-segment arena that copies itself whole at each allocation that does not
//   fit) takes time in proportion to the bytes of the modules. Measured: a Worker importing a
//   484 KB wasm took 11 ms more from `new Miniflare` to its first answer than one without, and just
//   as long with a 484 KB custom section in place of the code (which V8 never validates), and its
//   extra Node CPU was those 11 ms; from the spawn, all three answered alike. No deployed Worker
//   pays that: the figure from `new Miniflare` is printed too, as `with Miniflare's set-up`.
import childProcess, { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { workerModules } from '../scripts/build-worker.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** While `fn` runs, the time Miniflare spawns workerd (the first spawn of a `workerd` binary) is kept. */
async function watchingSpawns(fn) {
  const spawn = childProcess.spawn;
  const seen = { at: null };
  childProcess.spawn = function (...args) {
    if (seen.at === null && /workerd/.test(String(args[0]))) seen.at = performance.now();
    return spawn.apply(this, args);
  };
  try {
    return await fn(seen);
  } finally {
    childProcess.spawn = spawn;
  }
}

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
  // The bundle `wrangler deploy` would upload (no network: --dry-run).
  const bundle = mkdtempSync(join(tmpdir(), 'mw-startup-bundle-'));
  // wrangler.toml's ASSETS binding names .wrangler/assets, which must exist for wrangler to bundle
  // (npm run deploy lays it out the same way first).
  execFileSync('bash', [join(root, 'scripts/worker-assets.sh'), join(root, '.wrangler/assets')], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', bundle], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Every Worker below gets its modules listed, as `wrangler deploy` uploads them, so Miniflare
  // starts workerd on them as given. Given a script path instead, Miniflare first parses the
  // entry with acorn in Node to find its imports, which no deployed Worker does: measured on
  // this bundle (205 KB of JS) that added some 35 ms that were not workerd's.
  // The entry, and the chunks, the wasm and the migrations beside it (`workerModules`).
  const [, ...deps] = workerModules(bundle).modules;
  const esm = (name, contents) => ({ type: 'ESModule', path: join(bundle, name), contents });
  /** A Worker whose entry is `contents`, beside the bundle's other modules (`with`) when it imports them. */
  const worker = (name, contents, withModules = []) => ({
    modulesRoot: bundle,
    modules: [esm(name, contents), ...withModules],
  });
  // The Worker's D1 and queue, persisted across the runs: the first (not measured) applies the
  // migrations, as a deployment's first request would once.
  const persist = mkdtempSync(join(tmpdir(), 'mw-startup-'));
  const durable = {
    compatibilityFlags: ['nodejs_compat'],
    d1Databases: { DB: 'memberwire' },
    queueProducers: { EVENTS: { queueName: 'memberwire-events' } },
    defaultPersistRoot: persist,
  };
  /** Milliseconds from workerd's spawn to the first answer, and from `new Miniflare` (`withSetUp`). */
  const firstAnswer = (options, request) =>
    watchingSpawns(async (spawned) => {
      const t0 = performance.now();
      const mf = new Miniflare({ compatibilityDate: '2026-04-26', modules: true, ...options });
      try {
        const res = await mf.dispatchFetch(...request);
        await res.text();
        const t1 = performance.now();
        if (res.status >= 300) throw new Error(`startup: the first answer was ${res.status}`);
        if (spawned.at === null) throw new Error('startup: Miniflare started workerd without child_process.spawn');
        return { ms: t1 - spawned.at, withSetUpMs: t1 - t0 };
      } finally {
        await mf.dispose();
      }
    });
  const post = ['http://localhost/hooks/json', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"contact_id":"1","email":"a@example.com"}' }];
  const workerJs = readFileSync(join(bundle, 'worker.js'), 'utf8');
  const memberwire = { ...worker('worker.js', workerJs, deps), bindings: { MEMBERWIRE_KEY: key }, ...durable };
  // The same platform work without wasm: the events table exists (memberwire's first run made it).
  const platform = {
    ...worker('platform.js', `export default { async fetch(request, env) {
      const id = crypto.randomUUID();
      await env.DB.prepare("INSERT INTO events (id, source, received_at, contact, status, state, updated_at) VALUES (?, 'json', ?, '{}', 'running', '{}', ?)").bind(id, Date.now(), Date.now()).run();
      await env.EVENTS.send({ eventId: id });
      return Response.json({ outcome: 'queued', event: id }, { status: 202 });
    } };`),
    ...durable,
  };
  const oneLine = worker('one-line.js', 'export default { fetch() { return Response.json({ outcome: "created" }); } }');
  // Where memberwire's extra time goes, each a Worker beside the bundle: one that only loads the
  // compiled wasm (workerd compiles it as the Worker loads), and one that loads the whole bundle
  // (the glue, the instantiation, memberwire's modules) but answers without building the app
  // (no D1 reads, no post recorded).
  const wasmFile = readdirSync(bundle).find((f) => f.endsWith('.wasm'));
  const wasmOnly = {
    ...worker('wasm-only.js', `import m from './${wasmFile}';\nexport default { fetch() { return Response.json({ outcome: typeof m }); } };\n`, deps),
    ...durable,
  };
  // The same one-line Worker with the D1 database and the queue bound (the runtime starts them).
  const bound = { ...oneLine, ...durable };
  const loadedOnly = {
    ...worker(
      'loaded-only.js',
      `import worker from './worker.js';\nexport default { fetch() { return Response.json({ outcome: typeof worker.fetch }); } };\n`,
      [esm('worker.js', workerJs), ...deps],
    ),
    ...durable,
  };
  try {
    await firstAnswer(memberwire, post);
    const times = { memberwire: [], platform: [], oneLine: [], bound: [], wasmOnly: [], loadedOnly: [] };
    // Interleaved, so a busy moment of the machine falls on all of them alike; medians of `runs`.
    for (let i = 0; i < Math.max(3, runs); i++) {
      times.oneLine.push(await firstAnswer(oneLine, post));
      times.platform.push(await firstAnswer(platform, post));
      times.memberwire.push(await firstAnswer(memberwire, post));
      times.bound.push(await firstAnswer(bound, post));
      times.wasmOnly.push(await firstAnswer(wasmOnly, post));
      times.loadedOnly.push(await firstAnswer(loadedOnly, post));
    }
    const ms = (k) => median(times[k].map((t) => t.ms));
    var workerd = {
      memberwireMs: ms('memberwire'),
      baselineMs: ms('platform'),
      oneLineMs: ms('oneLine'),
      boundMs: ms('bound'),
      wasmOnlyMs: ms('wasmOnly'),
      loadedOnlyMs: ms('loadedOnly'),
      withSetUp: {
        memberwireMs: median(times.memberwire.map((t) => t.withSetUpMs)),
        baselineMs: median(times.platform.map((t) => t.withSetUpMs)),
      },
      ...jsBytes(bundle),
    };
  } finally {
    rmSync(persist, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  }
  workerd.wasmAddsMs = workerd.memberwireMs - workerd.baselineMs;
  workerd.withSetUp.wasmAddsMs = workerd.withSetUp.memberwireMs - workerd.withSetUp.baselineMs;
  log(
    `startup workerd: first answer ${workerd.memberwireMs.toFixed(0)} ms from workerd's start (wrangler's bundle) vs ${workerd.baselineMs.toFixed(0)} ms for a Worker without wasm doing the same D1 insert and queue send: memberwire adds ${workerd.wasmAddsMs.toFixed(0)} ms (a one-line Worker: ${workerd.oneLineMs.toFixed(0)} ms); with Miniflare's set-up in Node, ${workerd.withSetUp.memberwireMs.toFixed(0)} vs ${workerd.withSetUp.baselineMs.toFixed(0)} ms: ${signed(workerd.withSetUp.wasmAddsMs)}`,
  );
  const over = (ms) => signed(ms - workerd.boundMs);
  log(
    `startup workerd, where it goes (from workerd's start, over a one-line Worker with the same D1 and queue bound, ${workerd.boundMs.toFixed(0)} ms): loading the compiled wasm alone ${over(workerd.wasmOnlyMs)}; the Worker loaded (the wasm instantiated, the ${(workerd.atStartBytes / 1000).toFixed(1)} KB of JS loaded at start; ${(workerd.onDemandBytes / 1000).toFixed(1)} KB more load at their first import()) but not used ${over(workerd.loadedOnlyMs)}; the first post served (the app built from D1, the post recorded and queued) ${over(workerd.memberwireMs)}, against ${over(workerd.baselineMs)} for the baseline's D1 insert and queue send`,
  );
  return { node: nodeResult, workerd };
}

/** `+12 ms`, `−3 ms`. */
function signed(ms) {
  const d = Math.round(ms);
  return `${d < 0 ? '−' : '+'}${Math.abs(d)} ms`;
}

/**
 * The Worker's JS by when workerd compiles it: the entry and what it imports statically (at
 * start), and the chunks only an `import()` names (at their first use).
 */
function jsBytes(dir) {
  const atStart = new Set();
  for (const queue = ['worker.js']; queue.length; ) {
    const f = queue.pop();
    if (atStart.has(f)) continue;
    atStart.add(f);
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)) queue.push(m[1]);
  }
  const js = readdirSync(dir).filter((f) => f.endsWith('.js'));
  const size = (files) => files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  return { atStartBytes: size(js.filter((f) => atStart.has(f))), onDemandBytes: size(js.filter((f) => !atStart.has(f))) };
}

if (import.meta.url === `file://${process.argv[1]}`) await runStartup();
