// Settings: CRM connection (+ Test connection), the access key (rotate: shown once), password
// mode, welcome tag, field mapping, hook URLs to paste into the CRM (with copy buttons).
import { h, replace, notice, runBusy } from '../dom.js';
import { get, post, put, del, embedded } from '../api.js';
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
  const catalogReady = crm.kind && crm.kind !== 'generic' ? get('/crm/catalog').catch((err) => ({ failed: err })) : Promise.resolve(null);
  catalogReady.then((c) => {
    if (!c) catalogOut.textContent = 'No CRM connected.';
    else if (c.failed) catalogOut.textContent = `Not listed: ${errorText(c.failed)}`;
    else drawCatalog(c);
  });
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

  // Hook URLs, each with the shared access key or a key of its own (rotated here, shown once).
  const hooksBody = h('tbody');
  let ownKeys = {};
  const shownKeys = {}; // route -> a key of its own made in this visit (shown once)
  const drawHooks = () => {
    const rows = Object.entries(settings.hookUrls ?? {}).map(([name, url], i) => {
      const key = shownKeys[name] ?? (ownKeys[name] ? null : newKey);
      const full = key ? withKey(url, key) : url;
      const input = h('input', { type: 'text', id: `mw-hook-${i}`, class: 'large-text code mw-hook-url', readonly: true, value: full, spellcheck: 'false', 'data-hook': name });
      const own = h('button', { type: 'button', class: 'button mw-own-key', 'data-route': name }, ownKeys[name] ? 'New Key for This URL' : 'Own Key…');
      own.addEventListener('click', () =>
        runBusy(own, async () => {
          const r = await post(`/settings/source-keys/${encodeURIComponent(name)}/rotate`);
          shownKeys[name] = r.key;
          ownKeys = { ...ownKeys, [name]: { createdAt: new Date().toISOString() } };
          drawHooks();
        }, { onError: (err) => err.status !== 401 && replace(keyOut, notice('error', errorText(err))) }),
      );
      const shared = ownKeys[name] ? h('button', { type: 'button', class: 'button-link mw-shared-key', 'data-route': name }, 'Use the shared key') : null;
      shared?.addEventListener('click', () =>
        runBusy(shared, async () => {
          await del(`/settings/source-keys/${encodeURIComponent(name)}`);
          delete shownKeys[name];
          const { [name]: gone, ...rest } = ownKeys;
          ownKeys = rest;
          drawHooks();
        }, { onError: (err) => err.status !== 401 && replace(keyOut, notice('error', errorText(err))) }),
      );
      const note = shownKeys[name]
        ? h('p', { class: 'description mw-own-key-note' }, 'This URL’s own key, shown only this once: the shared key no longer works here. Copy the URL into the CRM now.')
        : ownKeys[name]
          ? h('p', { class: 'description' }, 'This URL has a key of its own (add ?key= and it); the shared key does not work here.')
          : null;
      return h('tr', {}, h('th', { scope: 'row' }, h('label', { for: input.id }, HOOK_LABELS[name] ?? name)), h('td', {}, h('div', { class: 'mw-inline' }, input, copyButton(input), ' ', own, ' ', shared), note));
    });
    replace(hooksBody, rows.length ? rows : h('tr', {}, h('td', { colspan: '2' }, 'No hook URLs.')));
  };
  drawHooks();
  get('/settings/source-keys').then(
    (r) => {
      ownKeys = r.routes ?? {};
      drawHooks();
    },
    () => {},
  );

  const row = (label, value, description) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, value, description ? h('p', { class: 'description' }, description) : null));
  const code = (v) => (v === undefined || v === null || v === '' ? h('span', { class: 'mw-empty' }, 'not set') : h('code', {}, String(v)));

  const crmNote = crm.sandbox ? 'The built-in sandbox CRM (Keap’s REST shapes on loopback, demo contacts). Connect a real account below, or start memberwire with --crm and the CRM’s name.' : null;
  const connectionSections = settings.editable
    ? connectionForm(settings.editable, { crmNote, testBtn, testOut, catalogOut, catalogBtn, catalog: catalogReady })
    : [
        h('h2', { class: 'title' }, 'CRM connection'),
        h(
          'table',
          { class: 'form-table mw-readonly', role: 'presentation' },
          h(
            'tbody',
            {},
            row('CRM', CRM_NAMES[crm.kind] ?? crm.kind ?? '—', crmNote),
            row('API base URL', code(crm.baseUrl)),
            row('Connection', h('div', {}, testBtn, testOut), 'Makes one read-only request with the configured token. The token itself is never shown.'),
            row('Tags and fields', h('div', {}, catalogOut, ' ', catalogBtn), 'The CRM’s tags and custom fields with their names, listed again every hour: tags show by name, and access rules may name a tag or give its id.'),
            row('Password mode', h('strong', {}, settings.passwordMode ?? '—'), PASSWORD_MODES[settings.passwordMode] ?? null),
            row('Welcome tag', code(settings.welcomeTag), 'Applied once the credentials are in the CRM; it starts the CRM’s welcome email.'),
            row('Password field', code(settings.passwordField), 'The CRM custom field that holds the member’s password (password mode “crm”).'),
            row('Set-password link field', code(settings.linkField), 'The CRM custom field the one-time set-password link is written into.'),
          ),
        ),
        h('p', { class: 'description' }, 'On this host these are set in its configuration (wrangler.toml and its secrets; see the README).'),
      ];

  f.body.append(
    ...connectionSections,
    h('h2', { class: 'title' }, 'Access key'),
    h('p', {}, 'The hook URLs carry the access key. Only its digest is stored, so it cannot be shown again. Rotate it if it may have leaked.'),
    h('p', {}, rotateBtn),
    keyOut,
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

const KIND_ORDER = ['keap', 'activecampaign', 'hubspot', 'mailchimp', 'kit', 'drip', 'mailerlite', 'highlevel'];
const HOURS = 3600_000;

/**
 * The settings the page may change (GET /api/settings → editable): the CRM connection, the
 * credentials fields and welcome tag picked from the CRM's own lists, the password mode and the
 * link's lifetime. Only what changed is sent; what the environment fixes is shown disabled, with
 * the reason. The token is write-only.
 */
function connectionForm(ed, { crmNote, testBtn, testOut, catalogOut, catalogBtn, catalog }) {
  const locked = ed.locked ?? {};
  const lockNote = (key) => (locked[key] ? h('p', { class: 'description mw-locked' }, `Set outside this page: ${locked[key]}.`) : null);
  const kind = h('select', { id: 'mw-set-kind', disabled: Boolean(locked['crm.kind']) }, KIND_ORDER.map((k) => h('option', { value: k, selected: ed.crm.kind === k }, CRM_NAMES[k] ?? k)));
  const baseUrl = h('input', { type: 'url', id: 'mw-set-base-url', class: 'regular-text code', value: ed.crm.baseUrl ?? '', disabled: Boolean(locked['crm.baseUrl']), spellcheck: 'false', autocomplete: 'off' });
  const token = h('input', { type: 'password', id: 'mw-set-token', class: 'regular-text', value: '', disabled: Boolean(locked['crm.token']), autocomplete: 'new-password', placeholder: ed.crm.tokenSet ? 'Saved: type a new one to replace it' : 'The CRM’s API token' });
  const account = h('input', { type: 'text', id: 'mw-set-account', class: 'regular-text code', value: ed.crm.accountId ?? '', disabled: Boolean(locked['crm.accountId']), autocomplete: 'off' });
  const accountRow = h('tr', { hidden: ed.crm.kind !== 'highlevel' }, h('th', { scope: 'row' }, h('label', { for: account.id }, 'Location id')), h('td', {}, account, h('p', { class: 'description' }, 'HighLevel’s sub-account (Settings → Business Profile).'), lockNote('crm.accountId')));
  kind.addEventListener('change', () => (accountRow.hidden = kind.value !== 'highlevel'));

  const mode = h('select', { id: 'mw-set-mode', disabled: Boolean(locked.passwordMode) }, ['link', 'crm'].map((m) => h('option', { value: m, selected: ed.passwordMode === m }, m === 'link' ? 'Set-password link (no password travels)' : 'Password in the CRM')));
  // Pickers from the CRM's own lists (the catalog); the current value stays offered even if the
  // list does not have it (or could not be read).
  const picker = (id, current, key) => h('select', { id, disabled: Boolean(locked[key]) }, h('option', { value: '' }, '— none —'), current ? h('option', { value: current, selected: true }, current) : null);
  const passwordField = picker('mw-set-password-field', ed.crm.passwordField, 'crm.passwordField');
  const linkField = picker('mw-set-link-field', ed.crm.linkField, 'crm.linkField');
  const welcomeTag = picker('mw-set-welcome-tag', ed.crm.welcomeTag, 'crm.welcomeTag');
  catalog.then((c) => {
    if (!c || c.failed) return;
    const fill = (select, items, current) => {
      const options = [h('option', { value: '' }, '— none —')];
      if (current && !items.some((i) => i.id === current)) options.push(h('option', { value: current }, `${current} (not in the CRM’s list)`));
      for (const i of items) options.push(h('option', { value: i.id }, i.name === i.id ? i.name : `${i.name} (${i.id})`));
      select.replaceChildren(...options);
      select.value = current ?? '';
    };
    fill(passwordField, c.fields ?? [], ed.crm.passwordField);
    fill(linkField, c.fields ?? [], ed.crm.linkField);
    fill(welcomeTag, c.tags ?? [], ed.crm.welcomeTag);
  });
  const ttl = h('input', { type: 'number', id: 'mw-set-link-ttl', class: 'small-text', min: '1', max: '720', step: '1', value: ed.linkTtlMs ? String(Math.round(ed.linkTtlMs / HOURS)) : '', placeholder: '72', disabled: Boolean(locked.linkTtlMs) });

  const out = h('div', { id: 'mw-settings-out', role: 'status' });
  const save = h('button', { type: 'submit', class: 'button button-primary', id: 'mw-save-settings' }, 'Save Changes');
  const row = (label, control, description, key) => h('tr', {}, h('th', { scope: 'row' }, h('label', { for: control.id }, label)), h('td', {}, control, description ? h('p', { class: 'description' }, description) : null, key ? lockNote(key) : null));
  const form = h(
    'form',
    { id: 'mw-settings-form', novalidate: true },
    h('h2', { class: 'title' }, 'CRM connection'),
    crmNote ? h('p', { class: 'description' }, crmNote) : null,
    h(
      'table',
      { class: 'form-table', role: 'presentation' },
      h(
        'tbody',
        {},
        row('CRM', kind, null, 'crm.kind'),
        row('API base URL', baseUrl, 'Keap and HubSpot use their fixed addresses; ActiveCampaign, Drip and Mailchimp name your account in it (see the README).', 'crm.baseUrl'),
        row('API token', token, 'Kept on the server and never shown again once saved.', 'crm.token'),
        accountRow,
        h('tr', {}, h('th', { scope: 'row' }, 'Connection'), h('td', {}, h('div', {}, testBtn, testOut), h('p', { class: 'description' }, 'Makes one read-only request with the saved token.'))),
        h('tr', {}, h('th', { scope: 'row' }, 'Tags and fields'), h('td', {}, h('div', {}, catalogOut, ' ', catalogBtn), h('p', { class: 'description' }, 'The CRM’s tags and custom fields with their names, listed again every hour: the pickers below offer them, tags show by name, and access rules may name a tag or give its id.'))),
      ),
    ),
    h('h2', { class: 'title' }, 'Passwords and the welcome email'),
    h(
      'table',
      { class: 'form-table', role: 'presentation' },
      h(
        'tbody',
        {},
        row('Password mode', mode, `${PASSWORD_MODES.link} Or: ${PASSWORD_MODES.crm}`, 'passwordMode'),
        row('Set-password link field', linkField, 'The CRM field the one-time link is written into (link mode).', 'crm.linkField'),
        row('Password field', passwordField, 'The CRM field that holds the member’s password (crm mode).', 'crm.passwordField'),
        row('Welcome tag', welcomeTag, 'Applied once the credentials are in the CRM; it starts the CRM’s welcome email.', 'crm.welcomeTag'),
        row('Link lifetime (hours)', ttl, 'How long a set-password link works.', 'linkTtlMs'),
      ),
    ),
    h('p', { class: 'submit' }, save),
    out,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // Only what changed: a setting left alone stays as the server has it.
    const changes = { crm: {} };
    const changed = (el, before) => !el.disabled && el.value !== (before ?? '');
    if (changed(kind, ed.crm.kind)) changes.crm.kind = kind.value;
    if (changed(baseUrl, ed.crm.baseUrl)) changes.crm.baseUrl = baseUrl.value.trim() || null;
    if (!token.disabled && token.value) changes.crm.token = token.value;
    if (changed(account, ed.crm.accountId)) changes.crm.accountId = account.value.trim() || null;
    if (changed(passwordField, ed.crm.passwordField)) changes.crm.passwordField = passwordField.value || null;
    if (changed(linkField, ed.crm.linkField)) changes.crm.linkField = linkField.value || null;
    if (changed(welcomeTag, ed.crm.welcomeTag)) changes.crm.welcomeTag = welcomeTag.value || null;
    if (changed(mode, ed.passwordMode)) changes.passwordMode = mode.value;
    const hours = Number(ttl.value);
    if (!ttl.disabled && ttl.value && Math.round(hours * HOURS) !== ed.linkTtlMs) changes.linkTtlMs = Math.round(hours * HOURS);
    if (!Object.keys(changes.crm).length) delete changes.crm;
    if (!Object.keys(changes).length) {
      replace(out, notice('info', 'Nothing changed.'));
      return;
    }
    await runBusy(
      save,
      async () => {
        const r = await put('/settings/connection', changes);
        Object.assign(ed, r.editable);
        token.value = '';
        token.placeholder = 'Saved: type a new one to replace it';
        replace(out, notice('success', 'Saved. The next post uses these settings: no restart needed.'));
      },
      { busyLabel: 'Saving…', onError: (err) => err.status !== 401 && replace(out, notice('error', `Not saved: ${errorText(err)}`)) },
    );
  });
  return [form];
}
