// Data from the CRM is rendered as text: a tag named `<img src=x onerror=alert(1)>` shows as
// those characters on every screen, creates no element and fires no dialog.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, goto, postHook } from './support.mjs';

const XSS_TAG = '<img src=x onerror=alert(1)>';
const XSS_NAME = '<img src=y onerror=alert(2)>';
const XSS_SCRIPT = '<script>alert(3)</script>';

/** Elements that only injected markup could have created. */
const injected = (page) =>
  page.evaluate(() => ({
    img: document.querySelectorAll('img').length,
    scripts: [...document.querySelectorAll('script')].filter((s) => !s.src.endsWith('/admin/app.js')).length,
    onerror: document.querySelectorAll('[onerror]').length,
  }));

test('a tag named <img src=x onerror=alert(1)> renders as text everywhere', async (t) => {
  const { server, page, problems } = await start(t);

  // In the CRM: the tag and a contact carrying it. The contact is posted by a JSON hook, which
  // carries tag names (Keap's own posts carry tag ids only).
  const tag = server.sandbox.api.addTag({ name: XSS_TAG });
  const contact = server.sandbox.api.addContact({ given_name: XSS_NAME, family_name: 'Doe', email: 'eve@example.com', tags: [tag.id] });
  const posted = await postHook(server, 'json', { contact_id: String(contact.id), email: 'eve@example.com', first_name: XSS_NAME, tags: [XSS_TAG, XSS_SCRIPT] }, 'application/json');
  assert.equal(posted.status, 200);
  await server.engine.idle();

  await setupAndLogin(page, server);
  const row = page.locator('tr[data-member-id]', { hasText: 'eve@example.com' });
  await row.waitFor();
  assert.deepEqual(await row.locator('.column-tags .mw-tag').allInnerTexts(), [XSS_TAG, XSS_SCRIPT]);
  assert.match(await row.innerText(), new RegExp(XSS_NAME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await screenshot(page, 'admin-xss');
  assert.deepEqual(await injected(page), { img: 0, scripts: 0, onerror: 0 });

  // Member detail.
  await row.getByRole('link', { name: 'eve@example.com', exact: true }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Edit Member' }).waitFor();
  assert.deepEqual(await page.locator('#mw-member-tags .mw-tag').allInnerTexts(), [XSS_TAG, XSS_SCRIPT]);
  assert.deepEqual(await injected(page), { img: 0, scripts: 0, onerror: 0 });

  // Activity (the event's contact and its details).
  await goto(page, '#/activity', 'Activity');
  const ev = page.locator('tr.mw-event', { hasText: 'eve@example.com' });
  await ev.waitFor();
  assert.deepEqual(await ev.locator('.mw-tag').allInnerTexts(), [XSS_TAG, XSS_SCRIPT]);
  await ev.locator('summary').click();
  assert.ok((await ev.locator('.mw-json').innerText()).includes(XSS_TAG));
  assert.deepEqual(await injected(page), { img: 0, scripts: 0, onerror: 0 });

  // Access rules: the tag name in a rule, and a level name with markup.
  await goto(page, '#/rules', 'Access Rules');
  await page.locator('#mw-index-status[data-members="1"]').waitFor();
  await page.getByRole('button', { name: 'Add New Rule' }).click();
  await page.getByLabel('Level', { exact: true }).fill('<b>vip</b>');
  await page.getByLabel('Any of these tags').pressSequentially(XSS_TAG);
  await page.locator('#mw-impact-body tr[data-level="<b>vip</b>"]').waitFor();
  assert.match(await page.locator('#mw-impact-body tr[data-level="<b>vip</b>"]').innerText(), /<b>vip<\/b>\s+0\s+1\s+\+1\s+0/);
  await page.getByRole('button', { name: 'Add Rule' }).click();
  await page.locator('table.mw-rules .mw-tag', { hasText: XSS_TAG }).waitFor();
  assert.equal(await page.locator('table.mw-rules strong').innerText(), '<b>vip</b>');
  assert.equal(await page.locator('b').count(), 0);
  assert.deepEqual(await injected(page), { img: 0, scripts: 0, onerror: 0 });

  // The level shows as text in the member list too.
  await goto(page, '#/members', 'Members');
  await page.locator('.column-levels .mw-tag', { hasText: '<b>vip</b>' }).waitFor();
  assert.deepEqual(await injected(page), { img: 0, scripts: 0, onerror: 0 });

  // Add Member: "Find in CRM" shows the contact's name as text.
  await goto(page, '#/members/new', 'Add New Member');
  await page.getByLabel('Email (username)').fill('eve@example.com');
  await page.getByRole('button', { name: 'Find in CRM' }).click();
  await page.locator('.mw-crm-contact').waitFor();
  assert.match(await page.locator('.mw-crm-contact').innerText(), /<img src=y onerror=alert\(2\)> Doe/);
  assert.deepEqual(await injected(page), { img: 0, scripts: 0, onerror: 0 });

  // No dialog ever opened, and nothing failed in the page.
  assert.deepEqual(problems.dialogs, []);
  assert.deepEqual(problems.errors, []);
});
