// Calls between JS and wasm for one registration, as the Node server makes them: the main
// thread's engine records the post and its registration thread's engine runs it (both here, in
// one thread), with the SQLite store (directory and events), a Keap post carrying the whole
// contact, the Keap sandbox answering in this process (its `fetch`, no sockets: the sandbox
// does not use the wasm). Also a new member with one engine doing both (Deno; a WordPress
// directory).
//
//   node bench/crossings.mjs
//
// Counted on a fresh instance of the package whose exports and imports are wrapped:
//   into wasm   calls of exported functions made by the glue for memberwire's API (the glue's
//               own helpers for passing strings and bytes, __wbindgen_*, are part of those calls)
//   out of wasm calls of imported functions (JSON.parse and the like, the host's normalize,
//               getRandomValues): each is a crossing too
// For a new member (created, set-password link written, welcome tag applied) and for a repeat
// post of the same contact (existing); the baseline is a second new member driven through the
// per-effect protocol (poll, handle, save per effect) in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freshWasm } from '../js/hosts/node.mjs';
import { createEngine } from '../js/engine/engine.mjs';
import { tokenBucket } from '../js/engine/crm-queue.mjs';
import { openSqlite } from '../js/store/sqlite.mjs';
import { sqlStore } from '../js/adapters/sql-store.mjs';
import { createKeapSandbox, KEAP_DEFAULT_API_KEY } from '../js/sandbox/keap.mjs';

/** Loads a fresh wasm instance whose exports and imports count their calls. */
async function countedWasm() {
  const counts = { into: 0, out: 0, intoByName: new Map(), outByName: new Map() };
  let on = false;
  const bump = (map, name) => map.set(name, (map.get(name) ?? 0) + 1);
  const Real = WebAssembly.Instance;
  function Counted(module, imports) {
    const wrappedImports = {};
    for (const [ns, fns] of Object.entries(imports)) {
      wrappedImports[ns] = {};
      for (const [name, f] of Object.entries(fns)) {
        wrappedImports[ns][name] =
          typeof f === 'function'
            ? function (...a) {
                if (on && !name.startsWith('__wbindgen_init')) {
                  counts.out++;
                  bump(counts.outByName, name.replace(/^__wbg_/, '').replace(/_[0-9a-f]{16}$/, ''));
                }
                return f.apply(this, a);
              }
            : f;
      }
    }
    const instance = new Real(module, wrappedImports);
    const exports = {};
    for (const [name, v] of Object.entries(instance.exports)) {
      exports[name] =
        typeof v === 'function'
          ? (...a) => {
              if (on && !name.startsWith('__wbindgen_') && !name.startsWith('__externref')) {
                counts.into++;
                bump(counts.intoByName, name);
              }
              return v(...a);
            }
          : v;
    }
    return { exports };
  }
  WebAssembly.Instance = Counted;
  try {
    const wasm = await freshWasm();
    return { wasm, counts, start: () => (on = true), stop: () => (on = false) };
  } finally {
    WebAssembly.Instance = Real;
  }
}

export async function runCrossings() {
  const { wasm, counts, start, stop } = await countedWasm();
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-crossings-'));
  const db = await openSqlite(dir);
  // The store's work per registration: write batches (each its own commit, unless the group
  // commit joins it to others), the statements in them, and reads.
  const sql = { batches: 0, statements: 0, reads: 0 };
  const { batch, all, first } = db;
  db.batch = (stmts, opts) => {
    sql.batches += 1;
    sql.statements += stmts.length;
    return batch(stmts, opts);
  };
  db.all = (...a) => ((sql.reads += 1), all(...a));
  db.first = (...a) => ((sql.reads += 1), first(...a));
  const reset = () => {
    counts.into = counts.out = 0;
    counts.intoByName.clear();
    counts.outByName.clear();
    sql.batches = sql.statements = sql.reads = 0;
  };
  const tally = (outcome) => ({ outcome, into: counts.into, out: counts.out, intoByName: Object.fromEntries(counts.intoByName), outByName: Object.fromEntries(counts.outByName), sql: { ...sql } });
  try {
    const store = sqlStore(wasm, db);
    const sandbox = createKeapSandbox({ rateLimit: false });
    const baseUrl = 'http://sandbox.test/crm/rest';
    const config = {
      crm: { kind: 'keap', baseUrl, token: KEAP_DEFAULT_API_KEY, passwordField: '11', passwordFieldMax: 20, linkField: '13', welcomeTag: '95' },
      passwordMode: 'link',
      linkUrl: 'https://members.example.com/set-password',
    };
    const ports = {
      events: store.events,
      directory: store.directory,
      fetch: sandbox.fetch,
      // Keap's limit, as in production: each CRM request waits for its turn in the token bucket.
      rateLimit: 10,
    };
    // As the Node server runs: the main thread's engine records the post and hands the event
    // to the registration thread's engine (js/server/runner.mjs), which restores it from the
    // recorded state and runs it. Here both are in this thread, on one counted instance: the
    // counts are the calls into both instances the server has.
    const { claim, ...unleased } = store.events;
    const runnerEngine = createEngine({ wasm, config, ...ports, events: unleased });
    const engine = createEngine({
      wasm,
      config,
      ...ports,
      runner: {
        run: async (id, priority, state) => {
          const { save, ...final } = await runnerEngine.runEvent(id, priority, state);
          return final;
        },
      },
    });
    // As Deno runs, and the Node server with a WordPress directory: one engine does both.
    const oneEngine = createEngine({ wasm, config, ...ports });
    // A contact made in the sandbox, as the CRM would hold it before its post.
    const newContact = (given, family, email) =>
      sandbox
        .fetch(`${baseUrl}/v2/contacts`, {
          method: 'POST',
          headers: { 'x-keap-api-key': KEAP_DEFAULT_API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ given_name: given, family_name: family, email_addresses: [{ email, field: 'EMAIL1' }] }),
        })
        .then((r) => r.json());
    const contact = await newContact('Ada', 'Lovelace', 'ada@example.com');
    const post = new TextEncoder().encode(`Id=${contact.id}&Email=ada%40example.com&FirstName=Ada&LastName=Lovelace&Groups=91`);
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' });

    const one = async (e = engine, body = post) => {
      reset();
      start();
      const accepted = await e.accept('keap_post', headers, body);
      const final = await accepted.runs[0].done;
      stop();
      return tally(final.outcome?.outcome ?? final.state);
    };
    // Counts do not depend on warmth: the first post of the contact (created), then its repeat.
    const created = await one();
    const existing = await one();
    // A new member again, with one engine for both sides (a third contact).
    const third = await newContact('Mary', 'Somerville', 'mary@example.com');
    const createdInOneEngine = await one(oneEngine, new TextEncoder().encode(`Id=${third.id}&Email=mary%40example.com&FirstName=Mary&LastName=Somerville&Groups=91`));

    // The baseline, in the same run: the same registration for a second contact, driven through
    // the per-effect protocol the bindings also offer (poll, handle, provideRandom, save: one call
    // each, a log record per effect, the state saved after every step, the directory computing
    // each member's stored form with memberRow), as the driver worked before `step`.
    const second = await newContact('Grace', 'Hopper', 'grace@example.com');
    const limiter = tokenBucket(9, 1);
    reset();
    start();
    const t = Date.now();
    const accepted = engine.registrar.accept('keap_post', headers, new TextEncoder().encode(`Id=${second.id}&Email=grace%40example.com&FirstName=Grace&LastName=Hopper&Groups=91`), t);
    const wf = accepted.workflows[0];
    const id = wf.eventId;
    await store.events.accept([{ id, source: 'keap_post', receivedAt: t, contactKey: wf.contactKey, contact: wf.contact, state: wf.save() }]);
    let p;
    for (;;) {
      p = wf.poll();
      if (p.state !== 'effect') break;
      const e = p.effect;
      if (e.type === 'random') wf.provideRandom(e.bytes, Date.now());
      else if (e.type === 'log') wf.handle({ type: 'logged' }, Date.now());
      else if (e.type === 'directory') wf.handle({ type: 'directory', result: await store.directory.apply(e.op) }, Date.now());
      else if (e.type === 'http') {
        limiter.reserve(Date.now());
        const r = await sandbox.fetch(e.request.url, { method: e.request.method, headers: e.request.headers, body: e.request.body });
        wf.handle({ type: 'http', response: { status: r.status, body: await r.text(), retryAfter: null } }, Date.now());
      } else throw new Error(`unexpected effect ${e.type}`);
      if (e.type !== 'log' && e.type !== 'sleep') await store.events.progress(id, wf.save());
    }
    await store.events.finish(id, p.outcome, wf.save());
    wf.free();
    stop();
    const perEffect = tally(p.outcome?.outcome ?? p.state);
    // Counts of a registration that went wrong would mean nothing.
    for (const [what, r, want] of [['the first post', created, 'created'], ['the repeat', existing, 'existing'], ['one engine', createdInOneEngine, 'created'], ['the baseline', perEffect, 'created']]) {
      if (r.outcome !== want) throw new Error(`crossings: ${what} ended ${r.outcome}, not ${want}`);
    }
    return { created, existing, createdInOneEngine, perEffect };
  } finally {
    await db.close?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await runCrossings();
  for (const [name, x] of Object.entries(r)) {
    console.log(`${name} (${x.outcome}): ${x.into} calls into wasm, ${x.out} out of it; the store: ${x.sql.batches} write batches (${x.sql.statements} statements), ${x.sql.reads} reads`);
    console.log(`  into: ${Object.entries(x.intoByName).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  out:  ${Object.entries(x.outByName).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
}
