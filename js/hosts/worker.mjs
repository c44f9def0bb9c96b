// Cloudflare Workers (workerd) host. The wasm arrives as a compiled module import; the handler is
// the same edge function as everywhere. State is durable: D1 holds the directory, the event
// inbox, settings, admin sessions and bulk runs (the one schema of migrations/), and a Queue
// carries each recorded event to the consumer below, which runs its workflow.
//
//   fetch      records the post's events in D1, sends their ids to the queue, answers 202
//              `queued` (or an error); /api/* is the admin API, the admin page comes from ASSETS
//   queue      runs each event (a lease in D1 keeps one runner per event); a parked event is
//              retried by the queue with backoff, and after max_retries it goes to the
//              dead-letter queue, whose consumer marks it so the Activity screen shows it with
//              its Retry button
//   scheduled  the cron re-drives events left running by a consumer that died
//
// Bindings (wrangler.toml): DB (D1), EVENTS (queue producer), ASSETS (optional, the admin page),
// MEMBERWIRE_KEY (the hook access key, a secret), MEMBERWIRE_CONFIG (RegistrarConfig as JSON;
// the CRM token may come from the secret MEMBERWIRE_CRM_TOKEN), MEMBERWIRE_DLQ (the dead-letter
// queue's name, default memberwire-events-dlq), MEMBERWIRE_RETRY_DELAY_S (first backoff, 10 s),
// MEMBERWIRE_REDRIVE_AFTER_S (how long a running event may sit still before the cron re-drives
// it, 60 s).
import wasmModule from '../../pkg/memberwire_bg.wasm';
import * as wasm from '../../pkg/memberwire.js';
import init from '../../migrations/0001_init.sql';
import retrySchedule from '../../migrations/0002_event_retry_schedule.sql';
import { createEngine } from '../engine/engine.mjs';
import { createHandler } from '../engine/handler.mjs';
import { sqlStore, EMAIL_FORM } from '../adapters/sql-store.mjs';
import { d1Driver } from '../store/d1.mjs';
import { applyMigrations } from '../store/sql.mjs';
import { openRules, openSources, RULES, SOURCES } from '../server/settings.mjs';
import { openCatalog, CATALOG } from '../server/catalog.mjs';
import { openSourceKeys, SOURCE_KEYS } from '../server/source-keys.mjs';
import { openConnection, CONNECTION } from '../server/connection.mjs';

wasm.initSync({ module: wasmModule });

const MIGRATIONS = [
  { name: '0001_init.sql', sql: init },
  { name: '0002_event_retry_schedule.sql', sql: retrySchedule },
];

let app = null; // the promise of the built app
let built = null; // the app itself, once built

/**
 * The wasm instance trapped (a panic is `unreachable`; after it every call on the instance is
 * suspect): the glue gets a fresh instance of the same module (`__wbg_reset_state`, built with
 * --experimental-reset-state-function, since workerd cannot load a second copy of the glue) and
 * the next request or queue batch builds the app anew over it. What was acknowledged is in D1.
 */
function onFatal(err) {
  console.error(`memberwire: the wasm instance trapped (${err?.message ?? 'RuntimeError'}); starting a fresh one`);
  // The old app's objects are stale from here on: they must never be freed into the fresh instance.
  built?.engine.abandon();
  built = null;
  try {
    wasm.__wbg_reset_state();
  } catch (resetErr) {
    console.error(`memberwire: the reset failed: ${resetErr?.message ?? resetErr}`);
  }
  app = null;
}

/** One per isolate: the store, engine and handler over this deployment's bindings. */
async function build(env) {
  const db = d1Driver(env.DB);
  const store = sqlStore(wasm, db);
  // Each D1 round trip is felt by the post that starts the isolate: the check that every
  // migration is applied and the settings the start reads go in one batch.
  const preloaded = [EMAIL_FORM, RULES, SOURCES, CATALOG, SOURCE_KEYS, CONNECTION];
  const [applied] = await store.settings
    .preload(preloaded, [{ sql: 'SELECT name FROM d1_migrations', params: [] }])
    .catch(() => [null]);
  if (!applied || !MIGRATIONS.every((m) => applied.some((r) => r.name === m.name))) {
    // wrangler applies migrations at deploy (npm run deploy); an isolate that finds one missing
    // (or a fresh database) applies it. Two isolates racing both get here: the loser's batch
    // fails on the migration's name and it reads the winner's.
    await applyMigrations(db, MIGRATIONS).catch(async (err) => {
      const done = await db.all('SELECT name FROM d1_migrations', []);
      if (done.length < MIGRATIONS.length) throw err;
    });
    await store.settings.preload(preloaded);
  }
  await store.upgrade();
  const rules = await openRules(store.settings, wasm);
  const given = env.MEMBERWIRE_CONFIG ? JSON.parse(env.MEMBERWIRE_CONFIG) : {};
  if (given.crm && env.MEMBERWIRE_CRM_TOKEN) given.crm.token = env.MEMBERWIRE_CRM_TOKEN;
  // The Settings screen may set what MEMBERWIRE_CONFIG leaves out; what it sets wins.
  const registrarConfig = (c) => ({ ...given, crm: c.crm?.kind ? c.crm : null, passwordMode: c.passwordMode, ...(c.linkTtlMs ? { linkTtlMs: c.linkTtlMs } : {}) });
  let onSettings = () => {};
  const connection = await openConnection(store.settings, wasm, {
    base: { crm: given.crm ?? {}, passwordMode: given.passwordMode ?? 'link', linkTtlMs: given.linkTtlMs ?? null },
    locked: lockedByConfig(given, env),
    registrarConfig,
    apply: (c) => onSettings(c),
  });
  // One CRM object for the isolate: a saved change updates it in place.
  const crm = { ...connection.effective().crm };
  const config = registrarConfig({ ...connection.effective(), crm });
  // The CRM's tag names as last listed: rules that name a tag match members with its id.
  const catalog = await openCatalog(store.settings, config.crm);
  rules.setNamer(catalog.named);
  // Members in D1, or the users of a WordPress site with memberwire's plugin (MEMBERWIRE_WP_URL,
  // MEMBERWIRE_WP_USER and the secret MEMBERWIRE_WP_APP_PASSWORD, as the plugin's Setup shows).
  const directory = env.MEMBERWIRE_WP_URL
    ? (await import('../adapters/wordpress-directory.mjs')).wordpressDirectory(wasm, { url: env.MEMBERWIRE_WP_URL, user: env.MEMBERWIRE_WP_USER, appPassword: env.MEMBERWIRE_WP_APP_PASSWORD, fetch: (u, i) => fetch(u, i), levelsOf: (tags) => rules.levels(tags), named: (tags) => rules.named(tags) })
    : store.directory;
  if (env.MEMBERWIRE_TEST_FAULT === 'trap-once') trapOnce(directory);
  // MEMBERWIRE_RATE_LIMIT overrides the CRM's requests per second (0: none; tests, benchmarks).
  const rate = env.MEMBERWIRE_RATE_LIMIT !== undefined ? Number(env.MEMBERWIRE_RATE_LIMIT) : undefined;
  const log = (r) => console.log(typeof r === 'string' ? r : `${r.level}: ${r.event}: ${r.message}`);
  const engine = createEngine({
    wasm,
    config,
    events: store.events,
    directory,
    fetch: (u, i) => fetch(u, i),
    log,
    ...(rate !== undefined ? { rateLimit: rate } : {}),
    dispatch: (ids) => env.EVENTS.sendBatch(ids.map((eventId) => ({ body: { eventId } }))),
    onFatal,
  });
  onSettings = (c) => {
    for (const k of Object.keys(crm)) delete crm[k];
    Object.assign(crm, c.crm);
    engine.reconfigure(registrarConfig({ ...c, crm }));
    catalog.rebind(crm);
  };
  // The owner's mapped sources (/hooks/mapped/NAME), read from D1 with the other settings.
  const sources = await openSources(store.settings, wasm, { apply: (list) => engine.setSources(list) });
  // Hook routes with access keys of their own (the shared key is MEMBERWIRE_KEY).
  const sourceKeys = await openSourceKeys(store.settings, wasm, { routes: () => wasm.hookRoutes() });
  store.settings.forgetPreloaded();
  const digest = env.MEMBERWIRE_KEY ? wasm.accessKeyDigest(env.MEMBERWIRE_KEY) : null;
  // The admin API (its sessions, bulk runs) is built at the first request for it, not at the
  // first post: a hook post starting an isolate waits for no more than the hook needs.
  let admin = null;
  const adminApi = () =>
    (admin ??= import('../server/admin-api.mjs').then(({ createAdminApi }) => createAdminApi({
      wasm,
      store,
      engine,
      directory,
      rules,
      sources,
      catalog,
      sourceKeys,
      events: store.events,
      crm: crm.kind ? crm : { kind: 'generic' },
      sandbox: false,
      passwordMode: () => connection.effective().passwordMode,
      connection,
      publicUrl: () => env.MEMBERWIRE_PUBLIC_URL ?? '',
      keyDigest: () => digest,
      // The key is a Worker secret: rotate it with `wrangler secret put MEMBERWIRE_KEY`.
      setKeyDigest: () => {},
      keyFromEnv: true,
      staticFiles: env.ASSETS ? (request) => env.ASSETS.fetch(request) : undefined,
      testPost: () => new Response(JSON.stringify({ error: { code: 'not_supported', message: 'send a test post to /hooks/json instead' } }), { status: 400 }),
      log,
    })).catch((err) => {
      admin = null;
      throw err;
    }));
  const handler = createHandler({ wasm, engine, keyDigest: () => digest, routeKeyDigest: sourceKeys.digestFor, extra: async (request, url, ctx) => (await adminApi()).extra(request, url, ctx), health: () => store.health(), onFatal });
  built = { store, engine, handler, rules, sources, sourceKeys, connection };
  return built;
}

let trapped = false;
/**
 * Fault injection for tests only (MEMBERWIRE_TEST_FAULT=trap-once): the first insert in this
 * isolate fails as a trapped instance does, so the reset path can be exercised in workerd.
 */
function trapOnce(directory) {
  const apply = directory.apply.bind(directory);
  directory.apply = async (op, ...rest) => {
    if (op.op === 'insert' && !trapped) {
      trapped = true;
      throw new WebAssembly.RuntimeError('unreachable');
    }
    return apply(op, ...rest);
  };
}

function appFor(env) {
  app ??= build(env).catch((err) => {
    app = null; // try again on the next request
    throw err;
  });
  return app;
}

const retryDelay = (env, attempts) => Math.min(3600, Number(env.MEMBERWIRE_RETRY_DELAY_S ?? 10) * 2 ** Math.max(0, attempts - 1));

export default {
  async fetch(request, env, ctx) {
    let a;
    try {
      a = await appFor(env);
    } catch (err) {
      console.error(`memberwire: cannot start: ${err?.code ?? err?.name ?? 'error'}: ${err?.message ?? ''}`.slice(0, 300));
      return new Response(JSON.stringify({ error: { code: 'store_unavailable', message: 'memberwire cannot reach its database; the post was not recorded: send it again later' } }), {
        status: 503,
        headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '30' },
      });
    }
    // Levels and mapped sources follow what another isolate saved, within seconds.
    await Promise.all([a.rules.fresh(), a.sources.fresh(), a.sourceKeys.fresh(), a.connection.fresh()].map((p) => p.catch(() => {})));
    return a.handler.fetch(request, env, ctx);
  },

  async queue(batch, env) {
    const { store } = await appFor(env);
    if (batch.queue === (env.MEMBERWIRE_DLQ ?? 'memberwire-events-dlq')) {
      // The queue gave up: park the event where the Activity screen shows it, with Retry.
      for (const msg of batch.messages) {
        const e = await store.events.get(msg.body?.eventId);
        if (e && e.status !== 'done') {
          await store.events.park(e.id, { code: 'dead_letter', reason: `the queue gave up after its retries (${e.pending?.code ?? 'no answer'}); retry it from the Activity screen` }, null);
        }
        msg.ack();
      }
      return;
    }
    for (const msg of batch.messages) {
      const id = msg.body?.eventId;
      if (typeof id !== 'string') {
        msg.ack();
        continue;
      }
      let final;
      try {
        // Per message: after a trap the next one runs on the app built over the fresh instance.
        const { engine, rules, connection } = await appFor(env);
        // The settings saved through another isolate (the CRM, its fields, the welcome tag).
        await Promise.all([rules.fresh(), connection.fresh()].map((p) => p.catch(() => {})));
        final = await engine.runEvent(id);
      } catch (err) {
        console.error(`memberwire: ${id}: the consumer failed: ${err?.code ?? err?.name ?? 'error'}`);
        final = { state: 'pending' };
      }
      // Parked (a CRM that keeps failing) or held by another runner: the queue tries again
      // later, with backoff; done, missing: nothing more to do.
      if (final.state === 'pending' || final.state === 'busy') msg.retry({ delaySeconds: retryDelay(env, msg.attempts ?? 1) });
      else msg.ack();
    }
  },

  async scheduled(controller, env, ctx) {
    const { engine, connection } = await appFor(env);
    await connection.fresh().catch(() => {});
    ctx.waitUntil(engine.redrive(Number(env.MEMBERWIRE_REDRIVE_AFTER_S ?? 60) * 1000));
  },
};

/** What MEMBERWIRE_CONFIG (wrangler.toml) and the secrets set: the Settings screen cannot change it. */
function lockedByConfig(given, env) {
  const locked = {};
  const why = 'set in MEMBERWIRE_CONFIG (wrangler.toml)';
  for (const k of ['kind', 'baseUrl', 'accountId', 'passwordField', 'passwordFieldMax', 'linkField', 'welcomeTag']) {
    if (given.crm?.[k] !== undefined && given.crm?.[k] !== null) locked[`crm.${k}`] = why;
  }
  if (env.MEMBERWIRE_CRM_TOKEN || given.crm?.token) {
    locked['crm.token'] = 'the MEMBERWIRE_CRM_TOKEN secret';
    // The secret goes only where the configuration sends it.
    locked['crm.baseUrl'] ??= 'the MEMBERWIRE_CRM_TOKEN secret is sent only to the URL set with it';
    locked['crm.kind'] ??= 'the MEMBERWIRE_CRM_TOKEN secret belongs to the CRM set with it';
  }
  if (given.passwordMode) locked.passwordMode = why;
  if (given.linkTtlMs) locked.linkTtlMs = why;
  return locked;
}
