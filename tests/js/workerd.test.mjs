// The Workers host (js/hosts/worker.mjs) in the real workerd runtime through miniflare 4, with
// real D1, a real Queue with its dead-letter queue, and the cron trigger: every route and bad
// bodies, a post replayed 20 times, 50 concurrent posts for one contact across two routes, a
// restart over the same persisted state, and a consumer that keeps failing landing in the
// dead-letter queue, visible and retryable through the admin API. The CRM is the Keap sandbox,
// reached through miniflare's outbound service.
//
// Run: node --test tests/js/workerd.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Miniflare } from 'miniflare';

import { miniflareOptions, forwardInit } from './support/workerd.mjs';
import { ROOT, KEAP, makeKey, loadWasm, createSecrets, createKeapSandbox, keapCrm, keapField, waitFor } from './support/registration.mjs';

const secrets = createSecrets();

function worker({ persist, key, sandbox, extra = {} }) {
  // The admin page's files, laid out as `npm run deploy` lays them out for the ASSETS binding.
  const assets = join(persist, 'assets');
  execFileSync('bash', [join(ROOT, 'scripts/worker-assets.sh'), assets]);
  return new Miniflare(
    miniflareOptions({
      persist,
      assets,
      bindings: {
        MEMBERWIRE_KEY: key,
        MEMBERWIRE_CONFIG: JSON.stringify({ bcryptCost: 4, linkUrl: 'https://members.example/set-password', crm: keapCrm() }),
        MEMBERWIRE_RETRY_DELAY_S: '0',
        MEMBERWIRE_REDRIVE_AFTER_S: '0',
        MEMBERWIRE_RATE_LIMIT: '0',
        ...extra,
      },
      // Every fetch the worker makes goes to the Keap sandbox.
      outboundService: async (req) => sandbox.fetch(req.url, await forwardInit(req)),
    }),
  );
}

function client(mf, key) {
  const call = async (path, init = {}) => {
    const r = await mf.dispatchFetch(`http://localhost${path}`, init);
    const text = await r.text();
    secrets.assertAbsent(text, `${path} answer`);
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: r.status, headers: r.headers, text, body };
  };
  return {
    call,
    json: (path, body, headers = { authorization: `Bearer ${key}` }) =>
      call(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
    form: (path, body) => call(`${path}?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }),
    counts: async () => (await call('/health', { headers: { authorization: `Bearer ${key}` } })).body.events,
  };
}

test('workerd with D1 and Queues: durable, at least once, one member per contact', { timeout: 180_000 }, async (t) => {
  const persist = await mkdtemp(join(tmpdir(), 'mw-workerd-'));
  t.after(() => rm(persist, { recursive: true, force: true }));
  const key = secrets.add(makeKey());
  const sandbox = createKeapSandbox({ rateLimit: false });
  let mf = worker({ persist, key, sandbox });
  t.after(() => mf?.dispose());
  let c = client(mf, key);
  const settle = (what, want) => waitFor(async () => {
    const n = await c.counts();
    return n.running === 0 && n.total >= want ? n : null;
  }, { timeoutMs: 60_000, everyMs: 200, what });

  // ---- every route, bad bodies ----
  const health = await c.call('/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { ok: true, version: loadWasm().version() });
  assert.equal((await c.json('/hooks/json', '{"contact_id": ')).body.error.code, 'malformed_body');
  assert.equal((await c.json('/hooks/json', { email: 'x@example.com' })).body.error.code, 'missing_contact_id');
  assert.equal((await c.form('/hooks/keap', 'contactId=~Contact.Id~')).body.error.code, 'invalid_contact_id');
  assert.equal((await c.json('/hooks/json', { contact_id: 'a', email: 'a@example.com' }, {})).status, 401);
  assert.equal((await c.call(`/hooks/json?key=${secrets.add(makeKey())}`, { method: 'POST', body: '{}' })).status, 401);
  assert.equal((await c.call('/nope')).status, 404);
  const get = await c.call('/hooks/json');
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  const verify = await c.call('/hooks/keap-rest', { method: 'POST', headers: { 'x-memberwire-key': key, 'x-hook-secret': 'abc123' } });
  assert.equal(verify.headers.get('x-hook-secret'), 'abc123');
  assert.deepEqual(await c.counts(), { running: 0, pending: 0, done: 0, total: 0 }, 'nothing refused was recorded');

  // ---- a Keap post: recorded, answered 202, run by the queue consumer ----
  const first = await c.form('/hooks/keap', 'contactId=101');
  assert.equal(first.status, 202, first.text);
  assert.equal(first.body.outcome, 'queued');
  await settle('the first event', 1);
  const link = keapField(sandbox.contact(101), KEAP.linkField);
  assert.match(link, /^https:\/\/members\.example\/set-password#token=/);
  assert.equal(sandbox.tagApplications().filter((a) => a.tagId === KEAP.welcomeTag && a.action === 'apply' && !a.duplicate).length, 1);

  // ---- one post replayed 20 times: one member, one welcome ----
  const replays = await Promise.all(Array.from({ length: 20 }, () => c.form('/hooks/keap', 'contactId=101')));
  assert.ok(replays.every((r) => r.status === 202));
  await settle('the replays', 21);
  // ---- 50 concurrent posts for one new contact across two routes ----
  sandbox.addContact({ id: 4242, given_name: 'Rae', family_name: 'Race', email: 'Rae.Race@Example.com' });
  const race = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      i % 2
        ? c.form('/hooks/keap', `contactId=4242&Email=${encodeURIComponent(i % 4 === 1 ? 'RAE.RACE@example.com' : 'rae.race@example.com')}`)
        : c.json('/hooks/keap-rest', { event_key: 'contact.add', object_type: 'contact', object_keys: [{ id: 4242, apiUrl: '', timestamp: '2026-11-20T09:14:00.000Z' }] }, { 'x-memberwire-key': key }),
    ),
  );
  assert.ok(race.every((r) => r.status === 202), JSON.stringify(race.map((r) => r.status)));
  const counts = await settle('the race', 71);
  assert.deepEqual(counts, { running: 0, pending: 0, done: 71, total: 71 });

  // The admin API on the Worker: log in with the key, read the members.
  const origin = { origin: 'http://localhost', 'content-type': 'application/json' };
  const setup = await c.call('/api/setup', { method: 'POST', headers: origin, body: JSON.stringify({ accessKey: key, password: 'a worker admin password' }) });
  assert.equal(setup.status, 200, setup.text);
  secrets.add('a worker admin password');
  const cookie = setup.headers.get('set-cookie').split(';')[0];
  const admin = (path, init = {}) => c.call(path, { ...init, headers: { ...origin, cookie, 'x-memberwire-csrf': setup.body.csrf, ...(init.headers ?? {}) } });
  // The admin page itself, from the ASSETS binding, with the wasm it runs.
  const page = await c.call('/admin/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(page.text, /<html/i);
  const wasmFile = await mf.dispatchFetch('http://localhost/pkg/memberwire_bg.wasm');
  assert.equal(wasmFile.status, 200);
  assert.equal(Buffer.from(await wasmFile.arrayBuffer()).subarray(0, 4).toString('hex'), '0061736d', 'the wasm package');
  const members = (await admin('/api/members?limit=50')).body;
  assert.equal(members.total, 2, 'one member for 101, one for 4242');
  const rae = members.members.find((m) => m.contact?.contactId === '4242');
  assert.equal(rae.email, 'rae.race@example.com');
  const welcomes = sandbox.tagApplications().filter((a) => a.tagId === KEAP.welcomeTag && a.action === 'apply' && !a.duplicate);
  assert.deepEqual(welcomes.map((a) => a.contactId).sort(), ['101', '4242'], 'one welcome tag per member');
  // Settings on the Worker: what MEMBERWIRE_CONFIG sets is fixed (and the page says so); what it
  // leaves out is saved in D1 and applied.
  const settingsNow = (await admin('/api/settings')).body.editable;
  assert.match(settingsNow.locked['crm.welcomeTag'], /MEMBERWIRE_CONFIG/);
  assert.equal(settingsNow.crm.tokenSet, true);
  assert.ok(!JSON.stringify(settingsNow).includes(keapCrm().token), 'the token is never shown');
  const fixed = await admin('/api/settings/connection', { method: 'PUT', body: JSON.stringify({ crm: { welcomeTag: '97' } }) });
  assert.equal(fixed.status, 400);
  assert.equal(fixed.body.error.code, 'setting_locked');
  const ttl = await admin('/api/settings/connection', { method: 'PUT', body: JSON.stringify({ linkTtlMs: 2 * 3600_000 }) });
  assert.equal(ttl.status, 200, ttl.text);
  assert.equal(ttl.body.editable.linkTtlMs, 2 * 3600_000);

  // ---- a consumer that keeps failing lands in the dead-letter queue ----
  const ghost = await c.form('/hooks/keap', 'contactId=9999');
  assert.equal(ghost.status, 202);
  const dead = await waitFor(async () => {
    const r = await admin('/api/events?status=pending');
    return r.body.events.find((e) => e.id === ghost.body.event && e.pending?.code === 'dead_letter');
  }, { timeoutMs: 60_000, everyMs: 250, what: 'the dead letter' });
  assert.match(dead.pending.reason, /gave up/);
  // The contact appears in the CRM; the Retry button runs the event through the queue again.
  sandbox.addContact({ id: 9999, given_name: 'Late', family_name: 'Comer', email: 'late@example.com' });
  const retried = await admin(`/api/events/${ghost.body.event}/retry`, { method: 'POST' });
  assert.ok([200, 202].includes(retried.status), retried.text);
  await waitFor(async () => (await admin(`/api/events/${ghost.body.event}`)).body.status === 'done', { timeoutMs: 30_000, everyMs: 200, what: 'the retried event' });

  // ---- a restart over the same persisted state ----
  // An event recorded but never run (its queue message is lost with the old instance's queue):
  // the cron re-drives it after the restart.
  await mf.dispose();
  mf = worker({ persist, key, sandbox, extra: { MEMBERWIRE_RATE_LIMIT: '0' } });
  c = client(mf, key);
  const d1 = await mf.getD1Database('DB');
  const migrations = (await d1.prepare('SELECT name FROM d1_migrations ORDER BY name').all()).results.map((r) => r.name);
  assert.deepEqual(migrations, (await readdir(join(ROOT, 'migrations'))).filter((f) => f.endsWith('.sql')).sort(), 'the Worker applies every migration file');
  const before = await c.counts();
  assert.equal(before.total, 72, 'every event is still there');
  const again = await c.form('/hooks/keap', 'contactId=4242');
  assert.equal(again.status, 202);
  await settle('the post after the restart', 73);
  const ev = (await d1.prepare('SELECT outcome FROM events WHERE id = ?').bind(again.body.event).first());
  const outcome = JSON.parse(ev.outcome);
  assert.equal(outcome.outcome, 'existing');
  assert.equal(outcome.member.id, rae.id, 'the same member after the restart');
  // A running event with no runner (as a consumer that died leaves it) is re-driven by the cron.
  await d1.prepare("UPDATE events SET status = 'running', outcome = NULL, state = (SELECT state FROM events WHERE id = ?) WHERE id = ?").bind(ghost.body.event, ghost.body.event).run();
  const cron = await (await mf.getWorker()).scheduled({ cron: '*/5 * * * *' });
  assert.equal(cron.outcome, 'ok');
  await settle('the re-driven event', 73);
  assert.equal((await c.counts()).done, 73);
  const late = (await admin('/api/members?limit=50')).body.members.filter((m) => m.contact?.contactId === '9999');
  assert.equal(late.length, 1, 'the re-driven event did not make a second member');
});

test('workerd: a wasm instance that traps is reset in place (__wbg_reset_state); the event it was running finishes on the fresh one', { timeout: 120_000 }, async (t) => {
  const persist = await mkdtemp(join(tmpdir(), 'mw-workerd-trap-'));
  t.after(() => rm(persist, { recursive: true, force: true }));
  const key = secrets.add(makeKey());
  const sandbox = createKeapSandbox({ rateLimit: false });
  // The first insert in the isolate fails as a trapped instance does (a test-only fault).
  const mf = worker({ persist, key, sandbox, extra: { MEMBERWIRE_TEST_FAULT: 'trap-once' } });
  t.after(() => mf.dispose());
  const c = client(mf, key);
  const post = await c.json('/hooks/json', { contact_id: 'trap-1', email: 'trap@example.com' });
  assert.equal(post.status, 202, post.text);
  const done = await waitFor(async () => {
    const n = await c.counts();
    return n.done === 1 && n.running === 0 ? n : null;
  }, { timeoutMs: 60_000, everyMs: 200, what: 'the event done after the reset' });
  assert.deepEqual(done, { running: 0, pending: 0, done: 1, total: 1 });
  // One member, made by the fresh instance; and the worker goes on serving.
  const again = await c.json('/hooks/json', { contact_id: 'trap-1', email: 'trap@example.com' });
  assert.equal(again.status, 202);
  await waitFor(async () => ((await c.counts()).done === 2 ? true : null), { timeoutMs: 60_000, everyMs: 200, what: 'the second event' });
  const db = await mf.getD1Database('DB');
  assert.equal((await db.prepare('SELECT COUNT(*) AS n FROM members').first()).n, 1);
  const outcomes = (await db.prepare('SELECT outcome_kind FROM events ORDER BY received_at').all()).results.map((r) => r.outcome_kind);
  assert.deepEqual(outcomes, ['created', 'existing']);
});
