// The Node server's fetch-shaped client (js/server/http-client.mjs) against local servers: it must
// answer as fetch does for everything a CRM call uses, since the engine's driver cannot tell
// the two apart.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { createHttpClient } from '../../js/server/http-client.mjs';

const client = createHttpClient();
const servers = [];
after(async () => {
  await client.close();
  for (const s of servers) s.close();
});

/** A local server; `handle(req, body, res)` answers. Resolves to its origin. */
function serve(handle) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

const echo = (req, body, res) => {
  res.writeHead(201, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] });
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
};

test('a request and its answer read as fetch reads them', async () => {
  const origin = await serve(echo);
  const res = await client(`${origin}/crm/rest/v2/contacts/7?x=1`, {
    method: 'patch',
    headers: { 'Content-Type': 'application/json', 'X-Keap-API-Key': 'k' },
    body: JSON.stringify({ given_name: 'Zoë' }),
  });
  assert.equal(res.status, 201);
  assert.equal(res.ok, true);
  assert.equal(res.redirected, false);
  assert.equal(res.headers.get('Content-Type'), 'application/json');
  assert.equal(res.headers.get('x-twice'), 'a, b');
  assert.equal(res.headers.get('retry-after'), null);
  const seen = await res.json();
  assert.equal(seen.method, 'PATCH');
  assert.equal(seen.url, '/crm/rest/v2/contacts/7?x=1');
  assert.equal(seen.body, '{"given_name":"Zoë"}');
  assert.equal(seen.headers['content-length'], String(Buffer.byteLength('{"given_name":"Zoë"}')));
  assert.equal(seen.headers['x-keap-api-key'], 'k');
  await assert.rejects(res.text(), TypeError, 'a body is read once');

  // Headers as a Headers object and as pairs; a POST without a body says so.
  const h = await (await client(`${origin}/a`, { method: 'POST', headers: new Headers({ Authorization: 'Bearer t' }) })).json();
  assert.equal(h.headers.authorization, 'Bearer t');
  assert.equal(h.headers['content-length'], '0');
  const p = await (await client(`${origin}/b`, { headers: [['X-A', '1']] })).json();
  assert.equal(p.method, 'GET');
  assert.equal(p.headers['x-a'], '1');
  const form = await (await client(`${origin}/c`, { method: 'POST', body: new URLSearchParams({ a: 'b c' }) })).json();
  assert.equal(form.body, 'a=b+c');
  assert.match(form.headers['content-type'], /^application\/x-www-form-urlencoded/);
});

test('redirects are followed as fetch follows them', async () => {
  const other = await serve(echo);
  const origin = await serve((req, body, res) => {
    const to = { '/303': [303, '/end'], '/302': [302, '/end'], '/307': [307, '/end'], '/away': [307, `${other}/there`], '/loop': [302, '/loop'] }[req.url];
    if (to) {
      res.writeHead(to[0], { location: to[1] });
      return res.end();
    }
    echo(req, body, res);
  });
  const post = { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer secret' }, body: '{"a":1}' };
  for (const [path, method, body] of [['/303', 'GET', ''], ['/302', 'GET', ''], ['/307', 'POST', '{"a":1}']]) {
    const res = await client(`${origin}${path}`, post);
    assert.equal(res.redirected, true, path);
    assert.equal(res.url, `${origin}/end`);
    const seen = await res.json();
    assert.equal(seen.method, method, path);
    assert.equal(seen.body, body, path);
    assert.equal(seen.headers.authorization, 'Bearer secret', `${path}: the same origin keeps the credentials`);
  }
  const away = await (await client(`${origin}/away`, post)).json();
  assert.equal(away.url, '/there');
  assert.equal(away.headers.authorization, undefined, 'another origin never sees the credentials');
  await assert.rejects(client(`${origin}/loop`), /too many redirects/);
  const manual = await client(`${origin}/302`, { redirect: 'manual' });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get('location'), '/end');
  await assert.rejects(client(`${origin}/302`, { redirect: 'error' }), TypeError);
});

test('compressed answers are decoded', async () => {
  const text = JSON.stringify({ contacts: Array.from({ length: 200 }, (_, i) => ({ id: i, email: `m${i}@example.com` })) });
  const origin = await serve((req, body, res) => {
    const enc = req.url.slice(1);
    const data = { gzip: zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync }[enc](text);
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': enc });
    res.end(data);
  });
  for (const enc of ['gzip', 'deflate', 'br']) assert.equal(await (await client(`${origin}/${enc}`)).text(), text, enc);
});

test('deflate in either form, nothing decoded for an answer without a body, and a body that cannot be decoded fails', async () => {
  const text = '{"ok":true}';
  const origin = await serve((req, body, res) => {
    if (req.url === '/raw') {
      res.writeHead(200, { 'content-encoding': 'deflate' });
      return res.end(zlib.deflateRawSync(text));
    }
    if (req.url === '/empty') {
      res.writeHead(204, { 'content-encoding': 'br' });
      return res.end();
    }
    if (req.url === '/empty-200') {
      res.writeHead(200, { 'content-encoding': 'br', 'content-length': '0' });
      return res.end();
    }
    if (req.url === '/cut') {
      // A gzip stream cut before its end: what it holds is read, as fetch reads it.
      res.writeHead(200, { 'content-encoding': 'gzip' });
      return res.end(zlib.gzipSync(text).subarray(0, -8));
    }
    res.writeHead(200, { 'content-encoding': 'gzip' });
    res.end('not gzip at all');
  });
  assert.equal(await (await client(`${origin}/raw`)).text(), text);
  const empty = await client(`${origin}/empty`);
  assert.equal(empty.status, 204);
  assert.equal(await empty.text(), '');
  assert.equal(await (await client(`${origin}/empty-200`)).text(), '', 'an empty body said to be br');
  assert.equal(await (await client(`${origin}/cut`)).text(), text);
  await assert.rejects(client(`${origin}/bad`), /could not be decoded/);
  assert.equal(await (await client(`${origin}/raw`)).text(), text, 'and the client goes on');
});

test('an aborted request rejects with the signal reason, and failures never name the request', async () => {
  const origin = await serve((req, body, res) => setTimeout(() => echo(req, body, res), 2000));
  await assert.rejects(client(`${origin}/slow`, { signal: AbortSignal.timeout(50) }), { name: 'TimeoutError' });
  const controller = new AbortController();
  controller.abort(new Error('stop'));
  await assert.rejects(client(`${origin}/slow`, { signal: controller.signal }), /stop/);

  // Nothing listens on a closed port: a TypeError like fetch's, without the URL or the headers.
  const closed = net.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const err = await client(`http://127.0.0.1:${port}/x`, { headers: { authorization: 'Bearer top-secret' } }).catch((e) => e);
  assert.ok(err instanceof TypeError);
  assert.equal(err.message, 'fetch failed');
  assert.equal(err.cause.code, 'ECONNREFUSED');
  assert.doesNotMatch(`${err.message} ${err.cause.message}`, /top-secret/);
  await assert.rejects(client('ftp://127.0.0.1/x'), TypeError);
});

test('a kept-alive connection the server closed is replaced, and the request goes once', async () => {
  // A raw HTTP/1.1 server that answers the first request of each connection and resets the
  // connection on the second without answering: what a server's idle timeout does to a request
  // that crossed its close.
  const received = [];
  const raw = net.createServer((socket) => {
    let n = 0;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        const end = buf.indexOf('\r\n\r\n') + 4;
        const head = buf.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + length) return;
        buf = buf.slice(end + length);
        n++;
        if (n > 1) {
          socket.resetAndDestroy();
          return;
        }
        received.push(head.split(' ')[1]);
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      }
    });
  });
  servers.push(raw);
  await new Promise((r) => raw.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${raw.address().port}`;
  assert.equal(await (await client(`${origin}/first`)).text(), 'ok');
  assert.equal(await (await client(`${origin}/second`, { method: 'PUT', body: 'x' })).text(), 'ok');
  assert.deepEqual(received, ['/first', '/second'], 'the second request was answered once, on a new connection');
  // A POST is not sent again: the server may have read it before the reset.
  const err = await client(`${origin}/third`, { method: 'POST', body: 'x' }).catch((e) => e);
  assert.ok(err instanceof TypeError, String(err));
  assert.equal(err.cause?.code, 'ECONNRESET');
  assert.deepEqual(received, ['/first', '/second']);
});

test('an answer larger than the limit is refused', async () => {
  const small = createHttpClient({ maxBody: 1000 });
  try {
    const origin = await serve((req, body, res) => res.end('x'.repeat(5000)));
    await assert.rejects(small(`${origin}/big`), /larger than the client accepts/);
    assert.equal(await (await small(`${origin}/big`, { method: 'HEAD' })).text(), '');
  } finally {
    await small.close();
  }
});
