// Serves a `handle(Request) -> Promise<Response>` function over node:http: the bridge between
// Node's server and the web-standard handlers (memberwire's edge function, the CRM sandboxes).

import http from 'node:http';

// Connection-level headers that node:http manages itself and a Request must not carry.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'content-length',
]);

/**
 * Listens on `host:port` (port 0: any free port) and answers every request with `handle`.
 * Resolves to `{ url, close() }`; `close()` drops open connections (aborting requests still
 * waiting on an injected delay) and resolves once the server is closed.
 */
export async function listen(handle, { port = 0, host = '127.0.0.1', maxBodyBytes = 8 * 1024 * 1024 } = {}) {
  const server = http.createServer(async (req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    try {
      // A body over the cap is refused before it is buffered whole.
      const tooLarge = () => {
        res.statusCode = 413;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.setHeader('connection', 'close');
        res.end(JSON.stringify({ error: { code: 'body_too_large', message: `the body is larger than ${maxBodyBytes} bytes` } }));
      };
      if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return tooLarge();
      const chunks = [];
      let size = 0;
      for await (const chunk of req) {
        size += chunk.length;
        if (size > maxBodyBytes) return tooLarge();
        chunks.push(chunk);
      }
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has(req.rawHeaders[i].toLowerCase())) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && chunks.length > 0;
      const request = new Request(new URL(req.url, `http://${req.headers.host ?? host}`), {
        method: req.method,
        headers,
        body: hasBody ? Buffer.concat(chunks) : undefined,
        signal: controller.signal,
      });
      // The peer's address, for per-client limits (the admin API's failed-login limit).
      const response = await handle(request, { remoteAddress: req.socket.remoteAddress ?? null });
      const body = Buffer.from(await response.arrayBuffer());
      res.statusCode = response.status;
      response.headers.forEach((value, name) => res.setHeader(name, value));
      res.end(body);
    } catch {
      if (controller.signal.aborted) {
        res.destroy();
        return;
      }
      res.statusCode = 500;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: { code: 'internal', message: 'the server could not answer this request' } }));
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address();
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostPart}:${address.port}`,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
