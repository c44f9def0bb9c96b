// A real WordPress for the tests: Debian's package with MariaDB and PHP (bench/wordpress/setup.sh
// installs and configures it), the memberwire plugin from wordpress-plugin/ copied in and
// activated, a sync user with an application password, and `php -S` with workers serving it.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { ROOT } from './registration.mjs';

const BASE = process.env.MW_TEST_WP_BASE ?? '/tmp/memberwire-test-wordpress';

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  return r.stdout;
}

/**
 * Starts WordPress with the plugin. Resolves to { url, dir, user, appPassword, wpUser(login,
 * email), stop() }. Takes a minute the first time on a machine (packages), seconds after.
 */
export async function startWordPress({ workers = 8 } = {}) {
  const out = run('bash', [join(ROOT, 'bench/wordpress/setup.sh')], { MW_WP_BASE: BASE });
  const site = JSON.parse(out.trim().split('\n').at(-1));
  // Installed from the zip `npm run plugin-zip` builds, as a site owner uploads it.
  const plugins = join(site.dir, 'wp-content', 'plugins');
  rmSync(join(plugins, 'memberwire'), { recursive: true, force: true });
  run('bash', [join(ROOT, 'scripts/plugin-zip.sh')]);
  run('python3', ['-m', 'zipfile', '-e', join(ROOT, 'dist/memberwire-wordpress.zip'), plugins]);
  const passwordFile = join(site.state, 'sync-app-password');
  const { user } = JSON.parse(run('php', [join(ROOT, 'tests/wordpress/plugin-setup.php'), site.dir, passwordFile]).trim());
  const appPassword = readFileSync(passwordFile, 'utf8').trim();

  const port = await freePort();
  // Its own process group: php -S with workers is stopped by group.
  const php = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', site.dir], {
    detached: true,
    env: { ...process.env, PHP_CLI_SERVER_WORKERS: String(workers) },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/?rest_route=/`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dir: site.dir,
    /** The administrator's application password (bench/wordpress/setup.sh made it). */
    adminAuth: `Basic ${btoa(`${site.adminUser}:${readFileSync(join(site.state, 'app-password'), 'utf8').trim()}`)}`,
    adminUser: site.adminUser,
    /** The administrator's password (for wp-login.php in a browser); never printed. */
    adminPassword: readFileSync(join(site.state, 'admin-password'), 'utf8').trim(),
    user,
    appPassword,
    /** A plain WordPress user, added as a site owner would by hand (with usermeta, as another plugin left it). */
    wpUser: (login, email, meta = {}) => JSON.parse(run('php', [join(ROOT, 'tests/wordpress/add-user.php'), site.dir, login, email, JSON.stringify(meta)]).trim()).id,
    /** A published page with this content (and post meta); its id. */
    page: (title, content, meta = {}) => JSON.parse(run('php', [join(ROOT, 'tests/wordpress/add-page.php'), site.dir, title, content, JSON.stringify(meta)]).trim()).id,
    /** Sets a WordPress option (JSON value), as a settings screen would. */
    option: (name, value) => run('php', ['-r', 'require $argv[1] . "/wp-load.php"; update_option($argv[2], json_decode($argv[3], true), false);', site.dir, name, JSON.stringify(value)]),
    /** The roles a level may grant (memberwire_grantable_roles). */
    grantableRoles: () => JSON.parse(run('php', ['-r', 'require $argv[1] . "/wp-load.php"; echo json_encode(array_keys(memberwire_grantable_roles()));', site.dir]).trim()),
    /** The user's roles. */
    roles: (userId) => JSON.parse(run('php', ['-r', 'require $argv[1] . "/wp-load.php"; echo json_encode(array_values(get_userdata((int) $argv[2])->roles));', site.dir, String(userId)]).trim()),
    /** Whether WordPress's user_can grants the user `cap`. */
    can: (userId, cap) => run('php', ['-r', 'require $argv[1] . "/wp-load.php"; echo user_can((int) $argv[2], $argv[3]) ? "yes" : "no";', site.dir, String(userId), cap]).trim() === 'yes',
    /** Whether WordPress's own wp_check_password accepts `password` for the user. */
    checkPassword: (userId, password) =>
      run('php', ['-r', 'require $argv[1] . "/wp-load.php"; $u = get_userdata((int) $argv[2]); echo wp_check_password($argv[3], $u->user_pass, $u->ID) ? "yes" : "no";', site.dir, String(userId), password]).trim() === 'yes',
    /** A SQL query against the site's database: mysql's tab-separated output. */
    query: (sql) => run('mysql', ['-u', 'root', '--batch', '--raw', 'memberwire_bench', '-e', sql]),
    stop() {
      try {
        process.kill(-php.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}
