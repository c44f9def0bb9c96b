// Activity: received posts and their outcomes; failures and pending events with Retry;
// conflicts; "Send a test post".
import { h, replace, notice, runBusy, tagList } from '../dom.js';
import { get, post } from '../api.js';
import { route } from '../nav.js';
import { when, iso, num } from '../format.js';
import { frame, pagination, table, errorText } from './common.js';

const PER_PAGE = 20;
const FILTERS = [
  ['', 'All'],
  ['pending', 'Pending'],
  ['running', 'Running'],
  ['done', 'Done'],
  ['conflict', 'Conflicts'],
];
const SOURCES = { keap_post: 'Keap HTTP post', keap_rest: 'Keap REST hook', activecampaign: 'ActiveCampaign', kit: 'Kit', drip: 'Drip', mailerlite: 'MailerLite', highlevel: 'HighLevel', hubspot: 'HubSpot', mailchimp: 'Mailchimp', json: 'JSON', mapped: 'Mapped source', 'test-post': 'Test post', refresh: 'Refresh from CRM', admin: 'Added in the admin page', bulk: 'Bulk run' };
const OUTCOMES = { created: 'Member created', linked: 'Linked to a member', existing: 'Already a member', updated: 'Member updated', conflict: 'Conflict' };

export async function renderActivity(ctx) {
  const status = FILTERS.some(([k]) => k === ctx.params.get('status')) ? ctx.params.get('status') ?? '' : '';
  const page = Math.max(1, parseInt(ctx.params.get('page') ?? '1', 10) || 1);
  const f = frame(ctx, 'Activity');

  // Send a test post.
  const testEmail = h('input', { type: 'email', id: 'mw-test-email', class: 'regular-text', autocomplete: 'off', placeholder: 'test@example.com' });
  const testBtn = h('button', { type: 'submit', class: 'button', id: 'mw-test-post' }, 'Send a Test Post');
  const testOut = h('div', { class: 'mw-test-out', id: 'mw-test-out' });
  const testForm = h(
    'form',
    { class: 'mw-test-form', novalidate: true },
    h('label', { for: 'mw-test-email' }, 'Email for the test post (optional)'),
    ' ',
    testEmail,
    ' ',
    testBtn,
    h('p', { class: 'description' }, 'Sends a sample JSON post through the hook handler, as a CRM would, and shows its answer.'),
  );
  testForm.addEventListener('submit', (e) => {
    e.preventDefault();
    runBusy(
      testBtn,
      async () => {
        const body = testEmail.value.trim() ? { email: testEmail.value.trim() } : {};
        const answer = await post('/test-post', body);
        replace(testOut, notice('success', 'The test post was received. Its answer:', { extra: h('pre', { class: 'mw-json' }, JSON.stringify(answer, null, 2)) }));
        await load();
      },
      { busyLabel: 'Sending…', onError: (err) => err.status !== 401 && replace(testOut, notice('error', `The test post failed: ${errorText(err)}`)) },
    );
  });

  const filters = h('ul', { class: 'subsubsub' });
  const topNav = h('div', { class: 'tablenav top' });
  const listHolder = h('div', { class: 'mw-list' });
  const bottomNav = h('div', { class: 'tablenav bottom' });
  f.body.append(h('section', { class: 'mw-section', 'aria-label': 'Test post' }, testForm, testOut), h('h2', { class: 'screen-reader-text' }, 'Filter events'), filters, topNav, listHolder, bottomNav);

  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));

  const load = async () => {
    clearTimeout(timer);
    const [data, ...counts] = await Promise.all([
      get('/events', { status, offset: (page - 1) * PER_PAGE, limit: PER_PAGE }),
      ...FILTERS.map(([k]) => get('/events', { status: k, offset: 0, limit: 1 }).then((r) => r.total).catch(() => null)),
    ]);
    if (!ctx.isCurrent()) return;
    replace(
      filters,
      FILTERS.map(([k, label], i) =>
        h(
          'li',
          { class: k || 'all' },
          h('a', { href: route(['activity'], { status: k }), class: k === status ? 'current' : null, 'aria-current': k === status ? 'page' : null }, label, ' ', h('span', { class: 'count' }, `(${counts[i] === null ? '?' : num(counts[i])})`)),
          i < FILTERS.length - 1 ? ' |' : '',
        ),
      ),
    );
    const go = (p) => ctx.navigate(route(['activity'], { status, page: p }));
    replace(topNav, pagination({ total: data.total, page, perPage: PER_PAGE, go }));
    replace(bottomNav, pagination({ total: data.total, page, perPage: PER_PAGE, go }));
    replace(
      listHolder,
      table(
        [{ label: 'Received', cls: 'column-date' }, { label: 'Source' }, { label: 'Contact', cls: 'column-primary' }, { label: 'Status' }, { label: 'Outcome' }, { label: 'Actions', cls: 'column-actions' }],
        data.events.map(eventRow),
        { empty: status ? 'No events with this status.' : 'No posts received yet. Paste a hook URL (Settings) into the CRM, or send a test post.', caption: 'Received posts, newest first', className: 'mw-events' },
      ),
    );
    if (data.events.some((e) => e.status === 'running')) timer = setTimeout(() => load().catch(() => {}), 2000);
  };

  function eventRow(e) {
    const c = e.contact ?? {};
    const actions = h('div', { class: 'mw-row-actions' });
    if (e.status === 'pending') {
      const retry = h('button', { type: 'button', class: 'button button-small mw-retry', 'data-event': e.id, 'aria-label': `Retry event ${e.id}` }, 'Retry');
      retry.addEventListener('click', () =>
        runBusy(
          retry,
          async () => {
            const after = await post(`/events/${encodeURIComponent(e.id)}/retry`);
            const ev = after?.event ?? after;
            const ok = ev?.status === 'done' || ev?.state === 'done';
            f.say(ok ? 'success' : 'warning', ok ? `Event ${e.id} retried: ${describeOutcome(ev.outcome)}.` : `Event ${e.id} is still ${ev?.status ?? ev?.state ?? 'pending'}${ev?.pending?.reason || ev?.reason ? `: ${ev.pending?.reason ?? ev.reason}` : ''}.`);
            await load();
          },
          { busyLabel: 'Retrying…', onError: (err) => err.status !== 401 && f.say('error', `The retry failed: ${errorText(err)}`) },
        ),
      );
      actions.append(retry);
    }
    const details = h('details', { class: 'mw-event-details' }, h('summary', {}, 'Details'), h('pre', { class: 'mw-json' }, JSON.stringify(e, null, 2)));
    actions.append(details);
    return h(
      'tr',
      { 'data-event-id': e.id, class: `mw-event mw-status-${e.status}` },
      h('td', { class: 'column-date' }, h('time', { datetime: iso(e.receivedAt) }, when(e.receivedAt))),
      h('td', {}, SOURCES[e.source] ?? e.source ?? '—'),
      h(
        'td',
        { class: 'column-primary' },
        c.contactId ? h('code', {}, `#${c.contactId}`) : null,
        c.email ? h('div', {}, c.email) : null,
        c.tags && c.tags.length ? tagList(c.tags) : null,
      ),
      h('td', {}, h('span', { class: `mw-badge mw-badge-${statusKind(e)}` }, statusLabel(e))),
      h('td', { class: 'mw-outcome' }, outcomeCell(e)),
      h('td', { class: 'column-actions' }, actions),
    );
  }

  try {
    await load();
  } catch (err) {
    if (err.status === 401) throw err;
    f.say('error', `The activity could not be loaded: ${errorText(err)}`);
  }
}

function statusKind(e) {
  if (e.outcome?.outcome === 'conflict') return 'conflict';
  return e.status ?? 'unknown';
}

function statusLabel(e) {
  if (e.outcome?.outcome === 'conflict') return 'Conflict';
  return { done: 'Done', pending: 'Pending', running: 'Running' }[e.status] ?? e.status ?? '—';
}

function describeOutcome(o) {
  if (!o) return 'done';
  return OUTCOMES[o.outcome] ?? o.outcome;
}

function outcomeCell(e) {
  if (e.status === 'pending') {
    return [h('strong', {}, e.pending?.code ?? 'pending'), e.pending?.reason ? h('div', { class: 'mw-sub' }, e.pending.reason) : null];
  }
  if (e.status === 'running') return h('span', { class: 'mw-empty' }, 'In progress…');
  const o = e.outcome;
  if (!o) return '—';
  const parts = [h('strong', {}, describeOutcome(o))];
  if (o.member?.id) parts.push(' ', h('a', { href: route(['members', o.member.id]) }, o.member.email ?? o.member.id));
  if (o.conflict) parts.push(h('div', { class: 'mw-sub' }, `${o.conflict.reason}${o.conflict.otherMember ? ` (other member ${o.conflict.otherMember})` : ''}`));
  const extra = [];
  if (o.credentials && o.credentials !== 'unchanged') extra.push({ link_sent: 'set-password link sent', crm_password: 'password from the CRM', generated_password: 'password generated' }[o.credentials] ?? o.credentials);
  if (o.welcome === 'applied') extra.push('welcome tag applied');
  if (extra.length) parts.push(h('div', { class: 'mw-sub' }, extra.join(' · ')));
  return parts;
}
