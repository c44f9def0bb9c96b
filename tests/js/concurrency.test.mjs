// Concurrent deliveries: 50 posts for one contact at once, and 50 posts mixing 5 contacts with
// their emails in mixed case, against the edge function in memory and against the real server
// (the CLI as a child process, its CRM a Keap sandbox served from this process so its audit log
// is visible). Exactly one member and one `created` answer per contact, the welcome tag once.
//
// Run: node --test tests/js/concurrency.test.mjs

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';

import { listen } from '../../js/server/http-bridge.mjs';
import {
  FORM,
  JSON_TYPE,
  KEAP,
  KEAP_DEFAULT_API_KEY,
  createKeapSandbox,
  createRig,
  createSecrets,
  fetchJson,
  keapField,
  makeKey,
  removeDir,
  startServer,
  tempDir,
  tokenOf,
} from './support/registration.mjs';

const secrets = createSecrets();

/** The same address in a different case for each delivery. */
function casing(email, i) {
  const variants = [
    (e) => e,
    (e) => e.toLowerCase(),
    (e) => e.toUpperCase(),
    (e) => e.replace(/[a-z]/g, (ch, at) => (at % 2 ? ch.toUpperCase() : ch)),
    (e) => `  ${e.toLowerCase()} `,
  ];
  return variants[i % variants.length](email);
}

/**
 * Checks 50 answers: one `created` per contact, the rest `existing` with the same member, one
 * welcome tag application per contact in the sandbox's audit.
 */
function assertOnePerContact(answers, contactIds, sandbox) {
  const byContact = new Map(contactIds.map((id) => [String(id), []]));
  for (const a of answers) {
    assert.equal(a.status, 200, a.text);
    const results = a.body.results ?? [a.body];
    for (const r of results) {
      assert.ok(byContact.has(r.member.contactId), `unexpected contact ${r.member.contactId}`);
      byContact.get(r.member.contactId).push(r);
    }
  }
  const memberIds = new Set();
  for (const [id, results] of byContact) {
    assert.ok(results.length > 0, `no answer for contact ${id}`);
    const created = results.filter((r) => r.outcome === 'created');
    assert.equal(created.length, 1, `contact ${id}: ${created.length} created answers`);
    for (const r of results) assert.ok(['created', 'existing'].includes(r.outcome), `contact ${id}: ${r.outcome}`);
    const ids = new Set(results.map((r) => r.member.id));
    assert.equal(ids.size, 1, `contact ${id} has ${ids.size} members`);
    memberIds.add([...ids][0]);
    const applied = sandbox.tagApplications().filter((t) => t.contactId === id && t.tagId === KEAP.welcomeTag && t.action === 'apply');
    assert.equal(applied.length, 1, `contact ${id}: welcome tag applied ${applied.length} times`);
    assert.equal(applied[0].duplicate, false);
    const link = keapField(sandbox.contact(id), KEAP.linkField);
    assert.ok(tokenOf(link), `contact ${id}: no set-password link`);
    secrets.add(tokenOf(link));
  }
  assert.equal(memberIds.size, contactIds.length, 'one distinct member per contact');
  return memberIds;
}

const FIVE = [
  { id: 4001, email: 'Mixed.Case@Example.COM' },
  { id: 4003, email: 'second.person@example.org' },
  { id: 4005, email: 'THIRD@EXAMPLE.NET' },
  { id: 4007, email: 'Fourth.Member@Sub.Example.com' },
  { id: 4009, email: 'fifth+tag@example.io' },
];

function seed(sandbox) {
  sandbox.addContact({ id: 4101, given_name: 'Solo', family_name: 'Contact', email: 'Solo.Contact@Example.com' });
  for (const c of FIVE) sandbox.addContact({ id: c.id, given_name: 'Five', family_name: String(c.id), email: c.email });
}

/** Keap HTTP post bodies: full dumps (email, tags), and campaign posts that name only the id. */
const fullPost = (c, i) => `Id=${c.id}&Email=${encodeURIComponent(casing(c.email, i))}&Groups=91`;
const idOnly = (c) => `contactId=${c.id}`;

describe('the edge function in memory', () => {
  test('50 concurrent posts for one contact (campaign posts, full dumps, REST hooks): one member', async () => {
    const r = await createRig({ secrets });
    seed(r.sandbox);
    const solo = { id: 4101, email: 'Solo.Contact@Example.com' };
    const rest = JSON.stringify({ event_key: 'contact.edit', object_type: 'contact', object_keys: [{ id: solo.id }] });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 3 === 0 ? r.post('/hooks/keap', idOnly(solo)) : i % 3 === 1 ? r.post('/hooks/keap', fullPost(solo, i)) : r.post('/hooks/keap-rest', rest, { type: JSON_TYPE }),
      ),
    );
    assertOnePerContact(answers, [solo.id], r.sandbox);
    assert.equal(await r.directory.size(), 1);
    assert.deepEqual(await r.engine.counts(), { running: 0, pending: 0, done: 50, total: 50 });
  });

  test('50 concurrent posts mixing 5 contacts, emails in mixed case: one member each', async () => {
    const r = await createRig({ secrets });
    seed(r.sandbox);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const c = FIVE[i % 5];
        return i % 4 === 3 ? r.post('/hooks/keap', idOnly(c)) : r.post('/hooks/keap', fullPost(c, Math.floor(i / 5)));
      }),
    );
    assertOnePerContact(answers, FIVE.map((c) => c.id), r.sandbox);
    assert.equal(await r.directory.size(), 5);
    for (const c of FIVE) {
      const found = await r.directory.search(c.email.toLowerCase(), 0, 10);
      assert.equal(found.total, 1, c.email);
      assert.equal(found.members[0].email, c.email.toLowerCase());
    }
  });

  test('50 concurrent generic JSON posts for one contact id, its email spelled 5 ways: one member', async () => {
    const r = await createRig({ secrets });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => r.postJson('/hooks/json', { contact_id: 'g-1', email: casing('Generic.Person@Example.com', i) })),
    );
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    const created = answers.filter((a) => a.body.outcome === 'created');
    assert.equal(created.length, 1);
    assert.equal(new Set(answers.map((a) => a.body.member.id)).size, 1);
    assert.equal(await r.directory.size(), 1);
    assert.equal((await r.directory.get(created[0].body.member.id)).email, 'generic.person@example.com');
  });

  test('50 concurrent generic JSON posts, 5 contact ids sharing one email (mixed case): never a second member', async () => {
    const r = await createRig({ secrets });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => r.postJson('/hooks/json', { contact_id: `shared-${i % 5}`, email: casing('Shared.Inbox@Example.com', i) })),
    );
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    assert.equal(answers.filter((a) => a.body.outcome === 'created').length, 1);
    for (const a of answers) assert.ok(['created', 'existing', 'linked', 'updated', 'conflict'].includes(a.body.outcome), a.text);
    assert.equal(await r.directory.size(), 1, 'an email is one member, whatever its case and however many contacts claim it');
  });
});

describe('the real server (memberwire serve --crm keap, sandbox in this process)', () => {
  const dirs = [];
  const servers = [];
  let crm;
  after(async () => {
    for (const s of servers) await s.kill();
    await crm?.close();
    for (const d of dirs) await removeDir(d);
  });

  test('50 concurrent posts for one contact, then 50 mixing 5 contacts: one member each, welcome once', { timeout: 90_000 }, async () => {
    const sandbox = createKeapSandbox({ rateLimit: false });
    seed(sandbox);
    crm = await sandbox.listen();
    const key = secrets.add(makeKey());
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const server = await startServer({
      dataDir,
      args: ['--crm', 'keap', '--crm-url', `${crm.url}/crm/rest`, '--budget-ms', '30000'],
      env: {
        MEMBERWIRE_KEY: key,
        MEMBERWIRE_KEAP_TOKEN: KEAP_DEFAULT_API_KEY,
        MEMBERWIRE_PASSWORD_FIELD: KEAP.passwordField,
        MEMBERWIRE_LINK_FIELD: KEAP.linkField,
        MEMBERWIRE_WELCOME_TAG: KEAP.welcomeTag,
      },
      secrets,
    });
    servers.push(server);
    const post = (body) => fetchJson(`${server.url}/hooks/keap`, { method: 'POST', headers: { 'content-type': FORM, 'x-memberwire-key': key }, body });

    // Full dumps (as Keap's HTTP post sends them) carry the email and tags, so most deliveries
    // need no CRM read and 50 really race on the directory; a few name only the id.
    const solo = { id: 4101, email: 'Solo.Contact@Example.com' };
    const one = await Promise.all(Array.from({ length: 50 }, (_, i) => post(i % 10 === 9 ? idOnly(solo) : fullPost(solo, i))));
    const soloMember = assertOnePerContact(one, [solo.id], sandbox);

    const mixed = await Promise.all(Array.from({ length: 50 }, (_, i) => post(fullPost(FIVE[i % 5], Math.floor(i / 5)))));
    const fiveMembers = assertOnePerContact(mixed, FIVE.map((c) => c.id), sandbox);
    assert.equal(new Set([...soloMember, ...fiveMembers]).size, 6);

    // Six members in the directory, as the server itself counts them after a restart.
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    const again = await startServer({
      dataDir,
      args: ['--crm', 'keap', '--crm-url', `${crm.url}/crm/rest`],
      env: { MEMBERWIRE_KEY: key, MEMBERWIRE_KEAP_TOKEN: KEAP_DEFAULT_API_KEY, MEMBERWIRE_LINK_FIELD: KEAP.linkField, MEMBERWIRE_WELCOME_TAG: KEAP.welcomeTag },
      secrets,
    });
    servers.push(again);
    assert.match(again.stdout(), /members: 6\b/);
    assert.match(again.stdout(), /events: 100\b/);
    assert.deepEqual(await again.stop(), { code: 0, signal: null });
    for (const a of [...one, ...mixed]) secrets.assertAbsent(a.text, 'an answer');
    secrets.assertAbsent(server.stdout() + server.stderr() + again.stdout(), 'the server log');
  });
});
