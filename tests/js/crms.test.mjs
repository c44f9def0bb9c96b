// Registration end to end through each CRM added after Keap and ActiveCampaign (Kit, Drip,
// MailerLite, HighLevel, HubSpot, Mailchimp): the CRM's own webhook arrives at its route, memberwire loads the
// contact through the CRM's API (its sandbox, js/sandbox/*.mjs), creates the member, writes the
// set-password link into the CRM's field, then applies the welcome tag once; a repeat is
// `existing`; another contact with the member's email is a `conflict`; the link sets a password
// once; crm mode takes an acceptable password from the CRM record.
// Run: node --test tests/js/crms.test.mjs

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';

import { createRig, createSecrets, CRMS, tokenOf, JSON_TYPE } from './support/registration.mjs';
import { HIGHLEVEL_DEFAULT_LOCATION } from '../../js/sandbox/highlevel.mjs';
import { DRIP_DEFAULT_ACCOUNT } from '../../js/sandbox/drip.mjs';
import { MAILCHIMP_DEFAULT_LIST, MAILCHIMP_DEFAULT_API_KEY } from '../../js/sandbox/mailchimp.mjs';
import { createHash } from 'node:crypto';

const md5 = (s) => createHash('md5').update(s).digest('hex');

const secrets = createSecrets();
const answersSeen = [];
after(() => {
  for (const a of answersSeen) secrets.assertAbsent(a.text, `${a.method} ${a.path}`);
});

const LINK = /^https:\/\/members\.example\/set-password#token=[A-Za-z0-9_-]{32,}$/;

/**
 * Per CRM: its route, a webhook naming a seeded contact that has no member yet (`fresh`), a
 * second seeded contact (`other`), the contact whose CRM record holds a password (`withPassword`),
 * and the webhook body for a contact id and an email, in the CRM's own shape.
 */
const CASES = {
  kit: {
    route: '/hooks/kit',
    // Kit's own record names the email (it wins over the webhook's, which Kit's update writes
    // back): the clash is with a member another source made for that email.
    conflictViaJson: true,
    fresh: { id: 3120002, email: 'grace.hopper@example.com' },
    other: 3120004,
    withPassword: { id: 3120001, email: 'ada.lovelace@example.com' },
    body: (id, email) => ({ subscriber: { id, first_name: 'Grace', email_address: email, state: 'active', created_at: '2026-11-30T09:00:00Z', fields: {} } }),
  },
  drip: {
    route: '/hooks/drip',
    fresh: { id: 'q8m3vx0dl5nhs2kbwa7e', email: 'grace.hopper@example.com' },
    other: 'h7wf2ka5nq0gl8cdvz4s',
    withPassword: { id: 'z1togz2hcjrkpp5treip', email: 'ada.lovelace@example.com' },
    body: (id, email) => ({
      event: 'subscriber.applied_tag',
      data: { account_id: DRIP_DEFAULT_ACCOUNT, subscriber: { id, email, first_name: 'Grace', last_name: 'Hopper', tags: ['Gold Member'], custom_fields: {} }, properties: { tag: 'Gold Member' } },
      occurred_at: '2026-11-30T09:00:00Z',
    }),
  },
  highlevel: {
    route: '/hooks/highlevel',
    fresh: { id: 'At7TrN4kWq9bXs2LpC5v', email: 'alan@turing.example' },
    other: 'Kj3JnS8vPz6mRq1TxB4w',
    withPassword: { id: 'Gr8HpQ2wLx5nVc3ZtM6k', email: 'grace.hopper@example.org' },
    body: (id, email) => ({ contact_id: id, first_name: 'Alan', last_name: 'Turing', email, tags: 'gold member, newsletter', location: { id: HIGHLEVEL_DEFAULT_LOCATION } }),
  },
  hubspot: {
    route: '/hooks/hubspot',
    fresh: { id: '201', email: 'alan.turing@example.net' },
    other: '112233445566',
    withPassword: { id: '151', email: 'grace.hopper@example.org' },
    // A workflow webhook with the properties the owner picked.
    body: (id, email) => ({ hs_object_id: id, email, firstname: 'Alan', lastname: 'Turing' }),
  },
  mailchimp: {
    route: '/hooks/mailchimp',
    form: true,
    // A member's id is the MD5 of its lower-cased email: another contact cannot have its email.
    noConflict: true,
    fresh: { id: md5('alan.turing@example.net'), email: 'alan.turing@example.net' },
    withPassword: { id: md5('grace.hopper@example.org'), email: 'grace.hopper@example.org' },
    body: (id, email) =>
      new URLSearchParams({ type: 'subscribe', fired_at: '2026-11-30 09:00:00', 'data[id]': '8a25ff1d98', 'data[list_id]': MAILCHIMP_DEFAULT_LIST, 'data[email]': email, 'data[email_type]': 'html', 'data[merges][EMAIL]': email, 'data[merges][FNAME]': 'Alan', 'data[merges][LNAME]': 'Turing' }).toString(),
  },
  mailerlite: {
    route: '/hooks/mailerlite',
    fresh: { id: '32005011548914739', email: 'alan@turing.example' },
    other: '32005011549963320',
    withPassword: { id: '31986843064993537', email: 'grace.hopper@example.org' },
    body: (id, email) => ({
      type: 'subscriber.added_to_group',
      subscriber: { id, email, fields: { name: 'Alan', last_name: 'Turing' } },
      group: { id: '102817459301155841', name: 'Gold Member' },
      account_id: '1234567',
    }),
  },
};

/** Posts a CRM's webhook body (JSON, or a form for Mailchimp). */
const send = (r, c, body) => (c.form ? r.post(c.route, body) : r.postJson(c.route, body));

async function rigFor(kind, options = {}) {
  const r = await createRig({ crm: kind, secrets, ...options });
  after(() => answersSeen.push(...r.answers));
  return r;
}

/** Whether a field write in a sandbox's audit is to `field` (an id, or a key made from a label). */
const isField = (x, field) => [String(x.fieldId), String(x.label), String(x.label).toLowerCase().replace(/[^a-z0-9]+/g, '_')].includes(String(field));

/** The welcome tag's applications in the sandbox's audit. */
function welcomeOf(r, kind, contactId) {
  const wanted = String(CRMS[kind].config().welcomeTag).toLowerCase();
  const applied = r.sandbox
    .tagApplications()
    .filter((x) => x.action === 'apply' && String(x.contactId) === String(contactId) && [String(x.tagId).toLowerCase(), String(x.tagName).toLowerCase()].includes(wanted));
  return applied;
}

for (const [kind, c] of Object.entries(CASES)) {
  describe(kind, () => {
    test(`${kind}: created through its API, the set-password link written, then the welcome tag, once; a repeat is existing`, async () => {
      const r = await rigFor(kind);
      const a = await send(r, c, c.body(c.fresh.id, c.fresh.email));
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body.outcome, 'created');
      assert.equal(a.body.member.contactId, String(c.fresh.id));
      assert.equal(a.body.member.email, c.fresh.email);

      // The link is in the CRM's field, written before the welcome tag was applied.
      const link = CRMS[kind].link(r.sandbox, c.fresh.id);
      assert.match(link ?? '', LINK);
      secrets.add(tokenOf(link));
      const write = r.sandbox.fieldWrites().find((x) => String(x.contactId) === String(c.fresh.id) && isField(x, CRMS[kind].config().linkField));
      const welcome = welcomeOf(r, kind, c.fresh.id);
      assert.ok(write, `the link field write is in the ${kind} sandbox's audit`);
      assert.equal(welcome.length, 1, 'the welcome tag, once');
      assert.ok(write.seq < welcome[0].seq, 'the link field was written before the welcome tag was applied');
      assert.equal((await r.directory.get(a.body.member.id)).credentials, 'link_issued');

      const b = await send(r, c, c.body(c.fresh.id, c.fresh.email));
      assert.equal(b.body.outcome, 'existing', b.text);
      assert.equal(b.body.member.id, a.body.member.id);
      assert.equal(welcomeOf(r, kind, c.fresh.id).length, 1, 'no second welcome');
      assert.equal(await r.directory.size(), 1);

      // The link sets a password once.
      const password = secrets.add(`${kind}-Member-Password-2026`);
      const set = await r.postJson('/set-password', { token: tokenOf(link), password });
      assert.equal(set.status, 200, set.text);
      assert.equal((await r.directory.get(a.body.member.id)).credentials, 'password');
      assert.equal((await r.postJson('/set-password', { token: tokenOf(link), password })).status, 400);
    });

    test(`${kind}: another contact posting the member's email is a conflict, never a second member`, { skip: c.noConflict && `${kind} names a contact by its email: no other contact can have it` }, async () => {
      const r = await rigFor(kind);
      let clash;
      let loser;
      if (c.conflictViaJson) {
        const a = await r.postJson('/hooks/json', { contact_id: 'from-a-form-1', email: c.fresh.email });
        assert.equal(a.body.outcome, 'created', a.text);
        clash = await send(r, c, c.body(c.fresh.id, c.fresh.email));
        loser = c.fresh.id;
      } else {
        const a = await send(r, c, c.body(c.fresh.id, c.fresh.email));
        assert.equal(a.body.outcome, 'created', a.text);
        clash = await send(r, c, c.body(c.other, c.fresh.email.toUpperCase()));
        loser = c.other;
      }
      assert.equal(clash.status, 200, clash.text);
      assert.equal(clash.body.outcome, 'conflict');
      assert.equal(await r.directory.size(), 1);
      assert.equal(welcomeOf(r, kind, loser).length, 0, 'no welcome for the contact that conflicted');
    });

    test(`${kind}: crm mode takes the acceptable password the CRM record holds and writes nothing back; without one, a generated password is written back`, async () => {
      const r = await rigFor(kind, { config: { passwordMode: 'crm' } });
      const a = await send(r, c, c.body(c.withPassword.id, c.withPassword.email));
      assert.equal(a.status, 200, a.text);
      assert.equal(a.body.outcome, 'created');
      const member = await r.directory.get(a.body.member.id);
      assert.equal(member.hasPassword, true);
      const writes = r.sandbox.fieldWrites().filter((x) => String(x.contactId) === String(c.withPassword.id) && isField(x, CRMS[kind].config().passwordField));
      assert.deepEqual(writes, [], 'the CRM password was acceptable: nothing generated, nothing written back');
      assert.equal(welcomeOf(r, kind, c.withPassword.id).length, 1);

      // A contact whose record holds none gets a strong generated one, written into the field.
      const b = await send(r, c, c.body(c.fresh.id, c.fresh.email));
      assert.equal(b.body.outcome, 'created', b.text);
      assert.equal((await r.directory.get(b.body.member.id)).hasPassword, true);
      const generated = r.sandbox.fieldWrites().filter((x) => String(x.contactId) === String(c.fresh.id) && isField(x, CRMS[kind].config().passwordField));
      assert.equal(generated.length, 1, 'the generated password was written back to the CRM');
      assert.ok(generated[0].length >= 16, 'a strong password');
    });

    test(`${kind}: a webhook that does not fit is a 400 naming the field, and nothing is recorded`, async () => {
      const r = await rigFor(kind);
      const bad = c.form ? await r.post(c.route, 'type=subscribe&fired_at=2026-11-30') : await r.post(c.route, JSON.stringify({ unrelated: true }), { type: JSON_TYPE });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error.code, 'missing_contact_id');
      assert.match(bad.body.error.message, c.form ? /`data\[email\]`/ : /no contact id at `/);
      assert.equal((await r.engine.counts()).total, 0, 'nothing recorded');
      assert.equal(r.sandbox.requests().length, 0);
    });
  });
}

test('mailchimp: the GET Mailchimp sends to check a webhook URL is answered 200 (with the key), 401 without it', async () => {
  const r = await rigFor('mailchimp');
  const ok = await r.call(`/hooks/mailchimp?key=${encodeURIComponent(r.key)}`);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.ok, true);
  const anon = await r.call('/hooks/mailchimp');
  assert.equal(anon.status, 401);
  // Other hook routes still take POST only.
  assert.equal((await r.call(`/hooks/kit?key=${encodeURIComponent(r.key)}`)).status, 405);
});

/** The subscriber changes the address in Mailchimp, through its API (the sandbox re-keys the member). */
async function renameInMailchimp(r, id, email) {
  const patch = await r.sandbox.fetch(`http://mailchimp.test/3.0/lists/${MAILCHIMP_DEFAULT_LIST}/members/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Basic ${Buffer.from(`any:${MAILCHIMP_DEFAULT_API_KEY}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email_address: email }),
  });
  assert.equal(patch.status, 200, await patch.text());
}

test('mailchimp: an email change (upemail) moves the member onto the new id and address; the new address posts as the same member, never a second one', async () => {
  const r = await rigFor('mailchimp');
  const c = CASES.mailchimp;
  const a = await send(r, c, c.body(c.fresh.id, c.fresh.email));
  assert.equal(a.body.outcome, 'created', a.text);

  // The subscriber changes the address in Mailchimp: its API now knows the member by the new hash.
  const renamed = 'a.m.turing@example.net';
  await renameInMailchimp(r, c.fresh.id, renamed);
  assert.ok(r.sandbox.contact(md5(renamed)), 'the sandbox names the member by the new hash');

  const change = new URLSearchParams({ type: 'upemail', fired_at: '2026-11-30 09:05:00', 'data[list_id]': MAILCHIMP_DEFAULT_LIST, 'data[new_id]': '51aa6d4f2e', 'data[new_email]': renamed, 'data[old_email]': c.fresh.email }).toString();
  const b = await r.post(c.route, change);
  assert.equal(b.status, 200, b.text);
  assert.equal(b.body.outcome, 'updated');
  assert.equal(b.body.member.id, a.body.member.id, 'the same member');
  assert.equal(b.body.member.email, renamed);
  assert.equal(b.body.member.contactId, md5(renamed));

  // Mailchimp's next post names the new address: the same member, no new credentials or welcome.
  const next = await send(r, c, c.body(md5(renamed), renamed));
  assert.equal(next.body.outcome, 'existing', next.text);
  assert.equal(next.body.member.id, a.body.member.id);
  assert.equal(await r.directory.size(), 1);
  assert.equal(welcomeOf(r, 'mailchimp', md5(renamed)).length, 0, 'no second welcome');
  // A repeat of the change delivery is answered from the member's new id.
  assert.equal((await r.post(c.route, change)).body.outcome, 'existing');
  assert.equal(await r.directory.size(), 1);
});

test('mailchimp: a post for the new address that ran before the email change leaves two members, and the change says so as a conflict naming both', async () => {
  const r = await rigFor('mailchimp');
  const c = CASES.mailchimp;
  const a = await send(r, c, c.body(c.fresh.id, c.fresh.email));
  assert.equal(a.body.outcome, 'created', a.text);
  const renamed = 'alan.m.turing@example.net';
  await renameInMailchimp(r, c.fresh.id, renamed);
  // Mailchimp's profile post for the new address is handled first: nobody holds it yet.
  const early = await send(r, c, c.body(md5(renamed), renamed));
  assert.equal(early.body.outcome, 'created', early.text);
  const change = new URLSearchParams({ type: 'upemail', 'data[list_id]': MAILCHIMP_DEFAULT_LIST, 'data[new_email]': renamed, 'data[old_email]': c.fresh.email }).toString();
  const b = await r.post(c.route, change);
  assert.equal(b.status, 200, b.text);
  assert.equal(b.body.outcome, 'conflict');
  assert.equal(b.body.conflict.reason, 'email_change_taken');
  assert.equal(b.body.conflict.otherMember, early.body.member.id);
  assert.equal(b.body.conflict.member, a.body.member.id);
  assert.equal(await r.directory.size(), 2);
});
