// Activity: a post whose CRM call fails (an injected fault in the sandbox CRM) goes pending;
// the page lists it with a Retry button, and the retry succeeds. Also "Send a test post".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, postHook, writesWithoutCsrf } from './support.mjs';

test('a failed post is pending in Activity and its Retry succeeds', async (t) => {
  const { server, page, problems } = await start(t);
  await setupAndLogin(page, server);

  // One post that works, one whose contact load the CRM refuses (its token revoked, say).
  assert.equal((await postHook(server, 'keap', 'contactId=101')).status, 200);
  server.sandbox.api.injectFaults([{ status: 401, match: { method: 'GET', pathPrefix: '/crm/rest/v2/contacts/105' } }]);
  const failed = await postHook(server, 'keap', 'contactId=105');
  assert.ok(failed.status === 200 || failed.status === 202, `hook answered ${failed.status}`);
  await server.engine.idle();
  assert.equal((await server.engine.counts()).pending, 1);

  await page.locator('#adminmenu a', { hasText: 'Activity' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Activity' }).waitFor();
  await page.locator('.subsubsub a', { hasText: 'Pending' }).filter({ hasText: '(1)' }).waitFor();
  await page.locator('.subsubsub a', { hasText: 'Pending' }).click();
  await page.locator('.subsubsub a.current', { hasText: 'Pending' }).waitFor();
  const row = page.locator('tr.mw-event.mw-status-pending');
  await row.waitFor();
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /#105[\s\S]*Pending[\s\S]*crm_auth[\s\S]*401/);
  await screenshot(page, 'admin-activity', { fullPage: true });

  // Retry (the fault was used up, so the CRM answers now).
  await row.getByRole('button', { name: /^Retry event/ }).click();
  await page.getByRole('status').filter({ hasText: 'retried: Member created' }).waitFor();
  assert.equal((await server.engine.counts()).pending, 0);
  await page.locator('.subsubsub a', { hasText: 'Pending' }).filter({ hasText: '(0)' }).waitFor();
  await page.locator('.subsubsub a', { hasText: 'All' }).click();
  await page.locator('tr.mw-event.mw-status-done').nth(1).waitFor();
  assert.equal(await page.locator('tr.mw-event.mw-status-done').count(), 2);
  assert.match(await page.locator('tr.mw-event', { hasText: '#105' }).innerText(), /Done[\s\S]*Member created[\s\S]*alan@turing\.example/);

  // Send a test post: its answer is shown, and it appears in the list.
  await page.getByLabel('Email for the test post (optional)').fill('someone@example.com');
  await page.getByRole('button', { name: 'Send a Test Post' }).click();
  await page.locator('#mw-test-out .notice-success').waitFor();
  assert.match(await page.locator('#mw-test-out .mw-json').innerText(), /"outcome"/);
  await page.locator('tr.mw-event', { hasText: 'someone@example.com' }).waitFor();
  await screenshot(page, 'admin-activity-after-retry', { fullPage: true });

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});
