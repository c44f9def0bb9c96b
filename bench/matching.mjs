// Bulk matching: plan N contacts against a directory of N members, three ways in one run:
// the Rust core natively (cargo bench --bench matching), the same core as wasm in Node, and a
// plain JS implementation (Maps keyed by contact id and lower-cased email). All three must agree
// on the counts. Times are medians of `runs` plans (CSV parsing included, directory building
// excluded and reported apart).
//
//   node bench/matching.mjs [--sizes 100000,1000000] [--runs 3] [--json out.json]

import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadWasm } from '../js/hosts/node.mjs';
import { membersCsv, contactsCsv } from './matching-data.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The plain-JS baseline's directory: Maps by contact id and by lower-cased email. */
export function indexJs(members) {
  const byContact = new Map();
  const byEmail = new Map();
  let n = 0;
  for (const line of members.split('\n').slice(1)) {
    const [id, email] = line.split(',');
    const m = { id: `m${++n}`, email: email.trim().toLowerCase(), contact: id || null };
    if (m.contact) byContact.set(m.contact, m);
    byEmail.set(m.email, m);
  }
  return { byContact, byEmail };
}

/** The plain-JS plan: what a careful plugin author would write without memberwire. The
 * directory is left as it is; what the plan would change goes into overlay Maps. */
export function planJs({ byContact, byEmail }, contacts) {
  const plannedContact = new Map();
  const plannedEmail = new Map();
  const counts = { created: 0, linked: 0, existing: 0, updated: 0, conflict: 0, invalid: 0 };
  for (const line of contacts.split('\n').slice(1)) {
    const [id, raw] = line.split(',');
    const email = raw.trim().toLowerCase();
    const mc = plannedContact.get(id) ?? byContact.get(id);
    const me = plannedEmail.has(email) ? plannedEmail.get(email) : byEmail.get(email);
    if (mc) {
      if (email !== mc.email) {
        if (me && me.id !== mc.id) counts.conflict++;
        else {
          counts.updated++;
          const moved = { id: mc.id, email, contact: id };
          plannedEmail.set(mc.email, null);
          plannedEmail.set(email, moved);
          plannedContact.set(id, moved);
        }
      } else counts.existing++;
    } else if (!me) {
      counts.created++;
      const m = { id: `planned-${id}`, email, contact: id };
      plannedContact.set(id, m);
      plannedEmail.set(email, m);
    } else if (!me.contact) {
      counts.linked++;
      const m = { id: me.id, email, contact: id };
      plannedContact.set(id, m);
      plannedEmail.set(email, m);
    } else counts.conflict++;
  }
  return counts;
}

const KINDS = ['created', 'linked', 'existing', 'updated', 'conflict', 'invalid'];
const sameCounts = (a, b) => KINDS.every((k) => a[k] === b[k]);

export async function runMatching({ sizes = [100_000, 1_000_000], runs = 3, log = console.log } = {}) {
  const wasm = loadWasm();
  const dir = mkdtempSync(join(tmpdir(), 'mw-match-'));
  const results = [];
  try {
    execFileSync('cargo', ['build', '--release', '--bench', 'matching', '--quiet'], { stdio: 'inherit' });
    for (const n of sizes) {
      const members = membersCsv(n);
      const contacts = contactsCsv(n);
      const mPath = join(dir, 'members.csv');
      const cPath = join(dir, 'contacts.csv');
      writeFileSync(mPath, members);
      writeFileSync(cPath, contacts);

      const nativeOut = execFileSync('cargo', ['bench', '--quiet', '--bench', 'matching', '--', mPath, cPath, String(runs)], { encoding: 'utf8' });
      const native = JSON.parse(nativeOut.trim().split('\n').pop());

      let t = performance.now();
      const d = new wasm.Directory();
      const loaded = d.bulkLoadUnjournaled(members, 'generic', 'default');
      const wasmLoadMs = performance.now() - t;
      const wasmTimes = [];
      let wasmCounts;
      for (let i = 0; i < runs; i++) {
        t = performance.now();
        wasmCounts = d.planImportCounts(contacts, 'generic', 'default').counts;
        wasmTimes.push(performance.now() - t);
      }
      d.free();

      t = performance.now();
      const jsIndex = indexJs(members);
      const jsLoadMs = performance.now() - t;
      const jsTimes = [];
      let jsCounts;
      for (let i = 0; i < runs; i++) {
        t = performance.now();
        jsCounts = planJs(jsIndex, contacts);
        jsTimes.push(performance.now() - t);
      }

      const same = sameCounts(native.counts, wasmCounts) && sameCounts(wasmCounts, jsCounts);
      const r = {
        size: n,
        members: loaded,
        nativeMs: native.planMs,
        wasmMs: median(wasmTimes),
        jsMs: median(jsTimes),
        nativeLoadMs: native.loadMs,
        wasmLoadMs,
        jsLoadMs,
        wasmOverNative: median(wasmTimes) / native.planMs,
        jsOverWasm: median(jsTimes) / median(wasmTimes),
        counts: wasmCounts,
        countsAgree: same,
      };
      results.push(r);
      log(`matching ${n.toLocaleString('en')} x ${n.toLocaleString('en')}: native ${r.nativeMs.toFixed(0)} ms, wasm ${r.wasmMs.toFixed(0)} ms (${r.wasmOverNative.toFixed(2)}x native), plain JS ${r.jsMs.toFixed(0)} ms; counts ${same ? 'agree' : 'DIFFER'} ${JSON.stringify(wasmCounts)}`);
      if (!same) throw new Error(`counts differ: native ${JSON.stringify(native.counts)} wasm ${JSON.stringify(wasmCounts)} js ${JSON.stringify(jsCounts)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100000,1000000' }, runs: { type: 'string', default: '3' }, json: { type: 'string' } } });
  const results = await runMatching({ sizes: values.sizes.split(',').map(Number), runs: Number(values.runs) });
  if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
}
