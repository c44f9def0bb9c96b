// Serves a `handle(Request) -> Promise<Response>` function over node:http: the bridge between
// Node's server and the web-standard handlers (memberwire's edge function, the CRM sandboxes).

import http from 'node:http';
import { Readable } from 'node:stream';
import { BODY_TEXT, answerWithText } from '../engine/handler.mjs';

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

const JSON_TYPE = 'application/json; charset=utf-8';
const errorBody = (code, message) => JSON.stringify({ error: { code, message } });

/** A JSON error written straight to a socket Node's HTTP parser gave up on. */
function rawError(status, reason, code, message) {
  const body = errorBody(code, message);
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * What a handler receives: a Request as far as handlers read one (`method`, `url`, `headers`,
 * `signal`, and the body through `body`, `text()`, `json()`, `arrayBuffer()`, `formData()`),
 * with the web-standard Request (and its body stream) made only when one of those is asked for.
 * The hook routes ask for neither: `readBodyUpTo` reads the bytes straight from Node's stream,
 * which is most of the cost of a small post saved.
 */
class NodeRequest {
  #req;
  #real = null;
  #consumed = false;
  #max;
  #signal;
  constructor(req, url, headers, signal, max) {
    this.#req = req;
    this.#max = max;
    this.#signal = signal;
    this.method = req.method;
    this.url = url.href;
    this.headers = headers;
  }

  get signal() {
    return this.#signal();
  }

  #request() {
    if (this.#consumed && !this.#real) throw new TypeError('the body was read already');
    const hasBody = this.method !== 'GET' && this.method !== 'HEAD';
    this.#real ??= new Request(this.url, { method: this.method, headers: this.headers, body: hasBody ? Readable.toWeb(this.#req) : undefined, duplex: 'half', signal: this.signal });
    return this.#real;
  }

  get body() {
    return this.#request().body;
  }

  // text(), json() and arrayBuffer() read the bytes straight from Node's stream too (the CRM
  // sandboxes read every body this way); only `body` and formData() make the Request.
  async #bytes() {
    if (this.#real) return new Uint8Array(await this.#real.arrayBuffer());
    const bytes = await this.readBodyUpTo(this.#max);
    if (bytes === null) throw new TypeError(`the body is larger than ${this.#max} bytes`);
    return bytes;
  }

  async text() {
    return new TextDecoder().decode(await this.#bytes());
  }

  async json() {
    return JSON.parse(await this.text());
  }

  async arrayBuffer() {
    const b = await this.#bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }

  async formData() {
    return this.#request().formData();
  }

  /**
   * The body's bytes, or null once it is over `max` bytes (declared or read): nothing past that
   * is read, and the connection closes after the answer.
   */
  readBodyUpTo(max) {
    const req = this.#req;
    // Once only, and never from a stream that has ended or broken: its events would not come
    // again, and the promise would never settle.
    if (this.#real || this.#consumed) return Promise.reject(new TypeError('the body was read already'));
    this.#consumed = true;
    if (req.destroyed || req.readableEnded) return Promise.reject(req.errored ?? new Error('the request was cut off before its body was read'));
    if (this.method === 'GET' || this.method === 'HEAD') return Promise.resolve(new Uint8Array(0));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      const done = () => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
      };
      const onData = (chunk) => {
        size += chunk.length;
        if (size > max) {
          done();
          req.pause();
          resolve(null);
        } else chunks.push(chunk);
      };
      const onEnd = () => {
        done();
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        resolve(new Uint8Array(all.buffer, all.byteOffset, all.length));
      };
      const onError = (err) => {
        done();
        reject(err);
      };
      const onClose = () => {
        done();
        reject(new Error('the request was cut off before its body arrived'));
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  }
}

/**
 * Listens on `host:port` (port 0: any free port) and answers every request with `handle`.
 * Resolves to `{ url, close() }`; `close()` drops open connections (aborting requests still
 * waiting on an injected delay) and resolves once the server is closed.
 *
 * Bodies are streamed to the handler, not buffered first: it checks the route and the key
 * before it reads a byte, and reads no more than the route allows. Connections are capped
 * (`maxConnections`), and so is the time a request may take to arrive, so bytes in flight stay
 * bounded. Every answer is JSON, including those to requests Node's HTTP parser refuses.
 */
export async function listen(handle, { port = 0, host = '127.0.0.1', maxBodyBytes = 8 * 1024 * 1024, maxConnections = 1024, requestTimeoutMs = 120_000 } = {}) {
  // The answers are written from their text below: the handler need not make body streams.
  answerWithText();
  let base = null; // this server's own origin: URLs never take the client's Host header
  const server = http.createServer({ requestTimeout: requestTimeoutMs, headersTimeout: Math.min(requestTimeoutMs, 20_000) }, async (req, res) => {
    // The request's abort signal is made only if the handler asks for it (the hooks do not).
    let controller = null;
    const signal = () => (controller ??= new AbortController()).signal;
    res.on('close', () => {
      if (!res.writableFinished) {
        controller ??= new AbortController();
        controller.abort();
      }
    });
    const answer = (status, code, message) => {
      res.statusCode = status;
      res.setHeader('content-type', JSON_TYPE);
      res.setHeader('connection', 'close');
      res.end(errorBody(code, message));
    };
    try {
      if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return answer(413, 'body_too_large', `the body is larger than ${maxBodyBytes} bytes`);
      let url;
      try {
        url = new URL(req.url, base);
      } catch {
        return answer(400, 'bad_request', 'the request target is not a valid path');
      }
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has(req.rawHeaders[i].toLowerCase())) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
      }
      const request = new NodeRequest(req, url, headers, signal, maxBodyBytes);
      // The peer's address, for per-client limits (failed logins, set-password attempts).
      const response = await handle(request, { remoteAddress: req.socket.remoteAddress ?? null });
      // A JSON answer of the edge function carries its text: no read through the body stream.
      const text = response[BODY_TEXT];
      const body = typeof text === 'string' && !response.bodyUsed ? text : Buffer.from(await response.arrayBuffer());
      res.statusCode = response.status;
      response.headers.forEach((value, name) => res.setHeader(name, value));
      // A body the handler did not read (a refused key, a wrong route) is not read here either:
      // the connection closes after the answer.
      if (!req.complete) res.setHeader('connection', 'close');
      res.end(body);
    } catch {
      if (controller?.signal.aborted) {
        res.destroy();
        return;
      }
      if (!res.headersSent) answer(500, 'internal', 'the server could not answer this request');
      else res.destroy();
    }
  });
  server.maxConnections = maxConnections;
  // Requests Node's parser refuses (a malformed header, Content-Length with Transfer-Encoding,
  // a bad chunk, headers over the size limit) still get a JSON answer.
  server.on('clientError', (err, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    socket.end(
      tooLarge
        ? rawError(431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large')
        : timedOut
          ? rawError(408, 'Request Timeout', 'request_timeout', 'the request took too long to arrive')
          : rawError(400, 'Bad Request', 'bad_request', 'the request is not valid HTTP/1.1'),
    );
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
  base = `http://${hostPart}:${address.port}`;
  return {
    url: base,
    /**
     * Stops listening. With `graceMs`, requests under way get that long to be answered before
     * their connections are dropped; without, they are dropped at once.
     */
    close({ graceMs = 0 } = {}) {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        if (graceMs > 0) {
          const timer = setTimeout(() => server.closeAllConnections(), graceMs);
          timer.unref();
        } else {
          server.closeAllConnections();
        }
      });
    },
  };
}
