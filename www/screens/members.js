// Members: the searchable, paged list. The server pages; the page renders one page only.
import { h, replace, tagList, chipList, newId } from '../dom.js';
import { get } from '../api.js';
import { route } from '../nav.js';
import { when, iso } from '../format.js';
import { frame, pagination, table, errorText } from './common.js';

const PER_PAGE = 20;

export async function renderMembers(ctx) {
  const q = ctx.params.get('q') ?? '';
  const page = Math.max(1, parseInt(ctx.params.get('page') ?? '1', 10) || 1);
  const f = frame(ctx, 'Members', { action: h('a', { href: '#/members/new', class: 'page-title-action' }, 'Add New Member'), subtitle: q ? `Search results for: “${q}”` : null });

  const searchId = newId('member-search-input');
  const search = h('input', { type: 'search', id: searchId, name: 's', value: q, autocomplete: 'off' });
  const searchForm = h(
    'form',
    { class: 'search-form', role: 'search' },
    h('p', { class: 'search-box' }, h('label', { class: 'screen-reader-text', for: searchId }, 'Search Members:'), search, ' ', h('button', { type: 'submit', class: 'button', id: 'search-submit' }, 'Search Members')),
  );
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(route(['members'], { q: search.value.trim() }));
  });

  const status = h('p', { class: 'screen-reader-text', role: 'status', 'aria-live': 'polite' });
  const topNav = h('div', { class: 'tablenav top' });
  const listHolder = h('div', { class: 'mw-list' });
  const bottomNav = h('div', { class: 'tablenav bottom' });
  f.body.append(searchForm, status, topNav, listHolder, bottomNav);

  let data;
  try {
    data = await get('/members', { q, offset: (page - 1) * PER_PAGE, limit: PER_PAGE });
  } catch (err) {
    if (err.status === 401) throw err;
    f.say('error', `The members could not be loaded: ${errorText(err)}`);
    return;
  }
  if (!ctx.isCurrent()) return;

  const go = (p) => ctx.navigate(route(['members'], { q, page: p }));
  const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
  if (page > pages && data.total > 0) return go(pages);
  topNav.append(pagination({ total: data.total, page, perPage: PER_PAGE, go }));
  bottomNav.append(pagination({ total: data.total, page, perPage: PER_PAGE, go }));
  status.textContent = `${data.total} members${q ? ` match “${q}”` : ''}; page ${page} of ${pages}.`;

  const columns = [
    { label: 'Email (username)', cls: 'column-primary column-email' },
    { label: 'Contact ID', cls: 'column-contact' },
    { label: 'Tags', cls: 'column-tags' },
    { label: 'Levels', cls: 'column-levels' },
    { label: 'Created', cls: 'column-date' },
    { label: 'Updated', cls: 'column-date' },
  ];
  const rows = data.members.map((m) => {
    const link = route(['members', m.id]);
    const name = [m.firstName, m.lastName].filter(Boolean).join(' ');
    return h(
      'tr',
      { 'data-member-id': m.id },
      h(
        'td',
        { class: 'column-primary column-email', 'data-colname': 'Email' },
        h('strong', {}, h('a', { href: link, class: 'row-title' }, m.email)),
        name ? h('div', { class: 'mw-sub' }, name) : null,
        h('div', { class: 'row-actions' }, h('span', { class: 'edit' }, h('a', { href: link, 'aria-label': `Edit ${m.email}` }, 'Edit'))),
      ),
      h('td', { class: 'column-contact', 'data-colname': 'Contact ID' }, m.contact ? h('code', {}, m.contact.contactId) : h('span', { class: 'mw-empty' }, '—')),
      h('td', { class: 'column-tags', 'data-colname': 'Tags' }, tagList(m.tags)),
      h('td', { class: 'column-levels', 'data-colname': 'Levels' }, chipList(m.levels)),
      h('td', { class: 'column-date', 'data-colname': 'Created' }, h('time', { datetime: iso(m.createdAt), title: iso(m.createdAt) }, when(m.createdAt))),
      h('td', { class: 'column-date', 'data-colname': 'Updated' }, h('time', { datetime: iso(m.updatedAt), title: iso(m.updatedAt) }, when(m.updatedAt))),
    );
  });
  replace(
    listHolder,
    table(columns, rows, {
      empty: q ? 'No members match this search.' : 'No members yet. Add one, import a CSV, or let the CRM post its first contact.',
      caption: 'Members, newest first',
      className: 'fixed users',
    }),
  );
}
