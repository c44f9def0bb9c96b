// The admin page's first run (administrator password set with the access key), log out, log in
// by keyboard, and the session surviving a reload. Against the real `memberwire serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, screenshot, goto, ADMIN_PASSWORD, writesWithoutCsrf } from './support.mjs';

test('first-run setup proves ownership with the access key, then log out and log in by keyboard', async (t) => {
  const { server, page, problems } = await start(t);

  await page.goto(`${server.url}/admin`);
  await page.locator('#setupform').waitFor();
  // Focus starts in the first field; every control has a label.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'mw-setup-key');
  await screenshot(page, 'admin-setup');

  // A wrong key is refused, with an alert.
  await page.getByLabel('Access key').fill('mwk_not-the-right-key-at-all-000000');
  await page.getByLabel('New administrator password').fill(ADMIN_PASSWORD);
  await page.getByLabel('Confirm the password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Set Password and Log In' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /access key/i);

  // Too short a password never reaches the server.
  await page.getByLabel('Access key').fill(server.accessKey);
  await page.getByLabel('New administrator password').fill('short');
  await page.getByLabel('Confirm the password').fill('short');
  await page.getByRole('button', { name: 'Set Password and Log In' }).click();
  assert.match(await page.getByRole('alert').innerText(), /10 characters/);

  await page.getByLabel('New administrator password').fill(ADMIN_PASSWORD);
  await page.getByLabel('Confirm the password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Set Password and Log In' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Members' }).waitFor();
  assert.equal(await page.locator('#adminmenu li.wp-has-current-submenu .wp-menu-name').innerText(), 'Members');

  // A reload keeps the session (the CSRF token comes back from GET /api/session).
  await page.reload();
  await page.locator('h1.wp-heading-inline', { hasText: 'Members' }).waitFor();

  // Log out.
  await page.getByRole('button', { name: 'Log Out' }).click();
  await page.locator('#loginform').waitFor();
  await screenshot(page, 'admin-login');

  // A wrong password: an alert, and the field is focused again.
  await page.keyboard.type('not the password');
  await page.keyboard.press('Enter');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /not right/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'user_pass');

  // Keyboard only: the password field has focus; type and press Enter.
  await page.keyboard.press('Control+A');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.locator('h1.wp-heading-inline', { hasText: 'Members' }).waitFor();

  // Keyboard: the skip link comes before everything else, and it moves focus to the content.
  await page.locator('#wpadminbar .ab-brand').focus();
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to main content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'wpbody-content');

  // The menu works by keyboard: focus a menu link and press Enter.
  await page.locator('#adminmenu a', { hasText: 'Settings' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('h1.wp-heading-inline', { hasText: 'Settings' }).waitFor();

  // Every screen: each form control has a label, and the h1 takes focus after navigation.
  for (const [hash, title] of [['#/members', 'Members'], ['#/members/new', 'Add New Member'], ['#/rules', 'Access Rules'], ['#/bulk', 'Bulk Import'], ['#/activity', 'Activity'], ['#/settings', 'Settings']]) {
    await goto(page, hash, title);
    await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
    if (hash === '#/rules') await page.getByRole('button', { name: 'Add New Rule' }).click();
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabeled, [], `unlabeled controls on ${hash}`);
  }

  // The hook access key does not log in (it travels in CRM URLs); the password does.
  await page.getByRole('button', { name: 'Log Out' }).click();
  await page.getByLabel('Administrator password').fill(server.accessKey);
  await page.getByLabel('Administrator password').press('Enter');
  assert.match(await page.getByRole('alert').innerText(), /password is not right/i);
  await page.getByLabel('Administrator password').fill(ADMIN_PASSWORD);
  await page.getByLabel('Administrator password').press('Enter');
  // Back on the screen that was open (the hash route is kept).
  await page.locator('h1.wp-heading-inline', { hasText: 'Settings' }).waitFor();

  assert.deepEqual(writesWithoutCsrf(problems), []);
  assert.deepEqual(problems.dialogs, []);
  assert.deepEqual(problems.errors, []);
});
