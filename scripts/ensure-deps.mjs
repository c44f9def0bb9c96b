// `npm start` runs this first: the server needs one npm package, better-sqlite3 (SQLite for the
// embedded store). A fresh clone has no node_modules, so install the runtime dependencies from
// package-lock.json (devDependencies and optional ones are left for `npm test`). better-sqlite3
// has no prebuilt binary here, so npm builds it from source: about a minute, once.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

function loads() {
  try {
    const Database = require('better-sqlite3');
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}

if (!loads()) {
  console.log('memberwire: installing its runtime dependency (better-sqlite3, built from source: about a minute, once)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--omit=dev', '--omit=optional', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 || !loads()) {
    console.error('memberwire: could not install better-sqlite3; run `npm ci` and read its output');
    process.exit(1);
  }
}
