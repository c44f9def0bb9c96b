// CPU per post inside workerd: memberwire's Worker (js/hosts/worker.mjs) with D1, its queue and
// the Keap sandbox as the CRM (miniflare's outbound service), against a baseline Worker in the
// same run that does only the platform's share of the same work (one D1 insert and one queue
// send per post, one D1 update per message).
//
// The figure is the workerd process's CPU time (utime + stime from /proc) over N posts, from the
// first post until every event is done, divided by N. It includes workerd's local D1 and queue
// machinery, which in production run outside the Worker's CPU budget: an upper bound. Workers'
// free plan allows 10 ms of CPU per request (the post and each queue delivery are requests).
//
//   node bench/workerd.mjs [--posts 300]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Miniflare } from 'miniflare';
import { createKeapSandbox } from '../js/sandbox/keap.mjs';
import { d1Driver } from '../js/store/d1.mjs';
import { applyMigrations } from '../js/store/sql.mjs';
import { readMigrations } from '../js/store/sqlite.mjs';
import { buildWorker, workerModules } from '../scripts/build-worker.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const BASELINE = `
export default {
  async fetch(request, env) {
    const id = crypto.randomUUID();
    await env.DB.prepare("INSERT INTO events (id, source, received_at, contact, status, state, updated_at) VALUES (?, 'keap_post', ?, '{}', 'running', '{}', ?)").bind(id, Date.now(), Date.now()).run();
    await env.EVENTS.send({ eventId: id });
    return Response.json({ outcome: 'queued', event: id }, { status: 202 });
  },
  async queue(batch, env) {
    for (const m of batch.messages) {
      await env.DB.prepare("UPDATE events SET status = 'done', updated_at = ? WHERE id = ?").bind(Date.now(), m.body.eventId).run();
      m.ack();
    }
  },
};`;

/** CPU seconds used so far by the workerd processes under this one. */
function workerdCpuMs() {
  let total = 0;
  for (const line of execFileSync('ps', ['-e', '-o', 'pid=,comm='], { encoding: 'utf8' }).split('\n')) {
    const [pid, comm] = line.trim().split(/\s+/);
    if (comm !== 'workerd') continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1000;
    } catch {
      // gone
    }
  }
  return total;
}

async function measure({ name, options, posts, body, migrate = false, consume = true }) {
  const persist = mkdtempSync(join(tmpdir(), 'mw-bench-workerd-'));
  const sandbox = createKeapSandbox({ rateLimit: false });
  const contacts = [];
  for (let i = 0; i <= posts; i++) contacts.push(sandbox.addContact({ given_name: 'Bench', family_name: `P${i}`, email: `bench.${i}@example.com` }).id);
  const mf = new Miniflare({
    compatibilityDate: '2026-04-26',
    compatibilityFlags: ['nodejs_compat'],
    modulesRoot: root,
    modules: true,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.mjs', '**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
      { type: 'Text', include: ['**/*.sql'] },
    ],
    d1Databases: { DB: 'memberwire' },
    queueProducers: { EVENTS: { queueName: 'memberwire-events' } },
    queueConsumers: consume ? { 'memberwire-events': { maxBatchSize: 10, maxBatchTimeout: 1 } } : {},
    defaultPersistRoot: persist,
    // The Worker logs a line per registration: not part of the measurement's output.
    handleRuntimeStdio: (stdout, stderr) => {
      stdout.resume();
      stderr.resume();
    },
    outboundService: async (req) =>
      sandbox.fetch(req.url, { method: req.method, headers: Object.fromEntries(req.headers), body: req.method === 'GET' ? undefined : await req.text() }),
    ...options,
  });
  try {
    // The baseline has no migrations of its own: the same schema, applied from here.
    if (migrate) await applyMigrations(d1Driver(await mf.getD1Database('DB')), readMigrations());
    const key = 'mwk_workerd-bench-key-0123456789abcdefghij';
    const post = (i) => mf.dispatchFetch(`http://localhost/hooks/keap?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body(contacts[i]) });
    // Warm up (and, for memberwire, apply the migrations): not measured.
    await (await post(0)).text();
    const d1 = await mf.getD1Database('DB');
    const pending = async () => (await d1.prepare("SELECT COUNT(*) AS n FROM events WHERE status <> 'done'").first()).n;
    while (consume && (await pending()) > 0) await new Promise((r) => setTimeout(r, 100));
    const cpu0 = workerdCpuMs();
    for (let i = 1; i <= posts; i += 8) {
      await Promise.all(Array.from({ length: Math.min(8, posts + 1 - i) }, async (_, j) => (await post(i + j)).text()));
    }
    while (consume && (await pending()) > 0) await new Promise((r) => setTimeout(r, 50));
    const cpuMs = workerdCpuMs() - cpu0;
    const done = (await d1.prepare("SELECT COUNT(*) AS n FROM events WHERE status = 'done'").first()).n;
    if (consume && done !== posts + 1) throw new Error(`${name}: ${done} of ${posts + 1} events done`);
    return { cpuMsPerPost: cpuMs / posts };

  } finally {
    await mf.dispose();
    rmSync(persist, { recursive: true, force: true });
  }
}

export async function runWorkerd({ posts = 300, log = console.log } = {}) {
  const config = JSON.stringify({
    bcryptCost: 4,
    linkUrl: 'https://members.example/set-password',
    crm: { kind: 'keap', baseUrl: 'http://sandbox.test/crm/rest', token: 'keap-sandbox-api-key', passwordField: '11', passwordFieldMax: 20, linkField: '13', welcomeTag: '95' },
  });
  // The Worker as it deploys: wrangler's build (scripts/build-worker.mjs).
  const built = mkdtempSync(join(tmpdir(), 'mw-bench-worker-'));
  process.on('exit', () => rmSync(built, { recursive: true, force: true }));
  await buildWorker(built);
  const worker = {
    ...workerModules(built),
    bindings: { MEMBERWIRE_KEY: 'mwk_workerd-bench-key-0123456789abcdefghij', MEMBERWIRE_CONFIG: config, MEMBERWIRE_RATE_LIMIT: '0' },
  };
  const body = (id) => `contactId=${id}`;
  // The post alone (fetch: record in D1, queue), then the whole registration (the consumer too).
  const acceptOnly = await measure({ name: 'memberwire accept', posts, body, options: worker, consume: false });
  const baselineAccept = await measure({ name: 'baseline accept', posts, body, options: { script: BASELINE }, migrate: true, consume: false });
  const full = await measure({ name: 'memberwire', posts, body, options: worker });
  const baseline = await measure({ name: 'baseline', posts, body, options: { script: BASELINE }, migrate: true });
  const result = {
    posts,
    acceptCpuMs: acceptOnly.cpuMsPerPost,
    baselineAcceptCpuMs: baselineAccept.cpuMsPerPost,
    registrationCpuMs: full.cpuMsPerPost,
    baselineRegistrationCpuMs: baseline.cpuMsPerPost,
    acceptMarginMs: 10 - acceptOnly.cpuMsPerPost,
  };
  log(
    `workerd CPU per post, the whole workerd process (its local D1, queue and outbound proxy included): ` +
      `the post (fetch: D1 + queue) ${result.acceptCpuMs.toFixed(2)} ms vs ${result.baselineAcceptCpuMs.toFixed(2)} ms baseline, margin under the free plan's 10 ms ${result.acceptMarginMs.toFixed(2)} ms; ` +
      `the whole Keap registration (queue consumer, 3-4 CRM calls, about 15 D1 calls) ${result.registrationCpuMs.toFixed(2)} ms vs ${result.baselineRegistrationCpuMs.toFixed(2)} ms baseline`,
  );
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { posts: { type: 'string', default: '300' } } });
  await runWorkerd({ posts: Number(values.posts) });
}
