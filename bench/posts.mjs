#!/usr/bin/env node
// Posts per second and latency: memberwire against real WordPress, in one run.
//
//   node bench/posts.mjs [--quick] [--json out.json] [--with-wordpress] [--wordpress-rest]
//                        [--only accept,complete,wordpress] [--posts N] [--connections C]
//                        [--warmup W] [--cpu-prof DIR] [--keep-data]
//
// Each server (memberwire's, WordPress's) first gets W posts (default 2,000; --quick 0), each
// for a contact of its own, and every one of them is done before the measured posts start: the
// figures are a running server's, not its first seconds' (the JIT compiles as the first
// thousands arrive: in one pair of runs the same 10,000 posts to a fresh server came in at
// 2,474 posts/s against 3,301, with 0.57 ms of server CPU each against 0.40). The warm-up's own
// figures are printed and kept beside.
//
// The load: N Keap "Send an HTTP post" bodies (default 10,000; --quick 500), a quarter of them
// repeating a contact posted earlier (every fourth post; half of the repeats name one of the 32
// contacts posted just before, so the two posts are in flight together, half any earlier one),
// sent over C keep-alive connections (default 32; --quick 8) by autocannon, which cycles
// through the bodies with setupRequest.
//
// memberwire runs as `memberwire serve --port 0 --data <fresh tmp> --crm keap --crm-url SANDBOX
// --crm-rate 0`, a child process with a generated MEMBERWIRE_KEY (never printed); the CRM is
// `memberwire sandbox --no-limit`, another child process, so its CPU is not counted as the
// server's. The sandbox only knows four contacts, and a new member's workflow writes the set-password link into the contact and
// applies the welcome tag, so every contact is first created through the sandbox's REST API
// (POST /crm/rest/v2/contacts) and the posts carry the ids it assigned. The posts are full
// (Id, Email, FirstName, LastName, Groups), so nothing is loaded from the CRM.
//
//   memberwire-accept    --budget-ms 0: answered 202 once the post is durably recorded; then
//                        /health is polled until every event is done, which gives the
//                        completion throughput (first post to last completion)
//   memberwire-complete  the default budget (3000 ms): answered once the member is registered,
//                        CRM calls included
//   wordpress            Debian's WordPress 6.1 + MariaDB under `php -S` with 2 workers (opcache
//                        on), set up by bench/wordpress/setup.sh; the same posts go to a must-use
//                        plugin that does what CRM webhook plugins do: get_user_by('email'), then
//                        wp_insert_user when absent (bench/wordpress/memberwire-bench-hook.php)
//   wordpress-rest       (--wordpress-rest) the same through the REST API with an application
//                        password: GET /wp/v2/users?search=EMAIL, then POST /wp/v2/users when
//                        absent, C workers each doing that pair per post
//
// Rates and CPU are taken at the last answer. autocannon calls back only at its next sample tick
// (once a second), so timing to its callback rounded each run up to whole seconds: 10,000 posts
// came out at 10,000/k posts/s (3,333, 2,500, 2,000; 1,428, 1,250, 1,111, 1,000 when
// completing), and the server CPU counted the registrations that ran while the generator
// waited. Its callback's time is kept beside (`autocannon.secondsToItsCallback`).
//
// After each memberwire phase the server is stopped and started again on the same data
// directory; its start-up line must count one member per contact and one event per post. The
// sandbox must hold the welcome tag on every contact. For WordPress, users are counted per email
// afterwards: the duplicates are accounts made by the check-then-insert race.
//
// --quick runs 500 posts over 8 connections and skips WordPress unless --with-wordpress is
// given (CI's smoke check must not install MariaDB). It asserts nothing about times, but exits
// 1 when a memberwire post was lost or answered with an error. Full runs exit 1 for the same.
// Only 127.0.0.1 is ever contacted. Every process started here is stopped here (MariaDB, once
// started by setup.sh, stays running).

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { cpus, totalmem, tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { KEAP_DEFAULT_API_KEY } from '../js/sandbox/keap.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(root, 'bin/memberwire.mjs');
const WP_SETUP = join(root, 'bench/wordpress/setup.sh');
const WP_COUNT = join(root, 'bench/wordpress/count-users.php');
const WELCOME_TAG = '95'; // the sandbox's Welcome tag (js/server/serve.mjs)

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    'with-wordpress': { type: 'boolean', default: false },
    'skip-wordpress': { type: 'boolean', default: false },
    'wordpress-rest': { type: 'boolean', default: false },
    only: { type: 'string' },
    posts: { type: 'string' },
    connections: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
    'memberwire-driver': { type: 'string', default: 'autocannon' },
    warmup: { type: 'string' },
  },
});
const quick = args.quick;
const POSTS = Number(args.posts ?? (quick ? 500 : 10_000));
// Posts sent first to each server, each for a contact of its own, and waited for until every one
// is done: the measured posts meet a server whose code the JIT has compiled, as a running
// server's are, not one in its first seconds (the warm-up's own figures are printed beside).
const WARMUP = Number(args.warmup ?? (quick ? 0 : 2_000));
const CONNECTIONS = Number(args.connections ?? (quick ? 8 : 32));
if (!Number.isInteger(POSTS) || POSTS < 4 || !Number.isInteger(CONNECTIONS) || CONNECTIONS < 1 || CONNECTIONS > POSTS || !Number.isInteger(WARMUP) || WARMUP < 0) {
  console.error('posts: --posts must be an integer of at least 4, --connections from 1 to --posts, --warmup 0 or more');
  process.exit(2);
}
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim())) : null;
const wantWordPress = !args['skip-wordpress'] && (!quick || args['with-wordpress'] || args['wordpress-rest']);
const want = (phase) => (only ? only.has(phase) : phase !== 'wordpress' || wantWordPress);

const started = new Set(); // child processes still running, stopped on the way out
const failures = [];
const tmpDirs = [];

// ---- the load -----------------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32): the same posts on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The contact (0-based index) each post names: every fourth post repeats an earlier contact. */
function plan(n) {
  const rand = prng(20261122);
  const contactOf = new Array(n);
  let distinct = 0;
  let repeats = 0;
  for (let i = 0; i < n; i++) {
    if (i % 4 === 3) {
      const window = rand() < 0.5 ? Math.min(distinct, 32) : distinct;
      contactOf[i] = distinct - 1 - Math.floor(rand() * window);
      repeats++;
    } else {
      contactOf[i] = distinct++;
    }
  }
  return { contactOf, distinct, repeats };
}

const keapBody = (id, c) => `Id=${id}&Email=user${c}%40example.com&FirstName=User&LastName=N${c}&Groups=91`;

// ---- helpers --------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const round = (x, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    p50: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
    mean: round(sorted.length ? sum / sorted.length : null),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// CPU time of processes (Linux /proc): utime + stime, in milliseconds; null elsewhere.
const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) || 100;
})();

/** A /proc stat file: the name in its parentheses, and its fields from the third on (state). */
function procStat(file) {
  const stat = readFileSync(file, 'utf8');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
}

/** utime + stime (fields 14 and 15) of a stat's fields, in milliseconds. */
const cpuOf = (fields) => ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;

function cpuMs(pids) {
  let ms = 0;
  try {
    for (const pid of pids) ms += cpuOf(procStat(`/proc/${pid}/stat`).fields);
  } catch {
    return null;
  }
  return ms;
}

/** The pids of a process group (php -S and its workers). */
function groupPids(pgid) {
  const pids = [];
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (Number(procStat(`/proc/${name}/stat`).fields[2]) === pgid) pids.push(Number(name));
      } catch {
        // gone
      }
    }
  } catch {
    // no /proc
  }
  return pids;
}

function mariadbPids() {
  const r = spawnSync('pidof', ['mariadbd'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).map(Number) : [];
}

/**
 * A memberwire server's CPU by thread (ms): its main thread (the one whose id is the pid), its
 * registration thread (named `mw-registration`), and the rest (Node's thread pool, which runs
 * the fsyncs, and V8's helpers). Null where /proc cannot be read.
 */
function threadCpuMs(pid) {
  const out = { main: 0, registration: 0, other: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const { name, fields } = procStat(`/proc/${pid}/task/${tid}/stat`);
        const ms = cpuOf(fields);
        if (Number(tid) === pid) out.main += ms;
        else if (name === 'mw-registration') out.registration += ms;
        else out.other += ms;
      } catch {
        // the thread ended
      }
    }
  } catch {
    return null;
  }
  return out;
}

/**
 * Measures CPU used by `pids()` and by this process (the load generator) around `run`; with
 * `threadsOf`, that server's CPU by thread too.
 */
async function withCpu(pids, run, { threadsOf = null } = {}) {
  const before = cpuMs(pids());
  const threadsBefore = threadsOf ? threadCpuMs(threadsOf) : null;
  const self = process.cpuUsage();
  // Read at the last answer (the driver calls it then): what the server spent while the posts
  // arrived, not what it spent while the load generator wound down.
  let end = null;
  const atLastAnswer = () => {
    end ??= { server: cpuMs(pids()), threads: threadsOf ? threadCpuMs(threadsOf) : null, mine: process.cpuUsage(self) };
  };
  const result = await run(atLastAnswer);
  atLastAnswer();
  const { server: after, threads: threadsAfter, mine } = end;
  result.cpu = {
    serverMs: before === null || after === null ? null : Math.round(after - before),
    loadGeneratorMs: Math.round((mine.user + mine.system) / 1000),
  };
  if (result.cpu.serverMs !== null) {
    result.cpu.serverMsPerPost = round(result.cpu.serverMs / result.answered, 3);
    result.cpu.serverCores = round(result.cpu.serverMs / 1000 / result.seconds, 2);
  }
  // Where a server's CPU went, per post: a thread that died and was replaced is not counted.
  if (threadsBefore && threadsAfter) {
    result.cpu.threadsMsPerPost = Object.fromEntries(Object.keys(threadsAfter).map((k) => [k, round((threadsAfter[k] - threadsBefore[k]) / result.answered, 3)]));
  }
  return result;
}

function tmp(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

/** Waits for `child` to exit, up to `ms`; resolves to its exit code (null on timeout). */
function exited(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

async function stopChild(child, { group = false } = {}) {
  const kill = (sig) => {
    try {
      if (group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  if ((await exited(child, 20_000)) === null && child.exitCode === null && child.signalCode === null) {
    kill('SIGKILL');
    await exited(child, 5_000);
  }
  if (group) {
    // php -S workers are the leader's children in its group: make sure none is left.
    await sleep(100);
    kill('SIGKILL');
  }
  started.delete(child);
}

// ---- memberwire ------------------------------------------------------------------------------------

/**
 * Starts `memberwire serve` on a free port. Resolves to { child, url, sandboxUrl, members,
 * events, logLines(), stderrTail() }.
 */
function startMemberwire({ dataDir, budgetMs, key, profileName, sandboxUrl }) {
  // One directory per phase, with Node's own names: one profile per thread (the main thread's
  // and the registration thread's).
  const nodeArgs = args['cpu-prof'] && profileName ? ['--cpu-prof', `--cpu-prof-dir=${join(args['cpu-prof'], profileName)}`] : [];
  // The CRM is the sandbox in its own process (`memberwire sandbox`), spoken to as Keap: its CPU
  // is not the server's. No limit on either side: the benchmark measures memberwire, not Keap's 10/s.
  const cli = [BIN, 'serve', '--port', '0', '--data', dataDir, '--crm', 'keap', '--crm-url', sandboxUrl, '--crm-rate', '0'];
  if (budgetMs !== undefined) cli.push('--budget-ms', String(budgetMs));
  const child = spawn(process.execPath, [...nodeArgs, ...cli], {
    env: {
      ...process.env,
      MEMBERWIRE_KEY: key,
      MEMBERWIRE_KEAP_TOKEN: KEAP_DEFAULT_API_KEY,
      // The sandbox's seeded custom fields and welcome tag (js/sandbox/keap.mjs).
      MEMBERWIRE_PASSWORD_FIELD: '11',
      MEMBERWIRE_PASSWORD_FIELD_MAX: '20',
      MEMBERWIRE_LINK_FIELD: '13',
      MEMBERWIRE_WELCOME_TAG: WELCOME_TAG,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  const info = { child, url: null, sandboxUrl, members: null, events: null };
  let logLines = 0;
  const warnings = [];
  const stderr = [];
  let ready = false;
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 20) stderr.shift();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('memberwire did not start within 60 s')), 60_000);
    function fail(err) {
      clearTimeout(timer);
      stopChild(child).finally(() => reject(new Error(`${err.message}${stderr.length ? `\n  stderr: ${stderr.join('\n  ')}` : ''}`)));
    }
    child.once('exit', (code) => fail(new Error(`memberwire exited with ${code} while starting`)));
    // Read every line (the server logs per event; an unread pipe would stall it), keep counts.
    createInterface({ input: child.stdout }).on('line', (line) => {
      let m;
      if (!info.url && (m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line))) info.url = m[1];
      else if (info.members === null && (m = /^\s+data: .*members: (\d+)\s+events: (\d+)/.exec(line))) {
        info.members = Number(m[1]);
        info.events = Number(m[2]);
      } else if (ready) {
        logLines++;
        if (/^(warn|error): /.test(line) && warnings.length < 5) warnings.push(line.slice(0, 200));
      }
      if (!ready && info.url && info.members !== null && /^\s+crm: /.test(line)) {
        ready = true;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ ...info, logLines: () => logLines, warnings, stderrTail: () => stderr.slice() });
      }
    });
  });
}

/** Starts `memberwire sandbox` (no rate limit) on a free port: { child, url } (its /crm/rest base). */
function startSandbox() {
  const child = spawn(process.execPath, [BIN, 'sandbox', '--port', '0', '--no-limit'], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the sandbox did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the sandbox exited with ${code} while starting`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /Keap REST shapes at (http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, url: m[1] });
    });
  });
}

/** Creates `count` contacts in the sandbox CRM, `concurrency` at a time; their ids, as strings. */
async function createContacts(sandboxUrl, count, concurrency = 32) {
  const ids = new Array(count);
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const r = await fetch(`${sandboxUrl}/v2/contacts`, {
        method: 'POST',
        headers: { 'x-keap-api-key': KEAP_DEFAULT_API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ given_name: 'User', family_name: `N${i}`, email_addresses: [{ email: `user${i}@example.com`, field: 'EMAIL1' }] }),
      });
      const text = await r.text();
      if (r.status !== 201) throw new Error(`the sandbox answered ${r.status} to a new contact: ${text.slice(0, 200)}`);
      ids[i] = String(JSON.parse(text).id);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (new Set(ids).size !== count) throw new Error('the sandbox gave two contacts one id');
  return ids;
}

/** How many sandbox contacts carry `tagId` (pages of 1,000). */
async function countTagged(sandboxUrl, tagId) {
  let n = 0;
  let token = '';
  for (let pages = 0; pages < 1000; pages++) {
    const q = new URLSearchParams({ page_size: '1000', ...(token ? { page_token: token } : {}) });
    const r = await fetch(`${sandboxUrl}/v2/tags/${tagId}/contacts?${q}`, { headers: { 'x-keap-api-key': KEAP_DEFAULT_API_KEY } });
    if (r.status !== 200) throw new Error(`the sandbox answered ${r.status} listing tagged contacts`);
    const body = await r.json();
    n += body.contacts.length;
    token = body.next_page_token;
    if (!token) return n;
  }
  throw new Error('too many pages of tagged contacts');
}

async function health(url, key) {
  const r = await fetch(`${url}/health`, { headers: { 'x-memberwire-key': key } });
  const body = await r.json();
  if (!body.events) throw new Error('/health did not report event counts: is the key right?');
  return body.events;
}

/** Polls /health until every one of `expected` events has ended (done or pending). */
async function waitForCompletion(url, key, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await health(url, key);
    if (last.total >= expected && last.running === 0) return { counts: last, at: performance.now() };
    await sleep(20);
  }
  return { counts: last, at: null };
}

// ---- the load generator -------------------------------------------------------------------------

/**
 * Sends `bodies` (cycled) as POSTs to `url` + `path` over `connections` keep-alive connections
 * until `amount` answers have come back. `onAnswer(status, body)` sees each answer's body.
 */
function drive({ url, path, bodies, connections, amount, onAnswer, onLastAnswer, timeoutS = 30 }) {
  return new Promise((resolve, reject) => {
    // When the last answer came: autocannon calls back only at its next sample tick (every
    // second), so its callback can come up to a second after the last answer.
    let lastAt = null;
    let next = 0;
    const latencies = [];
    const statusCodes = {};
    const request = {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (req) => ({ ...req, path, body: bodies[next++ % bodies.length] }),
    };
    if (onAnswer) request.onResponse = (status, body) => onAnswer(status, body);
    const t0 = performance.now();
    const instance = autocannon(
      { url, connections, amount, pipelining: 1, timeout: timeoutS, requests: [request] },
      (err, result) => {
        if (err) return reject(err);
        const calledBackAt = performance.now();
        const seconds = ((lastAt ?? calledBackAt) - t0) / 1000;
        const answered = latencies.length;
        const non2xx = Object.entries(statusCodes).reduce((n, [s, c]) => (s.startsWith('2') ? n : n + c), 0);
        resolve({
          posts: amount,
          answered,
          connections,
          driver: 'autocannon',
          seconds: round(seconds, 3),
          postsPerSecond: round(answered / seconds, 1),
          latencyMs: latencySummary(latencies),
          statusCodes,
          non2xx,
          connectionErrors: result.errors,
          timeouts: result.timeouts,
          errors: non2xx + result.errors,
          // autocannon's own figures (its histogram holds whole milliseconds).
          autocannon: { p50: result.latency.p50, p99: result.latency.p99, requestsPerSecondAverage: result.requests.average, secondsToItsCallback: round((calledBackAt - t0) / 1000, 3) },
          startedAt: t0,
        });
      },
    );
    instance.on('response', (client, statusCode, resBytes, responseTime) => {
      latencies.push(responseTime);
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      if (latencies.length === amount) {
        lastAt = performance.now();
        onLastAnswer?.();
      }
    });
  });
}

/**
 * The same load with node:http, for servers autocannon cannot read: php -S closes the connection
 * after every answer, and autocannon writes its next request onto the closing socket (in a trial
 * half the posts were lost that way). `connections` workers each send one post at a time over a
 * keep-alive agent, which opens a new connection whenever the server closed the last one.
 */
function driveLoop({ url, path, bodies, connections, amount, onAnswer, timeoutS = 30 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(path, url);
  const latencies = [];
  const statusCodes = {};
  let connectionErrors = 0;
  let timeouts = 0;
  let next = 0;
  const post = (body) =>
    new Promise((resolve) => {
      const t = performance.now();
      const req = http.request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
          timeout: timeoutS * 1000,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            latencies.push(performance.now() - t);
            statusCodes[res.statusCode] = (statusCodes[res.statusCode] ?? 0) + 1;
            onAnswer?.(res.statusCode, Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
          res.on('error', () => {
            connectionErrors++;
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        connectionErrors++;
        resolve();
      });
      req.end(body);
    });
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= amount) return;
      await post(bodies[i % bodies.length]);
    }
  }
  const t0 = performance.now();
  return Promise.all(Array.from({ length: connections }, worker)).then(() => {
    agent.destroy();
    const seconds = (performance.now() - t0) / 1000;
    const answered = latencies.length;
    const non2xx = Object.entries(statusCodes).reduce((n, [s, c]) => (s.startsWith('2') ? n : n + c), 0);
    return {
      posts: amount,
      answered,
      connections,
      driver: 'node:http loop',
      seconds: round(seconds, 3),
      postsPerSecond: round(answered / seconds, 1),
      latencyMs: latencySummary(latencies),
      statusCodes,
      non2xx,
      connectionErrors,
      timeouts,
      errors: non2xx + connectionErrors,
      startedAt: t0,
    };
  });
}

function outcomeCounter() {
  const counts = {};
  return {
    counts,
    add(status, body) {
      let o;
      try {
        const parsed = JSON.parse(body);
        o = parsed.outcome ?? parsed.error?.code ?? parsed.error ?? 'unknown';
      } catch {
        o = `unparsable-${status}`;
      }
      counts[o] = (counts[o] ?? 0) + 1;
    },
  };
}

// ---- phases ---------------------------------------------------------------------------------------

async function memberwirePhase(name, { budgetMs, load }) {
  const key = randomBytes(32).toString('base64url'); // 43 characters; never printed
  const dataDir = tmp(`mw-bench-posts-${name}-`);
  process.stdout.write(`${name}: starting memberwire (budget ${budgetMs === undefined ? 'default' : `${budgetMs} ms`}), `);
  const crm = await startSandbox();
  const server = await startMemberwire({ dataDir, budgetMs, key, profileName: name, sandboxUrl: crm.url });
  try {
    const t = performance.now();
    // The warm-up's contacts come after the measured ones (their own ids and emails).
    const ids = await createContacts(server.sandboxUrl, load.distinct + WARMUP);
    process.stdout.write(`${load.distinct + WARMUP} sandbox contacts in ${((performance.now() - t) / 1000).toFixed(1)} s, posting\n`);
    const bodies = load.contactOf.map((c) => keapBody(ids[c], c));
    const driver = args['memberwire-driver'] === 'http' ? driveLoop : drive;
    let warmup = null;
    if (WARMUP) {
      const warmOutcomes = outcomeCounter();
      warmup = await withCpu(
        () => [server.child.pid],
        (atLastAnswer) =>
          driver({
            url: server.url,
            path: `/hooks/keap?key=${key}`,
            bodies: Array.from({ length: WARMUP }, (_, i) => keapBody(ids[load.distinct + i], load.distinct + i)),
            connections: CONNECTIONS,
            amount: WARMUP,
            onAnswer: (s, b) => warmOutcomes.add(s, b),
            onLastAnswer: atLastAnswer,
          }),
      );
      const settled = await waitForCompletion(server.url, key, WARMUP, Math.max(60_000, WARMUP * 60));
      if (warmup.errors || settled.at === null || settled.counts.done !== WARMUP) failures.push(`${name}: the warm-up did not end cleanly (${JSON.stringify(settled.counts)}, ${warmup.errors} errors)`);
      delete warmup.startedAt;
    }
    const outcomes = outcomeCounter();
    const cpuAtStart = cpuMs([server.child.pid]);
    const result = await withCpu(
      () => [server.child.pid],
      (atLastAnswer) =>
        driver({
          url: server.url,
          path: `/hooks/keap?key=${key}`,
          bodies,
          connections: CONNECTIONS,
          amount: POSTS,
          onAnswer: (s, b) => outcomes.add(s, b),
          onLastAnswer: atLastAnswer,
        }),
      { threadsOf: server.child.pid },
    );
    result.outcomes = outcomes.counts;
    // Everything accepted must end: wait up to 60 ms per post, at least 1 and at most 10 minutes.
    const done = await waitForCompletion(server.url, key, POSTS + WARMUP, Math.min(600_000, Math.max(60_000, POSTS * 60)));
    result.events = done.counts;
    // The whole cost: the server's CPU from the first post until every event is done (the
    // registrations a 202 answer left running included), per post.
    const cpuAtEnd = cpuMs([server.child.pid]);
    if (cpuAtStart !== null && cpuAtEnd !== null) result.cpu.serverMsPerPostToCompletion = round((cpuAtEnd - cpuAtStart) / POSTS, 3);
    if (done.at !== null) {
      const s = (done.at - result.startedAt) / 1000;
      result.completion = { seconds: round(s, 3), eventsPerSecond: round(POSTS / s, 1) };
    } else {
      result.completion = { seconds: null, eventsPerSecond: null, timedOut: true };
    }
    if (warmup) result.warmup = { posts: WARMUP, postsPerSecond: warmup.postsPerSecond, latencyMs: warmup.latencyMs, errors: warmup.errors, cpu: warmup.cpu };
    result.welcomeTagged = await countTagged(server.sandboxUrl, WELCOME_TAG);
    result.serverLogLines = server.logLines();
    if (server.warnings.length) result.serverWarnings = server.warnings;
    delete result.startedAt;
    await stopChild(server.child);
    if (server.child.exitCode !== 0) failures.push(`${name}: the server exited with ${server.child.exitCode ?? server.child.signalCode}`);

    // Start again on the same data: what was recorded survives, one member per contact.
    const again = await startMemberwire({ dataDir, budgetMs: 0, key, sandboxUrl: crm.url });
    result.afterRestart = { members: again.members, events: again.events };
    await stopChild(again.child);

    const lost = [];
    if (result.errors) lost.push(`${result.errors} posts answered with an error or not at all (${JSON.stringify(result.statusCodes)}, ${result.connectionErrors} connection errors)`);
    if (result.answered !== POSTS) lost.push(`${result.answered} answers to ${POSTS} posts`);
    // The warm-up's posts count too: each made one event and one member.
    const posts = POSTS + WARMUP;
    const contacts = load.distinct + WARMUP;
    if (result.events?.total !== posts) lost.push(`${result.events?.total} events recorded for ${posts} posts`);
    if (result.events?.pending) lost.push(`${result.events.pending} events ended pending`);
    if (result.completion.timedOut) lost.push(`events still running after the wait: ${JSON.stringify(result.events)}`);
    if (again.members !== contacts) lost.push(`${again.members} members after a restart, for ${contacts} contacts`);
    if (again.events !== posts) lost.push(`${again.events} events after a restart, for ${posts} posts`);
    if (result.welcomeTagged !== contacts) lost.push(`${result.welcomeTagged} contacts carry the welcome tag, for ${contacts} new members`);
    for (const l of lost) failures.push(`${name}: ${l}`);
    result.ok = lost.length === 0;
    return result;
  } finally {
    if (started.has(server.child)) await stopChild(server.child);
    await stopChild(crm.child);
  }
}

function runSetup() {
  const log = join(tmp('mw-bench-wp-'), 'setup.log');
  process.stdout.write(`wordpress: bench/wordpress/setup.sh (log: ${log}) ... `);
  const t = performance.now();
  const fd = openSync(log, 'w');
  const r = spawnSync('bash', [WP_SETUP], { stdio: ['ignore', 'pipe', fd], encoding: 'utf8', timeout: 20 * 60_000 });
  closeSync(fd);
  if (r.status !== 0) {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n  ');
    throw new Error(`bench/wordpress/setup.sh failed (${r.status ?? r.signal}):\n  ${tail}`);
  }
  process.stdout.write(`${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  const last = r.stdout.trim().split('\n').pop();
  const setup = JSON.parse(last);
  const ready = /ready: .*\((.*)\)/.exec(readFileSync(log, 'utf8'));
  setup.versions = ready ? ready[1] : null;
  return setup;
}

async function startPhp(dir) {
  const port = await freePort();
  const log = join(tmp('mw-bench-php-'), 'php-server.log');
  const fd = openSync(log, 'w');
  // Its own process group: php -S with workers is killed by group. opcache on, as on a real site.
  const child = spawn('php', ['-d', 'opcache.enable_cli=1', '-S', `127.0.0.1:${port}`, '-t', dir], {
    env: { ...process.env, PHP_CLI_SERVER_WORKERS: '2' },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  started.add(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`php -S exited with ${child.exitCode}; see ${log}`);
    try {
      const r = await fetch(`${url}/?memberwire_bench=keap`);
      await r.arrayBuffer();
      if (r.status === 401) return { child, url, log };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stopChild(child, { group: true });
  throw new Error(`php -S did not answer within 10 s; see ${log}`);
}

function countUsers(dir) {
  const r = spawnSync('php', [WP_COUNT, dir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`count-users.php failed: ${r.stderr.slice(0, 500)}`);
  return JSON.parse(r.stdout.trim());
}

async function wordpressPhase(load) {
  const setup = runSetup();
  const hookKey = readFileSync(join(setup.state, 'hook-key'), 'utf8').trim();
  const out = {};
  const php = await startPhp(setup.dir);
  try {
    const bodies = load.contactOf.map((c) => keapBody(100_000 + c, c));
    process.stdout.write(`wordpress: posting to the plugin hook (php -S, 2 workers; a node:http loop drives it, see driveLoop)\n`);
    const pids = () => [...groupPids(php.child.pid), ...mariadbPids()];
    // The same warm-up as memberwire's: as many posts first, each for a contact of its own.
    let warmup = null;
    if (WARMUP) {
      warmup = await withCpu(pids, () =>
        driveLoop({
          url: php.url,
          path: `/?memberwire_bench=keap&key=${hookKey}`,
          bodies: Array.from({ length: WARMUP }, (_, i) => keapBody(100_000 + load.distinct + i, load.distinct + i)),
          connections: CONNECTIONS,
          amount: WARMUP,
          onAnswer: () => {},
          timeoutS: 120,
        }),
      );
      delete warmup.startedAt;
    }
    const outcomes = outcomeCounter();
    const r = await withCpu(pids, () =>
      driveLoop({
        url: php.url,
        path: `/?memberwire_bench=keap&key=${hookKey}`,
        bodies,
        connections: CONNECTIONS,
        amount: POSTS,
        onAnswer: (s, b) => outcomes.add(s, b),
        timeoutS: 120,
      }),
    );
    delete r.startedAt;
    if (warmup) r.warmup = { posts: WARMUP, postsPerSecond: warmup.postsPerSecond, latencyMs: warmup.latencyMs, errors: warmup.errors, cpu: warmup.cpu };
    r.outcomes = outcomes.counts;
    r.users = countUsers(setup.dir);
    r.stack = setup.versions;
    out.wordpress = r;

    if (args['wordpress-rest']) {
      runSetup(); // back to the administrator alone
      process.stdout.write(`wordpress-rest: search + create through the REST API\n`);
      const rest = await withCpu(pids, () => restPairs(php.url, setup, load));
      rest.users = countUsers(setup.dir);
      rest.stack = setup.versions;
      out['wordpress-rest'] = rest;
    }
  } finally {
    await stopChild(php.child, { group: true });
  }
  return out;
}

/** CONNECTIONS workers, each doing search-then-create per post through /wp/v2/users. */
async function restPairs(url, setup, load) {
  const appPassword = readFileSync(join(setup.state, 'app-password'), 'utf8').trim();
  const auth = `Basic ${Buffer.from(`${setup.adminUser}:${appPassword}`).toString('base64')}`;
  const latencies = [];
  const statusCodes = {};
  const outcomes = {};
  let errors = 0;
  let next = 0;
  const count = (s) => (statusCodes[s] = (statusCodes[s] ?? 0) + 1);
  async function call(path, init = {}) {
    const r = await fetch(`${url}${path}`, { ...init, headers: { authorization: auth, ...init.headers }, signal: AbortSignal.timeout(120_000) });
    const text = await r.text();
    count(r.status);
    return { status: r.status, text };
  }
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= POSTS) return;
      const c = load.contactOf[i];
      const email = `user${c}@example.com`;
      const t = performance.now();
      try {
        const found = await call(`/?rest_route=/wp/v2/users&context=edit&search=${encodeURIComponent(email)}`);
        if (found.status !== 200) throw new Error(`search ${found.status}`);
        // search is a wildcard (user1@ matches user10@): keep the exact email only.
        const hit = JSON.parse(found.text).find((u) => String(u.email).toLowerCase() === email);
        let o = 'existing';
        if (!hit) {
          const made = await call('/?rest_route=/wp/v2/users', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ username: email, email, password: randomBytes(18).toString('base64url'), first_name: 'User', last_name: `N${c}` }).toString(),
          });
          o = made.status === 201 ? 'created' : (() => {
            try {
              return JSON.parse(made.text).code ?? `status-${made.status}`;
            } catch {
              return `status-${made.status}`;
            }
          })();
          if (made.status !== 201) errors++;
        }
        outcomes[o] = (outcomes[o] ?? 0) + 1;
      } catch (err) {
        errors++;
        const o = err.name === 'TimeoutError' ? 'timeout' : 'failed';
        outcomes[o] = (outcomes[o] ?? 0) + 1;
      }
      latencies.push(performance.now() - t);
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return {
    posts: POSTS,
    answered: latencies.length,
    connections: CONNECTIONS,
    seconds: round(seconds, 3),
    postsPerSecond: round(latencies.length / seconds, 1),
    latencyMs: latencySummary(latencies),
    statusCodes,
    errors,
    outcomes,
  };
}

// ---- the run ----------------------------------------------------------------------------------------

async function main() {
  const load = plan(POSTS);
  const results = {};
  const report = {
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    node: process.version,
    command: ['node', 'bench/posts.mjs', ...process.argv.slice(2)].join(' '),
    quick,
    posts: POSTS,
    warmup: WARMUP,
    contacts: load.distinct,
    repeats: load.repeats,
    connections: CONNECTIONS,
    loadAverageAtStart: loadavg().map((x) => round(x)),
    results,
  };
  console.log(`posts: ${POSTS} Keap HTTP posts (${load.distinct} contacts, ${load.repeats} repeats), ${CONNECTIONS} connections, after a warm-up of ${WARMUP} posts to each server, ${report.machine}, load average ${report.loadAverageAtStart.join(' ')}`);

  if (want('accept')) results['memberwire-accept'] = await memberwirePhase('memberwire-accept', { budgetMs: 0, load });
  if (want('complete')) results['memberwire-complete'] = await memberwirePhase('memberwire-complete', { budgetMs: undefined, load });
  if (want('wordpress')) Object.assign(results, await wordpressPhase(load));

  const wp = results.wordpress;
  report.ratios = {};
  for (const name of ['memberwire-accept', 'memberwire-complete']) {
    const mw = results[name];
    if (!mw || !wp) continue;
    report.ratios[`${name}/wordpress`] = {
      postsPerSecond: round(mw.postsPerSecond / wp.postsPerSecond, 1),
      p50: round(mw.latencyMs.p50 / wp.latencyMs.p50, 3),
      p99: round(mw.latencyMs.p99 / wp.latencyMs.p99, 3),
    };
  }
  report.failures = failures;
  report.loadAverageAtEnd = loadavg().map((x) => round(x));

  printTable(report);
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
  return report;
}

function printTable(report) {
  // CPU per post while posting, and until every event is done (what a 202 left running included).
  const rows = [['', 'posts/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU ms/post', 'to completion']];
  for (const [name, r] of Object.entries(report.results)) {
    rows.push([name, String(r.postsPerSecond), String(r.latencyMs.p50), String(r.latencyMs.p99), String(r.errors), String(r.cpu?.serverMsPerPost ?? '-'), String(r.cpu?.serverMsPerPostToCompletion ?? '-')]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log('');
  for (const r of rows) console.log('  ' + r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('   '));
  const a = report.results['memberwire-accept'];
  if (a?.completion) {
    console.log(`\n  memberwire-accept: every event ended ${a.completion.seconds} s after the first post: ${a.completion.eventsPerSecond} events/s completed; pending: ${a.events?.pending}`);
  }
  for (const [name, r] of Object.entries(report.results)) {
    const w = r.warmup;
    if (w) console.log(`  ${name}: the warm-up before it, ${w.posts} posts to the fresh server: ${w.postsPerSecond} posts/s, p50 ${w.latencyMs.p50} ms, p99 ${w.latencyMs.p99} ms, ${w.errors} errors, server CPU ${w.cpu?.serverMsPerPost ?? '-'} ms/post`);
  }
  for (const name of ['memberwire-accept', 'memberwire-complete']) {
    const t = report.results[name]?.cpu?.threadsMsPerPost;
    if (t) console.log(`  ${name}: server CPU per post while posting, by thread: main ${t.main} ms (the posts, and relaying the registration thread's answers and logs), registration ${t.registration} ms, the rest ${t.other} ms (thread pool: the fsyncs; V8's helpers)`);
  }
  for (const name of ['memberwire-accept', 'memberwire-complete']) {
    const r = report.results[name];
    if (r) console.log(`  ${name}: ${r.afterRestart.members} members and ${r.afterRestart.events} events after a restart, ${r.welcomeTagged} contacts with the welcome tag${Object.keys(r.outcomes).length ? `; answers ${JSON.stringify(r.outcomes)}` : ''}`);
  }
  for (const name of ['wordpress', 'wordpress-rest']) {
    const r = report.results[name];
    if (r) console.log(`  ${name}: ${r.users.users} users for ${r.users.distinctEmails} emails: ${r.users.duplicateAccounts} duplicate accounts; answers ${JSON.stringify(r.outcomes)} (${r.stack})`);
  }
  for (const [name, q] of Object.entries(report.ratios)) {
    console.log(`  ${name}: ${q.postsPerSecond}x the posts/s, p50 ${q.p50}x, p99 ${q.p99}x`);
  }
  if (report.failures.length) console.log(`\nposts: FAILED\n  ${report.failures.join('\n  ')}`);
}

async function cleanup() {
  for (const child of [...started]) await stopChild(child, { group: child.spawnargs?.[0] === 'php' });
  if (!args['keep-data']) for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}

let code = 0;
try {
  const report = await main();
  if (report.failures.length) code = 1;
} catch (err) {
  console.error(`posts: ${err.stack ?? err.message}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
