// The generic driver: asks a workflow (the Rust state machine, in wasm) for its next effect,
// performs it through the host's ports, hands the result back, and persists the state after
// every step. It is the same on every host: it never reads `window`, and `fetch` is a port.

/**
 * @typedef {object} Ports
 * @property {(url: string, init: RequestInit) => Promise<Response>} fetch
 * @property {{ apply(op: object): Promise<object> }} directory
 * @property {(priority: number) => Promise<void>} turn  waits for this request's turn at the CRM's rate limit (js/engine/crm-queue.mjs)
 * @property {number} [priority]  FRESH or BACKGROUND
 * @property {() => number} now
 * @property {(ms: number) => Promise<void>} sleep
 * @property {(record: object) => void} log
 * @property {(state: string) => Promise<void>} persist   durable before it resolves
 * @property {number} [httpTimeoutMs]
 */

/** Runs `wf` until it is done or parked. Resolves to the final poll: `done` or `pending`. */
export async function runWorkflow(wf, ports) {
  for (;;) {
    const p = wf.poll();
    if (p.state !== 'effect') return p;
    const effect = p.effect;
    if (effect.type === 'random') {
      // Drawn inside wasm: the secret made from it never passes through JS.
      wf.provideRandom(effect.bytes, ports.now());
    } else {
      wf.handle(await perform(effect, ports), ports.now());
    }
    // Logs and pauses change nothing worth a write; everything else is persisted before the
    // next effect, so a restart resumes from here.
    if (effect.type !== 'log' && effect.type !== 'sleep') await ports.persist(wf.save());
  }
}

async function perform(effect, ports) {
  switch (effect.type) {
    case 'log':
      ports.log(effect.record);
      return { type: 'logged' };
    case 'sleep':
      await ports.sleep(effect.ms);
      return { type: 'slept' };
    case 'directory':
      return { type: 'directory', result: await ports.directory.apply(effect.op) };
    case 'http':
      return http(effect.request, ports);
    default:
      throw new Error(`unknown effect type ${effect.type}`);
  }
}

async function http(request, ports) {
  await ports.turn(ports.priority);
  try {
    const response = await ports.fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(ports.httpTimeoutMs ?? 15_000),
    });
    const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    return {
      type: 'http',
      response: {
        status: response.status,
        body: await response.text(),
        retryAfter: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null,
      },
    };
  } catch (err) {
    // Only the error's name and message: never the request (its headers hold the API token).
    return { type: 'http_failed', message: `${err?.name ?? 'Error'}: ${err?.message ?? err}`.slice(0, 200) };
  }
}
