//! PocketBase's resend guard: after a verification or password reset mail for a record, the
//! same request within two minutes answers the same (204) but sends nothing. Per node, like
//! PocketBase's in-memory store; bounded, expired entries dropped first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a sent mail holds back the next one of the same kind to the same record.
pub const RESEND_INTERVAL: Duration = Duration::from_secs(120);
/// Most records remembered at once; past it, no new record is held back.
const ENTRIES_MAX: usize = 100_000;

#[derive(Default)]
pub struct ResendGuard {
    sent: Mutex<HashMap<String, Instant>>,
}

impl ResendGuard {
    /// True (and remembered) when a mail for `key` may go now; false within the interval of
    /// the last one.
    pub fn try_claim(&self, key: &str, now: Instant) -> bool {
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = sent.get(key) {
            if now.saturating_duration_since(*at) < RESEND_INTERVAL {
                return false;
            }
        }
        if sent.len() >= ENTRIES_MAX {
            sent.retain(|_, at| now.saturating_duration_since(*at) < RESEND_INTERVAL);
        }
        if sent.len() < ENTRIES_MAX {
            sent.insert(key.to_string(), now);
        }
        true
    }

    /// Forget `key` (the flow was confirmed, so a new request may mail at once).
    pub fn release(&self, key: &str) {
        self.sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_mail_waits_for_the_interval() {
        let guard = ResendGuard::default();
        let start = Instant::now();
        let cases = [
            ("a", start, true),
            ("a", start + Duration::from_secs(1), false),
            ("b", start + Duration::from_secs(1), true),
            ("a", start + RESEND_INTERVAL, true),
            ("a", start + RESEND_INTERVAL + Duration::from_secs(1), false),
        ];
        for (key, at, expected) in cases {
            assert_eq!(
                guard.try_claim(key, at),
                expected,
                "{key} at {:?}",
                at - start
            );
        }
        guard.release("b");
        assert!(guard.try_claim("b", start + Duration::from_secs(2)));
    }
}
