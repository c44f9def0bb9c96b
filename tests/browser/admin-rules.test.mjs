// Access rules: while a rule is edited, the page shows per keystroke how many members gain and
// lose each level across the whole directory (wasm AccessIndex.impact in the browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, goto, pageApi, insertMembers, writesWithoutCsrf } from './support.mjs';

const GOLD = { id: '91', name: 'Gold Member' };
const SILVER = { id: '97', name: 'Silver Member' };
const NEWS = { id: '93', name: 'Newsletter' };
const REFUNDED = { id: '200', name: 'Refunded' };

function directory() {
  const groups = [
    [40, [GOLD, NEWS]],
    [25, [SILVER]],
    [10, [GOLD, SILVER]],
    [8, [GOLD, REFUNDED]],
    [17, [NEWS]],
  ];
  const out = [];
  for (const [n, tags] of groups) for (let i = 0; i < n; i++) out.push({ email: `member${out.length + 1}@example.com`, contact: { crm: 'keap', account: 'default', contactId: String(7000 + out.length) }, tags });
  return out;
}

/** The impact table's row for a level: {before, after, gain, lose} as shown. */
async function impactRow(page, level) {
  const cells = await page.locator(`#mw-impact-body tr[data-level="${level}"] td`).allInnerTexts();
  const [before, after, gain, lose] = cells.map((c) => Number(c.replace(/[^0-9]/g, '')));
  return { before, after, gain, lose };
}

test('editing an access rule shows, per keystroke, how many members gain and lose each level', async (t) => {
  const { server, page, problems } = await start(t);
  await insertMembers(server, directory());
  await setupAndLogin(page, server);
  await pageApi(page, 'PUT', '/rules', { rules: [{ id: 'gold', level: 'gold', anyOf: ['Gold Member'], allOf: [], noneOf: [] }] });

  await page.locator('#adminmenu a', { hasText: 'Access Rules' }).click();
  await page.locator('#mw-index-status[data-members="100"]').waitFor();
  await page.getByRole('button', { name: 'Edit the rule for gold' }).click();
  await page.locator('#mw-impact-body tr[data-level="gold"]').waitFor();
  assert.deepEqual(await impactRow(page, 'gold'), { before: 58, after: 58, gain: 0, lose: 0 });
  // Focus is in the level field: the editor is usable by keyboard.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'mw-rule-level');

  // "None of: Refunded", typed a key at a time: "Refunde" matches no tag, the last "d" does.
  const none = page.getByLabel('None of these tags');
  await none.pressSequentially('Refunde');
  assert.deepEqual(await impactRow(page, 'gold'), { before: 58, after: 58, gain: 0, lose: 0 });
  await none.pressSequentially('d');
  assert.deepEqual(await impactRow(page, 'gold'), { before: 58, after: 50, gain: 0, lose: 8 });

  // "Any of" gets a second tag on a new line: the silver-only members gain gold.
  const any = page.getByLabel('Any of these tags');
  await any.press('End');
  await any.press('Enter');
  await any.pressSequentially('silver member');
  assert.deepEqual(await impactRow(page, 'gold'), { before: 58, after: 75, gain: 25, lose: 8 });
  const time = await page.locator('#mw-impact-time').innerText();
  assert.match(time, /recomputed in \d+\.\d ms over 100 members/);
  await screenshot(page, 'admin-rules', { fullPage: true });

  await page.getByRole('button', { name: 'Save Rule' }).click();
  await page.getByRole('status').filter({ hasText: 'Rule for “gold” saved' }).waitFor();
  const saved = (await pageApi(page, 'GET', '/rules')).body.rules;
  assert.deepEqual(saved, [{ id: 'gold', level: 'gold', anyOf: ['Gold Member', 'silver member'], allOf: [], noneOf: ['Refunded'] }]);

  // A new rule: its level goes from nobody to the members with both tags.
  await page.getByRole('button', { name: 'Add New Rule' }).click();
  await page.getByLabel('Level', { exact: true }).pressSequentially('vip');
  await page.getByLabel('All of these tags').fill('Gold Member\n97');
  await page.getByLabel('All of these tags').dispatchEvent('input');
  assert.deepEqual(await impactRow(page, 'vip'), { before: 0, after: 10, gain: 10, lose: 0 });
  assert.deepEqual(await impactRow(page, 'gold'), { before: 75, after: 75, gain: 0, lose: 0 });
  await page.getByRole('button', { name: 'Add Rule' }).click();
  await page.getByRole('status').filter({ hasText: 'Rule for “vip” saved' }).waitFor();
  assert.equal(await page.locator('table.mw-rules tbody tr').count(), 2);

  // Deleting shows who loses the level, and asks first (Escape would cancel).
  await page.getByRole('button', { name: 'Delete the rule for vip' }).click();
  assert.deepEqual(await impactRow(page, 'vip'), { before: 10, after: 0, gain: 0, lose: 10 });
  await page.getByRole('button', { name: 'Delete Rule' }).click();
  await page.getByRole('status').filter({ hasText: 'deleted' }).waitFor();
  assert.deepEqual((await pageApi(page, 'GET', '/rules')).body.rules.map((r) => r.level), ['gold']);

  // The members list shows the levels the saved rules grant.
  // (The newest members are refunded or newsletter-only: search for one with Gold Member.)
  await goto(page, '#/members?q=member1%40example.com', 'Members');
  await page.locator('tr[data-member-id]').first().waitFor();
  assert.deepEqual(await page.locator('tr[data-member-id] .column-levels .mw-tag').allInnerTexts(), ['gold']);

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.errors, []);
});
