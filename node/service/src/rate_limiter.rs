//! Fixed-window request counters for the rate-limit rules in the settings, per node: one
//! window per (rule, client). Bounded: stale windows are dropped, and past the limit the
//! oldest go first, so a flood of client addresses cannot grow memory without end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use edgebase_model::settings::Settings;

/// Most windows kept at once.
const WINDOWS_MAX: usize = 100_000;
/// A window unused for this long past its interval is forgotten (PocketBase keeps 30 min).
const IDLE_KEEP_SECS: i64 = 1_800;

#[derive(Debug, Clone, Copy)]
struct Window {
    available: i64,
    last_consume_secs: i64,
    interval_secs: i64,
}

#[derive(Default)]
struct State {
    /// The settings the windows were counted under; new settings start every window over,
    /// as PocketBase resets its limiters when its settings change.
    settings: Option<Arc<Settings>>,
    windows: HashMap<(String, String), Window>,
}

#[derive(Default)]
pub struct RateLimiter {
    state: Mutex<State>,
}

impl RateLimiter {
    /// Take one request from `client`'s window of `limiter_id` (at most `max_requests` per
    /// `interval_secs`). False when the window is used up.
    pub fn allow(
        &self,
        settings: &Arc<Settings>,
        limiter_id: &str,
        client: &str,
        max_requests: i64,
        interval_secs: i64,
        now_secs: i64,
    ) -> bool {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !state
            .settings
            .as_ref()
            .is_some_and(|seen| Arc::ptr_eq(seen, settings))
        {
            state.windows.clear();
            state.settings = Some(settings.clone());
        }
        let key = (limiter_id.to_string(), client.to_string());
        if !state.windows.contains_key(&key) && state.windows.len() >= WINDOWS_MAX {
            evict(&mut state.windows, now_secs);
        }
        let window = state.windows.entry(key).or_insert(Window {
            available: max_requests,
            last_consume_secs: i64::MIN / 2,
            interval_secs,
        });
        if now_secs - window.last_consume_secs >= interval_secs {
            window.available = max_requests;
        }
        if window.available > 0 {
            window.available -= 1;
            window.last_consume_secs = now_secs;
            true
        } else {
            false
        }
    }
}

/// Drop idle windows; if none are idle, drop the least recently used half.
fn evict(windows: &mut HashMap<(String, String), Window>, now_secs: i64) {
    windows.retain(|_, window| {
        now_secs - window.last_consume_secs <= window.interval_secs + IDLE_KEEP_SECS
    });
    if windows.len() >= WINDOWS_MAX {
        let mut ages: Vec<i64> = windows.values().map(|w| w.last_consume_secs).collect();
        ages.sort_unstable();
        let cutoff = ages[ages.len() / 2];
        windows.retain(|_, window| window.last_consume_secs > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_refill_after_their_interval() {
        let limiter = RateLimiter::default();
        let settings = Arc::new(Settings::default());
        let allow = |client: &str, now: i64| limiter.allow(&settings, "rule", client, 2, 5, now);
        assert!(allow("a", 100));
        assert!(allow("a", 101));
        assert!(!allow("a", 104));
        assert!(allow("b", 104), "another client has its own window");
        assert!(
            allow("a", 106),
            "the window refills once the interval has passed"
        );
    }

    #[test]
    fn new_settings_start_over() {
        let limiter = RateLimiter::default();
        let first = Arc::new(Settings::default());
        assert!(limiter.allow(&first, "rule", "a", 1, 60, 0));
        assert!(!limiter.allow(&first, "rule", "a", 1, 60, 1));
        let second = Arc::new(Settings::default());
        assert!(limiter.allow(&second, "rule", "a", 1, 60, 2));
    }

    #[test]
    fn windows_are_bounded() {
        let limiter = RateLimiter::default();
        let settings = Arc::new(Settings::default());
        for client in 0..(WINDOWS_MAX + 10) {
            limiter.allow(&settings, "rule", &client.to_string(), 5, 1, client as i64);
        }
        let kept = limiter.state.lock().expect("not poisoned").windows.len();
        assert!(kept <= WINDOWS_MAX, "{kept} windows kept");
    }
}
