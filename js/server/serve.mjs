// `memberwire serve`: the edge function on Node, with SQLite in DIR/memberwire.db (the one SQL
// schema of migrations/) and, by default, a built-in sandbox CRM (Keap's REST shapes on
// loopback, seeded with demo contacts) so the whole flow runs with no account anywhere.

import { loadWasm, freshWasm } from '../hosts/node.mjs';
import { openSqlite } from '../store/sqlite.mjs';
import { importFileStore } from '../store/import-file-store.mjs';
import { sqlStore } from '../adapters/sql-store.mjs';
import { wordpressDirectory } from '../adapters/wordpress-directory.mjs';
import { ACCESS_KEY, openRules, openSources } from './settings.mjs';
import { openCatalog } from './catalog.mjs';
import { openConnection } from './connection.mjs';
import { openSourceKeys } from './source-keys.mjs';
import { createStatic } from './static.mjs';
import { workerHasher } from './hasher.mjs';
import { createHttpClient } from './http-client.mjs';
import { registrationThread } from './runner.mjs';
import { createEngine } from '../engine/engine.mjs';
import { createHandler } from '../engine/handler.mjs';
import { listen } from './http-bridge.mjs';
import { createKeapSandbox, KEAP_DEFAULT_API_KEY } from '../sandbox/keap.mjs';
import { createAdminApi } from './admin-api.mjs';

const consoleLine = (line) => console.log(line);

/**
 * Starts the server. Resolves to { url, sandboxUrl, accessKey (only when generated now),
 * engine, close() }.
 *
 * @param {object} o
 * @param {number} [o.port]  0 picks a free port
 * @param {string} [o.host]
 * @param {string} [o.dataDir]
 * @param {'sqlite'|'wordpress'} [o.directory]  where members live (wordpress: the users of the
 *   site in MEMBERWIRE_WP_URL, through the plugin, with MEMBERWIRE_WP_USER's application password
 *   MEMBERWIRE_WP_APP_PASSWORD); events, settings and sessions stay in SQLite
 * @param {'sandbox'|'keap'|'activecampaign'|'kit'|'drip'|'mailerlite'|'highlevel'|'hubspot'|'mailchimp'} [o.crm]
 * @param {string} [o.crmUrl]  base URL of the CRM's API (overrides the default)
 * @param {'link'|'crm'} [o.passwordMode]
 * @param {number} [o.crmRate]  requests per second to the CRM (default: its documented limit;
 *   the sandbox's own limit with the sandbox; 0: none, for a sandbox in another process)
 * @param {object} [o.env]  MEMBERWIRE_KEY, MEMBERWIRE_KEAP_TOKEN, MEMBERWIRE_AC_TOKEN,
 *   MEMBERWIRE_PASSWORD_FIELD, MEMBERWIRE_LINK_FIELD, MEMBERWIRE_WELCOME_TAG,
 *   MEMBERWIRE_PUBLIC_URL (where members reach the set-password page)
 * @param {(line: string) => void} [o.log]
 * @param {boolean} [o.registrationThread]  run registrations in a worker thread of their own
 *   (default, with the SQLite directory: js/server/runner.mjs); false: on the main thread
 * @param {object} [o.registrationFaults]  tests only (js/server/runner.mjs)
 */
export async function serve({
  port = 8787,
  host = '127.0.0.1',
  dataDir = './data',
  directory: directoryKind = 'sqlite',
  crm,
  crmUrl,
  passwordMode,
  sandboxRateLimit = 10,
  crmRate,
  budgetMs,
  retryEveryMs = 60_000,
  bcryptCost,
  env = process.env,
  log = consoleLine,
  wasm = loadWasm(),
  onFatal = () => {},
  registrationThread: threaded = true,
  registrationFaults = null,
} = {}) {
  // A write this connection could not make durable stops the registration thread's writes too.
  let thread = null;
  const db = await openSqlite(dataDir, { onLost: (err) => thread?.storeLost(err.message) });
  const store = sqlStore(wasm, db);
  const cleanup = [];
  try {
    // A ./data the earlier file store wrote is imported once, whole, before anything else.
    const imported = await importFileStore(dataDir, db, wasm);
    if (imported) {
      const torn = imported.tornLines ? `; ${imported.tornLines} torn line(s) at the end of a journal were not whole and were left out` : '';
      log(`imported the earlier file store: ${imported.members} members, ${imported.events} events, ${imported.runs} bulk runs${torn} (old files kept in ${imported.keptIn})`);
    }
    const upgraded = await store.upgrade();
    if (upgraded?.changed) log(`brought ${upgraded.changed} stored international email address(es) to the normalized form (NFC, A-label domains)`);
    for (const c of upgraded?.clashes ?? []) log(`warning: members ${c.member} and ${c.with} have one email address, typed in two Unicode forms; ${c.member} keeps its old form until one of them changes its email`);
    // `let`: POST /api/settings/rotate-key replaces it, and the handler reads it per request.
    let { digest, generated } = await accessKey(store.settings, wasm, env);

    let sandbox = null;
    let crmConfig;
    // What the command line and the environment fix (the Settings screen shows why it cannot
    // change them); without --crm, the sandbox is only the starting point.
    const locked = lockedSettings({ crm, crmUrl, passwordMode, env });
    crm ??= 'sandbox';
    if (crm === 'sandbox') {
      const sb = createKeapSandbox({ rateLimit: sandboxRateLimit ? { perSecond: sandboxRateLimit } : false });
      const served = await listen(sb.handle, { port: 0, host: '127.0.0.1' });
      cleanup.push(() => served.close());
      sandbox = { ...served, api: sb, crmBase: `${served.url}/crm/rest` };
      crmConfig = {
        kind: 'keap',
        baseUrl: `${served.url}/crm/rest`,
        token: KEAP_DEFAULT_API_KEY,
        // The sandbox's seeded custom fields and tags (js/sandbox/keap.mjs), unless the
        // environment names others (it wins, as for a real CRM).
        passwordField: env.MEMBERWIRE_PASSWORD_FIELD || '11',
        passwordFieldMax: env.MEMBERWIRE_PASSWORD_FIELD_MAX ? Number(env.MEMBERWIRE_PASSWORD_FIELD_MAX) : 20,
        linkField: env.MEMBERWIRE_LINK_FIELD || '13',
        welcomeTag: env.MEMBERWIRE_WELCOME_TAG || '95',
      };
    } else if (Object.hasOwn(CRM_ENV, crm)) {
      crmConfig = realCrm(crm, crmUrl, env);
    } else {
      throw usage(`--crm must be sandbox or one of ${Object.keys(CRM_ENV).join(', ')}, not ${crm}`);
    }

    // The settings the owner saved on the Settings screen, over what the command line gives.
    const engineConfig = (c) => ({
      crm: c.crm,
      passwordMode: c.passwordMode,
      ...(c.linkTtlMs ? { linkTtlMs: c.linkTtlMs } : {}),
      linkUrl: `${publicUrlOf()}/set-password`,
      ...(bcryptCost ? { bcryptCost } : {}),
      // The other fields of a post kept with its event: only those named (an allow-list).
      ...(env.MEMBERWIRE_KEEP_FIELDS ? { parse: { keepFields: env.MEMBERWIRE_KEEP_FIELDS.split(',').map((f) => f.trim()).filter(Boolean) } } : {}),
    });
    let publicUrlOf = () => '';
    let onSettings = () => {};
    const connection = await openConnection(store.settings, wasm, {
      base: { crm: crmConfig, passwordMode: passwordMode ?? 'link' },
      locked,
      registrarConfig: engineConfig,
      apply: (c) => onSettings(c),
    });
    // One object for the whole process: the admin API and the catalog read it, and a saved
    // change updates it in place.
    let settingsNow = connection.effective();
    crmConfig = { ...settingsNow.crm };

    const { events } = store;
    // The access rules: the admin API edits them; a WordPress directory stores each member's
    // levels from them, for the site's content gating.
    const rules = await openRules(store.settings, wasm);
    // The CRM's tag and field names, as last listed (the admin page lists them again).
    const catalog = await openCatalog(store.settings, crmConfig);
    rules.setNamer(catalog.named);
    const directory = directoryFor(directoryKind, wasm, store, env, rules);
    // Listen first: with --port 0 the set-password links can only name the port once it is known.
    let handler = null;
    const unavailable = () => new Response('{"error":{"code":"starting","message":"memberwire is starting"}}', { status: 503 });
    // The context carries the client's address (failed logins and set-password attempts are
    // limited per client): the socket's peer, or behind a trusted reverse proxy the address it
    // forwarded (MEMBERWIRE_TRUSTED_PROXIES: the proxies' addresses, comma-separated).
    const trusted = new Set((env.MEMBERWIRE_TRUSTED_PROXIES ?? '').split(',').map((a) => a.trim()).filter(Boolean));
    const served = await listen(
      (request, info) => (handler ? handler.fetch(request, env, { remoteAddress: clientAddress(info?.remoteAddress ?? null, request, trusted) }) : unavailable()),
      { port, host },
    );
    let closeOptions = {};
    const closeServer = () => served.close(closeOptions);
    cleanup.unshift(closeServer);
    const publicUrl = (env.MEMBERWIRE_PUBLIC_URL ?? '').replace(/\/$/, '') || served.url;
    // The set-password form's bcrypt runs in a worker thread, not on this event loop.
    const hasher = workerHasher({ bcryptCost });
    cleanup.push(() => hasher.close());
    publicUrlOf = () => publicUrl;
    // Registrations reach the CRM through node:http rather than Node's fetch (http-client.mjs).
    const crmFetch = createHttpClient();
    cleanup.push(() => crmFetch.close());
    const lineOf = (r) => `${r.level === 'info' ? '' : `${r.level}: `}${r.event}: ${r.message}`;
    const logRecord = (r) => log(lineOf(r));
    // The registration thread's records come a batch per message: on the console, one write for
    // the batch (a write to a pipe is a system call, and a busy server logs a line per event).
    const logRecords = log === consoleLine ? (list) => list.length && console.log(list.map(lineOf).join('\n')) : (list) => list.forEach(logRecord);
    // Registrations run in a thread of their own, beside the posts (the SQLite directory; a
    // WordPress directory's calls are HTTP, and stay here).
    const engine = createEngine({
      ...(threaded && directoryKind === 'sqlite' ? { runner: { run: (id, priority, state) => thread.run(id, priority, state) } } : {}),
      wasm,
      fetch: crmFetch,
      config: engineConfig({ ...settingsNow, crm: crmConfig }),
      events,
      directory,
      hashPassword: (password) => hasher.hash(password),
      onFatal,
      // One line to the CRM for the whole process (the engine's: the admin API waits in it too).
      // (Per configuration: the Settings screen may move from the sandbox to a real CRM.)
      rateLimit: (c) => crmRate ?? (sandbox && c.crm?.baseUrl === sandbox.crmBase ? sandboxRateLimit : undefined),
      log: logRecord,
    });
    if (threaded && directoryKind === 'sqlite') {
      thread = registrationThread({
        dataDir: db.dir,
        config: engineConfig({ ...settingsNow, crm: crmConfig }),
        limited: (c) => engine.crmRate(c) > 0,
        turn: (priority) => engine.crmTurn(priority),
        log: logRecord,
        logRecords,
        // The thread's connection lost a write: this one refuses writes too (health says so).
        onStoreLost: (message) => db.lose(message),
        // Below the main thread when no answer waits for a registration (a budget of 0: every
        // post is answered once recorded), so a burst is answered first; otherwise answers wait
        // for registrations, and both threads run alike. Measured with bench/posts.mjs, one
        // run after another: accepting, nice 10 answered 1,990 posts/s against 1,654 at nice 0;
        // completing, nice 0 answered 907/s against 832 at nice 10.
        nice: budgetMs === 0 ? 10 : 0,
        faults: registrationFaults,
      });
      // Right after the HTTP server stops (before the sandbox and the store): its workflows may
      // finish their CRM calls, and its connection closes first.
      cleanup.splice(cleanup.indexOf(closeServer) + 1, 0, () => thread.close());
      await thread.ready();
    }
    // The admin page's "test post" goes through a second instance of the same handler, keyed
    // with a key that exists only in this process (the real key is known only by its digest).
    const internal = wasm.generateAccessKey();
    const testHandler = createHandler({ wasm, engine, keyDigest: () => internal.digest, budgetMs });
    // A change saved on the Settings screen: the next post reads it, no restart.
    onSettings = (c) => {
      settingsNow = c;
      for (const k of Object.keys(crmConfig)) delete crmConfig[k];
      Object.assign(crmConfig, c.crm);
      const next = engineConfig({ ...c, crm: crmConfig });
      engine.reconfigure(next);
      thread?.configure(next);
      catalog.rebind(crmConfig);
      log(`admin: settings saved (crm ${crmConfig.kind}, passwords by ${c.passwordMode})`);
    };
    // Hook routes with access keys of their own (rotated per route on the Settings screen).
    const sourceKeys = await openSourceKeys(store.settings, wasm, { routes: () => wasm.hookRoutes() });
    // The owner's mapped sources (/hooks/mapped/NAME), from the store; saved ones apply at once.
    const sources = await openSources(store.settings, wasm, { apply: (list) => engine.setSources(list) });
    const admin = await createAdminApi({
      wasm,
      store,
      engine,
      directory,
      events,
      crm: crmConfig,
      fetch: crmFetch,
      // Whether the CRM in use is the built-in sandbox (the Settings screen may have changed it).
      sandbox: () => Boolean(sandbox) && crmConfig.baseUrl === sandbox.crmBase,
      passwordMode: () => settingsNow.passwordMode,
      connection,
      publicUrl: () => publicUrl,
      // The Origin an admin request may carry: the public URL and the listening address (with
      // its localhost spelling on loopback), never what a request's Host header claims.
      origins: [served.url, ...(/^http:\/\/127\.0\.0\.1:/.test(served.url) ? [served.url.replace('127.0.0.1', 'localhost')] : [])],
      keyDigest: () => digest,
      setKeyDigest: (d) => {
        digest = d;
      },
      keyFromEnv: Boolean(env.MEMBERWIRE_KEY),
      staticFiles: createStatic(),
      rules,
      sources,
      catalog,
      sourceKeys,
      testPost: (body) =>
        testHandler.fetch(
          new Request(`${served.url}/hooks/json`, {
            method: 'POST',
            headers: { authorization: `Bearer ${internal.key}`, 'content-type': 'application/json' },
            body,
          }),
          env,
          undefined,
        ),
      log,
    });
    cleanup.unshift(() => admin.close());
    // The store's failures are logged once each, when they start.
    let lastFailure = null;
    const health = () => {
      const f = store.health();
      if (f && f.code !== lastFailure) log(`error: the store failed: ${f.message}`);
      if (!f && lastFailure) log('the store works again');
      lastFailure = f?.code ?? null;
      return f;
    };
    handler = createHandler({ wasm, engine, keyDigest: () => digest, routeKeyDigest: sourceKeys.digestFor, budgetMs, extra: admin.extra, health, onFatal });

    const resumed = await engine.resumeUnfinished();
    const bulkResumed = admin.start();
    const needsSetup = await admin.sessions.needsSetup();
    // Every interval: parked events are retried, and events left running by a store failure
    // (their workflow stopped when a write failed) are picked up again once the store works.
    const timer = setInterval(() => {
      if (store.health()) return;
      engine.retryPending().catch(() => {});
      engine.resumeUnfinished().catch(() => {});
    }, retryEveryMs);
    timer.unref();
    cleanup.unshift(() => clearInterval(timer));

    log(`memberwire ${wasm.version()} listening on ${served.url}`);
    const counts = await events.counts();
    log(`  data: ${db.file}  members: ${await directory.size()}  events: ${counts.total}${resumed ? `  resumed: ${resumed}` : ''}${bulkResumed ? `  bulk runs resumed: ${bulkResumed}` : ''}`);
    log(`  admin page: ${served.url}/admin${needsSetup ? ' (first run: set the administrator password with the access key)' : ''}`);
    if (directoryKind === 'wordpress') log(`  members: the WordPress users of ${env.MEMBERWIRE_WP_URL}`);
    log(`  crm: ${sandbox && crmConfig.baseUrl === sandbox.crmBase ? `sandbox (Keap REST shapes) at ${sandbox.url}/crm/rest` : `${crmConfig.kind} at ${crmConfig.baseUrl}`}`);
    if (generated) {
      log('');
      log(`  access key (shown once; only its digest is kept in ${db.file}):`);
      log(`    ${generated}`);
      log(`  hook URLs:`);
      for (const r of wasm.hookRoutes(crmConfig.kind)) log(`    ${served.url}/hooks/${r}?key=${generated}`);
    }

    return {
      url: served.url,
      sandbox,
      accessKey: generated,
      engine,
      directory,
      events,
      store,
      admin,
      health,
      hasher,
      /** The registration thread (null when registrations run on the main thread). */
      registrations: thread,
      /** Stops; with `graceMs`, answers under way get that long to go out first. */
      async close({ graceMs = 0 } = {}) {
        closeOptions = { graceMs };
        for (const c of cleanup) await c();
        await store.close();
      },
    };
  } catch (err) {
    for (const c of cleanup) await c().catch(() => {});
    await store.close();
    throw err;
  }
}

/**
 * `serve`, kept running: when its wasm instance traps (a WebAssembly.RuntimeError, after which
 * nothing more can run on that instance), the server is closed and started again on the same
 * port with a fresh instance. Everything acknowledged is in the store; the events the old
 * instance was running resume on the new one. Resolves to { url, current(), restarts, close() }.
 */
export async function supervise(options = {}) {
  const log = options.log ?? ((line) => console.log(line));
  let restarting = null;
  let closed = false;
  let restarts = 0;
  let current;
  const onFatal = (err) => {
    if (restarting || closed) return;
    restarting = (async () => {
      log(`error: the wasm instance trapped (${String(err?.message ?? err).slice(0, 80)}); starting a fresh one (nothing acknowledged is lost)`);
      const port = Number(new URL(current.url).port);
      // Answers under way (a post recorded just before the trap) still go out.
      await current.close({ graceMs: 5_000 });
      if (closed) return;
      current = await serve({ ...options, port, wasm: await freshWasm(), onFatal });
      restarts += 1;
    })().finally(() => {
      restarting = null;
    });
  };
  current = await serve({ ...options, onFatal });
  return {
    get url() {
      return current.url;
    },
    /** The running incarnation (serve()'s answer). */
    current: () => current,
    /** Resolves once a restart under way has finished. */
    settled: () => restarting ?? Promise.resolve(),
    get restarts() {
      return restarts;
    },
    get accessKey() {
      return current.accessKey;
    },
    async close() {
      closed = true;
      if (restarting) await restarting.catch(() => {});
      await current.close();
    },
  };
}

/** The access key's digest: from MEMBERWIRE_KEY, from the store, or a new key generated now. */
async function accessKey(settings, wasm, env) {
  if (env.MEMBERWIRE_KEY) {
    if (env.MEMBERWIRE_KEY.length < 22) throw usage('MEMBERWIRE_KEY must be at least 22 characters (128 bits); leave it unset to have one generated');
    return { digest: wasm.accessKeyDigest(env.MEMBERWIRE_KEY), generated: null };
  }
  const saved = await settings.get(ACCESS_KEY);
  if (saved) return { digest: saved.digest, generated: null };
  const { key, digest } = wasm.generateAccessKey();
  // Only one of two servers starting at once keeps its key; the other reads the winner's.
  if (!(await settings.putIfAbsent(ACCESS_KEY, { digest, createdAt: new Date().toISOString() }))) return accessKey(settings, wasm, env);
  return { digest, generated: key };
}

/**
 * The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
 * untrusted address of X-Forwarded-For (read from the right: only the proxies' own entries are
 * believed, never what the client wrote at the left).
 */
export function clientAddress(peer, request, trusted) {
  const bare = (a) => (a ?? '').replace(/^::ffff:/, '');
  if (!trusted.size || !trusted.has(bare(peer))) return peer;
  const hops = (request.headers.get('x-forwarded-for') ?? '').split(',').map((a) => bare(a.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted.has(hops[i])) return hops[i];
  return peer;
}

/** The member directory: SQLite beside everything else, or a WordPress site's users. */
function directoryFor(kind, wasm, store, env, rules) {
  if (kind === 'sqlite') return store.directory;
  if (kind !== 'wordpress') throw usage(`--directory must be sqlite or wordpress, not ${kind}`);
  const missing = ['MEMBERWIRE_WP_URL', 'MEMBERWIRE_WP_USER', 'MEMBERWIRE_WP_APP_PASSWORD'].filter((k) => !env[k]);
  if (missing.length) throw usage(`--directory wordpress needs ${missing.join(', ')} in the environment`);
  return wordpressDirectory(wasm, { url: env.MEMBERWIRE_WP_URL, user: env.MEMBERWIRE_WP_USER, appPassword: env.MEMBERWIRE_WP_APP_PASSWORD, levelsOf: (tags) => rules.levels(tags), named: (tags) => rules.named(tags) });
}

/**
 * How each CRM is reached from the environment: its token, its API's base URL (a default, or
 * one the owner must give: it names the account), and HighLevel's location.
 */
export const CRM_ENV = {
  keap: { token: 'MEMBERWIRE_KEAP_TOKEN', url: 'https://api.infusionsoft.com/crm/rest' },
  activecampaign: { token: 'MEMBERWIRE_AC_TOKEN', urlEnv: 'MEMBERWIRE_AC_URL', urlHint: 'https://ACCOUNT.api-us1.com/api/3' },
  kit: { token: 'MEMBERWIRE_KIT_TOKEN', url: 'https://api.kit.com/v4' },
  drip: { token: 'MEMBERWIRE_DRIP_TOKEN', urlEnv: 'MEMBERWIRE_DRIP_URL', urlHint: 'https://api.getdrip.com/v2/ACCOUNT_ID' },
  mailerlite: { token: 'MEMBERWIRE_MAILERLITE_TOKEN', url: 'https://connect.mailerlite.com/api' },
  highlevel: { token: 'MEMBERWIRE_HIGHLEVEL_TOKEN', url: 'https://services.leadconnectorhq.com', accountEnv: 'MEMBERWIRE_HIGHLEVEL_LOCATION' },
  hubspot: { token: 'MEMBERWIRE_HUBSPOT_TOKEN', url: 'https://api.hubapi.com' },
  mailchimp: { token: 'MEMBERWIRE_MAILCHIMP_KEY', urlEnv: 'MEMBERWIRE_MAILCHIMP_URL', urlHint: 'https://DC.api.mailchimp.com/3.0/lists/AUDIENCE_ID' },
};

/** The settings the command line and the environment fix, each with the reason shown. */
function lockedSettings({ crm, crmUrl, passwordMode, env }) {
  const locked = {};
  if (crm === 'sandbox') {
    for (const k of ['kind', 'baseUrl', 'token', 'accountId']) locked[`crm.${k}`] = 'memberwire was started with --crm sandbox';
  } else if (crm !== undefined && Object.hasOwn(CRM_ENV, crm)) {
    const spec = CRM_ENV[crm];
    locked['crm.kind'] = `memberwire was started with --crm ${crm}`;
    locked['crm.token'] = `${spec.token} is set in the environment`;
    if (crmUrl) locked['crm.baseUrl'] = 'memberwire was started with --crm-url';
    else if (spec.urlEnv) locked['crm.baseUrl'] = `${spec.urlEnv} is set in the environment`;
    else locked['crm.baseUrl'] = `--crm ${crm} uses its API's address`;
    if (spec.accountEnv) locked['crm.accountId'] = `${spec.accountEnv} is set in the environment`;
  }
  const fromEnv = { MEMBERWIRE_PASSWORD_FIELD: 'crm.passwordField', MEMBERWIRE_PASSWORD_FIELD_MAX: 'crm.passwordFieldMax', MEMBERWIRE_LINK_FIELD: 'crm.linkField', MEMBERWIRE_WELCOME_TAG: 'crm.welcomeTag' };
  for (const [name, setting] of Object.entries(fromEnv)) if (env[name]) locked[setting] = `${name} is set in the environment`;
  if (passwordMode !== undefined) locked.passwordMode = 'memberwire was started with --password-mode';
  return locked;
}

function realCrm(kind, crmUrl, env) {
  const spec = CRM_ENV[kind];
  const token = env[spec.token];
  if (!token) throw usage(`--crm ${kind} needs ${spec.token} in the environment`);
  const baseUrl = crmUrl ?? (spec.urlEnv ? env[spec.urlEnv] : spec.url);
  if (!baseUrl) throw usage(`--crm ${kind} needs --crm-url ${spec.urlHint} (or ${spec.urlEnv})`);
  const accountId = spec.accountEnv ? env[spec.accountEnv] : null;
  if (spec.accountEnv && !accountId) throw usage(`--crm ${kind} needs ${spec.accountEnv} in the environment`);
  return {
    kind,
    baseUrl,
    token,
    passwordField: env.MEMBERWIRE_PASSWORD_FIELD || null,
    passwordFieldMax: env.MEMBERWIRE_PASSWORD_FIELD_MAX ? Number(env.MEMBERWIRE_PASSWORD_FIELD_MAX) : null,
    linkField: env.MEMBERWIRE_LINK_FIELD || null,
    welcomeTag: env.MEMBERWIRE_WELCOME_TAG || null,
    ...(accountId ? { accountId } : {}),
  };
}

function usage(message) {
  const e = new Error(message);
  e.code = 'usage';
  return e;
}
