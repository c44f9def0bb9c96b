// Settings: CRM connection (+ Test connection), the access key (rotate: shown once), password
// mode, welcome tag, field mapping, hook URLs to paste into the CRM (with copy buttons).
import { h, replace, notice, runBusy } from '../dom.js';
import { get, post, embedded } from '../api.js';
import { frame, copyButton, errorText } from './common.js';
import { apiTokensSection } from './api-tokens.js';

const CRM_NAMES = { keap: 'Keap (Infusionsoft)', activecampaign: 'ActiveCampaign', kit: 'Kit (ConvertKit)', drip: 'Drip', mailerlite: 'MailerLite', highlevel: 'HighLevel', hubspot: 'HubSpot', mailchimp: 'Mailchimp', generic: 'Generic JSON' };
const HOOK_LABELS = {
  keap: 'Keap “Send an HTTP post” (action sets, campaign builder)',
  keap_post: 'Keap “Send an HTTP post” (action sets, campaign builder)',
  'keap-rest': 'Keap REST hooks',
  keapRest: 'Keap REST hooks',
  keap_rest: 'Keap REST hooks',
  activecampaign: 'ActiveCampaign webhook',
  kit: 'Kit webhook',
  drip: 'Drip webhook',
  mailerlite: 'MailerLite webhook',
  highlevel: 'HighLevel workflow webhook',
  hubspot: 'HubSpot webhook (workflow or app)',
  mailchimp: 'Mailchimp audience webhook',
  json: 'Any tool that posts JSON',
};
const PASSWORD_MODES = {
  link: 'Set-password link: no password travels. A one-time link is written into the CRM field for the welcome email.',
  crm: 'Password in the CRM: the contact’s password field is used when acceptable; otherwise a strong one is generated and written back.',
};

export async function renderSettings(ctx) {
  const settings = await get('/settings');
  if (!ctx.isCurrent()) return;
  const f = frame(ctx, 'Settings');
  const crm = settings.crm ?? {};
  let newKey = null;

  // CRM connection.
  const testBtn = h('button', { type: 'button', class: 'button', id: 'mw-test-crm' }, 'Test Connection');
  const testOut = h('div', { id: 'mw-test-crm-out', class: 'mw-inline-notice' });
  testBtn.addEventListener('click', () =>
    runBusy(
      testBtn,
      async () => {
        const r = await post('/crm/test');
        const detail = r.message ? `${r.message[0].toUpperCase()}${r.message.slice(1)}` : r.ok ? 'Connected' : 'The CRM did not answer as expected';
        replace(testOut, notice(r.ok ? 'success' : 'error', `${r.ok ? '' : 'Not connected: '}${detail}${r.status ? ` (HTTP ${r.status})` : ''}.`));
      },
      { busyLabel: 'Testing…', onError: (err) => err.status !== 401 && replace(testOut, notice('error', `The test failed: ${errorText(err)}`)) },
    ),
  );

  // The CRM's tags and fields with their names (shown by name wherever the CRM uses ids).
  const catalogOut = h('span', { id: 'mw-catalog-out' }, 'Loading…');
  const catalogBtn = h('button', { type: 'button', class: 'button', id: 'mw-catalog-refresh' }, 'Refresh');
  const drawCatalog = (c) => {
    const when = c.fetchedAt ? `listed ${new Date(c.fetchedAt).toLocaleString()}` : 'not listed yet';
    catalogOut.textContent = `${c.tags.length} tags, ${c.fields.length} custom fields (${when})${c.error ? `. The last listing failed: ${c.error}` : ''}`;
  };
  if (crm.kind && crm.kind !== 'generic') {
    get('/crm/catalog').then(drawCatalog, (err) => (catalogOut.textContent = `Not listed: ${errorText(err)}`));
  } else catalogOut.textContent = 'No CRM connected.';
  catalogBtn.addEventListener('click', () =>
    runBusy(catalogBtn, async () => drawCatalog(await post('/crm/catalog/refresh')), { busyLabel: 'Listing…', onError: (err) => err.status !== 401 && (catalogOut.textContent = `Not listed: ${errorText(err)}`) }),
  );

  // Access key.
  const keyOut = h('div', { id: 'mw-key-out' });
  const rotateBtn = h('button', { type: 'button', class: 'button', id: 'mw-rotate' }, 'Rotate Access Key…');
  rotateBtn.addEventListener('click', () => {
    const confirmBtn = h('button', { type: 'button', class: 'button button-primary mw-danger', id: 'mw-rotate-confirm' }, 'Rotate Now');
    const cancel = h('button', { type: 'button', class: 'button', id: 'mw-rotate-cancel' }, 'Cancel');
    cancel.addEventListener('click', () => {
      replace(keyOut);
      rotateBtn.focus();
    });
    confirmBtn.addEventListener('click', () =>
      runBusy(
        confirmBtn,
        async () => {
          const { key } = await post('/settings/rotate-key');
          newKey = key;
          const input = h('input', { type: 'text', id: 'mw-new-key', class: 'regular-text code mw-key', readonly: true, value: key, spellcheck: 'false' });
          replace(
            keyOut,
            notice('warning', 'The new access key is shown only this once: copy it now. The old key has stopped working, so update the hook URLs in the CRM.', {
              dismissible: false,
              extra: h('p', {}, h('label', { for: 'mw-new-key' }, 'New access key'), ' ', input, ' ', copyButton(input)),
            }),
          );
          drawHooks();
          input.focus();
          input.select();
        },
        { busyLabel: 'Rotating…', onError: (err) => err.status !== 401 && replace(keyOut, notice('error', `The key could not be rotated: ${errorText(err)}`)) },
      ),
    );
    replace(keyOut, notice('warning', 'Rotate the access key? The old key stops working at once: every hook URL in the CRM must be updated.', { dismissible: false, extra: h('p', {}, confirmBtn, ' ', cancel) }));
    confirmBtn.focus();
  });

  // Hook URLs.
  const hooksBody = h('tbody');
  const drawHooks = () => {
    const rows = Object.entries(settings.hookUrls ?? {}).map(([name, url], i) => {
      const full = newKey ? withKey(url, newKey) : url;
      const input = h('input', { type: 'text', id: `mw-hook-${i}`, class: 'large-text code mw-hook-url', readonly: true, value: full, spellcheck: 'false', 'data-hook': name });
      return h('tr', {}, h('th', { scope: 'row' }, h('label', { for: input.id }, HOOK_LABELS[name] ?? name)), h('td', {}, h('div', { class: 'mw-inline' }, input, copyButton(input))));
    });
    replace(hooksBody, rows.length ? rows : h('tr', {}, h('td', { colspan: '2' }, 'No hook URLs.')));
  };
  drawHooks();

  const row = (label, value, description) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, value, description ? h('p', { class: 'description' }, description) : null));
  const code = (v) => (v === undefined || v === null || v === '' ? h('span', { class: 'mw-empty' }, 'not set') : h('code', {}, String(v)));

  f.body.append(
    h('h2', { class: 'title' }, 'CRM connection'),
    h(
      'table',
      { class: 'form-table mw-readonly', role: 'presentation' },
      h(
        'tbody',
        {},
        row('CRM', CRM_NAMES[crm.kind] ?? crm.kind ?? '—', crm.sandbox ? 'The built-in sandbox CRM (Keap’s REST shapes on loopback, demo contacts). Start memberwire with --crm and the CRM’s name (keap, activecampaign, kit, drip, mailerlite, highlevel, hubspot, mailchimp) to use a real account.' : null),
        row('API base URL', code(crm.baseUrl)),
        row('Connection', h('div', {}, testBtn, testOut), 'Makes one read-only request with the configured token. The token itself is never shown.'),
        row('Tags and fields', h('div', {}, catalogOut, ' ', catalogBtn), 'The CRM’s tags and custom fields with their names, listed again every hour: tags show by name, and access rules may name a tag or give its id.'),
      ),
    ),
    h('h2', { class: 'title' }, 'Access key'),
    h('p', {}, 'The hook URLs carry the access key. Only its digest is stored, so it cannot be shown again. Rotate it if it may have leaked.'),
    h('p', {}, rotateBtn),
    keyOut,
    h('h2', { class: 'title' }, 'Passwords and the welcome email'),
    h(
      'table',
      { class: 'form-table mw-readonly', role: 'presentation' },
      h(
        'tbody',
        {},
        row('Password mode', h('strong', {}, settings.passwordMode ?? '—'), PASSWORD_MODES[settings.passwordMode] ?? null),
        row('Welcome tag', code(settings.welcomeTag), 'Applied once the credentials are in the CRM; it starts the CRM’s welcome email.'),
      ),
    ),
    h('h2', { class: 'title' }, 'Field mapping'),
    h(
      'table',
      { class: 'form-table mw-readonly', role: 'presentation' },
      h(
        'tbody',
        {},
        row('Password field', code(settings.passwordField), 'The CRM custom field that holds the member’s password (password mode “crm”).'),
        row('Set-password link field', code(settings.linkField), 'The CRM custom field the one-time set-password link is written into.'),
      ),
    ),
    h('p', { class: 'description' }, 'These are set when memberwire starts (command-line options and environment variables; see the README).'),
    h('h2', { class: 'title' }, 'Hook URLs'),
    h('p', {}, newKey ? '' : 'Paste these into the CRM. Each needs the access key: add ?key= and the key (or send it in the X-Memberwire-Key header). After a rotation they are shown here with the new key.'),
    h('table', { class: 'form-table mw-hooks', role: 'presentation' }, hooksBody),
    h('p', {}, 'A sender with a JSON format of its own (another CRM, a shop, a form tool)? ', h('a', { href: '#/sources', id: 'mw-sources-link' }, 'Map its webhook under Sources'), ': say where its JSON carries the contact, and preview a sample.'),
  );
  // Tokens are managed from memberwire's own page only: inside wp-admin the plugin holds one.
  if (!embedded) {
    const tokens = apiTokensSection();
    f.body.append(tokens.section);
    await tokens.ready;
  }
}

function withKey(url, key) {
  try {
    const u = new URL(url, location.origin);
    u.searchParams.set('key', key);
    return u.toString();
  } catch {
    return `${url}${url.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}`;
  }
}
