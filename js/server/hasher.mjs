// bcrypt for the set-password form, off the server's event loop: one worker thread with its own
// wasm instance hashes while the server keeps answering (bcrypt at cost 10 takes about 80 ms).
import { Worker } from 'node:worker_threads';

/**
 * @param {object} policy  the Registrar settings that shape a password hash: { bcryptCost,
 *   minCrmPassword } (nothing else crosses to the worker)
 */
export function workerHasher(policy = {}) {
  const worker = new Worker(new URL('./hash-worker.mjs', import.meta.url), {
    workerData: { bcryptCost: policy.bcryptCost, minCrmPassword: policy.minCrmPassword },
  });
  worker.unref();
  const waiting = new Map();
  let next = 0;
  let completed = 0;
  let failure = null;
  worker.on('message', ({ id, hash, error }) => {
    const w = waiting.get(id);
    waiting.delete(id);
    completed += 1;
    if (!w) return;
    if (error) w.reject(Object.assign(new Error(error.message), { code: error.code, status: error.status }));
    else w.resolve(hash);
  });
  worker.on('error', (err) => {
    failure = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  });
  return {
    /** The password's bcrypt hash; rejects with password_rejected for a password the policy refuses. */
    hash(password) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, password });
      });
    },
    /** How many hashes the worker has answered (tests, monitoring). */
    get completed() {
      return completed;
    },
    close: () => worker.terminate(),
  };
}
