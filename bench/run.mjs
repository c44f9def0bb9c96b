// memberwire's benchmarks, in one run, with a results table for the README.
//
//   npm run bench                 # everything (installs WordPress + MariaDB for the baseline)
//   npm run bench -- --quick      # small sizes, no WordPress; CI's smoke check (times not asserted)
//
// Each part measures against a baseline in the same run where one exists: native Rust and plain
// JS for matching, plain JS in the same page for previews, WordPress for posts per second, the
// in-memory directory for the SQL store, a minimal D1-and-queue Worker for CPU in workerd.
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runStartup } from './startup.mjs';
import { runMatching } from './matching.mjs';
import { runPreview } from './preview.mjs';
import { runStore } from './store.mjs';
import { runWorkerd } from './workerd.mjs';
import { runCrossings } from './crossings.mjs';
import { runSize } from './size.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' }, 'skip-posts': { type: 'boolean', default: false } } });
const quick = args.quick;
const results = { machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`, node: process.version, quick };

results.size = runSize();

results.startup = await runStartup({ runs: quick ? 3 : 31 });
results.crossings = await runCrossings();
{
  const c = results.crossings;
  console.log(
    `crossings: one new member ${c.created.into} calls into wasm (${c.created.out} out of it), main thread and registration thread together (one engine for both: ${c.createdInOneEngine.into}); a repeat post ${c.existing.into} (${c.existing.out}); the store per new member: ${c.created.sql.batches} write batches, ${c.created.sql.statements} statements, ${c.created.sql.reads} reads; baseline, the per-effect protocol: ${c.perEffect.into} (${c.perEffect.out}), ${c.perEffect.sql.batches} batches`,
  );
}
results.matching = await runMatching({ sizes: quick ? [10_000] : [100_000, 1_000_000], runs: quick ? 1 : 3 });
results.preview = await runPreview({ members: quick ? 10_000 : 100_000 });
results.store = await runStore({ members: quick ? 10_000 : 100_000, runs: quick ? 1 : 3 });
results.workerd = await runWorkerd({ posts: quick ? 30 : 300 });

if (!args['skip-posts'] && existsSync(join(root, 'bench/posts.mjs'))) {
  const dir = mkdtempSync(join(tmpdir(), 'mw-bench-'));
  try {
    const out = join(dir, 'posts.json');
    execFileSync(process.execPath, [join(root, 'bench/posts.mjs'), ...(quick ? ['--quick'] : []), '--json', out], { stdio: 'inherit' });
    results.posts = JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2) + '\n');
console.log('\nbench: done' + (quick ? ' (quick mode: sizes reduced, times not asserted)' : ''));
