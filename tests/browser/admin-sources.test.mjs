// Sources: a mapping for any JSON webhook, previewed live in the browser with the server's own
// parser (wasm), saved, then used by the next post without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, goto, writesWithoutCsrf } from './support.mjs';

test('sources: map a webhook with a live preview of a pasted sample, save it, the next post to its URL registers the member', async (t) => {
  const { server, page, problems } = await start(t);
  await setupAndLogin(page, server);
  await goto(page, '#/settings', 'Settings');
  await page.locator('#mw-sources-link').click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Sources' }).waitFor();
  await page.locator('#mw-add-source').click();

  await page.locator('#mw-source-name').fill('shop');
  const sample = {
    topic: 'order.paid',
    order: { buyer: { uid: 'B-7', mail: 'Grace.Hopper@Example.org', first: 'Grace', last: '<img src=x onerror=alert(1)>' }, items: 'Course A, Course B' },
  };
  await page.locator('#mw-source-sample').fill(JSON.stringify(sample));
  // Only the id so far, at a path the sample lacks: the preview says which path.
  await page.locator('#mw-path-contactId').fill('order.buyer.id');
  await page.locator('#mw-source-preview .mw-preview-error', { hasText: 'order.buyer.id' }).waitFor();
  assert.match(await page.locator('#mw-source-preview').innerText(), /missing_contact_id/);
  // A bad path is explained too.
  await page.locator('#mw-path-contactId').fill('order..uid');
  await page.locator('#mw-source-preview .mw-preview-error', { hasText: 'empty part' }).waitFor();

  await page.locator('#mw-path-contactId').fill('order.buyer.uid');
  await page.locator('#mw-path-email').fill('order.buyer.mail');
  await page.locator('#mw-path-firstName').fill('order.buyer.first');
  await page.locator('#mw-path-lastName').fill('order.buyer.last');
  await page.locator('#mw-path-tags').fill('order.items');
  await page.locator('#mw-path-eventType').fill('topic');
  const row = page.locator('#mw-source-preview .mw-preview-table tbody tr');
  await row.filter({ hasText: 'B-7' }).waitFor();
  const cells = await row.first().locator('td').allInnerTexts();
  assert.equal(cells[0], 'B-7');
  assert.equal(cells[1], 'grace.hopper@example.org');
  assert.match(cells[3], /Course A/);
  assert.match(cells[3], /Course B/);
  assert.equal(cells[4], 'order.paid');
  // What the sample holds is shown as text, never as markup.
  assert.match(cells[2], /<img src=x onerror=alert\(1\)>/);
  assert.equal(await page.locator('#mw-source-preview img').count(), 0);
  await screenshot(page, 'admin-sources', { fullPage: true });

  await page.locator('#mw-save-source').click();
  await page.locator('.notice-success', { hasText: 'Saved shop' }).waitFor();
  const url = await page.locator('tr[data-source="shop"] input.mw-source-url').inputValue();
  assert.equal(url, `${server.url}/hooks/mapped/shop`);

  // Applied to the next post, no restart.
  const res = await fetch(`${url}?key=${encodeURIComponent(server.accessKey)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...sample, order: { ...sample.order, buyer: { ...sample.order.buyer, last: 'Hopper' } } }) });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.outcome, 'created');
  assert.equal(body.member.email, 'grace.hopper@example.org');

  // Still there after a reload.
  await page.reload();
  await page.locator('tr[data-source="shop"]').waitFor();

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});
