// DOM helpers. Everything that comes from the CRM or the directory goes into the page through
// these as text (text nodes, attribute values, input values): nothing here parses HTML.

/**
 * h('a', { href: '#/x', class: 'button', onclick }, 'text', child, [more]) → Element.
 * Attributes: `class`, `for`, `aria-*`, `data-*` and other strings become attributes;
 * functions named on* become listeners; `value`, `checked`, `disabled`, `hidden`, `selected`,
 * `textContent` are set as properties. Children: strings and numbers become text nodes; null,
 * undefined and false are skipped; arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'textContent' || key === 'indeterminate') {
      el[key] = value;
    } else if (key === 'disabled' || key === 'hidden' || key === 'required' || key === 'readonly' || key === 'multiple') {
      el.toggleAttribute(key, Boolean(value));
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (text, nodes, arrays) to `el`. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A text node (for clarity where a plain string would do). */
export const text = (s) => document.createTextNode(String(s ?? ''));

let uid = 0;
/** A fresh id for label/for pairs. */
export const newId = (prefix = 'mw') => `${prefix}-${++uid}`;

/**
 * A WordPress notice: success, error, warning or info. Errors are announced as alerts, the
 * rest as status messages. `dismissible` adds the × button.
 */
export function notice(type, message, { dismissible = true, extra = null } = {}) {
  const el = h(
    'div',
    {
      class: `notice notice-${type}${dismissible ? ' is-dismissible' : ''}`,
      role: type === 'error' ? 'alert' : 'status',
    },
    h('p', {}, message),
    extra,
  );
  if (dismissible) {
    el.append(
      h(
        'button',
        { type: 'button', class: 'notice-dismiss', onclick: () => el.remove() },
        h('span', { class: 'screen-reader-text' }, 'Dismiss this notice.'),
      ),
    );
  }
  return el;
}

/** A tag as the page shows it: its name, or its id when the CRM sent only the id. */
export function tagLabel(tag) {
  if (tag === null || tag === undefined) return '';
  if (typeof tag === 'string') return tag;
  if (tag.name) return tag.name;
  return tag.id ? `#${tag.id}` : '';
}

/** A list of tags as chips (text only). */
export function tagList(tags, { empty = '—', className = '' } = {}) {
  if (!tags || tags.length === 0) return h('span', { class: 'mw-empty' }, empty);
  return h(
    'ul',
    { class: `mw-tags ${className}`.trim() },
    tags.map((t) =>
      h('li', { class: 'mw-tag', title: t && t.id && t.name ? `id ${t.id}` : null }, tagLabel(t)),
    ),
  );
}

/** A list of plain strings (levels) as chips. */
export function chipList(items, { empty = '—', className = '' } = {}) {
  if (!items || items.length === 0) return h('span', { class: 'mw-empty' }, empty);
  return h('ul', { class: `mw-tags mw-levels ${className}`.trim() }, items.map((s) => h('li', { class: 'mw-tag' }, s)));
}

/** A label + control row of a `.form-table`. */
export function formRow(labelText, control, { description = null, id = null, required = false } = {}) {
  const controlId = id ?? control.id ?? newId('field');
  if (!control.id) control.id = controlId;
  const descId = description ? `${controlId}-description` : null;
  if (descId) control.setAttribute('aria-describedby', descId);
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, h('label', { for: control.id }, labelText, required ? h('span', { class: 'description' }, ' (required)') : null)),
    h('td', {}, control, description ? h('p', { class: 'description', id: descId }, description) : null),
  );
}

/** A form-table row whose value is read-only text. */
export function infoRow(labelText, value) {
  return h('tr', {}, h('th', { scope: 'row' }, labelText), h('td', {}, value));
}

/** A button with a busy state while `action` runs; errors are passed to `onError`. */
export function busyButton(label, action, { primary = false, className = '', type = 'button', busyLabel = null, onError, id } = {}) {
  const btn = h('button', { type, class: `button${primary ? ' button-primary' : ''} ${className}`.trim(), id }, label);
  btn.addEventListener('click', async (ev) => {
    if (type === 'submit') return; // forms run their own handler
    ev.preventDefault();
    await runBusy(btn, action, { busyLabel, onError });
  });
  return btn;
}

/** Runs `action` with `btn` disabled and marked busy. */
export async function runBusy(btn, action, { busyLabel = null, onError } = {}) {
  if (btn.disabled) return;
  const label = btn.textContent;
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  if (busyLabel) btn.textContent = busyLabel;
  try {
    await action();
  } catch (err) {
    if (onError) onError(err);
    else throw err;
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
    if (busyLabel) btn.textContent = label;
  }
}
