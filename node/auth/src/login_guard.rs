//! Failed sign-ins are limited by default, whatever the rate-limit settings say: past a few
//! failures for one identity (or many from one client address) within a window, further
//! attempts are refused with PocketBase's 429 until the window has passed. Only failures
//! count, so a user who signs in correctly is never slowed down. Per node, bounded.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failed attempts one identity may make per window.
pub const IDENTITY_FAILURES_MAX: u32 = 5;
/// Failed attempts one client address may make per window, over all identities.
pub const CLIENT_FAILURES_MAX: u32 = 30;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 60;
/// Most counters kept; past it, expired ones are dropped, then the oldest half.
const COUNTERS_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    window_start_secs: i64,
}

/// What is being signed in to: a collection and the identity given (case-folded), or a
/// client address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Identity {
        collection_id: String,
        identity: String,
    },
    Client(String),
}

#[derive(Default)]
pub struct LoginGuard {
    counters: Mutex<HashMap<Key, Counter>>,
}

impl LoginGuard {
    /// Whether an attempt may go ahead now.
    pub fn allows(&self, collection_id: &str, identity: &str, client: &str, now_secs: i64) -> bool {
        let counters = self.lock();
        let over = |key: &Key, max: u32| {
            counters.get(key).is_some_and(|counter| {
                now_secs - counter.window_start_secs < WINDOW_SECS && counter.failures >= max
            })
        };
        !over(
            &identity_key(collection_id, identity),
            IDENTITY_FAILURES_MAX,
        ) && (client.is_empty() || !over(&Key::Client(client.to_string()), CLIENT_FAILURES_MAX))
    }

    /// Count a failed attempt.
    pub fn failed(&self, collection_id: &str, identity: &str, client: &str, now_secs: i64) {
        let mut counters = self.lock();
        if counters.len() >= COUNTERS_MAX {
            evict(&mut counters, now_secs);
        }
        let mut keys = vec![identity_key(collection_id, identity)];
        if !client.is_empty() {
            keys.push(Key::Client(client.to_string()));
        }
        for key in keys {
            let counter = counters.entry(key).or_insert(Counter {
                failures: 0,
                window_start_secs: now_secs,
            });
            if now_secs - counter.window_start_secs >= WINDOW_SECS {
                *counter = Counter {
                    failures: 0,
                    window_start_secs: now_secs,
                };
            }
            counter.failures = counter.failures.saturating_add(1);
        }
    }

    /// A successful sign-in clears the identity's failures.
    pub fn succeeded(&self, collection_id: &str, identity: &str) {
        self.lock().remove(&identity_key(collection_id, identity));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Counter>> {
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn identity_key(collection_id: &str, identity: &str) -> Key {
    Key::Identity {
        collection_id: collection_id.to_string(),
        identity: identity.trim().to_lowercase(),
    }
}

fn evict(counters: &mut HashMap<Key, Counter>, now_secs: i64) {
    counters.retain(|_, counter| now_secs - counter.window_start_secs < WINDOW_SECS);
    if counters.len() >= COUNTERS_MAX {
        let mut starts: Vec<i64> = counters.values().map(|c| c.window_start_secs).collect();
        starts.sort_unstable();
        let cutoff = starts[starts.len() / 2];
        counters.retain(|_, counter| counter.window_start_secs > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_an_identity_for_the_window() {
        let guard = LoginGuard::default();
        for attempt in 0..IDENTITY_FAILURES_MAX {
            assert!(
                guard.allows("users", "Ann@x.com", "1.2.3.4", 100),
                "attempt {attempt}"
            );
            guard.failed("users", "Ann@x.com", "1.2.3.4", 100);
        }
        assert!(
            !guard.allows("users", "ann@x.com", "5.6.7.8", 101),
            "case-folded, any address"
        );
        assert!(
            guard.allows("users", "bob@x.com", "1.2.3.4", 101),
            "others are not locked"
        );
        assert!(
            guard.allows("other", "ann@x.com", "1.2.3.4", 101),
            "per collection"
        );
        assert!(
            guard.allows("users", "ann@x.com", "1.2.3.4", 100 + WINDOW_SECS),
            "the window passes"
        );
    }

    #[test]
    fn success_clears_and_clients_are_bounded_too() {
        let guard = LoginGuard::default();
        guard.failed("users", "ann", "", 0);
        guard.succeeded("users", "ann");
        for attempt in 0..IDENTITY_FAILURES_MAX {
            assert!(guard.allows("users", "ann", "", 1), "attempt {attempt}");
            guard.failed("users", "ann", "", 1);
        }
        for identity in 0..CLIENT_FAILURES_MAX {
            guard.failed("users", &format!("user{identity}"), "9.9.9.9", 2);
        }
        assert!(!guard.allows("users", "fresh", "9.9.9.9", 3));
        assert!(guard.allows("users", "fresh", "8.8.8.8", 3));
    }
}
