// The login screen, and the first-run setup (administrator password, proven with the access key).
import { h, replace, notice, runBusy } from '../dom.js';
import { post, setCsrf } from '../api.js';

export function renderLogin(root, { needsSetup, reason, onLoggedIn }) {
  const notices = h('div', { class: 'mw-notices' });
  if (reason) notices.append(notice('error', reason, { dismissible: false }));
  const say = (type, message) => notices.replaceChildren(notice(type, message, { dismissible: false }));

  const form = needsSetup ? setupForm(say, onLoggedIn) : loginForm(say, onLoggedIn);
  replace(
    root,
    h(
      'div',
      { id: 'login' },
      h('h1', { class: 'login-brand' }, h('span', { class: 'login-logo', 'aria-hidden': 'true' }, 'mw'), h('span', {}, needsSetup ? 'Set up memberwire' : 'memberwire')),
      notices,
      form,
      h('p', { id: 'backtoblog' }, 'memberwire admin'),
    ),
  );
  const first = form.querySelector('input');
  first?.focus();
}

function field(label, attrs) {
  const input = h('input', { class: 'input', ...attrs });
  return [h('label', { for: attrs.id }, label), input];
}

function loginForm(say, onLoggedIn) {
  const [pwLabel, pw] = field('Administrator password', { type: 'password', id: 'user_pass', name: 'pwd', autocomplete: 'current-password', spellcheck: 'false', required: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary button-large', id: 'wp-submit' }, 'Log In');
  const form = h(
    'form',
    { id: 'loginform', name: 'loginform', novalidate: true },
    h('p', {}, pwLabel, pw),
    h('p', { class: 'submit' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!pw.value) {
      say('error', 'Enter the administrator password.');
      pw.focus();
      return;
    }
    runBusy(submit, async () => {
      const s = await post('/session', { password: pw.value });
      setCsrf(s.csrf);
      await onLoggedIn({ authenticated: true, needsSetup: false, csrf: s.csrf });
    }, {
      busyLabel: 'Logging in…',
      onError: (err) => {
        say('error', err.status === 401 || err.status === 403 ? 'That password is not right.' : err.message);
        pw.select();
        pw.focus();
      },
    });
  });
  // The hook access key travels in CRM URLs that proxies log: it never logs into this page.
  return h('div', {}, form, h('p', { id: 'nav', class: 'description' }, 'The access key only sets up the first administrator.'));
}

function setupForm(say, onLoggedIn) {
  const [keyLabel, key] = field('Access key', { type: 'password', id: 'mw-setup-key', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'mw-setup-key-help' });
  const [pwLabel, pw] = field('New administrator password', { type: 'password', id: 'mw-setup-password', autocomplete: 'new-password', minlength: '10', required: true, 'aria-describedby': 'mw-setup-password-help' });
  const [pw2Label, pw2] = field('Confirm the password', { type: 'password', id: 'mw-setup-password2', autocomplete: 'new-password', minlength: '10', required: true });
  const submit = h('button', { type: 'submit', class: 'button button-primary button-large', id: 'mw-setup-submit' }, 'Set Password and Log In');
  const form = h(
    'form',
    { id: 'setupform', novalidate: true },
    h('p', { class: 'message' }, 'memberwire has no administrator password yet. Prove that you own this server with the access key it printed when it first started, then choose the password you will log in with.'),
    h('p', {}, keyLabel, key, h('span', { class: 'description', id: 'mw-setup-key-help' }, 'Starts with mwk_. Only its digest is stored on the server.')),
    h('p', {}, pwLabel, pw, h('span', { class: 'description', id: 'mw-setup-password-help' }, 'At least 10 characters.')),
    h('p', {}, pw2Label, pw2),
    h('p', { class: 'submit' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!key.value.trim()) {
      say('error', 'Enter the access key printed when memberwire first started.');
      key.focus();
      return;
    }
    if (pw.value.length < 10) {
      say('error', 'The password needs at least 10 characters.');
      pw.focus();
      return;
    }
    if (pw.value !== pw2.value) {
      say('error', 'The two passwords do not match.');
      pw2.focus();
      return;
    }
    runBusy(submit, async () => {
      const s = await post('/setup', { password: pw.value, accessKey: key.value.trim() });
      setCsrf(s?.csrf);
      await onLoggedIn({ authenticated: true, needsSetup: false, csrf: s?.csrf });
    }, {
      busyLabel: 'Setting up…',
      onError: (err) => {
        say('error', err.status === 401 || err.status === 403 ? `${err.message || 'That access key is not right.'}` : err.message);
        key.focus();
      },
    });
  });
  return form;
}
