// The driver's protocol with the workflow (js/engine/driver.mjs, Workflow.step): one call into
// wasm per effect, randomness and log records answered inside wasm, and the state persisted
// exactly before each CRM write (and at the end): a restart may repeat reads and directory
// writes, which the workflow recognizes, but never a CRM write it made after its last save.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadWasm } from '../../js/hosts/node.mjs';
import { createEngine } from '../../js/engine/engine.mjs';
import { memoryEvents } from '../../js/adapters/events.mjs';
import { memoryDirectory } from '../../js/adapters/directory.mjs';
import { createKeapSandbox } from '../../js/sandbox/keap.mjs';
import { keapCrm, FORM } from './support/registration.mjs';

const wasm = loadWasm();
const DIRECTORY_READS = new Set(['get_by_contact', 'get_by_email']);

/** An engine whose ports write down, in order, every directory call, CRM request and persist. */
function traced({ passwordMode = 'link' } = {}) {
  const trail = [];
  const sandbox = createKeapSandbox({ rateLimit: false });
  const directory = memoryDirectory(wasm);
  const apply = directory.apply.bind(directory);
  directory.apply = async (op, row, opts) => {
    trail.push({ kind: DIRECTORY_READS.has(op.op) ? 'read' : 'write', what: `directory ${op.op}`, row, durable: opts?.durable ?? true });
    return apply(op, row, opts);
  };
  const events = memoryEvents();
  const progress = events.progress.bind(events);
  events.progress = async (id, state, status) => {
    trail.push({ kind: 'persist', what: JSON.parse(state).step?.step });
    return progress(id, state, status);
  };
  const finish = events.finish.bind(events);
  events.finish = async (id, outcome, state, opts) => {
    trail.push({ kind: 'finish', what: outcome?.outcome, durable: opts?.durable ?? true });
    return finish(id, outcome, state, opts);
  };
  const fetch = async (url, init) => {
    const method = init?.method ?? 'GET';
    trail.push({ kind: method === 'GET' ? 'read' : 'write', what: `crm ${method} ${new URL(url).pathname}` });
    return sandbox.fetch(url, init);
  };
  const logs = [];
  const engine = createEngine({ wasm, config: { crm: keapCrm(), passwordMode, linkUrl: 'https://members.example.com/set-password' }, events, directory, fetch, rateLimit: 0, log: (r) => logs.push(r) });
  return { engine, events, trail, logs };
}

const post = (body) => [new Headers({ 'content-type': FORM }), new TextEncoder().encode(body)];

test('a new member: a persist comes right before each CRM write, and nowhere else', async () => {
  const { engine, events, trail } = traced();
  // Contact 101 of the sandbox (Ada), with her tags in the post: nothing to load.
  const accepted = await engine.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&FirstName=Ada&LastName=Lovelace&Groups=91'));
  const final = await accepted.runs[0].done;
  assert.equal(final.state, 'done');
  assert.equal(final.outcome.outcome, 'created');
  assert.equal(typeof final.save, 'string', 'the end carries the state to keep');
  assert.equal((await events.get(accepted.runs[0].eventId)).status, 'done');

  const what = JSON.stringify(trail.map((t) => t.what));
  const crmWrites = trail.filter((t) => t.kind === 'write' && t.what.startsWith('crm '));
  const dirWrites = trail.filter((t) => t.kind === 'write' && t.what.startsWith('directory '));
  assert.equal(crmWrites.length, 2, `a new member in link mode writes the link and applies the welcome tag: ${what}`);
  assert.ok(dirWrites.length >= 4, `the member, the token and the welcome flag twice: ${what}`);
  trail.forEach((t, i) => {
    const next = trail[i + 1];
    if (t.kind === 'persist') assert.ok(next?.kind === 'write' && next.what.startsWith('crm '), `a persist (${t.what}) comes before a CRM write, not ${next?.what}`);
    if (t.kind === 'write' && t.what.startsWith('crm ')) assert.equal(trail[i - 1]?.kind, 'persist', `${t.what} comes after a persist, not ${trail[i - 1]?.what}`);
  });
  assert.deepEqual(
    trail.filter((t) => t.kind === 'persist').map((t) => t.what),
    ['write_crm_field', 'apply_welcome'],
    'the saved states are the steps the CRM writes begin at',
  );
  // Directory writes and the final record may reach the disk with the next durable write (a
  // replay redoes them); the saves before CRM writes are durable (the port's default).
  for (const t of dirWrites) assert.equal(t.durable, false, `${t.what} is written as one a replay redoes`);
  assert.deepEqual(trail.filter((t) => t.kind === 'finish'), [{ kind: 'finish', what: 'created', durable: false }]);
  // The directory's writes of a member carry its stored form, computed in the same call.
  for (const t of trail.filter((x) => x.what === 'directory insert' || x.what === 'directory update')) {
    assert.equal(typeof t.row?.data, 'string', `${t.what} carries the stored row`);
    assert.equal(t.row.email, 'ada.lovelace@example.com');
  }
});

test('a repeat of the contact: reads only, so nothing is persisted before the end', async () => {
  const { engine, trail } = traced();
  const body = 'Id=101&Email=ada.lovelace%40example.com&FirstName=Ada&LastName=Lovelace&Groups=91';
  await (await engine.accept('keap_post', ...post(body))).runs[0].done;
  trail.length = 0;
  const final = await (await engine.accept('keap_post', ...post(body))).runs[0].done;
  assert.equal(final.outcome.outcome, 'existing');
  assert.deepEqual(
    trail.filter((t) => t.kind !== 'finish').map((t) => t.kind),
    ['read'],
    JSON.stringify(trail),
  );
});

test('step never hands the host a random or log effect; log records come with the step', async () => {
  const reg = new wasm.Registrar({ crm: keapCrm(), passwordMode: 'crm', linkUrl: 'https://members.example.com/set-password' });
  // A password too short for the policy: the workflow logs why it generates one instead.
  const accepted = reg.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&Password=short&Groups=91'), Date.now());
  assert.equal(accepted.records.length, 1);
  assert.equal(accepted.records[0].eventId, accepted.workflows[0].eventId);
  assert.equal(typeof accepted.records[0].state, 'string');
  const wf = accepted.workflows[0];
  const directory = memoryDirectory(wasm);
  const sandbox = createKeapSandbox({ rateLimit: false });
  const seen = [];
  const logs = [];
  let s = wf.step(undefined, Date.now());
  for (let i = 0; i < 50 && s.state === 'effect'; i++) {
    seen.push(s.effect.type);
    if (s.logs) logs.push(...s.logs);
    let result;
    if (s.effect.type === 'directory') result = { type: 'directory', result: await directory.apply(s.effect.op, s.row) };
    else if (s.effect.type === 'http') {
      const r = await sandbox.fetch(s.effect.request.url, { method: s.effect.request.method, headers: s.effect.request.headers, body: s.effect.request.body });
      result = { type: 'http', response: { status: r.status, body: await r.text(), retryAfter: null } };
    } else result = { type: 'slept' };
    s = wf.step(result, Date.now());
  }
  if (s.logs) logs.push(...s.logs);
  wf.free();
  assert.equal(s.state, 'done', JSON.stringify(s));
  assert.ok(!seen.includes('random') && !seen.includes('log'), JSON.stringify(seen));
  assert.ok(logs.length > 0 && logs.every((r) => r.event === accepted.records[0].eventId && typeof r.message === 'string'), JSON.stringify(logs));
  for (const r of logs) assert.ok(!r.message.includes('short'), 'a log record never quotes the password');
});

test('at most maxRunning workflows run at once; the others wait their turn, recorded, and all end', async () => {
  const sandbox = createKeapSandbox({ rateLimit: false });
  let inFlight = 0;
  let most = 0;
  const gate = [];
  // Every CRM request waits until the test lets it go, so the running workflows pile up here.
  const fetch = async (url, init) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => gate.push(resolve));
    inFlight--;
    return sandbox.fetch(url, init);
  };
  const events = memoryEvents();
  const engine = createEngine({ wasm, config: { crm: keapCrm(), passwordMode: 'link', linkUrl: 'https://members.example.com/set-password' }, events, directory: memoryDirectory(wasm), fetch, rateLimit: 0, maxRunning: 2 });
  // Posts naming only a contact id (the sandbox's four): each workflow starts by loading it.
  const runs = [];
  for (const id of [101, 103, 105, 107]) runs.push(...(await engine.accept('keap_post', ...post(`contactId=${id}`))).runs);
  assert.equal(runs.length, 4);
  // Every event is recorded as running before any of them has its turn.
  assert.equal((await events.counts()).running, 4);
  const finals = Promise.all(runs.map((r) => r.done));
  while (gate.length || engine.runningCount) {
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(inFlight <= 2, `${inFlight} workflows at the CRM at once`);
    gate.shift()?.();
  }
  const ends = await finals;
  assert.equal(most, 2);
  assert.deepEqual(ends.map((f) => f.state), ['done', 'done', 'done', 'done'], JSON.stringify(ends.map((f) => f.code ?? f.outcome?.outcome)));
});

test('a backlog of resumed events never takes the slots kept for fresh posts', async () => {
  const sandbox = createKeapSandbox({ rateLimit: false });
  const events = memoryEvents();
  const directory = memoryDirectory(wasm);
  const config = { crm: keapCrm(), passwordMode: 'link', linkUrl: 'https://members.example.com/set-password' };
  // A first engine records three posts and dies before any CRM answer (its fetch never settles).
  const dead = createEngine({ wasm, config, events, directory, fetch: () => new Promise(() => {}), rateLimit: 0 });
  for (const id of [101, 103, 105]) await dead.accept('keap_post', ...post(`contactId=${id}`));
  assert.equal((await events.counts()).running, 3);

  // The next engine resumes them in the background line, two slots in all.
  const asked = [];
  const gate = [];
  const fetch = async (url, init) => {
    asked.push(new URL(url).pathname);
    await new Promise((resolve) => gate.push(resolve));
    return sandbox.fetch(url, init);
  };
  const engine = createEngine({ wasm, config, events, directory, fetch, rateLimit: 0, maxRunning: 2 });
  await engine.resumeUnfinished();
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(asked.length, 1, `one resumed event at the CRM, the others wait: ${JSON.stringify(asked)}`);
  // A fresh post takes the slot kept for it at once.
  const fresh = (await engine.accept('keap_post', ...post('contactId=107'))).runs[0];
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(asked.length, 2, JSON.stringify(asked));
  assert.match(asked[1], /\/107$/);
  while (gate.length || engine.runningCount) {
    gate.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal((await fresh.done).state, 'done');
  assert.equal((await events.counts()).done, 4);
});

test('engine.register: a contact registered without a post to build and parse, recorded with its source', async () => {
  const { engine, events } = traced();
  const accepted = await engine.register('101', { email: 'Ada.Lovelace@Example.com', source: 'bulk', background: true });
  const final = await accepted.runs[0].done;
  assert.equal(final.outcome.outcome, 'created');
  assert.equal(final.outcome.member.email, 'ada.lovelace@example.com');
  const e = await events.get(accepted.runs[0].eventId);
  assert.equal(e.source, 'bulk');
  assert.equal(e.status, 'done');
  // The same checks as a post's: a contact id that is not one, an email that is not one.
  await assert.rejects(engine.register('12ab'), (err) => err.code === 'invalid_contact_id');
  await assert.rejects(engine.register('103', { email: 'not an email' }), (err) => err.code === 'invalid_email');
});

test('an event whose record is committed but not yet durable is not started a second time by a resume or a retry', async () => {
  const { engine, events, trail } = traced();
  // The store makes the record visible at once and durable later (js/store/sqlite.mjs).
  let release;
  const gate = new Promise((r) => (release = r));
  const accept = events.accept.bind(events);
  events.accept = async (evs) => {
    await accept(evs);
    await gate;
  };
  const pending = engine.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&FirstName=Ada&LastName=Lovelace&Groups=91'));
  await new Promise((r) => setImmediate(r));
  const [recorded] = await events.unfinished();
  assert.ok(recorded, 'the record is visible before it is durable');
  assert.equal(await engine.resumeUnfinished(), 1);
  assert.deepEqual(await engine.retry(recorded.id), { state: 'running' });
  assert.equal(engine.runningCount, 0, 'nothing started before the record is durable');
  release();
  const final = await (await pending).runs[0].done;
  await engine.idle();
  assert.equal(final.outcome.outcome, 'created');
  assert.equal(trail.filter((t) => t.what === 'directory insert').length, 1, JSON.stringify(trail.map((t) => t.what)));
  assert.equal(trail.filter((t) => t.kind === 'write' && t.what.startsWith('crm ')).length, 2, 'each CRM write once');
});

test('a resume leaves a parked event to its retry schedule; a run asked for outright retries it', async () => {
  const { engine, events, trail } = traced();
  const accepted = await engine.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&FirstName=Ada&LastName=Lovelace&Groups=91'));
  const id = accepted.runs[0].eventId;
  await accepted.runs[0].done;
  // Parked since (as a thread that died might have left it, its answer never sent).
  await events.park(id, { code: 'crm_unavailable', reason: 'the CRM did not answer' }, (await events.get(id)).state);
  trail.length = 0;
  const resumed = await engine.runEvent(id, undefined, undefined, { resumeOnly: true });
  assert.equal(resumed.state, 'pending');
  assert.equal(resumed.code, 'crm_unavailable');
  assert.deepEqual(trail, [], 'nothing ran');
  assert.equal((await events.get(id)).status, 'pending');
  const outright = await engine.runEvent(id);
  assert.equal(outright.state, 'done');
});

test('a SQL directory answers the workflow with its rows, which step reads as they are; a row no store writes is refused', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openSqlite } = await import('../../js/store/sqlite.mjs');
  const { sqlStore } = await import('../../js/adapters/sql-store.mjs');
  const dir = await mkdtemp(join(tmpdir(), 'mw-driver-rows-'));
  const db = await openSqlite(dir);
  t.after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const store = sqlStore(wasm, db);
  const answers = [];
  const apply = store.directory.apply;
  store.directory.apply = async (op, row, opts) => {
    const r = await apply(op, row, opts);
    answers.push({ op: op.op, rows: opts?.rows === true, member: r.member ?? null });
    return r;
  };
  const sandbox = createKeapSandbox({ rateLimit: false });
  const engine = createEngine({ wasm, config: { crm: keapCrm(), passwordMode: 'link', linkUrl: 'https://members.example.com/set-password' }, events: store.events, directory: store.directory, fetch: (u, i) => sandbox.fetch(u, i), rateLimit: 0 });
  const accepted = await engine.accept('keap_post', ...post('Id=101&Email=Ada.Lovelace%40Example.com&FirstName=Ada&Groups=91'));
  const final = await accepted.runs[0].done;
  assert.equal(final.outcome.outcome, 'created', JSON.stringify(final));
  const withMember = answers.filter((a) => a.member);
  assert.ok(withMember.length >= 3, JSON.stringify(answers.map((a) => a.op)));
  for (const a of answers) assert.ok(a.rows, `${a.op} was asked for rows`);
  for (const a of withMember) {
    assert.equal(typeof a.member.data, 'string', `${a.op} answered with the row`);
    assert.equal(typeof a.member.seq, 'number');
  }
  // What the workflow read from the rows is what the directory holds: the member as a record.
  const stored = await store.directory.apply({ op: 'get_by_email', email: 'ada.lovelace@example.com' });
  assert.equal(stored.member.id, `m${withMember.at(-1).member.seq}`);
  assert.deepEqual(stored.member.tags, [{ id: '91' }]);
  assert.equal(stored.member.credentials, 'link_issued');
  assert.equal(stored.member.welcome, 'sent');
  // A repeat post finds her through the rows and changes nothing.
  const again = await (await engine.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&Groups=91'))).runs[0].done;
  assert.equal(again.outcome.outcome, 'existing', JSON.stringify(again));

  // A row no SQL store writes (a negative version, data that is not an object) is an error
  // naming the field's kind of problem, not a member.
  const reg = new wasm.Registrar({ crm: keapCrm(), passwordMode: 'link', linkUrl: 'https://members.example.com/set-password' });
  for (const bad of [{ version: -1 }, { data: '[1]' }, { data: '{' }, { email: 7 }]) {
    const wf = reg.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&Groups=91'), Date.now()).workflows[0];
    const s = wf.step(undefined, Date.now());
    assert.equal(s.effect.type, 'directory');
    const row = { ...withMember.at(-1).member, ...bad };
    assert.throws(() => wf.step({ type: 'directory', result: { result: 'found', member: row } }, Date.now()), (err) => err.code === 'invalid_field' && /directory answer/.test(err.message), JSON.stringify(bad));
    wf.free();
  }
  // An answer without a member is read field by field too: nothing found by the contact key
  // moves the workflow on to the email; a result that is not a name is refused.
  const wf = reg.accept('keap_post', ...post('Id=101&Email=ada.lovelace%40example.com&Groups=91'), Date.now()).workflows[0];
  assert.deepEqual(wf.step(undefined, Date.now()).effect.op, { op: 'get_by_contact', key: 'keap:default:101' });
  assert.throws(() => wf.step({ type: 'directory', result: { result: 7, member: null } }, Date.now()), (err) => err.code === 'invalid_field');
  const next = wf.step({ type: 'directory', result: { result: 'found', member: null } }, Date.now());
  assert.deepEqual(next.effect.op, { op: 'get_by_email', email: 'ada.lovelace@example.com' });
  wf.free();
});
