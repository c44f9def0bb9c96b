// Pieces shared by the screens.
import { h, replace, notice } from '../dom.js';

/**
 * Renders a screen's frame: `.wrap` > h1.wp-heading-inline (+ page-title action) >
 * hr.wp-header-end > notices > body. Returns { wrap, notices, body, say, clear }.
 */
export function frame(ctx, title, { action = null, subtitle = null } = {}) {
  const notices = h('div', { class: 'mw-notices' });
  const body = h('div', { class: 'mw-body' });
  const wrap = h(
    'div',
    { class: 'wrap' },
    h('h1', { class: 'wp-heading-inline', tabindex: '-1' }, title),
    action,
    subtitle ? h('span', { class: 'subtitle' }, subtitle) : null,
    h('hr', { class: 'wp-header-end' }),
    notices,
    body,
  );
  const f = ctx.takeFlash?.();
  if (f) notices.append(f);
  replace(ctx.root, wrap);
  return {
    wrap,
    notices,
    body,
    /** Replaces the notices with one. */
    say(type, message, options) {
      const n = notice(type, message, options);
      notices.replaceChildren(n);
      return n;
    },
    clear() {
      notices.replaceChildren();
    },
  };
}

/** A wp-admin "postbox" card with a title. */
export function card(title, ...children) {
  const headingId = `card-${Math.random().toString(36).slice(2, 8)}`;
  return h('section', { class: 'postbox', 'aria-labelledby': headingId }, h('div', { class: 'postbox-header' }, h('h2', { class: 'hndle', id: headingId }, title)), h('div', { class: 'inside' }, children));
}

/**
 * wp-admin pagination ("tablenav-pages"): 20 items · « ‹ [2] of 5 › ».
 * `go(page)` is called with the page wanted.
 */
export function pagination({ total, page, perPage, go, label = null }) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  const nav = (text, srText, target, disabled, cls) =>
    disabled
      ? h('span', { class: `tablenav-pages-navspan button disabled`, 'aria-hidden': 'true' }, text)
      : h('button', { type: 'button', class: `${cls} button`, onclick: () => go(target) }, h('span', { class: 'screen-reader-text' }, srText), h('span', { 'aria-hidden': 'true' }, text));
  const input = h('input', { class: 'current-page', type: 'text', inputmode: 'numeric', size: '4', value: String(page), 'aria-describedby': 'table-paging' });
  input.id = `current-page-${Math.random().toString(36).slice(2, 8)}`;
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      const n = Math.min(pages, Math.max(1, parseInt(input.value, 10) || 1));
      go(n);
    }
  });
  return h(
    'div',
    { class: `tablenav-pages${pages <= 1 ? ' one-page' : ''}` },
    h('span', { class: 'displaying-num' }, `${new Intl.NumberFormat().format(total)} ${label ?? (total === 1 ? 'item' : 'items')}`),
    pages > 1
      ? h(
          'span',
          { class: 'pagination-links' },
          nav('«', 'First page', 1, page <= 1, 'first-page'),
          ' ',
          nav('‹', 'Previous page', page - 1, page <= 1, 'prev-page'),
          ' ',
          h(
            'span',
            { class: 'paging-input' },
            h('label', { for: input.id, class: 'screen-reader-text' }, 'Current Page'),
            input,
            h('span', { class: 'tablenav-paging-text' }, ` of `, h('span', { class: 'total-pages' }, new Intl.NumberFormat().format(pages))),
          ),
          ' ',
          nav('›', 'Next page', page + 1, page >= pages, 'next-page'),
          ' ',
          nav('»', 'Last page', pages, page >= pages, 'last-page'),
        )
      : null,
  );
}

/** A copy-to-clipboard button for an input's value. */
export function copyButton(input, label = 'Copy') {
  const status = h('span', { class: 'mw-copy-status', role: 'status' });
  const btn = h('button', { type: 'button', class: 'button mw-copy' }, label);
  btn.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(input.value);
      ok = true;
    } catch {
      input.focus();
      input.select();
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
    }
    status.textContent = ok ? 'Copied!' : 'Select the text and copy it by hand.';
    setTimeout(() => {
      status.textContent = '';
    }, 2500);
  });
  return [btn, status];
}

/** An error's text for a notice. */
export const errorText = (err) => (err?.message ? err.message : String(err));

/** A table: columns [{label, cls}], rows of cell arrays. */
export function table(columns, rows, { empty = 'Nothing found.', caption = null, className = '' } = {}) {
  return h(
    'table',
    { class: `wp-list-table widefat striped ${className}`.trim() },
    caption ? h('caption', { class: 'screen-reader-text' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.cls ?? null }, c.label)))),
    h(
      'tbody',
      {},
      rows.length === 0
        ? h('tr', { class: 'no-items' }, h('td', { class: 'colspanchange', colspan: String(columns.length) }, empty))
        : rows.map((cells) => (cells instanceof Node ? cells : h('tr', {}, cells.map((c, i) => h(i === 0 && columns[0].rowHeader ? 'th' : 'td', { class: columns[i]?.cls ?? null, scope: i === 0 && columns[0].rowHeader ? 'row' : null, 'data-colname': columns[i]?.label }, c))))),
    ),
  );
}
