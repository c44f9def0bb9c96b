// Members by hand: add a member (email as username, CRM contact id found by email, welcome off
// by default), refresh its CRM information, then preview and apply a tag sync computed in the
// browser by the wasm previewTagSync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, goto, keap, pageApi, writesWithoutCsrf } from './support.mjs';

const tagTexts = (page, selector) => page.locator(`${selector} .mw-tag`).allInnerTexts();

test('add a member by hand, find its contact in the CRM and refresh its CRM information', async (t) => {
  const { server, page, problems } = await start(t);
  await setupAndLogin(page, server);

  await page.locator('#adminmenu a', { hasText: 'Add New Member' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Add New Member' }).waitFor();
  // The welcome email is off by default.
  assert.equal(await page.getByLabel('Send the welcome email').isChecked(), false);

  // The sandbox has Ada as contact 101 with a mixed-case email and tags 91, 93.
  await page.getByLabel('Email (username)').fill('ada.lovelace@example.com');
  await page.getByRole('button', { name: 'Find in CRM' }).click();
  await page.locator('.mw-crm-contact').waitFor();
  assert.equal(await page.getByLabel('CRM contact ID').inputValue(), '101');
  assert.equal(await page.getByLabel('First Name').inputValue(), 'Ada');
  assert.deepEqual(await tagTexts(page, '.mw-crm-tags'), ['Gold Member', 'Newsletter']);

  // "Refresh CRM information (tags and password)" pulls the contact again.
  await page.getByRole('button', { name: 'Refresh CRM information (tags and password)' }).click();
  await page.locator('.mw-crm-contact h3', { hasText: 'refreshed' }).waitFor();
  assert.match(await page.locator('.mw-crm-contact').innerText(), /Password in the CRM\s+No/);
  await screenshot(page, 'admin-add-member', { fullPage: true });

  await page.getByRole('button', { name: 'Add New Member' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Edit Member' }).waitFor();
  await page.getByRole('status').filter({ hasText: 'added with its CRM tags' }).waitFor();
  assert.equal(await page.locator('.mw-member-email').innerText(), 'ada.lovelace@example.com');
  assert.deepEqual(await tagTexts(page, '#mw-member-tags'), ['Gold Member', 'Newsletter']);
  assert.equal(await page.locator('#mw-credentials').innerText(), 'No credentials yet');
  assert.equal(await page.locator('.mw-contact-id').innerText(), '101');

  // Welcome off: nothing was written to the CRM (no tag applied, no field written).
  assert.deepEqual(server.sandbox.api.tagApplications(), []);
  assert.deepEqual(server.sandbox.api.fieldWrites(), []);

  // Refresh from CRM with nothing changed in the CRM: the preview says so.
  await page.getByRole('button', { name: 'Refresh from CRM' }).click();
  await page.locator('#mw-preview-heading').waitFor();
  assert.match(await page.locator('#mw-preview').innerText(), /Nothing would change/);
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.locator('#mw-preview-heading').count(), 0);
  await screenshot(page, 'admin-member');

  // The member appears in the list with its contact id and tags; the search finds it.
  await goto(page, '#/members', 'Members');
  await page.getByLabel('Search Members:').fill('LOVELACE');
  await page.getByLabel('Search Members:').press('Enter');
  await page.locator('.subtitle', { hasText: 'LOVELACE' }).waitFor();
  // The title shows at once; the rows come with the server's answer.
  const row = page.locator('tr[data-member-id]');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /ada\.lovelace@example\.com[\s\S]*101[\s\S]*Gold Member[\s\S]*Newsletter/);

  // Adding the same email again is refused with a clear error.
  await goto(page, '#/members/new', 'Add New Member');
  await page.getByLabel('Email (username)').fill('Ada.Lovelace@Example.com');
  await page.getByRole('button', { name: 'Add New Member' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /already exists/);

  // With "Send the welcome email" ticked, the registration workflow runs: a set-password link
  // goes into the CRM contact, then the welcome tag (95) is applied.
  await goto(page, '#/members', 'Members');
  await goto(page, '#/members/new', 'Add New Member');
  await page.getByLabel('Email (username)').fill('grace.hopper@example.org');
  await page.getByRole('button', { name: 'Find in CRM' }).click();
  await page.locator('.mw-crm-contact').waitFor();
  assert.equal(await page.getByLabel('CRM contact ID').inputValue(), '103');
  assert.match(await page.locator('.mw-crm-contact').innerText(), /Password in the CRM\s+Yes/);
  await page.getByLabel('Send the welcome email').check();
  await page.getByRole('button', { name: 'Add New Member' }).click();
  await page.locator('.mw-member-email', { hasText: 'grace.hopper@example.org' }).waitFor();
  assert.equal(await page.locator('#mw-credentials').innerText(), 'Set-password link issued (not used yet)');
  assert.deepEqual(server.sandbox.api.tagApplications().map((a) => [a.action, String(a.contactId), a.tagName]), [['apply', '103', 'Welcome']]);
  assert.equal(server.sandbox.api.fieldWrites().length, 1); // the set-password link (its content is not logged)

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});

test('preview a tag sync from the CRM in the browser, then apply it only on confirm', async (t) => {
  const { server, page, problems } = await start(t);
  await setupAndLogin(page, server);

  // Levels: gold from tag 91, silver from tag 97 (Silver Member).
  const rules = [
    { id: 'gold', level: 'gold', anyOf: ['91'], allOf: [], noneOf: [] },
    { id: 'silver', level: 'silver', anyOf: ['Silver Member', '97'], allOf: [], noneOf: [] },
  ];
  assert.equal((await pageApi(page, 'PUT', '/rules', { rules })).status, 200);
  const added = await pageApi(page, 'POST', '/members', { email: 'ada.lovelace@example.com', contactId: '101', sendWelcome: false });
  assert.equal(added.status, 201);
  const id = added.body.id;
  assert.equal((await pageApi(page, 'POST', `/members/${id}/tags`, { tags: [{ id: '91' }, { id: '93' }], version: added.body.version })).status, 200);

  // In the CRM, Ada loses Gold Member (91) and gains Silver Member (97).
  await keap(server, 'DELETE', '/v1/contacts/101/tags?ids=91');
  await keap(server, 'POST', '/v1/contacts/101/tags', { tagIds: [97] });

  await goto(page, `#/members/${id}`, 'Edit Member');
  assert.deepEqual(await page.locator('#mw-member-levels .mw-tag').allInnerTexts(), ['gold']);
  await page.getByRole('button', { name: 'Refresh from CRM' }).click();
  await page.locator('#mw-preview-heading').waitFor();
  assert.deepEqual(await tagTexts(page, '.mw-row-add'), ['Silver Member']);
  assert.deepEqual(await tagTexts(page, '.mw-row-remove'), ['Gold Member']);
  assert.deepEqual(await tagTexts(page, '.mw-row-keep'), ['Newsletter']);
  assert.deepEqual(await tagTexts(page, '.mw-row-gained'), ['silver']);
  assert.deepEqual(await tagTexts(page, '.mw-row-lost'), ['gold']);
  // Focus moves to the confirm button (keyboard flow).
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'mw-apply');
  await screenshot(page, 'admin-tag-sync', { fullPage: true });

  // Nothing is applied before the confirmation.
  assert.deepEqual((await server.directory.get(id)).tags, [{ id: '91' }, { id: '93' }]);

  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Tags updated from the CRM: 1 added, 1 removed' }).waitFor();
  assert.deepEqual(await tagTexts(page, '#mw-member-tags'), ['Newsletter', 'Silver Member']);
  assert.deepEqual(await page.locator('#mw-member-levels .mw-tag').allInnerTexts(), ['silver']);
  assert.deepEqual((await server.directory.get(id)).tags.map((t) => t.id).sort(), ['93', '97']);

  // A sync computed from an older version is refused (409 stale) and nothing is applied.
  await page.getByRole('button', { name: 'Refresh from CRM' }).click();
  await page.locator('#mw-preview-heading').waitFor();
  const current = (await server.directory.get(id));
  await server.directory.apply({ op: 'update', member: { ...current, firstName: 'Augusta', updatedAt: Date.now() } });
  await page.getByRole('button', { name: 'Apply Changes' }).click();
  await page.getByRole('alert').filter({ hasText: 'changed while you were looking' }).waitFor();

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});
