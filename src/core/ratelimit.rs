//! A token bucket driven by the host's clock: how long to wait before the next request to a
//! CRM so that an account's limit is never exceeded (Keap: 10/s per token; ActiveCampaign: 5/s
//! per account). One limiter per CRM account, shared by every workflow of a host.

#[derive(Debug, Clone)]
pub struct RateLimiter {
    /// Milliseconds between two requests at the sustained rate.
    interval_ms: f64,
    /// How many requests may go at once after a quiet period.
    burst: f64,
    /// The earliest time the bucket is full again ("theoretical arrival time").
    tat: f64,
}

impl RateLimiter {
    /// `per_second` requests per second, `burst` of them back to back. A rate of 0 means no
    /// limit. Any one-second window holds at most `burst + per_second - 1` requests, so a CRM
    /// that counts in sliding windows (Keap) needs `burst = 1`.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            interval_ms: if per_second > 0.0 {
                1000.0 / per_second
            } else {
                0.0
            },
            burst: burst.max(1) as f64,
            tat: 0.0,
        }
    }

    /// Reserves the next slot: returns how many ms the caller must wait before sending.
    pub fn reserve(&mut self, now_ms: f64) -> f64 {
        if self.interval_ms == 0.0 {
            return 0.0;
        }
        let tat = self.tat.max(now_ms);
        let allow_at = tat - self.interval_ms * (self.burst - 1.0);
        let wait = (allow_at - now_ms).max(0.0);
        self.tat = tat + self.interval_ms;
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_the_rate_in_any_one_second_window() {
        let mut rl = RateLimiter::new(10.0, 1);
        let sends: Vec<f64> = (0..100)
            .map(|i| rl.reserve(i as f64 * 3.0))
            .enumerate()
            .map(|(i, w)| i as f64 * 3.0 + w)
            .collect();
        assert_eq!(sends[0], 0.0);
        assert_eq!(sends[1], 100.0);
        assert_eq!(sends[99], 9900.0);
        for t in &sends {
            let in_window = sends
                .iter()
                .filter(|s| **s >= *t && **s < t + 1000.0)
                .count();
            assert!(in_window <= 10, "window at {t}: {in_window}");
        }
    }

    #[test]
    fn a_burst_allows_that_many_at_once() {
        let mut rl = RateLimiter::new(10.0, 5);
        let waits: Vec<f64> = (0..7).map(|_| rl.reserve(0.0)).collect();
        assert_eq!(waits, [0.0, 0.0, 0.0, 0.0, 0.0, 100.0, 200.0]);
    }

    #[test]
    fn quiet_periods_refill_and_zero_rate_means_unlimited() {
        let mut rl = RateLimiter::new(5.0, 1);
        assert_eq!(rl.reserve(0.0), 0.0);
        assert_eq!(rl.reserve(0.0), 200.0);
        assert_eq!(rl.reserve(10_000.0), 0.0);
        let mut free = RateLimiter::new(0.0, 1);
        assert_eq!(free.reserve(0.0), 0.0);
        assert_eq!(free.reserve(0.0), 0.0);
    }
}
