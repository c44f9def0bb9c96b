// Shared by the browser tests: the real server in-process (serve(), sandbox CRM, file store in
// a temporary folder), Debian's Chromium driven by playwright-core, and helpers for the admin
// page (first-run setup, screenshots, a watch for dialogs and page errors).

import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from '../../js/server/serve.mjs';

export const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
export const ADMIN_PASSWORD = 'correct horse battery staple';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts memberwire (sandbox CRM, no rate limit unless asked) in a fresh data folder. */
export async function startServer(options = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'mw-browser-data-'));
  const s = await serve({ port: 0, dataDir, log: () => {}, env: {}, sandboxRateLimit: 0, ...options });
  return {
    ...s,
    dataDir,
    async stop() {
      await s.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh Chromium profile; `page.problems` collects dialogs, page errors and console errors. */
export async function startBrowser() {
  const profile = await mkdtemp(path.join(tmpdir(), 'mw-browser-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = { dialogs: [], errors: [], console: [], writes: [] };
  page.on('dialog', (d) => {
    problems.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  // Every non-GET call the page makes to the admin API, with the headers that matter.
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/') && r.method() !== 'GET') {
      const h = r.headers();
      problems.writes.push({ method: r.method(), path: u.pathname, csrf: h['x-memberwire-csrf'] ?? null });
    }
  });
  page.on('pageerror', (e) => problems.errors.push(String(e?.message ?? e)));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.console.push(m.text());
  });
  return {
    context,
    page,
    problems,
    async stop() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Server + browser for one test file; `t.after` cleans both up. */
export async function start(t, serverOptions) {
  const server = await startServer(serverOptions);
  let browser;
  try {
    browser = await startBrowser();
  } catch (err) {
    await server.stop();
    throw err;
  }
  t.after(async () => {
    await browser.stop().catch(() => {});
    await server.stop().catch(() => {});
  });
  return { server, browser, page: browser.page, problems: browser.problems };
}

/** First run: prove ownership with the access key, set the password, land on Members. */
export async function setupAndLogin(page, server, password = ADMIN_PASSWORD) {
  await page.goto(`${server.url}/admin`);
  await page.getByLabel('Access key').fill(server.accessKey);
  await page.getByLabel('New administrator password').fill(password);
  await page.getByLabel('Confirm the password').fill(password);
  await page.getByRole('button', { name: 'Set Password and Log In' }).click();
  await page.locator('h1.wp-heading-inline', { hasText: 'Members' }).waitFor();
}

/**
 * Saves tests/artifacts/<name>.png: the viewport, or (fullPage) the whole page, taken by growing
 * the viewport to the page's height so the fixed admin bar and menu stay where they belong.
 */
export async function screenshot(page, name, { fullPage = false } = {}) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  if (!fullPage) {
    await page.screenshot({ path: file });
    return file;
  }
  const before = page.viewportSize();
  const height = await page.evaluate(() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  await page.setViewportSize({ width: before.width, height: Math.min(4000, Math.max(before.height, height)) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file });
  await page.setViewportSize(before);
  return file;
}

/** Goes to a hash route of the admin page and waits for its heading. */
export async function goto(page, hash, heading) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  if (heading) await page.locator('h1.wp-heading-inline', { hasText: heading }).waitFor();
}

/** A call to the sandbox CRM's REST API (Keap shapes) as the CRM's own UI would make it. */
export async function keap(server, method, apiPath, body) {
  const res = await server.sandbox.api.fetch(`${server.sandbox.url}/crm/rest${apiPath}`, {
    method,
    headers: { 'X-Keap-API-Key': 'keap-sandbox-api-key', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${method} ${apiPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Calls the admin API from inside the page, with its session cookie and CSRF token. */
export async function pageApi(page, method, apiPath, body) {
  return page.evaluate(
    async ({ method, apiPath, body }) => {
      const session = await (await fetch('/api/session', { credentials: 'same-origin' })).json();
      const res = await fetch(`/api${apiPath}`, {
        method,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Memberwire-CSRF': session.csrf ?? '' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    { method, apiPath, body },
  );
}

/** Every write the page made after logging in carried the session's CSRF header. */
export function writesWithoutCsrf(problems) {
  return problems.writes.filter((w) => !w.csrf && !(w.method === 'POST' && (w.path === '/api/setup' || w.path === '/api/session')));
}

/** Inserts members straight through the directory port (fast set-up of large directories). */
export async function insertMembers(server, members, { batch = 2000 } = {}) {
  const pending = [];
  const t = Date.now();
  for (const m of members) {
    pending.push(
      server.directory.apply({
        op: 'insert',
        member: { credentials: 'none', welcome: 'not_sent', createdAt: t, updatedAt: t, ...m },
      }),
    );
    if (pending.length >= batch) await Promise.all(pending.splice(0));
  }
  const results = await Promise.all(pending);
  return results;
}

/** Posts a CRM hook to the server as the CRM would. */
export async function postHook(server, route, body, contentType = 'application/x-www-form-urlencoded') {
  const res = await fetch(`${server.url}/hooks/${route}?key=${encodeURIComponent(server.accessKey)}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}
