// The CRM's catalog (its tags and custom fields with their names): listed from each CRM's
// sandbox through the core's request builders, shown in the admin API, and used so that access
// rules naming a tag match members whose tags carry only its id.
// Run: node --test tests/js/catalog.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadWasm } from '../../js/hosts/node.mjs';
import { createCrmClient } from '../../js/server/crm-client.mjs';
import { serve } from '../../js/server/serve.mjs';
import { CRMS } from './support/registration.mjs';

const wasm = loadWasm();

// What each sandbox is seeded with, as memberwire's settings name them (the id) and people
// read them (the name).
const EXPECTED = {
  keap: { tag: { id: '91', name: 'Gold Member' }, field: { id: '13', name: 'Set Password Link' } },
  activecampaign: { tag: { id: '1', name: 'Gold Member' }, field: { id: '2', name: 'Set Password Link' } },
  kit: { tag: { id: '5120001', name: 'Gold Member' }, field: { id: 'set_password_link', name: 'Set Password Link' } },
  drip: { tag: { id: 'Gold Member', name: 'Gold Member' }, field: { id: 'set_password_link', name: 'set_password_link' } },
  highlevel: { tag: { id: 'gold member', name: 'gold member' }, field: { id: 'Sp9LnK4xQw7mZt2RcV6b', name: 'Set Password Link' } },
  mailerlite: { tag: { id: '102817459301155841', name: 'Gold Member' }, field: { id: 'set_password_link', name: 'Set Password Link' } },
  hubspot: { tag: { id: '11', name: 'Gold Member' }, field: { id: 'memberwire_set_password_link', name: 'Set password link' } },
  mailchimp: { tag: { id: 'Gold Member', name: 'Gold Member' }, field: { id: 'SETPWLINK', name: 'Set password link' } },
};

for (const [kind, want] of Object.entries(EXPECTED)) {
  test(`${kind}: the catalog lists the CRM's tags and fields, each by the id memberwire's settings use and its name`, async () => {
    const sandbox = CRMS[kind].sandbox();
    const client = createCrmClient({ wasm, crm: CRMS[kind].config(), fetch: sandbox.fetch, rateLimit: 0 });
    const tags = await client.list('tags');
    const fields = await client.list('fields');
    assert.ok(
      tags.some((t) => t.id === want.tag.id && t.name.toLowerCase() === want.tag.name.toLowerCase()),
      JSON.stringify(tags),
    );
    assert.ok(fields.some((f) => f.id === want.field.id && f.name === want.field.name), JSON.stringify(fields));
    // The welcome tag memberwire's settings name is in the list.
    const welcome = String(CRMS[kind].config().welcomeTag).toLowerCase();
    assert.ok(tags.some((t) => t.id.toLowerCase() === welcome), `welcome tag ${welcome} in ${JSON.stringify(tags)}`);
  });
}

for (const kind of Object.keys(EXPECTED)) {
  test(`${kind}: find by email finds the seeded contact and nobody for an unknown address (a 404 there), and Test connection says connected`, async () => {
    const sandbox = CRMS[kind].sandbox();
    const client = createCrmClient({ wasm, crm: CRMS[kind].config(), fetch: sandbox.fetch, rateLimit: 0 });
    assert.deepEqual(await client.find('nobody-at-all@example.com'), []);
    const test1 = await client.test();
    assert.equal(test1.ok, true, JSON.stringify(test1));
    const someone = sandbox.contacts()[0];
    const email = JSON.stringify(someone).match(/"(?:email|email_address)":"([^"]+@[^"]+)"/)?.[1];
    assert.ok(email, 'a seeded contact with an email');
    const found = await client.find(email.toLowerCase());
    assert.equal(found.length, 1, `${kind}: ${email}`);
    assert.equal(found[0].email, email.toLowerCase());
  });
}

test('pages are followed to the end: 250 ActiveCampaign tags in pages of 100', async () => {
  const sandbox = CRMS.activecampaign.sandbox();
  for (let i = 0; i < 246; i++) sandbox.addTag({ tag: `Course ${i}` });
  const client = createCrmClient({ wasm, crm: CRMS.activecampaign.config(), fetch: sandbox.fetch, rateLimit: 0 });
  const tags = await client.list('tags');
  assert.equal(tags.length, 250);
  assert.equal(new Set(tags.map((t) => t.id)).size, 250);
  assert.equal(sandbox.requests().filter((r) => r.path === '/api/3/tags').length, 3);
});

test('the admin API shows members\' tags by name, and a rule naming a tag matches members whose tags carry only its id', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-catalog-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const srv = await serve({ port: 0, dataDir: dir, log: () => {}, bcryptCost: 4, env: {}, budgetMs: 5000 });
  t.after(() => srv.close());
  const headers = { 'content-type': 'application/json', origin: srv.url };
  const setup = await fetch(`${srv.url}/api/setup`, { method: 'POST', headers, body: JSON.stringify({ password: 'Catalog-Admin-2026', accessKey: srv.accessKey }) });
  const cookie = setup.headers.get('set-cookie').split(';')[0];
  const { csrf } = await setup.json();
  const admin = async (method, path, body) => {
    const res = await fetch(`${srv.url}${path}`, { method, headers: { ...headers, cookie, 'x-memberwire-csrf': csrf }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };

  // Contact 101 (Keap tags 91 and 93: ids only, as Keap sends them).
  const post = await fetch(`${srv.url}/hooks/keap?key=${srv.accessKey}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'contactId=101' });
  const created = await post.json();
  assert.equal(created.outcome, 'created');
  assert.deepEqual(created.member.tags, [{ id: '91' }, { id: '93' }]);

  const catalog = await admin('GET', '/api/crm/catalog');
  assert.equal(catalog.status, 200);
  assert.ok(catalog.json.tags.some((x) => x.id === '91' && x.name === 'Gold Member'));
  assert.ok(catalog.json.fields.some((x) => x.id === '13' && x.name === 'Set Password Link'));
  assert.match(catalog.json.fetchedAt, /^\d{4}-/);

  const member = await admin('GET', `/api/members/${created.member.id}`);
  assert.deepEqual(member.json.tags, [{ id: '91', name: 'Gold Member' }, { id: '93', name: 'Newsletter' }]);

  // Rules by name (any case) and by id both match.
  const saved = await admin('PUT', '/api/rules', { rules: [{ id: 'g', level: 'gold', anyOf: ['gold member'] }, { id: 'n', level: 'news', anyOf: ['93'] }, { id: 's', level: 'silver', anyOf: ['Silver Member'] }] });
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
  const after = await admin('GET', `/api/members/${created.member.id}`);
  assert.deepEqual(after.json.levels, ['gold', 'news']);

  // Listed again on demand; kept in the store.
  const refreshed = await admin('POST', '/api/crm/catalog/refresh');
  assert.equal(refreshed.status, 200);
  assert.equal(refreshed.json.tags.length, catalog.json.tags.length);
});
