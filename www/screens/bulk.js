// Bulk run: a CSV exported from the CRM (pasted or uploaded) or every contact with a CRM tag;
// a dry run first (counts and conflicts), then the run with a progress bar, cancel and resume.
import { h, replace, notice, runBusy } from '../dom.js';
import { get, post, embedded } from '../api.js';
import { num } from '../format.js';
import { route } from '../nav.js';
import { wpFusionSection } from './wpfusion.js';
import { frame, table, errorText } from './common.js';

const RUN_KEY = 'memberwire.bulkRun';
const COUNT_LABELS = [
  ['created', 'Created', 'new members'],
  ['linked', 'Linked', 'existing members matched by email, now linked to their contact'],
  ['existing', 'Existing', 'already members: nothing to do'],
  ['updated', 'Updated', 'members whose details change'],
  ['conflict', 'Conflicts', 'rows that cannot be applied safely'],
  ['invalid', 'Invalid', 'rows that could not be read'],
];

export async function renderBulk(ctx) {
  const f = frame(ctx, 'Bulk Import');
  let source = 'paste';
  let fileText = null;

  const radio = (value, label) => {
    const id = `mw-source-${value}`;
    const input = h('input', { type: 'radio', name: 'mw-source', id, value, checked: value === source });
    input.addEventListener('change', () => {
      source = value;
      showSource();
    });
    return h('label', { for: id, class: 'mw-radio' }, input, ' ', label);
  };
  const csv = h('textarea', { id: 'mw-csv', rows: '10', cols: '80', class: 'large-text code', spellcheck: 'false', placeholder: 'Id,First Name,Last Name,Email,Tags\n101,Ada,Lovelace,ada@example.com,"Gold Member,Newsletter"' });
  const file = h('input', { type: 'file', id: 'mw-csv-file', accept: '.csv,text/csv,text/plain' });
  const fileInfo = h('p', { class: 'description', id: 'mw-csv-file-info', 'aria-live': 'polite' });
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    fileText = null;
    if (!chosen) {
      fileInfo.textContent = '';
      return;
    }
    fileText = await chosen.text();
    fileInfo.textContent = `${chosen.name}: ${num(chosen.size)} bytes, ${num(fileText.split('\n').filter((l) => l.trim()).length)} lines.`;
  });
  const tag = h('input', { type: 'text', id: 'mw-tag', class: 'regular-text code', autocomplete: 'off', inputmode: 'numeric' });

  const pastePane = h('div', { class: 'mw-source-pane', 'data-source': 'paste' }, h('label', { for: 'mw-csv' }, 'CSV exported from the CRM'), csv, h('p', { class: 'description' }, 'The first line names the columns. Contact id and email are required; names and tags are optional.'));
  const uploadPane = h('div', { class: 'mw-source-pane', 'data-source': 'upload' }, h('label', { for: 'mw-csv-file' }, 'CSV file'), ' ', file, fileInfo);
  const tagPane = h('div', { class: 'mw-source-pane', 'data-source': 'tag' }, h('label', { for: 'mw-tag' }, 'CRM tag id'), ' ', tag, h('p', { class: 'description' }, 'Every contact that has this tag in the CRM (loaded through the CRM’s API, within its rate limit).'));
  const showSource = () => {
    for (const pane of [pastePane, uploadPane, tagPane]) pane.hidden = pane.dataset.source !== source;
  };
  showSource();

  const dryRun = h('button', { type: 'submit', class: 'button', id: 'mw-dry-run' }, 'Dry Run');
  const planOut = h('div', { class: 'mw-plan', id: 'mw-plan' });
  const runOut = h('div', { class: 'mw-run', id: 'mw-run' });

  const form = h(
    'form',
    { id: 'mw-bulk-form', novalidate: true },
    h('p', {}, 'Creates or links one member per CRM contact, exactly as the CRM’s posts would. A dry run shows what would happen without changing anything.'),
    h('fieldset', { class: 'mw-sources' }, h('legend', {}, 'Contacts to import'), radio('paste', 'Paste a CSV'), radio('upload', 'Upload a CSV file'), radio('tag', 'Every contact with a CRM tag')),
    pastePane,
    uploadPane,
    tagPane,
    h('p', { class: 'submit' }, dryRun),
  );
  f.body.append(form, planOut, runOut);
  // Inside wp-admin: moving over from WP Fusion, whose data lives in this WordPress.
  if (embedded) f.body.append(wpFusionSection());

  let poll = null;
  ctx.onLeave(() => clearTimeout(poll));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    f.clear();
    let body;
    if (source === 'paste') {
      if (!csv.value.trim()) return fail('Paste the CSV first.', csv);
      body = { csv: csv.value };
    } else if (source === 'upload') {
      if (!fileText) return fail('Choose a CSV file first.', file);
      body = { csv: fileText };
    } else {
      if (!tag.value.trim()) return fail('Enter the CRM tag id.', tag);
      body = { tag: tag.value.trim() };
    }
    runBusy(dryRun, async () => showPlan(await post('/bulk/plan', body)), {
      busyLabel: 'Planning…',
      onError: (err) => err.status !== 401 && f.say('error', `The dry run failed: ${errorText(err)}`),
    });
  });

  function fail(message, focus) {
    f.say('error', message);
    focus.focus();
  }

  function showPlan(plan) {
    replace(runOut);
    const counts = plan.counts ?? {};
    const countsTable = h(
      'table',
      { class: 'widefat striped mw-counts', id: 'mw-counts' },
      h('caption', { class: 'screen-reader-text' }, 'What the import would do'),
      h('thead', {}, h('tr', {}, COUNT_LABELS.map(([, label]) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, h('tr', {}, COUNT_LABELS.map(([key, , help]) => h('td', { class: `num mw-count-${key}`, 'data-count': key, title: help }, num(counts[key] ?? 0))))),
    );
    const conflicts = plan.conflicts ?? [];
    const invalid = plan.invalid ?? [];
    const toApply = (counts.created ?? 0) + (counts.linked ?? 0) + (counts.updated ?? 0);
    const run = h('button', { type: 'button', class: 'button button-primary', id: 'mw-run-import', disabled: !plan.planId }, `Run Import (${num(toApply)} changes)`);
    run.addEventListener('click', async () => {
      if (run.disabled) return;
      run.disabled = true;
      run.setAttribute('aria-busy', 'true');
      try {
        const { runId } = await post('/bulk/run', { planId: plan.planId });
        sessionStorage.setItem(RUN_KEY, runId);
        run.textContent = 'Import started';
        watch(runId);
      } catch (err) {
        run.disabled = false; // nothing started: it can be tried again
        if (err.status !== 401) f.say('error', `The run could not start: ${errorText(err)}`);
      } finally {
        run.removeAttribute('aria-busy');
      }
    });
    replace(
      planOut,
      h('h2', {}, `Dry run: ${num(plan.rows ?? 0)} rows read, nothing changed yet`),
      countsTable,
      conflicts.length
        ? [
            h('h3', {}, `Conflicts (${num(conflicts.length)}${(counts.conflict ?? 0) > conflicts.length ? ` of ${num(counts.conflict)}` : ''})`),
            table(
              [{ label: 'Row' }, { label: 'Email' }, { label: 'Contact ID' }, { label: 'Reason' }, { label: 'Other member' }],
              conflicts.map((c) => [String(c.row), c.email ?? '', c.contactId ?? '', c.reason ?? '', c.otherMember ? h('a', { href: route(['members', c.otherMember]) }, c.otherMember) : '—']),
              { caption: 'Conflicts', className: 'mw-conflicts' },
            ),
          ]
        : null,
      invalid.length
        ? [
            h('h3', {}, `Rows that could not be read (${num(invalid.length)})`),
            table([{ label: 'Row' }, { label: 'Problem' }], invalid.map((r) => [String(r.row), r.message ?? '']), { caption: 'Invalid rows', className: 'mw-invalid' }),
          ]
        : null,
      h('p', { class: 'mw-actions' }, run, ' ', h('span', { class: 'description' }, 'Conflicts and invalid rows are skipped. The run keeps to the CRM’s rate limit.')),
    );
    run.focus();
  }

  function watch(runId) {
    const progress = h('progress', { id: 'mw-progress', max: '1', value: '0', 'aria-labelledby': 'mw-progress-label' });
    const label = h('span', { id: 'mw-progress-label' }, 'Starting…');
    const status = h('p', { class: 'screen-reader-text', role: 'status', 'aria-live': 'polite' });
    const cancel = h('button', { type: 'button', class: 'button', id: 'mw-cancel-run' }, 'Cancel');
    const resume = h('button', { type: 'button', class: 'button button-primary', id: 'mw-resume-run', hidden: true }, 'Resume');
    const result = h('div', { class: 'mw-run-result' });
    replace(runOut, h('h2', {}, 'Import run'), h('div', { class: 'mw-progress-row' }, progress, ' ', label), status, h('p', { class: 'mw-actions' }, cancel, ' ', resume), result);
    cancel.focus();

    let last = null;
    const update = (r) => {
      const total = Math.max(0, r.total ?? 0);
      progress.max = Math.max(1, total);
      progress.value = Math.min(total, r.done ?? 0);
      progress.dataset.state = r.state;
      label.textContent = `${num(r.done ?? 0)} of ${num(total)} done${r.failed ? `, ${num(r.failed)} failed` : ''} · ${r.state}`;
      cancel.hidden = r.state !== 'running';
      resume.hidden = r.state !== 'cancelled';
      if (last?.state !== r.state) status.textContent = label.textContent;
      if (r.state === 'finished') {
        sessionStorage.removeItem(RUN_KEY);
        const c = r.counts ?? {};
        replace(result, notice(r.failed ? 'warning' : 'success', `Import finished: ${COUNT_LABELS.map(([k, l]) => `${l.toLowerCase()} ${num(c[k] ?? 0)}`).join(', ')}${r.failed ? `; ${num(r.failed)} failed (see Activity)` : ''}.`));
        if (document.activeElement === cancel || document.activeElement === resume || document.activeElement === document.body) result.querySelector('.notice')?.setAttribute('tabindex', '-1');
      } else if (r.state === 'cancelled') {
        replace(result, notice('warning', `Import cancelled after ${num(r.done ?? 0)} of ${num(total)}. Resume continues where it stopped.`));
      } else {
        replace(result);
      }
      last = r;
    };
    const tick = async () => {
      try {
        const r = await get(`/bulk/${encodeURIComponent(runId)}`);
        if (!ctx.isCurrent()) return;
        update(r);
        if (r.state === 'running') poll = setTimeout(tick, 250);
      } catch (err) {
        if (!ctx.isCurrent() || err.status === 401) return;
        if (err.status === 404) {
          sessionStorage.removeItem(RUN_KEY);
          replace(runOut);
          return;
        }
        replace(result, notice('error', `Progress is unavailable: ${errorText(err)}`));
        poll = setTimeout(tick, 1500);
      }
    };
    cancel.addEventListener('click', () =>
      runBusy(cancel, async () => {
        clearTimeout(poll);
        await post(`/bulk/${encodeURIComponent(runId)}/cancel`);
        await tick();
        resume.focus();
      }, { onError: (err) => err.status !== 401 && f.say('error', errorText(err)) }),
    );
    resume.addEventListener('click', () =>
      runBusy(resume, async () => {
        await post(`/bulk/${encodeURIComponent(runId)}/resume`);
        clearTimeout(poll);
        await tick();
        cancel.focus();
      }, { onError: (err) => err.status !== 401 && f.say('error', errorText(err)) }),
    );
    tick();
  }

  // A run started earlier in this tab: show where it is.
  const earlier = sessionStorage.getItem(RUN_KEY);
  if (earlier) watch(earlier);
}
