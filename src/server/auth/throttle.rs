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

    /// Reserves one attempt under every key, atomically: refused (nothing
    /// counted) when any key already has `max_failures` attempts in its
    /// window. So however many requests race, at most `max_failures` per key
    /// get through to the expensive check. A reserved attempt counts as a
    /// failure unless [`succeeded`](Self::succeeded) gives it back.
    pub fn try_attempt(&self, keys: &[&str]) -> bool {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 50_000 {
            entries.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        }
        let blocked = keys.iter().any(|k| {
            entries.get(*k).is_some_and(|(n, since)| {
                *n >= self.max_failures && now.duration_since(*since) < self.window
            })
        });
        if blocked {
            return false;
        }
        for key in keys {
            let entry = entries.entry((*key).to_owned()).or_insert((0, now));
            if now.duration_since(entry.1) >= self.window {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
        true
    }

    /// The attempt reserved under `keys` succeeded: it no longer counts.
    pub fn succeeded(&self, keys: &[&str]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            if let Some(entry) = entries.get_mut(*key) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
    }

    pub fn clear(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_max_attempts_and_forgets_after_window() {
        let t = LoginThrottle::new(3, Duration::from_millis(50));
        for _ in 0..3 {
            assert!(t.try_attempt(&["a@x", "ip"]));
        }
        assert!(!t.try_attempt(&["a@x"]));
        assert!(!t.try_attempt(&["b@x", "ip"]), "the address is spent");
        assert!(t.try_attempt(&["b@x"]));
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.try_attempt(&["a@x", "ip"]));
    }

    #[test]
    fn successes_give_their_attempt_back_and_clear_resets_a_key() {
        let t = LoginThrottle::new(1, Duration::from_secs(60));
        assert!(t.try_attempt(&["a@x", "ip"]));
        t.succeeded(&["a@x", "ip"]);
        assert!(t.try_attempt(&["a@x", "ip"]));
        assert!(!t.try_attempt(&["a@x"]));
        t.clear("a@x");
        assert!(t.try_attempt(&["a@x"]));
    }

    #[test]
    fn racing_attempts_never_exceed_the_limit() {
        let t = std::sync::Arc::new(LoginThrottle::new(5, Duration::from_secs(60)));
        let admitted = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..50 {
                s.spawn(|| {
                    if t.try_attempt(&["a@x"]) {
                        admitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(admitted.into_inner(), 5);
    }
}
