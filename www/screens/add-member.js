// Add member: the email is the username; CRM contact id with "Find in CRM"; level; the welcome
// email off by default; "Refresh CRM information (tags and password)" pulls the contact.
import { h, replace, notice, tagList, chipList, formRow, runBusy, newId } from '../dom.js';
import { get, post } from '../api.js';
import { route, flash } from '../nav.js';
import { wasm } from '../wasm.js';
import { frame, errorText } from './common.js';

export async function renderAddMember(ctx) {
  const f = frame(ctx, 'Add New Member');
  let rules = [];
  try {
    rules = (await get('/rules')).rules ?? [];
  } catch (err) {
    if (err.status === 401) throw err;
  }
  if (!ctx.isCurrent()) return;

  const email = h('input', { type: 'email', id: 'email', name: 'email', class: 'regular-text', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-required': 'true' });
  const firstName = h('input', { type: 'text', id: 'first_name', name: 'first_name', class: 'regular-text', autocomplete: 'off' });
  const lastName = h('input', { type: 'text', id: 'last_name', name: 'last_name', class: 'regular-text', autocomplete: 'off' });
  const contactId = h('input', { type: 'text', id: 'contact_id', name: 'contact_id', class: 'regular-text code', autocomplete: 'off', spellcheck: 'false', inputmode: 'numeric' });
  const crmPanel = h('div', { class: 'mw-crm-panel', 'aria-live': 'polite' });

  // A level given here adds the tags of the first rule granting it (the server's rule).
  const levels = [...new Set(rules.filter((r) => r.level && ((r.anyOf ?? []).length || (r.allOf ?? []).length)).map((r) => r.level))];
  const level = h('select', { id: 'level', name: 'level' }, h('option', { value: '' }, '— None —'), levels.map((l) => h('option', { value: l }, l)));
  const sendWelcome = h('input', { type: 'checkbox', id: 'send_welcome', name: 'send_welcome', checked: false });

  let pulled = null; // the CRM contact last pulled: {contactId, email, tags, hasPassword, ...}

  const showContact = async (c, heading) => {
    const granted = await levelsOf(rules, c.tags ?? []);
    replace(
      crmPanel,
      h(
        'div',
        { class: 'mw-crm-contact card' },
        h('h3', {}, heading),
        h(
          'table',
          { class: 'mw-kv' },
          h('tbody', {},
            h('tr', {}, h('th', { scope: 'row' }, 'Contact ID'), h('td', {}, h('code', {}, c.contactId))),
            h('tr', {}, h('th', { scope: 'row' }, 'Name'), h('td', {}, [c.firstName, c.lastName].filter(Boolean).join(' ') || '—')),
            h('tr', {}, h('th', { scope: 'row' }, 'Email'), h('td', {}, c.email ?? '—')),
            h('tr', {}, h('th', { scope: 'row' }, 'Tags'), h('td', { class: 'mw-crm-tags' }, tagList(c.tags, { empty: 'No tags' }))),
            h('tr', {}, h('th', { scope: 'row' }, 'Levels these tags grant'), h('td', {}, granted === null ? h('span', { class: 'mw-empty' }, 'unavailable') : chipList(granted, { empty: 'None' }))),
            h('tr', {}, h('th', { scope: 'row' }, 'Password in the CRM'), h('td', {}, c.hasPassword ? 'Yes (it is never shown here)' : 'No')),
          ),
        ),
        h('p', { class: 'description' }, 'These tags are copied onto the member when you add it.'),
      ),
    );
  };

  const chooseContact = (contacts) => {
    const name = newId('crm-choice');
    const fieldset = h(
      'fieldset',
      { class: 'mw-choices' },
      h('legend', {}, `${contacts.length} contacts in the CRM have this email. Pick one:`),
      contacts.map((c, i) => {
        const id = `${name}-${i}`;
        const radio = h('input', { type: 'radio', name, id, value: c.contactId });
        radio.addEventListener('change', () => {
          contactId.value = c.contactId;
          pulled = c;
          showContact(c, 'The CRM contact');
        });
        return h('p', {}, radio, ' ', h('label', { for: id }, `#${c.contactId} · ${[c.firstName, c.lastName].filter(Boolean).join(' ') || '(no name)'} · ${c.email ?? ''}`));
      }),
    );
    replace(crmPanel, fieldset);
    fieldset.querySelector('input')?.focus();
  };

  const findInCrm = async ({ refresh }) => {
    f.clear();
    const e = email.value.trim();
    if (!e) {
      f.say('error', 'Enter the email address first: the CRM is searched by email.');
      email.focus();
      return;
    }
    const { contacts = [] } = await get('/crm/find', { email: e });
    if (contacts.length === 0) {
      pulled = null;
      replace(crmPanel, notice('warning', `No contact in the CRM has the email ${e}.`, { dismissible: false }));
      return;
    }
    const wanted = contactId.value.trim();
    const match = wanted ? contacts.find((c) => String(c.contactId) === wanted) : contacts.length === 1 ? contacts[0] : null;
    if (!match) {
      if (wanted && contacts.length >= 1) {
        f.say('warning', `The CRM contact with this email is not #${wanted}.`);
      }
      chooseContact(contacts);
      return;
    }
    contactId.value = match.contactId;
    if (!firstName.value && match.firstName) firstName.value = match.firstName;
    if (!lastName.value && match.lastName) lastName.value = match.lastName;
    pulled = match;
    await showContact(match, refresh ? 'CRM information, refreshed' : 'Found in the CRM');
  };

  const onError = (err) => {
    if (err.status === 401) return;
    f.say('error', errorText(err));
  };
  const findBtn = h('button', { type: 'button', class: 'button', id: 'mw-find-crm' }, 'Find in CRM');
  findBtn.addEventListener('click', () => runBusy(findBtn, () => findInCrm({ refresh: false }), { onError }));
  const refreshBtn = h('button', { type: 'button', class: 'button', id: 'mw-refresh-crm' }, 'Refresh CRM information (tags and password)');
  refreshBtn.addEventListener('click', () => runBusy(refreshBtn, () => findInCrm({ refresh: true }), { onError }));

  const submit = h('button', { type: 'submit', class: 'button button-primary', id: 'createusersub' }, 'Add New Member');
  const form = h(
    'form',
    { id: 'createuser', name: 'createuser', class: 'validate', novalidate: true },
    h('p', {}, 'Create a member by hand and link it to its CRM contact.'),
    h(
      'table',
      { class: 'form-table', role: 'presentation' },
      h(
        'tbody',
        {},
        formRow('Email (username)', email, { required: true, description: 'The email is the member’s username. It is compared case-insensitively.' }),
        formRow('First Name', firstName),
        formRow('Last Name', lastName),
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, h('label', { for: 'contact_id' }, 'CRM contact ID')),
          h(
            'td',
            {},
            h('div', { class: 'mw-inline' }, contactId, findBtn),
            h('p', { class: 'description', id: 'contact_id-description' }, 'Exactly as the CRM shows it. “Find in CRM” searches the CRM by the email above.'),
            h('p', {}, refreshBtn),
            crmPanel,
          ),
        ),
        formRow('Membership level', level, { description: levels.length ? 'Optional. The member gets the tags of the access rule that grants this level.' : 'No access rules define levels yet (see Access Rules).' }),
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, 'Welcome email'),
          h(
            'td',
            {},
            h('label', { for: 'send_welcome' }, sendWelcome, ' Send the welcome email'),
            h('p', { class: 'description', id: 'send_welcome-description' }, 'Off: the member is added silently. On: memberwire writes a one-time set-password link into the CRM contact, then applies the welcome tag so the CRM sends its welcome email.'),
          ),
        ),
      ),
    ),
    h('p', { class: 'submit' }, submit),
  );
  sendWelcome.setAttribute('aria-describedby', 'send_welcome-description');
  contactId.setAttribute('aria-describedby', 'contact_id-description');

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    f.clear();
    const addr = email.value.trim();
    if (!addr || !email.checkValidity()) {
      f.say('error', 'Enter a valid email address: it is the member’s username.');
      email.focus();
      return;
    }
    runBusy(
      submit,
      async () => {
        const body = { email: addr, sendWelcome: sendWelcome.checked };
        if (contactId.value.trim()) body.contactId = contactId.value.trim();
        if (firstName.value.trim()) body.firstName = firstName.value.trim();
        if (lastName.value.trim()) body.lastName = lastName.value.trim();
        if (level.value.trim()) body.level = level.value.trim();
        const answer = await post('/members', body);
        if (answer?.outcome === 'queued') {
          // The registration workflow is still waiting (e.g. on the CRM): follow it in Activity.
          flash('warning', `The registration of ${addr} was accepted as event ${answer.event} and is still running${answer.pending?.reason ? `: ${answer.pending.reason}` : ''}. Follow it here.`);
          ctx.navigate(route(['activity']));
          return;
        }
        const member = answer?.member ?? answer;
        let copied = false;
        if (pulled && String(pulled.contactId) === body.contactId && (pulled.tags?.length ?? 0) > 0 && !body.sendWelcome) {
          // "Refresh CRM information": the member gets the contact's tags (plus a level's tags).
          const seen = new Set();
          const key = (t) => (t.id ? `id:${t.id}` : `name:${String(t.name).toLowerCase()}`);
          const tags = [...pulled.tags, ...(member.tags ?? [])].filter((t) => !seen.has(key(t)) && seen.add(key(t)));
          try {
            await post(`/members/${encodeURIComponent(member.id)}/tags`, { tags, version: member.version });
            copied = true;
          } catch {
            copied = false;
          }
        }
        flash('success', `Member ${member.email} added${copied ? ' with its CRM tags' : ''}.${body.sendWelcome ? ' The set-password link is in the CRM and the welcome tag was applied.' : ''}`);
        ctx.navigate(route(['members', member.id]));
      },
      {
        busyLabel: 'Adding…',
        onError: (err) => {
          if (err.status === 401) return;
          const msg = err.code === 'email_taken' ? `A member with this email already exists. ${err.message}` : err.code === 'contact_taken' ? `This CRM contact is already linked to a member. ${err.message}` : errorText(err);
          f.say('error', msg);
          (err.code === 'contact_taken' ? contactId : email).focus();
        },
      },
    );
  });
  f.body.append(form);
}

/** The levels `tags` grant under `rules`, from the wasm core (null when it is unavailable). */
async function levelsOf(rules, tags) {
  try {
    const w = await wasm();
    return w.levelsFor(rules, tags);
  } catch {
    return null;
  }
}
