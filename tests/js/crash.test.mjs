// SIGKILL mid-flow: the real CLI runs against a Keap sandbox served from this process (so its
// audit log is visible), with every CRM request slowed down. Ten posts are accepted, the server is
// killed at a chosen moment, restarted on the same data directory with the CRM fast again, and
// every accepted event must complete: one member per contact, a working set-password link, the
// welcome tag applied exactly once, after the link it announces was in the CRM.
//
// Run: node --test tests/js/crash.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { listen } from '../../js/server/http-bridge.mjs';
import {
  FORM,
  JSON_TYPE,
  KEAP,
  KEAP_DEFAULT_API_KEY,
  createKeapSandbox,
  createSecrets,
  eventCounts,
  fetchJson,
  keapField,
  makeKey,
  removeDir,
  startServer,
  tempDir,
  tokenOf,
  waitFor,
} from './support/registration.mjs';

const secrets = createSecrets();
const key = secrets.add(makeKey());
const sandbox = createKeapSandbox({ rateLimit: false });
/** contact id -> the link field's content when the welcome tag was applied (what the email merges). */
const emailed = new Map();
let crm;
const dirs = [];
const servers = [];

before(async () => {
  // In front of the sandbox: note what the welcome email would carry, at the moment the tag
  // request arrives for a contact that does not have the tag yet.
  crm = await listen(async (request) => {
    const m = /^\/crm\/rest\/v1\/contacts\/(\d+)\/tags$/.exec(new URL(request.url).pathname);
    if (m && request.method === 'POST') {
      const c = sandbox.contact(m[1]);
      if (c && !c.tag_ids.includes(KEAP.welcomeTag)) emailed.set(m[1], keapField(c, KEAP.linkField));
    }
    return sandbox.handle(request);
  });
});

after(async () => {
  for (const s of servers) await s.kill();
  await crm?.close();
  for (const d of dirs) await removeDir(d);
});

const env = () => ({
  MEMBERWIRE_KEY: key,
  MEMBERWIRE_KEAP_TOKEN: KEAP_DEFAULT_API_KEY,
  MEMBERWIRE_PASSWORD_FIELD: KEAP.passwordField,
  MEMBERWIRE_LINK_FIELD: KEAP.linkField,
  MEMBERWIRE_WELCOME_TAG: KEAP.welcomeTag,
});

function start(dataDir, budgetMs) {
  return startServer({
    dataDir,
    args: ['--crm', 'keap', '--crm-url', `${crm.url}/crm/rest`, '--budget-ms', String(budgetMs)],
    env: env(),
    secrets,
  }).then((s) => {
    servers.push(s);
    return s;
  });
}

const post = (url, body, type = FORM) =>
  fetchJson(`${url}/hooks/keap`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${key}` }, body });

const ROUNDS = [
  {
    name: 'killed as soon as every post was accepted (budget 0: answered once recorded)',
    budgetMs: 0,
    phase: 'before',
    killWhen: () => true,
  },
  {
    name: 'killed while link fields are being written (CRM answers lost after committing)',
    budgetMs: 150,
    phase: 'after',
    killWhen: (mine) => sandbox.fieldWrites().filter((w) => mine.has(w.contactId)).length >= 3,
  },
  {
    name: 'killed while welcome tags are being applied (CRM answers lost after committing)',
    budgetMs: 150,
    phase: 'after',
    killWhen: (mine) => sandbox.tagApplications().filter((a) => mine.has(a.contactId)).length >= 3,
  },
];

for (const [round, r] of ROUNDS.entries()) {
  test(`SIGKILL mid-flow, ${r.name}: every accepted event completes once after a restart`, { timeout: 90_000 }, async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const contacts = Array.from({ length: 10 }, (_, i) => ({
      id: String(5001 + round * 100 + 2 * i),
      email: `Crash${round}.Member${i}@Example.COM`,
    }));
    const mine = new Set(contacts.map((c) => c.id));
    for (const c of contacts) sandbox.addContact({ id: Number(c.id), given_name: 'Crash', family_name: `Member ${c.id}`, email: c.email });

    // Every CRM request takes 300 ms (before or after it changes anything).
    sandbox.clearFaults();
    sandbox.injectFaults(Array.from({ length: 200 }, () => ({ delayMs: 300, phase: r.phase })));

    const first = await start(dataDir, r.budgetMs);
    assert.equal(first.accessKey, null, 'MEMBERWIRE_KEY is set: no key is generated');
    // Half campaign posts (id only: the contact is loaded), half full posts.
    const answers = await Promise.all(
      contacts.map((c, i) =>
        post(first.url, i % 2 ? `Id=${c.id}&Email=${encodeURIComponent(c.email)}&Groups=91` : `contactId=${c.id}`),
      ),
    );
    for (const a of answers) {
      assert.ok(a.status === 200 || a.status === 202, `post answered ${a.status}: ${a.text}`);
      assert.ok(['created', 'queued'].includes(a.body.outcome), a.text);
    }
    const acceptedEvents = new Set(answers.map((a) => a.body.event));
    assert.equal(acceptedEvents.size, 10);

    await waitFor(() => r.killWhen(mine), { timeoutMs: 20_000, everyMs: 5, what: 'the moment to kill' });
    const killed = await first.kill();
    assert.equal(killed.signal, 'SIGKILL');
    const appliedAtKill = sandbox.tagApplications().filter((a) => mine.has(a.contactId)).length;
    assert.ok(appliedAtKill < 10, `the kill came after every workflow was done (${appliedAtKill} tags applied)`);

    // Restart on the same data directory with the CRM fast again.
    sandbox.clearFaults();
    const second = await start(dataDir, 10_000);
    assert.match(second.stdout(), /events: 10\b/);
    const counts = await waitFor(
      async () => {
        const c = await eventCounts(second.url, key);
        return c.done === 10 && c.running === 0 && c.pending === 0 ? c : null;
      },
      { timeoutMs: 30_000, everyMs: 100, what: 'every accepted event to complete' },
    );
    assert.equal(counts.total, 10);

    // One member per contact: a repeated post finds it (existing), with a distinct id each.
    const ids = new Map();
    for (const c of contacts) {
      const a = await post(second.url, `Id=${c.id}&Email=${encodeURIComponent(c.email.toLowerCase())}&Groups=91`);
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body.outcome, 'existing', `contact ${c.id}: ${a.body.outcome}`);
      assert.equal(a.body.member.contactId, c.id);
      assert.equal(a.body.member.email, c.email.toLowerCase());
      ids.set(c.id, a.body.member.id);
    }
    assert.equal(new Set(ids.values()).size, 10);

    for (const c of contacts) {
      // The welcome tag: applied exactly once, never as a duplicate.
      const applied = sandbox.tagApplications().filter((a) => a.contactId === c.id && a.tagId === KEAP.welcomeTag && a.action === 'apply');
      assert.equal(applied.length, 1, `contact ${c.id}: welcome tag applied ${applied.length} times`);
      assert.equal(applied[0].duplicate, false);
      // The link field holds a set-password link.
      const link = keapField(sandbox.contact(c.id), KEAP.linkField);
      assert.ok(tokenOf(link), `contact ${c.id} has no set-password link`);
      secrets.add(tokenOf(link));
      assert.match(link, /\/set-password#token=/);
    }

    // The link the welcome email carried (the field when the tag was applied) works.
    for (const c of contacts) {
      const sent = emailed.get(c.id);
      const token = tokenOf(sent);
      assert.ok(token, `contact ${c.id}: the welcome tag was applied while the link field was empty`);
      secrets.add(token);
      const set = await fetchJson(`${second.url}/set-password`, {
        method: 'POST',
        headers: { 'content-type': JSON_TYPE },
        body: JSON.stringify({ token, password: secrets.add(`Crash-proof-passphrase-${c.id}`) }),
      });
      assert.equal(set.status, 200, `contact ${c.id}: the emailed link does not work: ${secrets.redact(set.text)}`);
      assert.equal(set.body.email, c.email.toLowerCase());
    }

    // Through the server once more: exactly ten members in the directory, nothing left to resume.
    assert.deepEqual(await second.stop(), { code: 0, signal: null }, `second: graceful stop failed: ${secrets.redact(second.stderr() + second.stdout().slice(-400))}`);
    const third = await start(dataDir, 10_000);
    assert.match(third.stdout(), /members: 10\b/);
    assert.ok(!/resumed:/.test(third.stdout()));
    assert.deepEqual(await third.stop(), { code: 0, signal: null }, `third: graceful stop failed: ${secrets.redact(third.stderr() + third.stdout())}`);

    for (const s of [first, second, third]) secrets.assertAbsent(s.stdout() + s.stderr(), 'the server log');
  });
}
