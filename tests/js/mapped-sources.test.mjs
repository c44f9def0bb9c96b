// Mapped sources: any JSON webhook read by paths an owner sets in the admin page. Against a real
// `serve()` in this process (SQLite in a temp dir, the Keap sandbox as the CRM).
// Run: node --test tests/js/mapped-sources.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { serve } from '../../js/server/serve.mjs';

const PASSWORD = 'Mapped-Sources-Admin-7';

async function start(t, dataDir) {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'mw-mapped-')));
  const srv = await serve({ port: 0, dataDir: dir, log: () => {}, bcryptCost: 4, env: {}, budgetMs: 5000 });
  t.after(() => srv.close());
  return { srv, dir };
}

async function login(srv, accessKey) {
  const headers = { 'content-type': 'application/json', origin: srv.url };
  const setup = await fetch(`${srv.url}/api/setup`, { method: 'POST', headers, body: JSON.stringify({ password: PASSWORD, accessKey }) });
  assert.equal(setup.status, 200, await setup.clone().text());
  const cookie = setup.headers.get('set-cookie').split(';')[0];
  const { csrf } = await setup.json();
  return async (method, path, body) => {
    const res = await fetch(`${srv.url}${path}`, { method, headers: { ...headers, cookie, 'x-memberwire-csrf': csrf }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
}

const ORDERS = {
  name: 'shop-orders',
  mapping: {
    each: 'orders',
    contactId: 'customer.ref',
    email: 'customer.contact.email',
    firstName: 'customer.given',
    lastName: 'customer.family',
    tags: 'products',
    eventType: 'topic',
  },
};

test('a mapped source: saved through the admin API, posts to its route register members, a post that does not fit names the path', async (t) => {
  const { srv, dir } = await start(t);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const admin = await login(srv, srv.accessKey);
  const hook = (name, body) =>
    fetch(`${srv.url}/hooks/mapped/${name}`, { method: 'POST', headers: { authorization: `Bearer ${srv.accessKey}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: await r.json() }));

  // Before it is defined, its route is an unknown source.
  const early = await hook('shop-orders', { orders: [] });
  assert.equal(early.status, 404);
  assert.equal(early.json.error.code, 'unknown_source');

  // A bad path is refused when saved, naming the source and the setting.
  const bad = await admin('PUT', '/api/sources', { sources: [{ ...ORDERS, mapping: { ...ORDERS.mapping, email: 'customer..email' } }] });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_field');
  assert.match(bad.json.error.message, /shop-orders/);
  assert.match(bad.json.error.message, /mapping `email`/);
  const badName = await admin('PUT', '/api/sources', { sources: [{ ...ORDERS, name: 'Shop Orders!' }] });
  assert.equal(badName.status, 400);

  const saved = await admin('PUT', '/api/sources', { sources: [ORDERS] });
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
  assert.equal(saved.json.urls['shop-orders'], `${srv.url}/hooks/mapped/shop-orders`);
  assert.deepEqual((await admin('GET', '/api/sources')).json.sources, [ORDERS]);

  // Applied at once, without a restart: a batch of two contacts.
  const delivery = {
    topic: 'orders/paid',
    orders: [
      { customer: { ref: 'c-100', given: 'Ada', family: 'Lovelace', contact: { email: 'Ada@Example.com' } }, products: 'Course A, Course B' },
      { customer: { ref: 'c-101', given: 'Alan', contact: { email: 'alan@example.com' } }, products: ['Course A'] },
    ],
  };
  const a = await hook('shop-orders', delivery);
  assert.equal(a.status, 200, JSON.stringify(a.json));
  assert.equal(a.json.outcome, 'processed');
  assert.deepEqual(a.json.results.map((r) => r.outcome), ['created', 'created']);
  assert.equal(a.json.results[0].member.email, 'ada@example.com');
  assert.deepEqual(a.json.results[0].member.tags, [{ name: 'Course A' }, { name: 'Course B' }]);
  // The same contacts again: existing, never a second member.
  const again = await hook('shop-orders', delivery);
  assert.deepEqual(again.json.results.map((r) => r.outcome), ['existing', 'existing']);
  const list = await admin('GET', '/api/members');
  assert.equal(list.json.total, 2);
  // Activity records the source as mapped; its contacts are keyed by the source (ids of its own).
  const activity = await admin('GET', '/api/events');
  const ev = activity.json.events.find((e) => e.source === 'mapped');
  assert.ok(ev, JSON.stringify(activity.json.events.slice(0, 2)));
  assert.match(ev.contactKey, /^generic:mapped-shop-orders:c-10[01]$/);

  // A post that does not fit: 400 naming the path; nothing recorded.
  const before = (await admin('GET', '/api/events')).json.total;
  const miss = await hook('shop-orders', { topic: 'x', orders: [{ customer: { given: 'No Ref' } }] });
  assert.equal(miss.status, 400);
  assert.equal(miss.json.error.code, 'missing_contact_id');
  assert.match(miss.json.error.message, /`orders\.0\.customer\.ref`/);
  const notList = await hook('shop-orders', { orders: { customer: {} } });
  assert.equal(notList.status, 400);
  assert.match(notList.json.error.message, /`orders` must be an array/);
  assert.equal((await admin('GET', '/api/events')).json.total, before);
  // Other names are still unknown.
  assert.equal((await hook('other', {})).status, 404);
});

test('a mapped source without a CRM keeps its own ids: another sender\'s contact "1" is another contact; Mailchimp cannot be mapped', async (t) => {
  const { srv, dir } = await start(t);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const admin = await login(srv, srv.accessKey);
  const mapping = { contactId: 'id', email: 'email' };
  assert.equal((await admin('PUT', '/api/sources', { sources: [{ name: 'shop-a', mapping }, { name: 'shop-b', mapping }] })).status, 200);
  const refused = await admin('PUT', '/api/sources', { sources: [{ name: 'mc', crm: 'mailchimp', mapping }] });
  assert.equal(refused.status, 400);
  assert.match(refused.json.error.message, /Mailchimp/);
  const hook = (name, body) =>
    fetch(`${srv.url}/hooks/mapped/${name}`, { method: 'POST', headers: { authorization: `Bearer ${srv.accessKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const a = await hook('shop-a', { id: '1', email: 'a1@example.com' });
  assert.equal(a.outcome, 'created');
  // Sender B's contact 1, with another email, is not sender A's member.
  const b = await hook('shop-b', { id: '1', email: 'b1@example.com' });
  assert.equal(b.outcome, 'created');
  assert.notEqual(b.member.id, a.member.id);
  assert.equal((await admin('GET', `/api/members/${a.member.id}`)).json.email, 'a1@example.com', 'A\'s member keeps its email');
});

test('mapped sources survive a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-mapped-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await serve({ port: 0, dataDir: dir, log: () => {}, bcryptCost: 4, env: {}, budgetMs: 5000 });
  const key = first.accessKey;
  const admin = await login(first, key);
  assert.equal((await admin('PUT', '/api/sources', { sources: [{ name: 'zap', mapping: { contactId: 'id', email: 'email' } }] })).status, 200);
  await first.close();
  const second = await serve({ port: 0, dataDir: dir, log: () => {}, bcryptCost: 4, env: {}, budgetMs: 5000 });
  t.after(() => second.close());
  const res = await fetch(`${second.url}/hooks/mapped/zap`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'z-1', email: 'zed@example.com' }) });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.outcome, 'created');
});
