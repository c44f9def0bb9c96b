// Sources: any JSON webhook, read by paths. The owner names a source (its route is
// /hooks/mapped/NAME), says where the sender's JSON carries the contact id, email, names, tags
// and password, and pastes a sample: the preview parses it with the same wasm parser the server
// uses (wasm.parsePost with the mapping), on every keystroke. Nothing the sample holds is ever
// rendered as HTML: every value goes in as text.
import { h, replace, formRow, runBusy, tagList } from '../dom.js';
import { get, put } from '../api.js';
import { wasm } from '../wasm.js';
import { frame, table, copyButton, errorText } from './common.js';

const CRMS = [
  ['', 'None: ids of the sender’s own (the member is made from what the post carries)'],
  ['keap', 'Keap'],
  ['activecampaign', 'ActiveCampaign'],
  ['kit', 'Kit'],
  ['drip', 'Drip'],
  ['mailerlite', 'MailerLite'],
  ['highlevel', 'HighLevel'],
  ['hubspot', 'HubSpot'],
  ['mailchimp', 'Mailchimp'],
];

// The mapping's settings: [key, label, placeholder, description].
const PATHS = [
  ['contactId', 'Contact id', 'data.subscriber.id', 'Required. A string or a whole number.'],
  ['email', 'Email', 'data.subscriber.email', null],
  ['firstName', 'First name', 'data.subscriber.first_name', null],
  ['lastName', 'Last name', 'data.subscriber.last_name', null],
  ['tags', 'Tags', 'data.subscriber.tags', 'A list of names, ids or {id, name} objects, or one comma-separated string.'],
  ['password', 'Password', '', 'Only if the sender carries the member’s password (password mode “crm”).'],
  ['eventType', 'Event type', 'event', 'What happened; the source’s name when empty.'],
  ['fields', 'Custom fields', 'data.subscriber.custom_fields', 'An object of fields; those the site keeps are kept with the event.'],
  ['each', 'List of contacts', '', 'Only for batched deliveries: the path of the list; the other paths are then read inside each element.'],
];

const SAMPLE = JSON.stringify(
  { event: 'subscriber.applied_tag', data: { subscriber: { id: 'z1togz2hcjrkpp5treip', email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace', tags: ['Gold Member'] } } },
  null,
  2,
);

export async function renderSources(ctx) {
  const data = await get('/sources');
  if (!ctx.isCurrent()) return;
  let saved = data.sources ?? [];
  let urls = data.urls ?? {};
  const f = frame(ctx, 'Sources', { subtitle: 'Any JSON webhook, read by paths' });

  const listBox = h('div', { class: 'mw-sources-list' });
  const editorBox = h('div', { class: 'mw-source-editor' });
  const addBtn = h('button', { type: 'button', class: 'page-title-action', id: 'mw-add-source' }, 'Add Source');
  addBtn.addEventListener('click', () => openEditor(null));
  f.wrap.querySelector('h1').after(addBtn);

  f.body.append(
    h(
      'p',
      {},
      'A sender memberwire has no format for (another CRM, a shop, a form tool) posts its own JSON to its source’s URL, with the access key like every hook. Say where that JSON carries each part of the contact: a path of keys joined by dots, such as ',
      h('code', {}, 'data.subscriber.id'),
      '; a part of digits picks an element of a list (',
      h('code', {}, 'contacts.0.email'),
      '). A post that does not fit is refused with a 400 that names the path.',
    ),
    listBox,
    editorBox,
  );

  const drawList = () => {
    const rows = saved.map((s) => {
      const url = h('input', { type: 'text', readonly: true, class: 'regular-text code mw-source-url', value: urls[s.name] ?? `/hooks/mapped/${s.name}`, 'aria-label': `The URL of ${s.name}` });
      const edit = h('button', { type: 'button', class: 'button-link', 'aria-label': `Edit ${s.name}` }, 'Edit');
      edit.addEventListener('click', () => openEditor(s));
      const remove = h('button', { type: 'button', class: 'button-link button-link-delete', 'aria-label': `Delete ${s.name}` }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!confirm(`Delete the source ${s.name}? Posts to its URL will be refused.`)) return;
        await save(saved.filter((o) => o.name !== s.name), `Deleted ${s.name}.`);
      });
      return h(
        'tr',
        { 'data-source': s.name },
        h('td', { class: 'column-primary' }, h('strong', {}, s.name), h('div', { class: 'row-actions visible' }, edit, ' | ', remove)),
        h('td', {}, CRMS.find(([k]) => k === (s.crm ?? ''))?.[1].split(':')[0] ?? s.crm),
        h('td', {}, h('code', {}, s.mapping.contactId)),
        h('td', {}, url, ...copyButton(url)),
      );
    });
    replace(listBox, table([{ label: 'Source' }, { label: 'CRM' }, { label: 'Contact id at' }, { label: 'URL (add ?key=ACCESS_KEY, or send the key in a header)' }], rows, { empty: 'No sources yet. Add one for any sender that posts JSON.', caption: 'Sources' }));
  };

  async function save(list, message) {
    const r = await put('/sources', { sources: list });
    saved = r.sources;
    urls = r.urls ?? {};
    drawList();
    f.say('success', message);
  }

  function openEditor(source) {
    const name = h('input', { type: 'text', class: 'regular-text', id: 'mw-source-name', value: source?.name ?? '', maxlength: '40', pattern: '[a-z0-9][a-z0-9-]*', autocomplete: 'off' });
    const crm = h('select', { id: 'mw-source-crm' }, CRMS.map(([k, label]) => h('option', { value: k, selected: (source?.crm ?? '') === k }, label)));
    const inputs = {};
    const rows = PATHS.map(([key, label, placeholder, description]) => {
      inputs[key] = h('input', { type: 'text', class: 'regular-text code', id: `mw-path-${key}`, value: source?.mapping?.[key] ?? '', placeholder, autocomplete: 'off', spellcheck: 'false' });
      return formRow(label, inputs[key], { description, required: key === 'contactId' });
    });
    const sample = h('textarea', { id: 'mw-source-sample', class: 'large-text code', rows: '10', spellcheck: 'false' }, SAMPLE);
    const preview = h('div', { class: 'mw-source-preview', id: 'mw-source-preview', role: 'status', 'aria-live': 'polite' });
    const saveBtn = h('button', { type: 'submit', class: 'button button-primary', id: 'mw-save-source' }, source ? 'Save Source' : 'Add Source');
    const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
    cancel.addEventListener('click', () => replace(editorBox));

    const current = () => {
      const mapping = {};
      for (const [key] of PATHS) {
        const v = inputs[key].value.trim();
        if (v) mapping[key] = v;
      }
      const out = { name: name.value.trim(), mapping };
      if (crm.value) out.crm = crm.value;
      return out;
    };

    let seq = 0;
    const update = async () => {
      const mine = ++seq;
      const w = await wasm();
      if (mine !== seq) return;
      const s = current();
      try {
        w.checkSources([{ ...s, name: s.name || 'preview' }]);
        const inbound = w.parsePost('mapped', new Headers({ 'content-type': 'application/json' }), new TextEncoder().encode(sample.value), { mapped: { ...s, name: s.name || 'preview' } });
        const events = inbound.events ?? [];
        replace(
          preview,
          h('p', { class: 'mw-preview-ok' }, `Read ${events.length} contact${events.length === 1 ? '' : 's'} from the sample:`),
          table(
            [{ label: 'Contact id' }, { label: 'Email' }, { label: 'Name' }, { label: 'Tags' }, { label: 'Event' }],
            events.map((e) => [
              h('code', {}, e.contact.contactId),
              e.contact.email ?? '—',
              [e.contact.firstName, e.contact.lastName].filter(Boolean).join(' ') || '—',
              tagList(e.contact.tags ?? [], { empty: '—' }),
              e.eventType,
            ]),
            { caption: 'What memberwire reads from the sample', className: 'mw-preview-table' },
          ),
        );
      } catch (err) {
        replace(preview, h('div', { class: 'notice notice-error inline mw-preview-error' }, h('p', {}, h('code', {}, err?.code ?? 'error'), ' ', errorText(err))));
      }
    };
    for (const el of [name, crm, sample, ...Object.values(inputs)]) el.addEventListener('input', update);

    const form = h(
      'form',
      { class: 'mw-source-form', novalidate: true },
      h('h2', { class: 'title' }, source ? `Edit ${source.name}` : 'New source'),
      h(
        'table',
        { class: 'form-table', role: 'presentation' },
        h(
          'tbody',
          {},
          formRow('Name', name, { description: 'Lower-case letters, digits and dashes: the URL is /hooks/mapped/NAME.', required: true }),
          formRow('CRM', crm, { description: 'The CRM whose contact ids the sender posts: with the connected CRM, memberwire loads the contact and writes its credentials there.' }),
          ...rows,
        ),
      ),
      h('h2', { class: 'title' }, 'Preview'),
      formRow('A sample post', sample, { description: 'Paste a body the sender posts. It stays in this browser: the preview runs the server’s parser here.' }),
      preview,
      h('p', { class: 'submit' }, saveBtn, ' ', cancel),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const s = current();
      const others = saved.filter((o) => o.name !== (source?.name ?? s.name));
      await runBusy(saveBtn, () => save([...others, s], `Saved ${s.name}. Posts to its URL are read with it from now on.`).then(() => replace(editorBox)), {
        onError: (err) => f.say('error', errorText(err)),
      });
    });
    replace(editorBox, form);
    update();
    name.focus();
  }

  drawList();
}
