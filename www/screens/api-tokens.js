// Settings → API tokens: what a server calling the admin API on the administrator's behalf
// presents (the WordPress plugin's wp-admin pages). A new token is shown once; only its digest
// is kept. Managed from a logged-in session only.
import { h, replace, notice, runBusy } from '../dom.js';
import { get, post, del } from '../api.js';
import { copyButton, errorText } from './common.js';

export function apiTokensSection() {
  const out = h('div', { id: 'mw-token-out' });
  const body = h('tbody');
  const label = h('input', { type: 'text', id: 'mw-token-label', class: 'regular-text', maxlength: '100', value: 'WordPress', autocomplete: 'off' });
  const create = h('button', { type: 'button', class: 'button', id: 'mw-token-create' }, 'Create Token');

  const draw = async () => {
    const { tokens } = await get('/settings/api-tokens');
    const rows = tokens.map((t) => {
      const revoke = h('button', { type: 'button', class: 'button-link button-link-delete', 'data-token': t.id }, 'Revoke');
      revoke.addEventListener('click', () =>
        runBusy(
          revoke,
          async () => {
            await del(`/settings/api-tokens/${encodeURIComponent(t.id)}`);
            replace(out, notice('success', `The token “${t.label}” was revoked: whatever used it can no longer reach the admin API.`));
            await draw();
          },
          { busyLabel: 'Revoking…', onError: (err) => replace(out, notice('error', `The token could not be revoked: ${errorText(err)}`)) },
        ),
      );
      return h('tr', {}, h('td', {}, t.label), h('td', {}, h('code', {}, t.id)), h('td', {}, new Date(t.createdAt).toLocaleString()), h('td', {}, revoke));
    });
    replace(body, rows.length ? rows : h('tr', { class: 'no-items' }, h('td', { colspan: '4' }, 'No API tokens.')));
  };

  create.addEventListener('click', () =>
    runBusy(
      create,
      async () => {
        const t = await post('/settings/api-tokens', { label: label.value });
        const input = h('input', { type: 'text', id: 'mw-new-token', class: 'regular-text code mw-key', readonly: true, value: t.token, spellcheck: 'false' });
        replace(
          out,
          notice('warning', 'The new API token is shown only this once: copy it now into the WordPress plugin (memberwire → Setup).', {
            dismissible: false,
            extra: h('p', {}, h('label', { for: 'mw-new-token' }, 'API token'), ' ', input, ' ', copyButton(input)),
          }),
        );
        await draw();
        input.focus();
        input.select();
      },
      { busyLabel: 'Creating…', onError: (err) => replace(out, notice('error', `The token could not be created: ${errorText(err)}`)) },
    ),
  );

  const section = h(
    'div',
    { class: 'mw-api-tokens' },
    h('h2', { class: 'title' }, 'API tokens'),
    h('p', {}, 'A server that runs these screens for you presents an API token: the memberwire plugin shows them inside wp-admin. A token opens the whole admin API, so give each site its own and revoke it when the site goes.'),
    h('table', { class: 'wp-list-table widefat fixed striped mw-tokens' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Id'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, h('span', { class: 'screen-reader-text' }, 'Actions')))), body),
    h('p', { class: 'mw-inline' }, h('label', { for: 'mw-token-label' }, 'Name'), ' ', label, ' ', create),
    out,
  );
  return { section, ready: draw() };
}
