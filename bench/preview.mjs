// Preview: how long recomputing an access rule's impact over 100,000 members takes in Chromium,
// per keystroke. The page loads the wasm exactly as the admin page does (js/hosts/browser.mjs),
// indexes the members once, then recomputes the impact of a rule being typed, one call per
// keystroke. A plain-JS implementation runs on the same members in the same page as baseline.
//
//   node bench/preview.mjs [--members 100000]
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../', import.meta.url));
const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const PAGE = `<!doctype html><meta charset="utf-8"><title>preview bench</title><script type="module">
import { loadWasm } from '/js/hosts/browser.mjs';
window.bench = async (n) => {
  const wasm = await loadWasm();
  const tags = Array.from({ length: 40 }, (_, i) => i % 2 ? { id: String(90 + i) } : { name: 'Tag ' + i });
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const members = Array.from({ length: n }, (_, i) => ({ id: 'm' + i, tags: tags.filter(() => rnd() < 0.12) }));
  let t = performance.now();
  const index = new wasm.AccessIndex(members);
  const indexMs = performance.now() - t;
  const base = [{ id: 'r1', level: 'Gold', anyOf: ['91'], allOf: [], noneOf: [] }, { id: 'r2', level: 'Silver', anyOf: ['Tag 2'], allOf: [], noneOf: ['93'] }];
  // Typing "Tag 1" then "Tag 12" into the Gold rule's none-of list, keystroke by keystroke.
  const typed = 'Tag 12';
  const wasmTimes = [], jsTimes = [];
  const keyOf = (t) => t.id !== undefined ? 'i:' + t.id : 'n:' + t.name.toLowerCase();
  const sets = members.map((m) => new Set(m.tags.map(keyOf)));
  const refs = (r) => ['i:' + r.trim(), 'n:' + r.trim().toLowerCase()];
  const has = (s, r) => refs(r).some((k) => s.has(k));
  const grants = (rule, s) => (rule.anyOf.length || rule.allOf.length) && (!rule.anyOf.length || rule.anyOf.some((r) => has(s, r))) && rule.allOf.every((r) => has(s, r)) && !rule.noneOf.some((r) => has(s, r));
  const jsImpact = (before, after) => {
    const out = {};
    for (const s of sets) {
      const a = new Set(before.filter((r) => grants(r, s)).map((r) => r.level));
      const b = new Set(after.filter((r) => grants(r, s)).map((r) => r.level));
      for (const l of new Set([...a, ...b])) {
        const o = (out[l] ??= { gain: 0, lose: 0 });
        if (!a.has(l) && b.has(l)) o.gain++;
        if (a.has(l) && !b.has(l)) o.lose++;
      }
    }
    return out;
  };
  let agree = true;
  for (let k = 1; k <= typed.length; k++) {
    const after = [{ ...base[0], noneOf: [typed.slice(0, k)] }, base[1]];
    t = performance.now();
    const w = index.impact(base, after);
    wasmTimes.push(performance.now() - t);
    t = performance.now();
    const j = jsImpact(base, after);
    jsTimes.push(performance.now() - t);
    for (const l of w.levels) if ((j[l.level]?.gain ?? 0) !== l.gain || (j[l.level]?.lose ?? 0) !== l.lose) agree = false;
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { members: n, indexMs, wasmMs: median(wasmTimes), wasmMaxMs: Math.max(...wasmTimes), jsMs: median(jsTimes), agree };
};
</script>`;

export async function runPreview({ members = 100_000, log = console.log } = {}) {
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    const file = normalize(join(root, path));
    if (!file.startsWith(join(root, 'pkg')) && !file.startsWith(join(root, 'js', 'hosts'))) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const profile = await mkdtemp(join(tmpdir(), 'mw-preview-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.bench === 'function');
    const r = await page.evaluate((n) => window.bench(n), members);
    r.jsOverWasm = r.jsMs / r.wasmMs;
    log(`preview in Chromium: ${members.toLocaleString('en')} members indexed in ${r.indexMs.toFixed(0)} ms; impact per keystroke ${r.wasmMs.toFixed(1)} ms (max ${r.wasmMaxMs.toFixed(1)}), plain JS ${r.jsMs.toFixed(1)} ms (${r.jsOverWasm.toFixed(1)}x); ${r.agree ? 'results agree' : 'RESULTS DIFFER'}`);
    if (!r.agree) throw new Error('wasm and JS impacts differ');
    return r;
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
    server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { members: { type: 'string', default: '100000' } } });
  await runPreview({ members: Number(values.members) });
}
