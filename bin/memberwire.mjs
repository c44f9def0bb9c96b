#!/usr/bin/env node
// memberwire's command line. `memberwire serve --help` for the options.
import { parseArgs } from 'node:util';
import { supervise } from '../js/server/serve.mjs';

const HELP = `usage: memberwire serve [options]
       memberwire sandbox [--port N] [--no-limit]

Serves the hook endpoints, the set-password page and the admin page, with SQLite in DIR.

  --port N             port to listen on (default 8787; 0 picks a free one)
  --host H             address to bind (default 127.0.0.1)
  --data DIR           where members, events and the access key live (default ./data)
  --directory KIND     sqlite (default: members in DIR) or wordpress (members are the users of
                       a WordPress site with the memberwire plugin: MEMBERWIRE_WP_URL,
                       MEMBERWIRE_WP_USER, MEMBERWIRE_WP_APP_PASSWORD)
  --crm NAME           keap (token in MEMBERWIRE_KEAP_TOKEN), activecampaign (MEMBERWIRE_AC_TOKEN),
                       hubspot (MEMBERWIRE_HUBSPOT_TOKEN), mailchimp (MEMBERWIRE_MAILCHIMP_KEY),
                       kit (MEMBERWIRE_KIT_TOKEN), drip (MEMBERWIRE_DRIP_TOKEN), mailerlite
                       (MEMBERWIRE_MAILERLITE_TOKEN), highlevel (MEMBERWIRE_HIGHLEVEL_TOKEN and
                       MEMBERWIRE_HIGHLEVEL_LOCATION), or sandbox (a built-in Keap-shaped CRM on
                       loopback). Without it: the sandbox, until the admin page's Settings
                       connect a CRM (a CRM given here cannot be changed there)
  --crm-url URL        the CRM API's base URL (Keap default https://api.infusionsoft.com/crm/rest;
                       ActiveCampaign https://ACCOUNT.api-us1.com/api/3; Drip
                       https://api.getdrip.com/v2/ACCOUNT_ID; Mailchimp
                       https://DC.api.mailchimp.com/3.0/lists/AUDIENCE_ID)
  --password-mode M    link (default: a one-time set-password link in a CRM field) or
                       crm (the CRM's password field, or a generated one written back);
                       without it, the admin page's Settings may change it
  --no-sandbox-limit   lift the sandbox CRM's 10 requests/s limit (benchmarks)
  --crm-rate N         requests per second memberwire sends the CRM (default: the CRM's
                       documented limit, e.g. Keap 10, ActiveCampaign 5; 0: no limit, for a sandbox)
  --budget-ms N        how long a post may run before it is answered 202 "queued"
                       (default 3000; 0 answers as soon as the post is durably recorded)

Environment: MEMBERWIRE_KEY (the access key; generated and printed once if unset),
MEMBERWIRE_PASSWORD_FIELD, MEMBERWIRE_LINK_FIELD, MEMBERWIRE_WELCOME_TAG (CRM field and tag ids),
MEMBERWIRE_PUBLIC_URL (the public address members reach, for set-password links),
MEMBERWIRE_TRUSTED_PROXIES (reverse proxies' addresses, comma-separated: clients are then told
apart by X-Forwarded-For), MEMBERWIRE_KEEP_FIELDS (other post fields kept with an event, by
name; none by default).

memberwire sandbox serves the Keap-shaped sandbox CRM alone, in its own process (default port
8788; its seeded fields: password 11 (20 characters), link 13; welcome tag 95), for
\`memberwire serve --crm keap --crm-url URL\` with MEMBERWIRE_KEAP_TOKEN set to the sandbox's key
(KEAP_DEFAULT_API_KEY in js/sandbox/keap.mjs).`;

const [command, ...rest] = process.argv.slice(2);
if (command === 'sandbox') {
  await sandbox(rest);
} else if (command !== 'serve') {
  console.log(HELP);
  process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2);
}

let args;
try {
  args = parseArgs({
    args: rest,
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      data: { type: 'string', default: './data' },
      directory: { type: 'string', default: 'sqlite' },
      crm: { type: 'string' },
      'crm-url': { type: 'string' },
      'password-mode': { type: 'string' },
      'no-sandbox-limit': { type: 'boolean', default: false },
      'budget-ms': { type: 'string', default: '3000' },
      'crm-rate': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (err) {
  console.error(`memberwire: ${err.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
if (args['crm-rate'] !== undefined && !(Number(args['crm-rate']) >= 0)) {
  console.error('memberwire: --crm-rate must be a number of requests per second (0: no limit)');
  process.exit(2);
}

// Signals are handled from the start: one that arrives while the server is still starting stops
// it as soon as it is up, instead of killing the process half-way.
let server = null;
let stopping = false;
const stop = async () => {
  stopping = true;
  if (!server) return;
  await server.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

try {
  server = await supervise({
    port: Number(args.port),
    host: args.host,
    dataDir: args.data,
    directory: args.directory,
    crm: args.crm,
    crmUrl: args['crm-url'],
    passwordMode: args['password-mode'],
    sandboxRateLimit: args['no-sandbox-limit'] ? 0 : 10,
    budgetMs: Number(args['budget-ms']),
    ...(args['crm-rate'] !== undefined ? { crmRate: Number(args['crm-rate']) } : {}),
  });
  if (stopping) await stop();
} catch (err) {
  console.error(`memberwire: ${err.message}`);
  process.exit(err.code === 'usage' ? 2 : 1);
}

/** `memberwire sandbox`: the Keap-shaped sandbox CRM alone, until SIGINT or SIGTERM. */
async function sandbox(argv) {
  let opts;
  try {
    opts = parseArgs({ args: argv, options: { port: { type: 'string', default: '8788' }, host: { type: 'string', default: '127.0.0.1' }, 'no-limit': { type: 'boolean', default: false } } }).values;
  } catch (err) {
    console.error(`memberwire sandbox: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  const { createKeapSandbox } = await import('../js/sandbox/keap.mjs');
  const { listen } = await import('../js/server/http-bridge.mjs');
  const sb = createKeapSandbox({ rateLimit: opts['no-limit'] ? false : { perSecond: 10 } });
  const served = await listen(sb.handle, { port: Number(opts.port), host: opts.host });
  console.log(`sandbox: Keap REST shapes at ${served.url}/crm/rest${opts['no-limit'] ? ' (no rate limit)' : ' (10 requests/s, as Keap)'}`);
  const stopSandbox = async () => {
    await served.close();
    process.exit(0);
  };
  process.once('SIGINT', stopSandbox);
  process.once('SIGTERM', stopSandbox);
  await new Promise(() => {});
}
