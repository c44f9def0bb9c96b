// Settings: CRM connection test, hook URLs with copy buttons, access-key rotation (shown once;
// the old key stops working at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, goto, writesWithoutCsrf } from './support.mjs';

const hook = (server, key) =>
  fetch(`${server.url}/hooks/keap?key=${encodeURIComponent(key)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'contactId=103',
  }).then((r) => r.status);

test('settings: test the CRM connection, copy a hook URL, rotate the access key', async (t) => {
  const { server, browser, page, problems } = await start(t);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await setupAndLogin(page, server);
  const oldKey = server.accessKey;

  await page.locator('#adminmenu a', { hasText: 'Settings' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Settings' }).waitFor();

  await page.getByRole('button', { name: 'Test Connection' }).click();
  await page.locator('#mw-test-crm-out .notice-success').waitFor();
  assert.match(await page.locator('#mw-test-crm-out').innerText(), /Connected to keap \(HTTP 200\)/);

  // Hook URLs, without the key (it is not stored), each with a copy button.
  const urls = await page.locator('input.mw-hook-url').evaluateAll((els) => els.map((e) => e.value));
  // The connected CRM's routes (the sandbox is Keap) and the generic JSON one.
  assert.deepEqual(urls, ['keap', 'keap-rest', 'json'].map((r) => `${server.url}/hooks/${r}`));
  await page.locator('.mw-hooks tr').first().getByRole('button', { name: 'Copy' }).click();
  await page.locator('.mw-copy-status', { hasText: 'Copied!' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/hooks/keap`);

  // The page never shows a secret: no token, no key.
  const text = await page.locator('#wpbody-content').innerText();
  assert.ok(!text.includes(oldKey));
  assert.ok(!text.includes('keap-sandbox-api-key'));

  // Rotate: asked first, then the new key shown once, the hook URLs carry it.
  await page.getByRole('button', { name: 'Rotate Access Key…' }).click();
  await page.getByRole('button', { name: 'Rotate Now' }).click();
  const newKey = await page.locator('#mw-new-key').inputValue();
  assert.match(newKey, /^mwk_/);
  assert.notEqual(newKey, oldKey);
  const rotated = await page.locator('input.mw-hook-url').first().inputValue();
  assert.equal(rotated, `${server.url}/hooks/keap?key=${encodeURIComponent(newKey)}`);
  await screenshot(page, 'admin-settings', { fullPage: true });

  assert.equal(await hook(server, oldKey), 401);
  assert.equal(await hook(server, newKey), 200);

  // Shown once: leaving and coming back does not show it again.
  await goto(page, '#/members', 'Members');
  await goto(page, '#/settings', 'Settings');
  assert.equal(await page.locator('#mw-new-key').count(), 0);
  assert.ok(!(await page.locator('#wpbody-content').innerText()).includes(newKey));

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});

test('settings: the welcome tag picked from the CRM\'s own tags applies to the next post, without a restart', async (t) => {
  const { server, page, problems } = await start(t);
  await setupAndLogin(page, server);
  await goto(page, '#/settings', 'Settings');
  // The picker offers the CRM's tags by name (listed from the sandbox), with the current one chosen.
  const welcome = page.locator('#mw-set-welcome-tag');
  await welcome.locator('option', { hasText: 'Silver Member (97)' }).waitFor({ state: 'attached' });
  assert.equal(await welcome.inputValue(), '95');
  const fields = await page.locator('#mw-set-link-field option').allInnerTexts();
  assert.ok(fields.includes('Set Password Link (13)'), fields.join(' | '));
  // The token is never shown: the field is empty and says one is saved.
  assert.equal(await page.locator('#mw-set-token').inputValue(), '');
  assert.match(await page.locator('#mw-set-token').getAttribute('placeholder'), /Saved/);
  assert.ok(!(await page.content()).includes('keap-sandbox-api-key'));

  await welcome.selectOption('97');
  await page.locator('#mw-set-link-ttl').fill('2');
  await page.locator('#mw-save-settings').click();
  await page.locator('#mw-settings-out .notice-success', { hasText: 'no restart needed' }).waitFor();
  await screenshot(page, 'admin-settings-connection', { fullPage: true });

  // The next post: Alan (105) gets Silver Member as his welcome tag.
  const res = await fetch(`${server.url}/hooks/keap?key=${encodeURIComponent(server.accessKey)}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'contactId=105' });
  assert.equal((await res.json()).outcome, 'created');
  assert.deepEqual(server.sandbox.api.tagApplications().filter((x) => x.contactId === '105').map((x) => x.tagId), ['97']);

  // Still chosen after a reload.
  await page.reload();
  await page.locator('#mw-set-welcome-tag option', { hasText: 'Silver Member (97)' }).waitFor({ state: 'attached' });
  assert.equal(await page.locator('#mw-set-welcome-tag').inputValue(), '97');
  assert.equal(await page.locator('#mw-set-link-ttl').inputValue(), '2');

  // The Keap URL gets a key of its own, shown once in its URL; the shared key stops working there.
  await page.locator('button.mw-own-key[data-route="keap"]').click();
  await page.locator('.mw-own-key-note').waitFor();
  const own = new URL(await page.locator('input.mw-hook-url[data-hook="keap"]').inputValue()).searchParams.get('key');
  assert.match(own, /^mwk_/);
  assert.notEqual(own, server.accessKey);
  const keapPost = (key) => fetch(`${server.url}/hooks/keap?key=${encodeURIComponent(key)}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'contactId=107' }).then((r) => r.status);
  assert.equal(await keapPost(server.accessKey), 401);
  assert.equal(await keapPost(own), 200);
  await page.locator('button.mw-shared-key[data-route="keap"]').click();
  await page.locator('button.mw-own-key[data-route="keap"]', { hasText: 'Own Key…' }).waitFor();
  assert.equal(await keapPost(server.accessKey), 200);
  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});
