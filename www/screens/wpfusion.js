// Bulk Import → "Moving over from WP Fusion" (inside wp-admin only): links the WordPress users
// WP Fusion linked to contacts of the connected CRM, through the same claims as a webhook. A dry
// run says first what it will do; nothing is linked until the second button.
import { h, replace, notice, runBusy } from '../dom.js';
import { post } from '../api.js';
import { num, items } from '../format.js';
import { errorText } from './common.js';

const OUTCOMES = { linked: 'Linked', conflict: 'Conflict', invalid: 'Not importable' };

function resultTable(r) {
  const rows = r.rows.map((row) =>
    h(
      'tr',
      { 'data-outcome': row.outcome },
      h('td', {}, row.email),
      h('td', {}, h('code', {}, row.contactId)),
      h('td', {}, OUTCOMES[row.outcome] ?? row.outcome),
      h('td', {}, row.otherMember ? `member ${row.otherMember} has this contact or email` : row.reason ?? (row.member ? `member ${row.member}` : '')),
    ),
  );
  return h(
    'table',
    { class: 'wp-list-table widefat fixed striped mw-wpfusion-rows' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Contact'), h('th', { scope: 'col' }, r.dryRun ? 'Would be' : 'Result'), h('th', { scope: 'col' }, 'Why'))),
    h('tbody', {}, rows.length ? rows : h('tr', { class: 'no-items' }, h('td', { colspan: '4' }, 'WP Fusion linked no user that is not a member already.'))),
  );
}

export function wpFusionSection() {
  const out = h('div', { id: 'mw-wpfusion-out', 'aria-live': 'polite' });
  const preview = h('button', { type: 'button', class: 'button', id: 'mw-wpfusion-preview' }, 'Preview (Dry Run)');
  preview.addEventListener('click', () =>
    runBusy(
      preview,
      async () => {
        const r = await post('/import/wpfusion', { dryRun: true });
        const link = h('button', { type: 'button', class: 'button button-primary', id: 'mw-wpfusion-run', disabled: r.counts.linked === 0 }, `Link ${items(r.counts.linked, 'User')}`);
        link.addEventListener('click', () =>
          runBusy(
            link,
            async () => {
              const done = await post('/import/wpfusion', { dryRun: false });
              replace(out, notice('success', `Linked ${items(done.counts.linked, 'user')} to their contacts (${num(done.counts.conflict)} conflicts, ${num(done.counts.invalid)} not importable). They keep their passwords; no welcome was sent.`, { dismissible: false }), resultTable(done));
            },
            { busyLabel: 'Linking…', onError: (err) => replace(out, notice('error', `The import failed: ${errorText(err)}`)) },
          ),
        );
        replace(
          out,
          notice('info', `Dry run: ${items(r.counts.linked, 'user')} would be linked, ${num(r.counts.conflict)} conflict with a member, ${num(r.counts.invalid)} cannot be imported. Nothing has changed yet.`, { dismissible: false, extra: h('p', {}, link) }),
          resultTable(r),
        );
      },
      { busyLabel: 'Looking…', onError: (err) => replace(out, notice('error', `The preview failed: ${errorText(err)}`)) },
    ),
  );
  return h(
    'div',
    { class: 'mw-wpfusion' },
    h('h2', { class: 'title' }, 'Moving over from WP Fusion'),
    h('p', {}, 'Links the users WP Fusion connected to contacts of this CRM (its contact id and tags on each user) as members, with their tags and their own passwords. No credentials are issued and no welcome is sent. Users whose contact or email a member has already are left alone.'),
    h('p', {}, preview),
    out,
  );
}
