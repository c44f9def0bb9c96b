// Bulk import: paste a CSV exported from the CRM (a few hundred rows), dry run (counts and the
// conflicts list), run with a progress bar, cancel and resume, until the bar reaches the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, insertMembers, writesWithoutCsrf } from './support.mjs';

const ROWS = 300;
const FIRST = ['Ada', 'Grace', 'Alan', 'Katherine', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton'];

function contacts() {
  return Array.from({ length: ROWS }, (_, i) => ({
    id: 5000 + i,
    given_name: FIRST[i % 10],
    family_name: LAST[Math.floor(i / 10) % 10],
    email: `${FIRST[i % 10]}.${LAST[Math.floor(i / 10) % 10]}.${i}@Example.com`,
  }));
}

const csvCell = (v) => `"${String(v).replace(/"/g, '""')}"`;
const toCsv = (list) => ['Id,First Name,Last Name,Email,Tags', ...list.map((c) => [c.id, c.given_name, c.family_name, c.email, 'Newsletter'].map(csvCell).join(','))].join('\n') + '\n';

const count = async (page, key) => Number((await page.locator(`#mw-counts td[data-count="${key}"]`).innerText()).replace(/[^0-9]/g, ''));

test('bulk import of a pasted CSV: dry run, then a run with a progress bar, cancel and resume', async (t) => {
  const { server, page, problems } = await start(t);
  const list = contacts();
  for (const c of list) server.sandbox.api.addContact({ ...c, tags: ['Newsletter'] });
  // One row's email already belongs to another contact's member: a conflict.
  await insertMembers(server, [{ email: list[7].email.toLowerCase(), contact: { crm: 'keap', account: 'default', contactId: '424242' }, tags: [] }]);
  await setupAndLogin(page, server);

  await page.locator('#adminmenu a', { hasText: 'Bulk Import' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Bulk Import' }).waitFor();
  await page.getByLabel('CSV exported from the CRM').fill(toCsv(list));
  await page.getByRole('button', { name: 'Dry Run' }).click();
  await page.locator('#mw-counts').waitFor();
  assert.equal(await count(page, 'created'), ROWS - 1);
  assert.equal(await count(page, 'conflict'), 1);
  assert.equal(await count(page, 'invalid'), 0);
  const conflictRow = page.locator('table.mw-conflicts tbody tr');
  assert.equal(await conflictRow.count(), 1);
  assert.match(await conflictRow.innerText(), /5007/);
  // Nothing changed yet.
  assert.equal(await server.directory.size(), 1);
  await screenshot(page, 'admin-bulk-plan', { fullPage: true });

  // Run; cancel while it runs; resume; the bar reaches the end.
  await page.getByRole('button', { name: /Run Import/ }).click();
  await page.locator('#mw-progress').waitFor();
  // Let it make some progress first, so the bar shows it.
  await page.waitForFunction(() => {
    const p = document.querySelector('#mw-progress');
    return p && (p.value >= 40 || p.dataset.state !== 'running');
  });
  let cancelled = false;
  const cancel = page.getByRole('button', { name: 'Cancel' });
  if (await cancel.isVisible()) {
    await cancel.click();
    await page.locator('#mw-progress[data-state="cancelled"], #mw-progress[data-state="finished"]').waitFor();
    cancelled = (await page.locator('#mw-progress').getAttribute('data-state')) === 'cancelled';
  }
  if (cancelled) {
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    const doneAtCancel = Number(await page.locator('#mw-progress').evaluate((p) => p.value));
    assert.ok(doneAtCancel < ROWS - 1, `the run stopped early (at ${doneAtCancel})`);
    await screenshot(page, 'admin-bulk-cancelled');
    await page.getByRole('button', { name: 'Resume' }).click();
  }
  await page.locator('#mw-progress[data-state="finished"]').waitFor({ timeout: 120_000 });
  const bar = await page.locator('#mw-progress').evaluate((p) => ({ value: p.value, max: p.max }));
  assert.deepEqual(bar, { value: ROWS - 1, max: ROWS - 1 });
  await page.getByRole('status').filter({ hasText: 'Import finished' }).waitFor();
  assert.match(await page.locator('.mw-run-result').innerText(), /created 299/);
  await screenshot(page, 'admin-bulk', { fullPage: true });
  console.log(`bulk run of ${ROWS - 1} rows ${cancelled ? 'was cancelled and resumed' : 'finished before it could be cancelled'}`);

  await server.engine.idle();
  assert.equal(await server.directory.size(), ROWS);

  // The same list again, as an uploaded file: everyone exists now.
  await page.getByLabel('Upload a CSV file').check();
  await page.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'contacts.csv', mimeType: 'text/csv', buffer: Buffer.from(toCsv(list)) });
  await page.locator('#mw-csv-file-info', { hasText: 'contacts.csv' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Import started' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Dry Run' }).click();
  await page.locator('#mw-counts td[data-count="existing"]', { hasText: String(ROWS - 1) }).waitFor();
  assert.equal(await count(page, 'created'), 0);
  assert.equal(await count(page, 'conflict'), 1);

  // Or every contact carrying a CRM tag: Newsletter (93) is on the 300 and on two seeded contacts.
  await page.getByLabel('Every contact with a CRM tag').check();
  await page.getByLabel('CRM tag id').fill('93');
  await page.getByRole('button', { name: 'Dry Run' }).click();
  await page.locator('h2', { hasText: '302 rows read' }).waitFor();
  assert.equal(await count(page, 'existing'), ROWS - 1);
  assert.equal(await count(page, 'created'), 2);

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});
