// Access rules: levels granted by tags (any of / all of / none of). While a rule is edited, the
// page shows per keystroke how many members gain and lose each level across the whole directory,
// computed in the browser by the wasm AccessIndex.impact.
import { h, replace, tagList, runBusy, newId } from '../dom.js';
import { get, put } from '../api.js';
import { wasm } from '../wasm.js';
import { num } from '../format.js';
import { frame, table, errorText } from './common.js';

export async function renderRules(ctx) {
  const f = frame(ctx, 'Access Rules', { action: h('button', { type: 'button', class: 'page-title-action', id: 'mw-add-rule' }, 'Add New Rule') });
  const addBtn = f.wrap.querySelector('#mw-add-rule');
  const intro = h('p', { class: 'mw-intro' }, 'A rule grants a level to every member whose tags match it: at least one of the “any of” tags, every one of the “all of” tags, and none of the “none of” tags. Tags are named by CRM id or by name (names compare case-insensitively).');
  const indexStatus = h('p', { class: 'mw-index-status description', id: 'mw-index-status' }, 'Indexing the members’ tags…');
  const listHolder = h('div', { class: 'mw-rules-list' });
  const editorHolder = h('div', { class: 'mw-rule-editor-holder' });
  f.body.append(intro, indexStatus, editorHolder, listHolder);

  let saved = (await get('/rules')).rules ?? [];
  if (!ctx.isCurrent()) return;

  // The index of every member's tags, built once per visit (in the background).
  let index = null;
  let w = null;
  // The CRM's tags with their names (listed again by the server when over an hour old).
  const catalogReady = get('/crm/catalog').catch(() => null);
  const indexReady = (async () => {
    const t0 = performance.now();
    const [mod, data, names] = await Promise.all([wasm(), get('/access-index'), catalogReady]);
    const t1 = performance.now();
    if (!ctx.isCurrent()) return null;
    w = mod;
    // The CRM's tag names fill in members' id-only tags: a rule may name a tag either way.
    index = new w.AccessIndex(data.members ?? [], names?.tags ?? []);
    const t2 = performance.now();
    indexStatus.textContent = `${num(index.size)} members indexed (loaded in ${Math.round(t1 - t0)} ms, indexed in ${Math.round(t2 - t1)} ms). Impacts are computed in this browser.`;
    indexStatus.dataset.members = String(index.size);
    return index;
  })().catch((err) => {
    if (err.status !== 401) {
      indexStatus.textContent = `The impact preview is unavailable: ${errorText(err)}`;
      indexStatus.classList.add('mw-error-text');
    }
    return null;
  });
  ctx.onLeave(() => {
    indexReady.then((ix) => ix?.free());
    index = null;
  });

  let editing = null; // { mode: 'new'|'edit'|'delete', rule, original }

  const drawList = () => {
    const rows = saved.map((r) => {
      const edit = h('button', { type: 'button', class: 'button-link', 'aria-label': `Edit the rule for ${r.level}` }, 'Edit');
      edit.addEventListener('click', () => openEditor('edit', r));
      const remove = h('button', { type: 'button', class: 'button-link button-link-delete', 'aria-label': `Delete the rule for ${r.level}` }, 'Delete');
      remove.addEventListener('click', () => openEditor('delete', r));
      return h(
        'tr',
        { 'data-rule-id': r.id },
        h('td', { class: 'column-primary' }, h('strong', {}, r.level), h('div', { class: 'row-actions visible' }, h('span', { class: 'edit' }, edit), ' | ', h('span', { class: 'delete' }, remove))),
        h('td', {}, tagList(r.anyOf, { empty: '—' })),
        h('td', {}, tagList(r.allOf, { empty: '—' })),
        h('td', {}, tagList(r.noneOf, { empty: '—' })),
      );
    });
    replace(
      listHolder,
      table([{ label: 'Level', cls: 'column-primary' }, { label: 'Any of these tags' }, { label: 'All of these tags' }, { label: 'None of these tags' }], rows, {
        empty: 'No rules yet. Add one to grant a level from tags.',
        caption: 'Access rules',
        className: 'mw-rules',
      }),
    );
  };
  drawList();
  addBtn.addEventListener('click', () => openEditor('new', { id: newRuleId(), level: '', anyOf: [], allOf: [], noneOf: [] }));

  function openEditor(mode, rule) {
    f.clear();
    editing = { mode, original: rule };
    const level = h('input', { type: 'text', id: 'mw-rule-level', class: 'regular-text', value: rule.level ?? '', autocomplete: 'off', required: true, readonly: mode === 'delete' });
    const area = (id, values) => h('textarea', { id, rows: '4', cols: '40', class: 'large-text code', spellcheck: 'false', value: (values ?? []).join('\n'), readonly: mode === 'delete' });
    const anyOf = area('mw-rule-any', rule.anyOf);
    const allOf = area('mw-rule-all', rule.allOf);
    const noneOf = area('mw-rule-none', rule.noneOf);

    const impactTime = h('span', { id: 'mw-impact-time', class: 'mw-impact-time' }, '…');
    const impactBody = h('div', { id: 'mw-impact-body' });
    const impactSummary = h('p', { class: 'screen-reader-text', role: 'status', 'aria-live': 'polite', id: 'mw-impact-summary' });
    const impactPanel = h(
      'div',
      { class: 'card mw-impact', id: 'mw-impact', 'aria-labelledby': 'mw-impact-heading', role: 'region' },
      h('h3', { id: 'mw-impact-heading' }, mode === 'delete' ? 'Impact of deleting this rule' : 'Impact of this change'),
      h('p', { class: 'description' }, 'Across the whole directory, recomputed at every keystroke · ', impactTime),
      impactBody,
      impactSummary,
    );

    const draft = () => ({
      id: rule.id,
      level: level.value.trim(),
      anyOf: lines(anyOf.value),
      allOf: lines(allOf.value),
      noneOf: lines(noneOf.value),
    });
    const proposed = () => {
      if (mode === 'delete') return saved.filter((r) => r.id !== rule.id);
      const d = draft();
      const list = saved.filter((r) => r.id !== rule.id || mode === 'new');
      if (!d.level) return mode === 'new' ? saved : list; // a rule without a level grants nothing
      if (mode === 'new') return [...saved, d];
      return saved.map((r) => (r.id === rule.id ? d : r));
    };

    let announce = null;
    const recompute = () => {
      if (!index) {
        impactTime.textContent = 'waiting for the index…';
        return;
      }
      let result;
      const t0 = performance.now();
      try {
        result = index.impact(saved, proposed());
      } catch (err) {
        replace(impactBody, h('p', { class: 'mw-error-text' }, errorText(err)));
        return;
      }
      const ms = performance.now() - t0;
      impactTime.textContent = `recomputed in ${ms.toFixed(1)} ms over ${num(result.members)} members`;
      impactTime.dataset.ms = ms.toFixed(3);
      impactTime.dataset.members = String(result.members);
      const levels = result.levels ?? [];
      const rows = levels.map((l) =>
        h(
          'tr',
          { class: l.gain || l.lose ? 'mw-changed' : null, 'data-level': l.level },
          h('th', { scope: 'row' }, l.level),
          h('td', { class: 'num' }, num(l.before)),
          h('td', { class: 'num' }, num(l.after)),
          h('td', { class: `num mw-gain${l.gain ? ' mw-nonzero' : ''}` }, l.gain ? `+${num(l.gain)}` : '0'),
          h('td', { class: `num mw-lose${l.lose ? ' mw-nonzero' : ''}` }, l.lose ? `−${num(l.lose)}` : '0'),
        ),
      );
      replace(
        impactBody,
        table(
          [{ label: 'Level', rowHeader: true }, { label: 'Members now', cls: 'num' }, { label: 'After the change', cls: 'num' }, { label: 'Gain', cls: 'num' }, { label: 'Lose', cls: 'num' }],
          rows,
          { empty: 'No levels.', caption: 'Members gaining and losing each level', className: 'mw-impact-table' },
        ),
      );
      clearTimeout(announce);
      announce = setTimeout(() => {
        const changed = levels.filter((l) => l.gain || l.lose);
        impactSummary.textContent = changed.length ? changed.map((l) => `${l.level}: ${l.gain} gain, ${l.lose} lose`).join('; ') : 'No member gains or loses a level.';
      }, 700);
    };
    for (const el of [level, anyOf, allOf, noneOf]) el.addEventListener('input', recompute);
    indexReady.then(() => {
      if (editing?.original === rule) recompute();
    });

    // The CRM's tags, for reference: a rule may name them or give their ids.
    const crmTags = h('details', { class: 'mw-crm-tags', id: 'mw-crm-tags' }, h('summary', {}, 'Tags in the CRM'), h('p', { class: 'description' }, 'Loading…'));
    catalogReady.then((c) => {
      const list = c?.tags ?? [];
      crmTags.replaceChildren(
        h('summary', {}, `Tags in the CRM (${list.length})`),
        list.length
          ? h('ul', { class: 'mw-tags' }, list.map((t) => h('li', { class: 'mw-tag', title: `id ${t.id}` }, t.name === t.id ? t.name : `${t.name} (${t.id})`)))
          : h('p', { class: 'description' }, c?.error ? `The CRM's tags could not be listed: ${c.error}` : 'The CRM lists no tags.'),
      );
    });
    const save = h('button', { type: 'submit', class: `button button-primary${mode === 'delete' ? ' mw-danger' : ''}`, id: 'mw-save-rule' }, mode === 'delete' ? 'Delete Rule' : mode === 'new' ? 'Add Rule' : 'Save Rule');
    const cancel = h('button', { type: 'button', class: 'button', id: 'mw-cancel-rule' }, 'Cancel');
    cancel.addEventListener('click', closeEditor);
    const form = h(
      'form',
      { class: 'mw-rule-editor', id: 'mw-rule-editor', novalidate: true },
      h('h2', {}, mode === 'new' ? 'New rule' : mode === 'delete' ? `Delete the rule for “${rule.level}”?` : `Edit the rule for “${rule.level}”`),
      h(
        'div',
        { class: 'mw-editor-grid' },
        h(
          'table',
          { class: 'form-table', role: 'presentation' },
          h(
            'tbody',
            {},
            fieldRow('Level', level, 'The level this rule grants, e.g. gold.'),
            fieldRow('Any of these tags', anyOf, 'One tag per line (CRM id or name). Leave empty for no condition.'),
            fieldRow('All of these tags', allOf, 'One tag per line: the member needs every one.'),
            fieldRow('None of these tags', noneOf, 'One tag per line: any of them blocks the level (e.g. Refunded).'),
          ),
        ),
        crmTags,
        impactPanel,
      ),
      h('p', { class: 'submit' }, save, ' ', cancel),
    );
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') closeEditor();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (mode !== 'delete' && !level.value.trim()) {
        f.say('error', 'A rule needs the level it grants.');
        level.focus();
        return;
      }
      const next = proposed();
      runBusy(
        save,
        async () => {
          const answer = await put('/rules', { rules: next });
          saved = answer?.rules ?? next;
          closeEditor();
          drawList();
          f.say('success', mode === 'delete' ? `Rule for “${rule.level}” deleted.` : `Rule for “${draft().level}” saved.`);
        },
        { busyLabel: 'Saving…', onError: (err) => err.status !== 401 && f.say('error', `The rules could not be saved: ${errorText(err)}`) },
      );
    });
    replace(editorHolder, form);
    recompute();
    (mode === 'delete' ? save : level).focus();
  }

  function closeEditor() {
    const was = editing;
    editing = null;
    replace(editorHolder);
    if (was) addBtn.focus();
  }
}

function fieldRow(label, control, description) {
  const descId = `${control.id}-description`;
  control.setAttribute('aria-describedby', descId);
  return h('tr', {}, h('th', { scope: 'row' }, h('label', { for: control.id }, label)), h('td', {}, control, h('p', { class: 'description', id: descId }, description)));
}

const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);

function newRuleId() {
  const rnd = globalThis.crypto?.randomUUID ? crypto.randomUUID().slice(0, 8) : Math.random().toString(36).slice(2, 10);
  return `rule_${rnd}`;
}
