// Shared helpers of the registration tests (tests/js/{handler,serve,crash,concurrency}.test.mjs):
// the edge function wired to a CRM sandbox in memory, the real CLI as a child process, and a
// registry of secrets that no answer, log line or stored event may contain.
//
// Nothing here prints a secret: the access key, set-password tokens and passwords are kept in
// variables and only ever compared; any text that goes into an assertion message passes through
// `secrets.redact()` first.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { loadWasm } from '../../../js/hosts/node.mjs';
import { createEngine } from '../../../js/engine/engine.mjs';
import { createHandler } from '../../../js/engine/handler.mjs';
import { memoryEvents } from '../../../js/adapters/events.mjs';
import { memoryDirectory } from '../../../js/adapters/directory.mjs';
import { createKeapSandbox, KEAP_DEFAULT_API_KEY } from '../../../js/sandbox/keap.mjs';
import { createActiveCampaignSandbox, AC_DEFAULT_API_TOKEN } from '../../../js/sandbox/activecampaign.mjs';
import { createKitSandbox, KIT_DEFAULT_API_KEY } from '../../../js/sandbox/kit.mjs';
import { createDripSandbox, DRIP_DEFAULT_TOKEN, DRIP_DEFAULT_ACCOUNT } from '../../../js/sandbox/drip.mjs';
import { createHighLevelSandbox, HIGHLEVEL_DEFAULT_TOKEN, HIGHLEVEL_DEFAULT_LOCATION } from '../../../js/sandbox/highlevel.mjs';
import { createMailerLiteSandbox, MAILERLITE_DEFAULT_TOKEN } from '../../../js/sandbox/mailerlite.mjs';
import { createHubSpotSandbox, HUBSPOT_DEFAULT_TOKEN } from '../../../js/sandbox/hubspot.mjs';
import { createMailchimpSandbox, MAILCHIMP_DEFAULT_API_KEY, MAILCHIMP_DEFAULT_LIST } from '../../../js/sandbox/mailchimp.mjs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(ROOT, 'bin/memberwire.mjs');
export const FORM = 'application/x-www-form-urlencoded';
export const JSON_TYPE = 'application/json';

// The sandboxes' seeded custom fields and tags (js/sandbox/keap.mjs, js/sandbox/activecampaign.mjs).
export const KEAP = { passwordField: '11', linkField: '13', welcomeTag: '95' };
export const AC = { passwordField: '1', linkField: '2', welcomeTag: '3' };

export const keapCrm = (baseUrl = 'http://sandbox.test/crm/rest') => ({
  kind: 'keap',
  baseUrl,
  token: KEAP_DEFAULT_API_KEY,
  passwordField: KEAP.passwordField,
  passwordFieldMax: 20,
  linkField: KEAP.linkField,
  welcomeTag: KEAP.welcomeTag,
});

export const acCrm = (baseUrl = 'http://ac.test/api/3') => ({
  kind: 'activecampaign',
  baseUrl,
  token: AC_DEFAULT_API_TOKEN,
  passwordField: AC.passwordField,
  linkField: AC.linkField,
  welcomeTag: AC.welcomeTag,
});

/**
 * The CRMs the registration tests run against: each sandbox, memberwire's configuration for it
 * (the sandbox's seeded password field, link field and welcome tag), and how to read a contact's
 * link field back from the sandbox's own JSON.
 */
export const CRMS = {
  keap: { sandbox: () => createKeapSandbox({ rateLimit: false }), config: () => keapCrm(), link: (sb, id) => keapField(sb.contact(id), KEAP.linkField) },
  activecampaign: { sandbox: () => createActiveCampaignSandbox({ rateLimit: false }), config: () => acCrm(), link: (sb, id) => sb.contact(id)?.fieldValues.find((v) => v.field === AC.linkField)?.value ?? null },
  kit: {
    sandbox: () => createKitSandbox({ rateLimit: false }),
    config: (baseUrl = 'http://kit.test/v4') => ({ kind: 'kit', baseUrl, token: KIT_DEFAULT_API_KEY, passwordField: 'password', linkField: 'set_password_link', welcomeTag: '5120003' }),
    link: (sb, id) => sb.contact(id)?.subscriber.fields.set_password_link ?? null,
  },
  drip: {
    sandbox: () => createDripSandbox({ rateLimit: false }),
    config: (baseUrl = `http://drip.test/v2/${DRIP_DEFAULT_ACCOUNT}`) => ({ kind: 'drip', baseUrl, token: DRIP_DEFAULT_TOKEN, passwordField: 'password', linkField: 'set_password_link', welcomeTag: 'Welcome' }),
    link: (sb, id) => sb.contact(id)?.custom_fields?.set_password_link ?? null,
  },
  highlevel: {
    sandbox: () => createHighLevelSandbox({ rateLimit: false }),
    config: (baseUrl = 'http://highlevel.test') => ({ kind: 'highlevel', baseUrl, token: HIGHLEVEL_DEFAULT_TOKEN, accountId: HIGHLEVEL_DEFAULT_LOCATION, passwordField: 'Pw5dFx8KqL2nTz7RvB3m', linkField: 'Sp9LnK4xQw7mZt2RcV6b', welcomeTag: 'Welcome' }),
    link: (sb, id) => sb.contact(id)?.customFields?.find((f) => f.id === 'Sp9LnK4xQw7mZt2RcV6b')?.value ?? null,
  },
  mailerlite: {
    sandbox: () => createMailerLiteSandbox({ rateLimit: false }),
    config: (baseUrl = 'http://mailerlite.test/api') => ({ kind: 'mailerlite', baseUrl, token: MAILERLITE_DEFAULT_TOKEN, passwordField: 'password', linkField: 'set_password_link', welcomeTag: '102817459301156012' }),
    link: (sb, id) => sb.contact(id)?.fields?.set_password_link ?? null,
  },
  hubspot: {
    sandbox: () => createHubSpotSandbox({ rateLimit: false }),
    // Tags are static lists: the welcome "tag" is list 13 (Welcome).
    config: (baseUrl = 'http://hubspot.test') => ({ kind: 'hubspot', baseUrl, token: HUBSPOT_DEFAULT_TOKEN, passwordField: 'memberwire_password', linkField: 'memberwire_set_password_link', welcomeTag: '13' }),
    link: (sb, id) => sb.contact(id)?.properties?.memberwire_set_password_link ?? null,
  },
  mailchimp: {
    sandbox: () => createMailchimpSandbox({ rateLimit: false }),
    // One audience: its id is in the base URL. Merge fields by tag; tags applied by name.
    config: (baseUrl = `http://mailchimp.test/3.0/lists/${MAILCHIMP_DEFAULT_LIST}`) => ({ kind: 'mailchimp', baseUrl, token: MAILCHIMP_DEFAULT_API_KEY, passwordField: 'PASSWORD', linkField: 'SETPWLINK', welcomeTag: 'Welcome' }),
    link: (sb, id) => sb.contact(id)?.merge_fields?.SETPWLINK ?? null,
  },
};

/** A 43-character access key (256 bits, base64url), made here rather than by the server. */
export const makeKey = () => randomBytes(32).toString('base64url');

// ---- secrets ---------------------------------------------------------------------------------

/** The values no answer may contain. `redact` makes any text safe to put in a message. */
export function createSecrets() {
  const values = new Set([KEAP_DEFAULT_API_KEY, AC_DEFAULT_API_TOKEN, KIT_DEFAULT_API_KEY, DRIP_DEFAULT_TOKEN, HIGHLEVEL_DEFAULT_TOKEN, MAILERLITE_DEFAULT_TOKEN, HUBSPOT_DEFAULT_TOKEN, MAILCHIMP_DEFAULT_API_KEY]);
  const api = {
    add(...list) {
      for (const v of list) if (typeof v === 'string' && v.length >= 8) values.add(v);
      return list[0];
    },
    get size() {
      return values.size;
    },
    /** The secrets found in `text` (redacted names only). */
    foundIn(text) {
      return [...values].filter((v) => text.includes(v)).map((v) => `${v.slice(0, 3)}…(${v.length} chars)`);
    },
    redact(text) {
      let out = String(text);
      for (const v of values) out = out.split(v).join('<secret>');
      // Anything that looks like a set-password link or a generated key, even one not registered.
      return out.replace(/token=[A-Za-z0-9_-]+/g, 'token=<secret>').replace(/mwk_[A-Za-z0-9_-]+/g, 'mwk_<secret>');
    },
    assertAbsent(text, where) {
      const found = api.foundIn(text);
      assert.deepEqual(found, [], `${where} contains a secret`);
    },
  };
  return api;
}

/** The set-password token in a link `…/set-password#token=T`, or null. */
export function tokenOf(link) {
  if (typeof link !== 'string') return null;
  const m = /#token=([A-Za-z0-9_-]+)$/.exec(link);
  return m ? m[1] : null;
}

/** The content of a Keap sandbox contact's custom field (full v2 JSON), or null. */
export function keapField(contact, fieldId) {
  return contact?.custom_fields?.find((f) => f.id === String(fieldId))?.content ?? null;
}

// ---- the edge function in memory --------------------------------------------------------------

/**
 * The edge function wired to a CRM sandbox's fetch, with memory adapters.
 * Every answer is recorded (for the secret scan and the "always JSON" checks).
 */
export async function createRig({
  crm = 'keap',
  secrets,
  budgetMs, // the handler's default (3000 ms) unless given
  maxBodyBytes,
  config = {},
  rateLimit = 0,
  httpTimeoutMs,
  now,
  linkUrl = 'https://members.example/set-password',
  engineOptions = {},
  handlerOptions = {},
} = {}) {
  const wasm = loadWasm();
  const spec = CRMS[crm];
  const sandbox = spec.sandbox();
  const { key, digest } = wasm.generateAccessKey();
  secrets?.add(key);
  const events = memoryEvents(now ? { now } : {});
  const directory = memoryDirectory(wasm);
  const logs = [];
  const engine = createEngine({
    wasm,
    config: { crm: spec.config(), bcryptCost: 4, linkUrl, ...config },
    events,
    directory,
    fetch: sandbox.fetch,
    rateLimit,
    httpTimeoutMs,
    ...(now ? { now } : {}),
    log: (record) => logs.push(record),
    ...engineOptions,
  });
  const handler = createHandler({
    wasm,
    engine,
    keyDigest: () => digest,
    ...(budgetMs !== undefined ? { budgetMs } : {}),
    ...(maxBodyBytes ? { maxBodyBytes } : {}),
    ...handlerOptions,
  });
  const answers = [];

  /** Calls the handler (ctx: the host's context, e.g. {remoteAddress}); resolves to {status, headers, text, body (parsed JSON or undefined)}. */
  async function call(path, init = {}, ctx = undefined) {
    const response = await handler.fetch(new Request(new URL(path, 'http://memberwire.test'), init), {}, ctx);
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const answer = { path, method: init.method ?? 'GET', status: response.status, headers: response.headers, text, body };
    answers.push(answer);
    return answer;
  }

  /** POSTs to a hook route with the key as a Bearer token (unless `auth` says otherwise). */
  function post(path, body, { type = FORM, auth = 'bearer', headers = {} } = {}) {
    const h = { 'content-type': type, ...headers };
    let target = path;
    if (auth === 'bearer') h.authorization = `Bearer ${key}`;
    else if (auth === 'header') h['x-memberwire-key'] = key;
    else if (auth === 'query') target += `${path.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}`;
    return call(target, { method: 'POST', headers: h, body });
  }

  const postJson = (path, value, options) => post(path, JSON.stringify(value), { type: JSON_TYPE, ...options });

  /** Every set-password token the CRM sandbox holds (link fields of every contact). */
  function linkTokens() {
    if (crm === 'keap') return sandbox.contacts().map((c) => tokenOf(keapField(c, KEAP.linkField))).filter(Boolean);
    if (crm === 'activecampaign') {
      return sandbox
        .contacts()
        .flatMap((c) => c.fieldValues.filter((v) => v.field === AC.linkField).map((v) => tokenOf(v.value)))
        .filter(Boolean);
    }
    throw new Error(`linkTokens: read ${crm}'s links with CRMS.${crm}.link`);
  }

  return { wasm, sandbox, key, digest, events, directory, engine, handler, logs, answers, call, post, postJson, linkTokens };
}

// ---- the real CLI -----------------------------------------------------------------------------

export async function tempDir(prefix = 'memberwire-test-') {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir) {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Starts `node bin/memberwire.mjs serve --port 0 --data DIR ...args` and waits for its start-up
 * lines (with `expectKey`, also for the generated key's block) and its first /health answer.
 * Resolves to {url, crmUrl, accessKey (when printed), stdout(), stderr(), redact(), child,
 * exited, stop(), kill()}. The access key is captured from stdout and never echoed.
 */
export async function startServer({ dataDir, args = [], env = {}, secrets = createSecrets(), expectKey = false, timeoutMs = 20_000 }) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir, ...args], {
    cwd: ROOT,
    // Only this test's settings: no MEMBERWIRE_* variable of the outer shell leaks in.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MEMBERWIRE_'))), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let wake = () => {};
  child.stdout.on('data', (d) => {
    out += d;
    wake();
  });
  child.stderr.on('data', (d) => {
    err += d;
    wake();
  });
  exited.then(() => wake());

  const redact = (s) => secrets.redact(s);
  const deadline = Date.now() + timeoutMs;
  let started = null;
  let dead = false;
  exited.then(() => (dead = true));
  while (!started) {
    const m = /listening on (http:\/\/\S+)\n[\s\S]*?\n  crm: (.*)\n/.exec(out);
    if (m) {
      // A generated key's block (ending with the four hook URLs) follows the crm line, maybe in
      // a later chunk: with `expectKey`, wait for all of it.
      const generated = expectKey || out.includes('access key (shown once');
      if (!generated || /\/hooks\/json\?key=\S+\n/.test(out)) started = m;
    }
    if (started) break;
    if (dead) throw new Error(`memberwire serve exited before starting: ${redact(err || out)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`memberwire serve did not start in ${timeoutMs} ms: ${redact(err || out)}`);
    }
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, 50);
    });
  }

  const url = started[1];
  const crmUrl = /at (http:\/\/\S+\/crm\/rest)$/.exec(started[2])?.[1] ?? null;
  // Ready means answering: one /health round trip (the banner is printed just before serve()
  // returns; an answer also proves the process went on past it).
  await waitFor(
    () =>
      fetch(`${url}/health`).then(
        async (r) => (await r.arrayBuffer()) && r.ok,
        () => false,
      ),
    { timeoutMs: 10_000, what: 'the first /health answer' },
  );
  let accessKey = null;
  const keyBlock = /access key \(shown once[^\n]*\n\s+(\S+)\n/.exec(out);
  if (keyBlock) {
    accessKey = keyBlock[1];
    secrets.add(accessKey);
  }

  return {
    url,
    crmUrl,
    accessKey,
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    redact,
    /** SIGTERM (graceful: the store is closed) and wait; SIGKILL after `graceMs`. */
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
    /** SIGKILL now and wait until the process is gone. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** fetch with a JSON answer: {status, headers, text, body}. */
export async function fetchJson(url, init = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** Polls `check` (async, returns a truthy value when done) every `everyMs` until `timeoutMs`. */
export async function waitFor(check, { timeoutMs = 20_000, everyMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Event counts from /health (needs the access key). */
export async function eventCounts(url, key) {
  const r = await fetchJson(`${url}/health`, { headers: { 'x-memberwire-key': key } });
  assert.equal(r.status, 200);
  return r.body.events;
}

export { KEAP_DEFAULT_API_KEY, AC_DEFAULT_API_TOKEN, createKeapSandbox, createActiveCampaignSandbox, loadWasm };
