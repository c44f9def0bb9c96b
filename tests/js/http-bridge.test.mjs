// Node's bridge (js/server/http-bridge.mjs): the request it hands a handler reads a hook's body
// straight from the socket, once, and every read settles, whatever the client does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { listen } from '../../js/server/http-bridge.mjs';

test('the body is read once: a second read is refused, not left waiting', async (t) => {
  const served = await listen(async (request) => {
    const first = await request.readBodyUpTo(1024);
    const second = await request.readBodyUpTo(1024).then(
      () => 'read again',
      (err) => `refused: ${err.message}`,
    );
    const stream = await request.text().then(
      () => 'read again',
      (err) => `refused: ${err.message}`,
    );
    return Response.json({ first: new TextDecoder().decode(first), second, stream });
  });
  t.after(() => served.close());
  const r = await fetch(`${served.url}/x`, { method: 'POST', body: 'contactId=7' });
  assert.deepEqual(await r.json(), { first: 'contactId=7', second: 'refused: the body was read already', stream: 'refused: the body was read already' });
});

test('a body over the limit reads as null and closes the connection; a short one is whole', async (t) => {
  const served = await listen(async (request) => {
    const bytes = await request.readBodyUpTo(8);
    return Response.json({ bytes: bytes === null ? null : bytes.length });
  });
  t.after(() => served.close());
  const big = await fetch(`${served.url}/x`, { method: 'POST', body: 'x'.repeat(100) });
  assert.deepEqual(await big.json(), { bytes: null });
  const small = await fetch(`${served.url}/x`, { method: 'POST', body: 'x'.repeat(8) });
  assert.deepEqual(await small.json(), { bytes: 8 });
});

test('a client that leaves in the middle of its body: the read settles (rejected)', async (t) => {
  let settled;
  const done = new Promise((resolve) => (settled = resolve));
  const served = await listen(async (request) => {
    try {
      await request.readBodyUpTo(1024);
      settled('resolved');
    } catch {
      settled('rejected');
    }
    return Response.json({});
  });
  t.after(() => served.close());
  const { port } = new URL(served.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it');
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  const outcome = await Promise.race([done, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5000))]);
  assert.equal(outcome, 'rejected');
});

test("on Node the handler's JSON answers keep their text: written as it is, and still whole Responses to any other reader", async (t) => {
  const { json, BODY_TEXT } = await import('../../js/engine/handler.mjs');
  const served = await listen(async () => json(202, { outcome: 'queued', event: 'ev_1' }, { 'x-extra': '1' }));
  t.after(() => served.close());
  const r = await fetch(`${served.url}/hooks/json`, { method: 'POST', body: '{}' });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(r.headers.get('x-extra'), '1');
  assert.deepEqual(await r.json(), { outcome: 'queued', event: 'ev_1' });
  // After listen(), as in the server: a Response by every other measure.
  const a = json(200, { a: 'é' });
  assert.ok(a instanceof Response);
  assert.equal(a[BODY_TEXT], '{"a":"é"}');
  const copy = a.clone();
  assert.deepEqual(await a.json(), { a: 'é' });
  assert.equal(a.bodyUsed, true);
  await assert.rejects(a.text(), TypeError);
  assert.equal(new TextDecoder().decode(await copy.arrayBuffer()), '{"a":"é"}');
  assert.equal(await new Response(json(200, [1, 2]).body).text(), '[1,2]');
  const streamed = json(200, { s: 1 });
  await streamed.body.getReader().read();
  assert.equal(streamed.bodyUsed, true, 'a body read through its stream is used');
});
