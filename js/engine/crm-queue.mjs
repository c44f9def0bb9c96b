// The order in which registrations get their turn at the CRM's rate limit. Requests wait in two
// lines: fresh posts first, then the background (retries of parked events, events resumed after
// a restart, and the bulk of a large delivery), so a thousand ids in one REST-hook delivery or
// a thousand retries never hold a new member's welcome behind them. Within a line, first come,
// first served. The limiter (the core's token bucket) sets the pace.

/** Each CRM's documented limit in requests per second: Keap 10 (personal token or service key), ActiveCampaign 5 per account. */
export const CRM_RATE = { keap: 10, activecampaign: 5 };

export const FRESH = 0;
export const BACKGROUND = 1;

/**
 * @param {{ reserve(now: number): number }} limiter
 * @param {{ now: () => number, sleep: (ms: number) => Promise<void> }} clock
 */
export function crmQueue(limiter, { now, sleep }) {
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
    /** Resolves when a request of this priority may be sent. */
    turn(priority = FRESH) {
      return new Promise((resolve) => {
        lines[priority === BACKGROUND ? 1 : 0].push(resolve);
        if (!pumping) pump();
      });
    },
  };
}
