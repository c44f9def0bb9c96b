// The admin page's static files: GET /admin (www/index.html), /admin/* (www/), the wasm package
// (/pkg/memberwire.js, /pkg/memberwire_bg.wasm) and the browser host (/js/hosts/browser.mjs).
// Only regular files inside those folders; `..`, dot-files, backslashes, NUL and symlinks that
// lead outside are refused.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

// The admin page runs wasm (so 'wasm-unsafe-eval'), talks only to this origin, and is never framed.
const PAGE_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

function refuse(status, message) {
  return new Response(JSON.stringify({ error: { code: status === 404 ? 'not_found' : 'bad_path', message } }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}

/** The relative path's segments, or null when any is unsafe. */
function segments(rest) {
  const out = [];
  for (const raw of rest.split('/')) {
    let s;
    try {
      s = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (s === '' || s === '.' || s === '..' || s.startsWith('.') || /[\\/\0:]/.test(s) || s.length > 200) return null;
    out.push(s);
  }
  return out;
}

/**
 * @param {object} [o]
 * @param {string} [o.root]  the repository folder holding www/, pkg/ and js/hosts/
 */
export function createStatic({ root = REPO } = {}) {
  const www = path.join(root, 'www');
  const pkg = path.join(root, 'pkg');
  const hosts = path.join(root, 'js', 'hosts');

  /** Which file a path names: [folder, segments], null when not a static path, 'bad' when refused. */
  function resolve(pathname) {
    if (pathname === '/admin' || pathname === '/admin/') return [www, ['index.html']];
    if (pathname.startsWith('/admin/')) return [www, segments(pathname.slice(7)) ?? 'bad'];
    if (pathname === '/pkg/memberwire.js' || pathname === '/pkg/memberwire_bg.wasm') return [pkg, [pathname.slice(5)]];
    if (pathname.startsWith('/pkg/')) return 'missing';
    if (pathname === '/js/hosts/browser.mjs') return [hosts, ['browser.mjs']];
    return null;
  }

  async function file(folder, segs) {
    const full = path.join(folder, ...segs);
    if (!full.startsWith(folder + path.sep)) return null;
    try {
      const [real, realFolder] = await Promise.all([fsp.realpath(full), fsp.realpath(folder)]);
      if (!real.startsWith(realFolder + path.sep)) return null;
      const st = await fsp.stat(real);
      if (!st.isFile()) return null;
      return { path: real, size: st.size };
    } catch {
      return null;
    }
  }

  /** A Response for a static path, or null when `url` is not one. */
  return async function serveStatic(request, url) {
    const target = resolve(url.pathname);
    if (target === null) return null;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response(JSON.stringify({ error: { code: 'method_not_allowed', message: 'static files accept GET and HEAD' } }), {
        status: 405,
        headers: { 'content-type': 'application/json; charset=utf-8', allow: 'GET, HEAD' },
      });
    }
    if (target === 'missing') return refuse(404, `no file ${url.pathname}`);
    const [folder, segs] = target;
    if (segs === 'bad') return refuse(400, 'that path is not allowed');
    const found = await file(folder, segs);
    if (!found) return refuse(404, `no file ${url.pathname}`);
    const ext = path.extname(found.path).toLowerCase();
    const headers = {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    if (ext === '.html') {
      headers['content-security-policy'] = PAGE_CSP;
      headers['x-frame-options'] = 'DENY';
      headers['referrer-policy'] = 'same-origin';
    }
    const body = request.method === 'HEAD' ? null : await fsp.readFile(found.path);
    return new Response(body, { status: 200, headers });
  };
}
