// memberwire admin: a one-page app with hash routes and a wp-admin style shell.
import { h, replace, notice } from './dom.js';
import { get, del, setCsrf, setUnauthorizedHandler, embedded } from './api.js';
import { parseHash, takeFlash } from './nav.js';
import { renderLogin } from './screens/login.js';
import { renderMembers } from './screens/members.js';
import { renderAddMember } from './screens/add-member.js';
import { renderMember } from './screens/member.js';
import { renderRules } from './screens/rules.js';
import { renderBulk } from './screens/bulk.js';
import { renderActivity } from './screens/activity.js';
import { renderSettings } from './screens/settings.js';
import { renderSources } from './screens/sources.js';

const SVG = 'http://www.w3.org/2000/svg';

// Menu icons: simple shapes drawn here (no icon font).
const ICONS = {
  members: [['circle', { cx: 10, cy: 6, r: 3.5 }], ['path', { d: 'M3 18c0-4 3.1-6.5 7-6.5s7 2.5 7 6.5z' }]],
  rules: [['rect', { x: 4, y: 9, width: 12, height: 9, rx: 1.5 }], ['path', { d: 'M6.5 9V6.5a3.5 3.5 0 0 1 7 0V9', fill: 'none', stroke: 'currentColor', 'stroke-width': 2 }]],
  bulk: [['path', { d: 'M10 2l5.5 5.5H12V13H8V7.5H4.5z' }], ['rect', { x: 3, y: 15, width: 14, height: 3, rx: 1 }]],
  activity: [['path', { d: 'M2 10.5h4l2-5.5 4 10 2-4.5h4', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linejoin': 'round' }]],
  settings: [
    ['rect', { x: 3, y: 4, width: 14, height: 2, rx: 1 }],
    ['rect', { x: 3, y: 9, width: 14, height: 2, rx: 1 }],
    ['rect', { x: 3, y: 14, width: 14, height: 2, rx: 1 }],
    ['circle', { cx: 7, cy: 5, r: 2.3 }],
    ['circle', { cx: 13, cy: 10, r: 2.3 }],
    ['circle', { cx: 8, cy: 15, r: 2.3 }],
  ],
};

function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 20 20');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('fill', 'currentColor');
  for (const [tag, attrs] of ICONS[name]) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.append(el);
  }
  return h('div', { class: 'wp-menu-image' }, svg);
}

const MENU = [
  { key: 'members', label: 'Members', href: '#/members', sub: [{ key: 'members-list', label: 'All Members', href: '#/members' }, { key: 'members-new', label: 'Add New Member', href: '#/members/new' }] },
  { key: 'rules', label: 'Access Rules', href: '#/rules' },
  { key: 'bulk', label: 'Bulk Import', href: '#/bulk' },
  { key: 'activity', label: 'Activity', href: '#/activity' },
  { key: 'settings', label: 'Settings', href: '#/settings', sub: [{ key: 'settings-main', label: 'General', href: '#/settings' }, { key: 'settings-sources', label: 'Sources', href: '#/sources' }] },
];

function resolve({ parts }) {
  const [first, second] = parts;
  switch (first ?? 'members') {
    case 'members':
      if (second === 'new') return { menu: 'members', sub: 'members-new', render: renderAddMember, title: 'Add New Member' };
      if (second) return { menu: 'members', sub: null, render: renderMember, title: 'Edit Member', id: second };
      return { menu: 'members', sub: 'members-list', render: renderMembers, title: 'Members' };
    case 'rules':
      return { menu: 'rules', render: renderRules, title: 'Access Rules' };
    case 'bulk':
      return { menu: 'bulk', render: renderBulk, title: 'Bulk Import' };
    case 'activity':
      return { menu: 'activity', render: renderActivity, title: 'Activity' };
    case 'settings':
      return { menu: 'settings', sub: 'settings-main', render: renderSettings, title: 'Settings' };
    case 'sources':
      return { menu: 'settings', sub: 'settings-sources', render: renderSources, title: 'Sources' };
    default:
      return { menu: null, render: renderNotFound, title: 'Not found' };
  }
}

function renderNotFound(ctx) {
  replace(
    ctx.root,
    h('div', { class: 'wrap' }, h('h1', { class: 'wp-heading-inline', tabindex: '-1' }, 'Page not found'), h('hr', { class: 'wp-header-end' }), h('p', {}, h('a', { href: '#/members' }, 'Back to Members'))),
  );
}

const app = {
  session: null,
  version: null,
  shell: null,
  leaving: [],
  renderSeq: 0,
};

function buildShell() {
  const menu = h('ul', { id: 'adminmenu' });
  for (const item of MENU) {
    const li = h(
      'li',
      { class: `menu-top menu-${item.key}${item.sub ? ' wp-has-submenu' : ''}`, 'data-menu': item.key },
      h('a', { href: item.href, class: 'menu-top' }, icon(item.key), h('div', { class: 'wp-menu-name' }, item.label)),
    );
    if (item.sub) {
      li.append(
        h(
          'ul',
          { class: 'wp-submenu wp-submenu-wrap' },
          item.sub.map((s) => h('li', { 'data-sub': s.key }, h('a', { href: s.href }, s.label))),
        ),
      );
    }
    menu.append(li);
  }
  const logout = h('button', { type: 'button', class: 'ab-item ab-logout', id: 'mw-logout' }, 'Log Out');
  logout.addEventListener('click', async () => {
    try {
      await del('/session');
    } catch {
      /* the session is gone either way */
    }
    setCsrf(null);
    app.session = null;
    await start();
  });
  const content = h('div', { id: 'wpbody-content', tabindex: '-1' });
  const shell = h(
    'div',
    { id: 'wpwrap' },
    h('a', { class: 'screen-reader-shortcut', href: '#wpbody-content', onclick: (e) => { e.preventDefault(); content.focus(); } }, 'Skip to main content'),
    h(
      'div',
      { id: 'wpadminbar', role: 'banner' },
      h('div', { class: 'ab-left' }, h('a', { class: 'ab-item ab-brand', href: '#/members' }, h('span', { class: 'ab-logo', 'aria-hidden': 'true' }, 'mw'), 'memberwire')),
      h('div', { class: 'ab-right' }, h('span', { class: 'ab-item ab-user' }, 'Administrator'), logout),
    ),
    h('nav', { id: 'adminmenumain', 'aria-label': 'Main menu' }, h('div', { id: 'adminmenuback' }), h('div', { id: 'adminmenuwrap' }, menu)),
    h('div', { id: 'wpcontent' }, h('main', { id: 'wpbody' }, content)),
    h('footer', { id: 'wpfooter' }, h('p', { id: 'footer-left' }, 'memberwire admin'), h('p', { id: 'footer-upgrade' }, app.version ? `Version ${app.version}` : '')),
  );
  return { shell, menu, content };
}

function highlightMenu(menuKey, subKey) {
  if (!app.shell.menu) return; // inside wp-admin: WordPress draws the menu
  for (const li of app.shell.menu.children) {
    const on = li.dataset.menu === menuKey;
    li.classList.toggle('current', on && !li.classList.contains('wp-has-submenu'));
    li.classList.toggle('wp-has-current-submenu', on && li.classList.contains('wp-has-submenu'));
    li.classList.toggle('wp-menu-open', on && li.classList.contains('wp-has-submenu'));
    const top = li.querySelector('a.menu-top');
    if (on && !li.classList.contains('wp-has-submenu')) top.setAttribute('aria-current', 'page');
    else top.removeAttribute('aria-current');
    for (const sub of li.querySelectorAll('[data-sub]')) {
      const subOn = on && sub.dataset.sub === subKey;
      sub.classList.toggle('current', subOn);
      const a = sub.querySelector('a');
      if (subOn) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }
}

async function renderRoute({ focus = true } = {}) {
  if (!app.session) return;
  for (const fn of app.leaving.splice(0)) {
    try {
      fn();
    } catch {
      /* ignore */
    }
  }
  const seq = ++app.renderSeq;
  const loc = parseHash();
  const r = resolve(loc);
  highlightMenu(r.menu, r.sub);
  if (!embedded) document.title = `${r.title} ‹ memberwire — Admin`;
  const root = app.shell.content;
  replace(root, h('div', { class: 'wrap' }, h('p', { class: 'mw-loading' }, h('span', { class: 'spinner is-active', 'aria-hidden': 'true' }), 'Loading…')));
  const controller = new AbortController();
  app.leaving.push(() => controller.abort());
  const ctx = {
    root,
    params: loc.params,
    id: r.id,
    signal: controller.signal,
    onLeave: (fn) => app.leaving.push(fn),
    isCurrent: () => seq === app.renderSeq,
    navigate: (hash) => {
      if (location.hash === hash) renderRoute();
      else location.hash = hash;
    },
    takeFlash: () => {
      const f = takeFlash();
      return f ? notice(f.type, f.message) : null;
    },
  };
  try {
    await r.render(ctx);
  } catch (err) {
    if (seq !== app.renderSeq || err?.status === 401) return;
    replace(
      root,
      h('div', { class: 'wrap' }, h('h1', { class: 'wp-heading-inline', tabindex: '-1' }, r.title), h('hr', { class: 'wp-header-end' }), notice('error', err?.message ?? String(err), { dismissible: false })),
    );
  }
  if (focus && seq === app.renderSeq) {
    const heading = root.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  }
}

async function showLogin(reason) {
  for (const fn of app.leaving.splice(0)) fn();
  app.session = null;
  app.shell = null;
  document.body.classList.add('login');
  document.body.classList.remove('wp-admin');
  const root = document.getElementById('app');
  let session = { authenticated: false, needsSetup: false };
  try {
    session = await get('/session');
  } catch (err) {
    reason = err.message;
  }
  if (session.authenticated) return enterAdmin(session);
  document.title = session.needsSetup ? 'Set up ‹ memberwire' : 'Log In ‹ memberwire';
  renderLogin(root, { needsSetup: session.needsSetup, reason, onLoggedIn: (s) => enterAdmin(s) });
}

async function enterAdmin(session) {
  if (!session.csrf) {
    try {
      session = await get('/session');
    } catch {
      /* keep what we have */
    }
  }
  setCsrf(session.csrf);
  app.session = session;
  document.body.classList.remove('login');
  document.body.classList.add('wp-admin');
  app.shell = buildShell();
  replace(document.getElementById('app'), app.shell.shell);
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', '#/members');
  return renderRoute();
}

export async function start() {
  await showLogin();
}

/**
 * Inside wp-admin: WordPress has logged the administrator in and draws the menu and the bar, so
 * the screens render straight into #app, starting at the screen the menu item names.
 */
function enterEmbedded() {
  app.session = { embedded: true };
  const content = h('div', { id: 'mw-content', class: 'mw-embedded', tabindex: '-1' });
  app.shell = { shell: content, menu: null, content };
  replace(document.getElementById('app'), content);
  if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', `#/${encodeURIComponent(embedded.route)}`);
  return renderRoute({ focus: false });
}

setUnauthorizedHandler(() => {
  if (!app.session) return;
  if (embedded) {
    replace(app.shell.content, h('div', { class: 'wrap' }, notice('error', 'Your WordPress session has expired. Reload this page to log in again.', { dismissible: false })));
    return;
  }
  showLogin('Your session has expired. Please log in again.');
});

window.addEventListener('hashchange', () => {
  if (app.session) renderRoute();
});

if (embedded) enterEmbedded();
else start();
