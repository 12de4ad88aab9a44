//! Login throttle: after repeated failures for one email or one client
//! address, further attempts are refused for a while.
//!
//! Hand-rolled rather than `governor`: we count *failures* (successes reset
//! the count), which a request-rate limiter does not model.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(15 * 60))
    }
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// True when any of the keys has too many recent failures.
    pub fn is_blocked(&self, keys: &[&str]) -> bool {
        let now = Instant::now();
        let entries = self.entries.lock().expect("throttle lock poisoned");
        keys.iter().any(|k| {
            entries.get(*k).is_some_and(|(n, since)| {
                *n >= self.max_failures && now.duration_since(*since) < self.window
            })
        })
    }

    pub fn record_failure(&self, keys: &[&str]) {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("throttle lock poisoned");
        if entries.len() > 50_000 {
            entries.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        }
        for key in keys {
            let entry = entries.entry((*key).to_owned()).or_insert((0, now));
            if now.duration_since(entry.1) >= self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    pub fn clear(&self, key: &str) {
        self.entries
            .lock()
            .expect("throttle lock poisoned")
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_and_forgets_after_window() {
        let t = LoginThrottle::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            t.record_failure(&["a@x", "ip"]);
        }
        assert!(!t.is_blocked(&["a@x"]));
        t.record_failure(&["a@x", "ip"]);
        assert!(t.is_blocked(&["a@x"]));
        assert!(t.is_blocked(&["b@x", "ip"]));
        assert!(!t.is_blocked(&["b@x"]));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!t.is_blocked(&["a@x", "ip"]));
    }

    #[test]
    fn clear_resets_one_key() {
        let t = LoginThrottle::new(1, Duration::from_secs(60));
        t.record_failure(&["a@x"]);
        assert!(t.is_blocked(&["a@x"]));
        t.clear("a@x");
        assert!(!t.is_blocked(&["a@x"]));
    }
}
