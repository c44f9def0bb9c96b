// The Worker as `wrangler deploy` uploads it (wrangler.toml's [build] runs this): js/hosts/worker.mjs
// bundled by esbuild into dist/worker/, minified, with source maps, and split where the code says
// `import()`: the admin API and the WordPress directory are modules of their own, which workerd
// compiles only when a request first needs them, so an isolate started by a hook post parses only
// what the post needs (most of a cold start's cost is parsing JS: README, "Performance"). The wasm
// and the migrations sit beside the modules, imported by name as wrangler's default rules type them.
//
//   node scripts/build-worker.mjs [OUTDIR]     (default dist/worker)
//
// The tests and the benchmarks run the same build (`buildWorker`, `workerModules`).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the Worker into `out` (emptied first). */
export async function buildWorker(out = join(root, 'dist/worker')) {
  // The directory is emptied first: never one that holds anything but an earlier build.
  if (existsSync(out) && readdirSync(out).length && !existsSync(join(out, 'worker.js'))) {
    throw new Error(`build-worker: ${out} is not empty and holds no earlier build of the Worker: give an empty or new directory`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // `.wasm` and `.sql` imports stay imports, of a copy beside the bundle.
  const besideTheBundle = {
    name: 'beside-the-bundle',
    setup(b) {
      b.onResolve({ filter: /\.(wasm|sql)$/ }, (args) => {
        const file = resolve(args.resolveDir, args.path);
        copyFileSync(file, join(out, basename(file)));
        return { path: `./${basename(file)}`, external: true };
      });
    },
  };
  await build({
    absWorkingDir: root,
    entryPoints: { worker: 'js/hosts/worker.mjs' },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    external: ['node:*', 'cloudflare:*'],
    plugins: [besideTheBundle],
    logLevel: 'warning',
  });
}

/**
 * The built Worker's modules as Miniflare takes them (and as `wrangler deploy` uploads them): the
 * entry first, the other chunks, the wasm compiled, the migrations as text.
 */
export function workerModules(out = join(root, 'dist/worker')) {
  const file = (f) => join(out, f);
  const modules = [{ type: 'ESModule', path: file('worker.js'), contents: readFileSync(file('worker.js'), 'utf8') }];
  for (const f of readdirSync(out).sort()) {
    if (f === 'worker.js') continue;
    if (f.endsWith('.js')) modules.push({ type: 'ESModule', path: file(f), contents: readFileSync(file(f), 'utf8') });
    else if (f.endsWith('.wasm')) modules.push({ type: 'CompiledWasm', path: file(f), contents: readFileSync(file(f)) });
    else if (f.endsWith('.sql')) modules.push({ type: 'Text', path: file(f), contents: readFileSync(file(f), 'utf8') });
  }
  return { modulesRoot: out, modules };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildWorker(process.argv[2] ? resolve(process.argv[2]) : undefined);
}
