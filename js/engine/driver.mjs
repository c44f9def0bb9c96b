// The generic driver: asks a workflow (the Rust state machine, in wasm) for its next effect,
// performs it through the host's ports, hands the result back, and persists the state where the
// workflow says (before each CRM write, and at the end). It is the same on every host: it never
// reads `window`, and `fetch` is a port.

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

/**
 * Runs `wf` until it is done or parked. Resolves to the final step: `done` or `pending`, with
 * the state to keep (`save`). One call into wasm per effect: `step` answers randomness and
 * collects log records inside wasm, and says when the state must be persisted: before a CRM
 * write, which a restart must not repeat unseen. Reads and directory writes are not followed by
 * a write to the event store (a restart meets the directory's writes again and recognizes them).
 */
// `rows`: a SQL directory answers with the member's row as read, which `step` takes as it is (the
// columns, and the stored `data` text parsed once, in wasm); other directories ignore it.
const REPLAYED = Object.freeze({ durable: false, rows: true });

export async function runWorkflow(wf, ports) {
  let s = wf.step(undefined, ports.now());
  for (;;) {
    if (s.logs) for (const record of s.logs) ports.log(record);
    if (s.state !== 'effect') return s;
    // Durable before a CRM write, so a restart never repeats one it cannot see.
    if (s.save !== undefined) await ports.persist(s.save);
    s = wf.step(await perform(s, ports), ports.now());
  }
}

async function perform({ effect, row }, ports) {
  switch (effect.type) {
    case 'sleep':
      await ports.sleep(effect.ms);
      return { type: 'slept' };
    case 'directory':
      // A workflow's directory write need not reach the disk before the workflow goes on: a
      // restart replays from the last saved state and meets it again, and the save before the
      // next CRM write (durable) carries it to the disk first (js/store/sql.mjs).
      return { type: 'directory', result: await ports.directory.apply(effect.op, row, REPLAYED) };
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
