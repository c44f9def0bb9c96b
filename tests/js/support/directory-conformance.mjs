// The directory port's conformance suite: scripted cases run against the in-memory reference
// (the core's MemoryDirectory in wasm) and against a candidate adapter, answer by answer. An
// adapter that answers anything differently fails. Used by tests/js/directory-conformance.test.mjs
// (SQLite) and tests/js/workerd-d1.test.mjs (D1 in workerd).

import assert from 'node:assert/strict';
import { memoryDirectory } from '../../../js/adapters/directory.mjs';

const T0 = 1_700_000_000_000;
/** A bcrypt hash's shape (stores may refuse anything else as a password hash). */
const HASH = '$2y$10$PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP';

export const keapKey = (id) => `keap:default:${id}`;

export function member(email, { contactId, firstName, tags = [], passwordHash, createdBy } = {}) {
  return {
    email,
    ...(contactId ? { contact: { crm: 'keap', account: 'default', contactId } } : {}),
    ...(firstName ? { firstName } : {}),
    tags,
    credentials: 'none',
    welcome: 'not_sent',
    ...(passwordHash ? { passwordHash } : {}),
    ...(createdBy ? { createdBy } : {}),
    createdAt: T0,
    updatedAt: T0,
  };
}

/**
 * The scripted cases: each step is an op, or a function of the answers so far returning one
 * (so a later step can name the version an earlier answer gave).
 */
export const SCRIPT = [
  ['insert a member with a contact', () => ({ op: 'insert', member: member('Ann@Example.com', { contactId: '101', firstName: 'Ann', tags: [{ id: '91' }] }) })],
  ['the same contact again, another email', () => ({ op: 'insert', member: member('other@example.com', { contactId: '101' }) })],
  ['the same email in other case, another contact', () => ({ op: 'insert', member: member('ANN@EXAMPLE.COM', { contactId: '102' }) })],
  ['a member without a contact', () => ({ op: 'insert', member: member('bob@example.com', { tags: [{ name: 'Gold' }] }) })],
  ['a member with a password hash', () => ({ op: 'insert', member: member('cy@example.com', { contactId: '103', passwordHash: '$2y$10$abcdefghijklmnopqrstuuQWERTYUIOPASDFGHJKLZXCVBNM12345', createdBy: 'ev_1' }) })],
  ['find by contact', () => ({ op: 'get_by_contact', key: keapKey('101') })],
  ['find by contact: none', () => ({ op: 'get_by_contact', key: keapKey('999') })],
  ['find by email in other case', () => ({ op: 'get_by_email', email: ' ann@EXAMPLE.com ' })],
  ['find by email: none', () => ({ op: 'get_by_email', email: 'nobody@example.com' })],
  ['update: a new email', (a) => ({ op: 'update', member: { ...a[0].member, email: 'ann.new@example.com', firstName: 'Annie', updatedAt: T0 + 1 } })],
  ['the old email is free again', () => ({ op: 'insert', member: member('ann@example.com', { contactId: '104' }) })],
  ['update with a stale version', (a) => ({ op: 'update', member: { ...a[0].member, lastName: 'Lee' } })],
  ['update taking an email another member holds', (a) => ({ op: 'update', member: { ...a[9].member, email: 'BOB@example.com' } })],
  ['update taking a contact another member holds', (a) => ({ op: 'update', member: { ...a[3].member, contact: { crm: 'keap', account: 'default', contactId: '101' } } })],
  ['update linking a contact to a member without one', (a) => ({ op: 'update', member: { ...a[3].member, contact: { crm: 'keap', account: 'default', contactId: '105' } } })],
  ['update of an unknown member', () => ({ op: 'update', member: { ...member('zed@example.com'), id: 'm99', version: 1 } })],
  ['update over the limits', (a) => ({ op: 'update', member: { ...a[9].member, firstName: 'x'.repeat(5000) } })],
  ['insert over the limits', () => ({ op: 'insert', member: member('long@example.com', { tags: Array.from({ length: 5000 }, (_, i) => ({ id: String(i) })) }) })],
  ['insert with a blank tag', () => ({ op: 'insert', member: member('blank@example.com', { tags: [{ name: '  ' }] }) })],
  ['update trying to change the password hash', (a) => ({ op: 'update', member: { ...a[4].member, passwordHash: '$2y$10$ZZZZZZZZZZZZZZZZZZZZZZ', firstName: 'Cy' } })],
  ['the contact moves: the old contact key is released', (a) => ({ op: 'update', member: { ...a[14].member, contact: { crm: 'keap', account: 'default', contactId: '106' } } })],
  ['the released contact key can be claimed', () => ({ op: 'insert', member: member('dee@example.com', { contactId: '105' }) })],
  ['put a token', (a) => ({ op: 'put_token', tokenHash: 'a'.repeat(64), memberId: a[3].member.id, expiresAt: T0 + 1000 })],
  ['put a second token: it replaces the first', (a) => ({ op: 'put_token', tokenHash: 'b'.repeat(64), memberId: a[3].member.id, expiresAt: T0 + 1000 })],
  ['the first token is gone', () => ({ op: 'consume_token', tokenHash: 'a'.repeat(64), now: T0 })],
  ['the second token works once', () => ({ op: 'consume_token', tokenHash: 'b'.repeat(64), now: T0 })],
  ['and only once', () => ({ op: 'consume_token', tokenHash: 'b'.repeat(64), now: T0 })],
  ['a token for an unknown member', () => ({ op: 'put_token', tokenHash: 'c'.repeat(64), memberId: 'm99', expiresAt: T0 + 1000 })],
  ['a token for another member', (a) => ({ op: 'put_token', tokenHash: 'd'.repeat(64), memberId: a[0].member.id, expiresAt: T0 + 5 })],
  ['an expired token', () => ({ op: 'consume_token', tokenHash: 'd'.repeat(64), now: T0 + 5 })],
  ['set a password', (a) => ({ op: 'set_password', memberId: a[0].member.id, passwordHash: HASH, now: T0 + 7 })],
  ['set a password: unknown member', () => ({ op: 'set_password', memberId: 'm99', passwordHash: HASH, now: T0 + 7 })],
  ['set a password: not a member id', () => ({ op: 'set_password', memberId: 'nope', passwordHash: HASH, now: T0 + 7 })],
  ['the member after all that', () => ({ op: 'get_by_contact', key: keapKey('101') })],
];

/** Runs SCRIPT on one directory: the answers in order. */
export async function runScript(directory) {
  const answers = [];
  for (const [, step] of SCRIPT) answers.push(await directory.apply(step(answers)));
  return answers;
}

/** The member ids in `answers`, in the order they first appear. */
function idsIn(answers) {
  const ids = [];
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.id === 'string' && /^m[0-9]+$/.test(v.id) && !ids.includes(v.id)) ids.push(v.id);
      Object.values(v).forEach(walk);
    }
  };
  walk(answers);
  return ids;
}

/**
 * `value` with every member id renamed by its place in `ids` (m1, m2, ...): stores number their
 * members their own way (WordPress user ids), and the suite compares everything else.
 */
function renamed(value, ids) {
  const map = new Map(ids.map((id, i) => [id, `m${i + 1}`]));
  const walk = (v) => {
    if (typeof v === 'string') return map.get(v) ?? v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** What a directory shows hosts once the script ran: each member, a search, the access index, a plan. */
export async function views(directory, ids = Array.from({ length: 12 }, (_, i) => `m${i + 1}`)) {
  const members = [];
  for (const id of ids) members.push(await directory.get(id));
  const csv = 'Id,Email\n101,ann.new@example.com\n555,BOB@example.com\n556,new@example.com\n';
  return {
    members,
    size: await directory.size(),
    searchAll: await directory.search('', 0, 50),
    searchAnn: await directory.search('ANN', 0, 50),
    searchPage: await directory.search('', 2, 2),
    index: JSON.parse(await directory.accessIndexJson()).sort((a, b) => (a.id < b.id ? -1 : 1)),
    plan: await directory.planImport(csv, 'keap', 'default'),
  };
}

/**
 * Holds `candidate` (a fresh, empty directory) to the reference, answer by answer. Member ids
 * are compared by the order in which members appear (a store may number them its own way).
 */
export async function assertConforms(wasm, candidate) {
  const reference = memoryDirectory(wasm);
  const want = await runScript(reference);
  const got = (await runScript(candidate)).map((answer, i) => {
    // A directory that keeps passwords itself (WordPress) adds its own set-password link to
    // token_stored: an http(s) URL, checked here and left out of the comparison (it is a secret:
    // never printed).
    if (answer?.result !== 'token_stored' || answer.link === undefined) return answer;
    const { link, ...rest } = answer;
    assert.ok(typeof link === 'string' && /^https?:\/\/[\x21-\x7e]+$/.test(link), `step ${i} (${SCRIPT[i][0]}): the directory's link is not an http(s) URL`);
    return rest;
  });
  const wantIds = idsIn(want);
  const gotIds = idsIn(got);
  for (let i = 0; i < SCRIPT.length; i++) {
    assert.deepStrictEqual(renamed(got[i], gotIds), renamed(want[i], wantIds), `step ${i} (${SCRIPT[i][0]}): the adapter answered differently from the reference`);
  }
  assert.deepStrictEqual(
    renamed(await views(candidate, gotIds), gotIds),
    renamed(await views(reference, wantIds), wantIds),
    'what hosts see of the directory differs from the reference',
  );
}

/**
 * Concurrent claims: `n` inserts of one contact with the email in different cases, `n` of one
 * email for different contacts, and `n` updates naming the same version, all at once.
 */
export async function assertRaces(candidate, n = 50) {
  const sameContact = await Promise.all(
    Array.from({ length: n }, (_, i) => candidate.apply({ op: 'insert', member: member(i % 2 ? `Race${i}@Example.com` : `race${i}@example.com`, { contactId: '7001' }) })),
  );
  const won = sameContact.filter((r) => r.result === 'inserted');
  assert.equal(won.length, 1, 'exactly one insert of a contact wins');
  for (const r of sameContact) if (r.result !== 'inserted') assert.deepEqual([r.result, r.on, r.member.id], ['exists', 'contact', won[0].member.id]);

  const sameEmail = await Promise.all(
    Array.from({ length: n }, (_, i) => candidate.apply({ op: 'insert', member: member(i % 2 ? 'Same@Example.COM' : 'same@example.com', { contactId: String(8000 + i) }) })),
  );
  const wonEmail = sameEmail.filter((r) => r.result === 'inserted');
  assert.equal(wonEmail.length, 1, 'exactly one insert of an email wins, whatever its case');
  for (const r of sameEmail) if (r.result !== 'inserted') assert.deepEqual([r.result, r.on, r.member.id], ['exists', 'email', wonEmail[0].member.id]);

  const base = won[0].member;
  const updates = await Promise.all(Array.from({ length: n }, (_, i) => candidate.apply({ op: 'update', member: { ...base, firstName: `N${i}` } })));
  assert.equal(updates.filter((r) => r.result === 'updated').length, 1, 'exactly one update of a version wins');
  assert.equal(updates.filter((r) => r.result === 'stale').length, n - 1);
  const after = await candidate.apply({ op: 'get_by_contact', key: keapKey('7001') });
  assert.equal(after.member.version, 2);
}
