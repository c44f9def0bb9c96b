// A per-client attempt limit over a sliding window: the set-password form and the admin login
// use it against guessing. Host-independent (the key is whatever identifies a client there).

/**
 * @param {object} o
 * @param {number} o.limit      attempts allowed per client in a window
 * @param {number} o.windowMs
 * @param {() => number} [o.now]
 * @param {number} [o.maxClients]  clients tracked at once (the oldest are forgotten first)
 */
export function attemptLimiter({ limit, windowMs, now = Date.now, maxClients = 10_000 }) {
  const seen = new Map(); // client -> attempt times, oldest first

  const live = (client) => {
    const t = now();
    const times = (seen.get(client) ?? []).filter((x) => t - x < windowMs);
    if (times.length) seen.set(client, times);
    else seen.delete(client);
    return times;
  };

  return {
    /** Seconds to wait before this client may try again, or 0. */
    retryAfter(client) {
      const times = live(client);
      if (times.length < limit) return 0;
      return Math.max(1, Math.ceil((times[0] + windowMs - now()) / 1000));
    },
    /** Counts one attempt of this client. */
    record(client) {
      const times = live(client);
      times.push(now());
      seen.delete(client);
      seen.set(client, times);
      if (seen.size > maxClients) seen.delete(seen.keys().next().value);
    },
  };
}
