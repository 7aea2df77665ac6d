//! The rate limit of a signaling socket: a token bucket. (The brake on
//! password guessing, per client address, is `access::Attempts`.)
//!
//! A bucket rather than a fixed window: a browser joining a room of seven
//! sends a burst (an offer and a dozen candidates per peer) and then almost
//! nothing, which a bucket allows without letting a client keep up a flood.

use std::time::{Duration, Instant};

/// Allows `rate` messages a second on average and bursts of up to `burst`.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate: f64::from(rate), burst, tokens: burst, last: Instant::now() }
    }

    /// A full bucket of `burst` that refills `per_hour` tokens an hour.
    pub fn hourly(per_hour: u32, burst: u32) -> Self {
        Self { rate: f64::from(per_hour) / 3600.0, ..Self::new(0, burst) }
    }

    /// Whether the bucket has refilled: one like it would be new.
    pub fn is_full(&self) -> bool {
        self.tokens + self.last.elapsed().as_secs_f64() * self.rate >= self.burst
    }

    /// Takes one token if there is one.
    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    /// [`Self::take`] at a given time, which the tests choose.
    fn take_at(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until the next token.
    pub fn wait(&self) -> Duration {
        if self.rate <= 0.0 {
            return Duration::MAX;
        }
        Duration::from_secs_f64(((1.0 - self.tokens) / self.rate).max(0.0))
    }
}

/// Things each client address may start only so often (recordings, new
/// rooms): `burst` at once, then `per_hour` an hour. Anyone with a link can
/// do them, and each leaves something behind (a folder, a settings file).
pub struct Hourly {
    per_hour: u32,
    burst: u32,
    buckets: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, TokenBucket>>,
}

impl Hourly {
    pub fn new(per_hour: u32, burst: u32) -> Self {
        Self { per_hour, burst, buckets: Default::default() }
    }

    /// Takes one for `ip`, if it has one left.
    pub fn take(&self, ip: std::net::IpAddr) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Full buckets are as good as none: dropping them bounds the map.
        if buckets.len() > 10_000 {
            buckets.retain(|_, bucket| !bucket.is_full());
        }
        buckets.entry(ip).or_insert_with(|| TokenBucket::hourly(self.per_hour, self.burst)).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let mut bucket = TokenBucket::new(10, 5);
        let start = bucket.last;
        assert_eq!((0..8).filter(|_| bucket.take_at(start)).count(), 5, "the burst");
        assert!(bucket.wait() > Duration::ZERO);
        let later = start + Duration::from_millis(300);
        assert_eq!((0..8).filter(|_| bucket.take_at(later)).count(), 3, "three tokens in 0.3 s at 10/s");
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..8).filter(|_| bucket.take_at(much_later)).count(), 5, "never more than the burst");
    }

    #[test]
    fn an_hourly_bucket_refills_slowly_and_says_when_it_is_full() {
        let mut bucket = TokenBucket::hourly(20, 2);
        assert!(bucket.is_full());
        let start = bucket.last;
        assert_eq!((0..4).filter(|_| bucket.take_at(start)).count(), 2);
        assert!(!bucket.is_full());
        assert!(!bucket.take_at(start + Duration::from_secs(60)), "one token takes three minutes");
        assert!(bucket.take_at(start + Duration::from_secs(181)));
    }
}
