// The page a set-password link opens. The token travels in the URL fragment (#token=…), which
// browsers never send to the server or in a Referer header; the page posts it with the new
// password and removes it from the address bar.

export const SET_PASSWORD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set your password</title>
<style>
body{font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;background:#f0f0f1;color:#1d2327;margin:0}
main{max-width:360px;margin:10vh auto;background:#fff;border:1px solid #c3c4c7;padding:24px 24px 8px;box-shadow:0 1px 3px rgba(0,0,0,.04)}
h1{font-size:20px;margin:0 0 16px}label{display:block;font-weight:600;margin:12px 0 4px}
input{width:100%;box-sizing:border-box;font-size:16px;padding:6px 8px;border:1px solid #8c8f94;border-radius:4px}
button{margin:16px 0;background:#2271b1;border:1px solid #2271b1;color:#fff;border-radius:3px;padding:6px 14px;font-size:14px;cursor:pointer}
.notice{border-left:4px solid #d63638;background:#fff;padding:8px 12px;margin:12px 0;box-shadow:0 1px 1px rgba(0,0,0,.04)}
.notice.ok{border-left-color:#00a32a}
</style></head>
<body><main>
<h1>Set your password</h1>
<form id="f">
<label for="p1">New password</label><input id="p1" type="password" autocomplete="new-password" minlength="10" required>
<label for="p2">Repeat it</label><input id="p2" type="password" autocomplete="new-password" minlength="10" required>
<button type="submit">Save password</button>
</form>
<div id="msg" role="status" aria-live="polite"></div>
</main>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token');
history.replaceState(null, '', location.pathname);
const msg = document.getElementById('msg');
function say(text, ok) { msg.className = 'notice' + (ok ? ' ok' : ''); msg.textContent = text; }
if (!token) say('This page needs the link from your welcome email.');
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const p1 = document.getElementById('p1').value, p2 = document.getElementById('p2').value;
  if (p1 !== p2) return say('The two passwords differ.');
  const r = await fetch('/set-password', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, password: p1 }) });
  const body = await r.json().catch(() => ({}));
  if (r.ok) { say('Your password is set for ' + body.email + '. You can log in now.', true); e.target.hidden = true; }
  else say(body.error ? body.error.message : 'Something went wrong.');
});
</script>
</body></html>`;
