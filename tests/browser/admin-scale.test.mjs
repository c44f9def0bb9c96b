// The admin page with 100,000 members: the members list stays paged by the server, and the
// rule-impact preview (wasm AccessIndex.impact in the browser) is measured per keystroke.
// The times are printed (reported, not asserted). Also saves tests/artifacts/admin-members.png
// for the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, setupAndLogin, screenshot, goto, pageApi, insertMembers } from './support.mjs';

const N = 100_000;
const FIRST = ['ada', 'grace', 'alan', 'katherine', 'edsger', 'barbara', 'donald', 'frances', 'john', 'margaret', 'radia', 'ken', 'dennis', 'sophie', 'tim', 'hedy'];
const LAST = ['lovelace', 'hopper', 'turing', 'johnson', 'dijkstra', 'liskov', 'knuth', 'allen', 'backus', 'hamilton', 'perlman', 'thompson', 'ritchie', 'wilson', 'berners-lee', 'lamarr'];
const TAGS = {
  gold: { id: '91', name: 'Gold Member' },
  news: { id: '93', name: 'Newsletter' },
  silver: { id: '97', name: 'Silver Member' },
  refunded: { id: '201', name: 'Refunded' },
  rust: { id: '203', name: 'Course: Rust' },
  wasm: { id: '205', name: 'Course: WebAssembly' },
};

/** A deterministic pseudo-random directory: who has which tag varies like a real list. */
function members() {
  let x = 0x2545f491;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const now = Date.now();
  const out = [];
  for (let i = 0; i < N; i++) {
    const first = FIRST[i % FIRST.length];
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
    const tags = [];
    if (rnd() < 0.2) tags.push(TAGS.gold);
    if (rnd() < 0.6) tags.push(TAGS.news);
    if (rnd() < 0.3) tags.push(TAGS.silver);
    if (rnd() < 0.03) tags.push(TAGS.refunded);
    if (rnd() < 0.1) tags.push(TAGS.rust);
    if (rnd() < 0.08) tags.push(TAGS.wasm);
    const t = now - (N - i) * 37_000;
    out.push({
      email: `${first}.${last}.${i}@example.com`,
      firstName: first[0].toUpperCase() + first.slice(1),
      lastName: last[0].toUpperCase() + last.slice(1),
      contact: { crm: 'keap', account: 'default', contactId: String(200_000 + i) },
      tags,
      credentials: i % 7 === 0 ? 'none' : 'link_issued',
      createdAt: t,
      updatedAt: t + (i % 5) * 3_600_000,
    });
  }
  return out;
}

const RULES = [
  { id: 'gold', level: 'gold', anyOf: ['Gold Member'], allOf: [], noneOf: ['Refunded'] },
  { id: 'silver', level: 'silver', anyOf: ['Silver Member', 'Gold Member'], allOf: [], noneOf: ['Refunded'] },
  { id: 'rust', level: 'rust-course', anyOf: [], allOf: ['Course: Rust'], noneOf: [] },
  { id: 'wasm', level: 'wasm-course', anyOf: ['Course: WebAssembly'], allOf: [], noneOf: ['Refunded'] },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

test('100,000 members: paged list, and the rule impact recomputed per keystroke (timed)', { timeout: 300_000 }, async (t) => {
  const { server, page, problems } = await start(t);
  const t0 = performance.now();
  await insertMembers(server, members());
  const insertMs = performance.now() - t0;
  assert.equal(await server.directory.size(), N);
  await setupAndLogin(page, server);
  assert.equal((await pageApi(page, 'PUT', '/rules', { rules: RULES })).status, 200);

  // The members list: one page of 20, the total from the server.
  await goto(page, '#/settings', 'Settings');
  let t1 = performance.now();
  await goto(page, '#/members', 'Members');
  await page.locator('.displaying-num', { hasText: '100,000 items' }).first().waitFor();
  const listMs = performance.now() - t1;
  assert.equal(await page.locator('tr[data-member-id]').count(), 20);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(1200, 40);
  await screenshot(page, 'admin-members');

  // Last page, by the pagination's keyboard-usable buttons.
  await page.getByRole('button', { name: 'Last page' }).first().click();
  await page.locator('.total-pages', { hasText: '5,000' }).first().waitFor();
  await page.waitForFunction(() => document.querySelector('input.current-page')?.value === '5000');
  assert.equal(await page.locator('tr[data-member-id]').count(), 20);

  // A search across all of them.
  t1 = performance.now();
  await page.getByLabel('Search Members:').fill('katherine.turing.3');
  await page.getByLabel('Search Members:').press('Enter');
  await page.locator('.subtitle', { hasText: 'katherine.turing.3' }).waitFor();
  await page.locator('tr[data-member-id]').first().waitFor();
  const searchMs = performance.now() - t1;

  // Access rules: the index of 100,000 members' tags is built in the page.
  t1 = performance.now();
  await goto(page, '#/rules', 'Access Rules');
  await page.locator(`#mw-index-status[data-members="${N}"]`).waitFor({ timeout: 120_000 });
  const indexMs = performance.now() - t1;
  const indexStatus = await page.locator('#mw-index-status').innerText();

  await page.getByRole('button', { name: 'Edit the rule for gold' }).click();
  await page.locator('#mw-impact-body tr[data-level="gold"]').waitFor();

  // Type a tag into "Any of" one key at a time; read the time the page shows after each key,
  // and the whole input handler's time (impact + redrawing the table) measured in the page.
  const typed = '\nCourse: WebAssembly';
  const impactMs = [];
  const handlerMs = [];
  for (const ch of typed) {
    const r = await page.evaluate((c) => {
      const area = document.querySelector('#mw-rule-any');
      area.value += c;
      const s = performance.now();
      area.dispatchEvent(new Event('input', { bubbles: true }));
      const e = performance.now();
      return { handler: e - s, shown: Number(document.querySelector('#mw-impact-time').dataset.ms), members: Number(document.querySelector('#mw-impact-time').dataset.members) };
    }, ch);
    assert.equal(r.members, N);
    impactMs.push(r.shown);
    handlerMs.push(r.handler);
  }
  const gold = await page.locator('#mw-impact-body tr[data-level="gold"] td').allInnerTexts();
  const gain = Number(gold[2].replace(/[^0-9]/g, ''));
  assert.ok(gain > 0, 'members with the WebAssembly course gain gold');
  // Real keystrokes too (Playwright typing), for the screenshot.
  await page.getByLabel('None of these tags').press('End');
  await page.getByLabel('None of these tags').press('Enter');
  await page.getByLabel('None of these tags').pressSequentially('Course: Rust');
  await screenshot(page, 'admin-rules-100k', { fullPage: true });

  const fmt = (x) => x.toFixed(1);
  const report = [
    `admin page with ${N.toLocaleString('en')} members:`,
    `  inserting them through the directory port: ${Math.round(insertMs)} ms`,
    `  members list (first page of 20): ${Math.round(listMs)} ms; a search: ${Math.round(searchMs)} ms`,
    `  rule-impact index: ready in ${Math.round(indexMs)} ms (${indexStatus})`,
    `  rule impact per keystroke (wasm AccessIndex.impact, as shown in the page), ${impactMs.length} keys: median ${fmt(median(impactMs))} ms, max ${fmt(Math.max(...impactMs))} ms`,
    `  whole input handler (impact + table redraw): median ${fmt(median(handlerMs))} ms, max ${fmt(Math.max(...handlerMs))} ms`,
  ];
  for (const line of report) console.log(line);
  t.diagnostic(`rule impact over ${N} members: median ${fmt(median(impactMs))} ms, max ${fmt(Math.max(...impactMs))} ms per keystroke`);

  assert.deepEqual(problems.errors, []);
});
