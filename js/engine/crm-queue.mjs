// The order in which registrations get their turn at the CRM's rate limit. Requests wait in two
// lines: fresh posts first, then the background (retries of parked events, events resumed after
// a restart, and the bulk of a large delivery), so a thousand ids in one REST-hook delivery or
// a thousand retries never hold a new member's welcome behind them. Within a line, first come,
// first served. A token bucket (below) sets the pace: it is the host's scheduling, next to the
// timers it drives, so a request's turn costs no call into the wasm.

/**
 * A token bucket driven by the caller's clock: `reserve(now)` takes the next slot and says how
 * many ms to wait before sending. `perSecond` requests a second (0: no limit), `burst` of them
 * back to back after a quiet period. Any one-second window holds at most
 * `burst + perSecond - 1` requests, so a CRM that counts in sliding windows (Keap) needs
 * `burst = 1`.
 */
export function tokenBucket(perSecond, burst = 1) {
  const interval = perSecond > 0 ? 1000 / perSecond : 0;
  const depth = Math.max(1, Math.floor(burst));
  let full = 0; // when the bucket is full again (the "theoretical arrival time")
  return {
    reserve(now) {
      if (interval === 0) return 0;
      const tat = Math.max(full, now);
      full = tat + interval;
      return Math.max(0, tat - interval * (depth - 1) - now);
    },
  };
}

export const FRESH = 0;
export const BACKGROUND = 1;

/**
 * @param {{ reserve(now: number): number }} limiter
 * @param {{ now: () => number, sleep: (ms: number) => Promise<void> }} clock
 */
export function crmQueue(limiter, { now, sleep }) {
  // (`limiter` is replaced by setLimiter when the CRM changes.)
  const lines = [[], []];
  let pumping = false;

  async function pump() {
    pumping = true;
    try {
      for (;;) {
        const line = lines.find((l) => l.length);
        if (!line) return;
        const wait = limiter.reserve(now());
        if (wait > 0) await sleep(wait);
        // Whoever is first now (a fresh request may have arrived meanwhile) takes the slot.
        (lines.find((l) => l.length) ?? line).shift()();
      }
    } finally {
      pumping = false;
    }
  }

  return {
    /** Paces the requests from now on by `next` (the CRM changed). */
    setLimiter(next) {
      limiter = next;
    },
    /** Resolves when a request of this priority may be sent. */
    turn(priority = FRESH) {
      return new Promise((resolve) => {
        lines[priority === BACKGROUND ? 1 : 0].push(resolve);
        if (!pumping) pump();
      });
    },
  };
}
