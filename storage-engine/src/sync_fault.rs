//! A fault for the nemesis suite: a delay before every WAL sync, as a slow or saturated disk
//! gives. Zero (no delay) unless a test-only switch of the node sets it (`serve
//! --fault-injection`, toggled by SIGUSR1); process-wide, like a failpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static WAL_SYNC_DELAY_MS: AtomicU64 = AtomicU64::new(0);

/// Delay every WAL sync from now on by `delay` (zero: no delay).
pub fn set_wal_sync_delay(delay: Duration) {
    let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    WAL_SYNC_DELAY_MS.store(millis, Ordering::Relaxed);
}

/// The delay set, if any.
pub fn wal_sync_delay() -> Option<Duration> {
    match WAL_SYNC_DELAY_MS.load(Ordering::Relaxed) {
        0 => None,
        millis => Some(Duration::from_millis(millis)),
    }
}
