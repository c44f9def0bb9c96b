// Member detail: tags, levels, credentials state (never a password), and "Refresh from CRM":
// a preview computed in the browser by the wasm previewTagSync, applied only on confirm.
import { h, replace, notice, tagList, chipList, runBusy } from '../dom.js';
import { get, post } from '../api.js';
import { wasm } from '../wasm.js';
import { when, iso, CREDENTIALS, WELCOME } from '../format.js';
import { frame, errorText } from './common.js';

export async function renderMember(ctx) {
  const id = ctx.id;
  const path = `/members/${encodeURIComponent(id)}`;
  let member;
  try {
    member = await get(path);
  } catch (err) {
    if (err.status === 404) {
      const f = frame(ctx, 'Edit Member');
      f.say('error', `No member has the id ${id}.`, { dismissible: false });
      f.body.append(h('p', {}, h('a', { href: '#/members' }, '← Back to Members')));
      return;
    }
    throw err;
  }
  if (!ctx.isCurrent()) return;

  const f = frame(ctx, 'Edit Member', { action: h('a', { href: '#/members/new', class: 'page-title-action' }, 'Add New Member') });
  const details = h('div', { class: 'mw-member-details' });
  const preview = h('div', { class: 'mw-preview', id: 'mw-preview' });
  const refreshBtn = h('button', { type: 'button', class: 'button button-primary', id: 'mw-refresh' }, 'Refresh from CRM');
  f.body.append(
    h('p', { class: 'mw-back' }, h('a', { href: '#/members' }, '← All Members')),
    details,
    h(
      'section',
      { class: 'mw-section', 'aria-labelledby': 'mw-sync-heading' },
      h('h2', { id: 'mw-sync-heading' }, 'CRM tags'),
      h('p', { class: 'description' }, 'Loads the contact as the CRM has it now and shows what would change. Nothing changes until you confirm.'),
      h('p', {}, refreshBtn),
      preview,
    ),
  );

  const draw = () => {
    const name = [member.firstName, member.lastName].filter(Boolean).join(' ');
    replace(
      details,
      h('h2', { class: 'mw-member-email' }, member.email),
      h(
        'table',
        { class: 'form-table mw-readonly', role: 'presentation' },
        h(
          'tbody',
          {},
          row('Email (username)', member.email),
          row('Name', name || '—'),
          row('CRM contact', member.contact ? [h('code', { class: 'mw-contact-id' }, member.contact.contactId), ` (${member.contact.crm}, account ${member.contact.account})`] : h('span', { class: 'mw-empty' }, 'Not linked to a CRM contact')),
          row('Tags', h('div', { id: 'mw-member-tags' }, tagList(member.tags, { empty: 'No tags' }))),
          row('Levels', h('div', { id: 'mw-member-levels' }, chipList(member.levels, { empty: 'No levels' }))),
          row('Credentials', h('span', { id: 'mw-credentials', class: `mw-state mw-state-${member.credentials}` }, CREDENTIALS[member.credentials] ?? member.credentials)),
          row('Welcome email', WELCOME[member.welcome] ?? member.welcome ?? '—'),
          row('Created', [h('time', { datetime: iso(member.createdAt) }, when(member.createdAt)), member.createdBy ? h('span', { class: 'mw-sub' }, ` by event ${member.createdBy}`) : null]),
          row('Updated', [h('time', { datetime: iso(member.updatedAt) }, when(member.updatedAt)), h('span', { class: 'mw-sub' }, ` (version ${member.version})`)]),
          row('Member ID', h('code', {}, member.id)),
        ),
      ),
    );
  };
  draw();

  const reload = async () => {
    member = await get(path);
    draw();
  };

  refreshBtn.disabled = !member.contact;
  if (!member.contact) preview.append(h('p', { class: 'description' }, 'This member is not linked to a CRM contact, so there is nothing to refresh from.'));

  refreshBtn.addEventListener('click', () =>
    runBusy(
      refreshBtn,
      async () => {
        f.clear();
        replace(preview, h('p', { class: 'mw-loading' }, h('span', { class: 'spinner is-active', 'aria-hidden': 'true' }), 'Loading the contact from the CRM…'));
        const [crm, rulesAnswer, w] = await Promise.all([get(`${path}/crm`), get('/rules'), wasm()]);
        if (!ctx.isCurrent()) return;
        const rules = rulesAnswer.rules ?? [];
        const p = w.previewTagSync(member.tags ?? [], crm.tags ?? [], rules);
        showPreview(p, crm, rules);
      },
      {
        busyLabel: 'Loading…',
        onError: (err) => {
          if (err.status === 401) return;
          replace(preview);
          f.say('error', `The CRM contact could not be loaded: ${errorText(err)}`);
        },
      },
    ),
  );

  function showPreview(p, crm, rules) {
    const changes = p.add.length + p.remove.length;
    const levelChanges = p.levelsGained.length + p.levelsLost.length;
    const versionSeen = member.version;
    const apply = h('button', { type: 'button', class: 'button button-primary', id: 'mw-apply' }, 'Apply Changes');
    const cancel = h('button', { type: 'button', class: 'button', id: 'mw-cancel' }, 'Cancel');
    cancel.addEventListener('click', () => {
      replace(preview);
      refreshBtn.focus();
    });
    apply.addEventListener('click', () =>
      runBusy(
        apply,
        async () => {
          await post(`${path}/tags`, { tags: crm.tags ?? [], version: versionSeen });
          await reload();
          replace(preview);
          f.say('success', `Tags updated from the CRM: ${p.add.length} added, ${p.remove.length} removed.${p.levelsGained.length ? ` Levels gained: ${p.levelsGained.join(', ')}.` : ''}${p.levelsLost.length ? ` Levels lost: ${p.levelsLost.join(', ')}.` : ''}`);
          refreshBtn.focus();
        },
        {
          busyLabel: 'Applying…',
          onError: (err) => {
            if (err.status === 401) return;
            if (err.status === 409 || err.code === 'stale') {
              f.say('error', 'This member changed while you were looking. Nothing was applied: refresh from the CRM again.');
              replace(preview);
              reload().catch(() => {});
            } else f.say('error', `The tags could not be applied: ${errorText(err)}`);
          },
        },
      ),
    );

    const crmEmail = crm.email && crm.email.toLowerCase() !== member.email.toLowerCase() ? notice('warning', `The CRM contact’s email is now ${crm.email}; the member’s username stays ${member.email}.`, { dismissible: false }) : null;

    replace(
      preview,
      h(
        'div',
        { class: 'card mw-preview-card', role: 'region', 'aria-labelledby': 'mw-preview-heading' },
        h('h3', { id: 'mw-preview-heading' }, 'Preview of the tag sync'),
        h('p', { class: 'mw-crm-summary' }, `Contact #${crm.contactId ?? member.contact.contactId}`, crm.firstName || crm.lastName ? ` · ${[crm.firstName, crm.lastName].filter(Boolean).join(' ')}` : '', ` · password in the CRM: ${crm.hasPassword ? 'yes' : 'no'}`),
        crmEmail,
        changes === 0 && levelChanges === 0 ? notice('info', 'The member already has the CRM’s tags. Nothing would change.', { dismissible: false }) : null,
        h(
          'table',
          { class: 'widefat mw-diff' },
          h('caption', { class: 'screen-reader-text' }, 'Changes the sync would make'),
          h(
            'tbody',
            {},
            diffRow('Tags to add', tagList(p.add, { empty: 'None', className: 'mw-add' }), 'mw-row-add'),
            diffRow('Tags to remove', tagList(p.remove, { empty: 'None', className: 'mw-remove' }), 'mw-row-remove'),
            diffRow('Tags kept', tagList(p.keep, { empty: 'None' }), 'mw-row-keep'),
            diffRow('Levels gained', chipList(p.levelsGained, { empty: 'None', className: 'mw-add' }), 'mw-row-gained'),
            diffRow('Levels lost', chipList(p.levelsLost, { empty: 'None', className: 'mw-remove' }), 'mw-row-lost'),
          ),
        ),
        h('p', { class: 'mw-actions' }, apply, ' ', cancel),
        rules.length === 0 ? h('p', { class: 'description' }, 'No access rules are defined, so no level changes.') : null,
      ),
    );
    apply.focus();
  }
}

function row(label, value) {
  return h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, value));
}

function diffRow(label, value, cls) {
  return h('tr', { class: cls }, h('th', { scope: 'row' }, label), h('td', {}, value));
}
