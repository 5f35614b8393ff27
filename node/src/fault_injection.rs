//! `serve --fault-injection` (hidden, for the nemesis suite): each SIGUSR1 turns a slow disk
//! on or off, a delay of [`SLOW_WAL_SYNC`] before every WAL sync. Without the flag the node
//! installs no handler and the signal keeps its default action.

use std::time::Duration;

use edgebase_storage::sync_fault;
use tokio::signal::unix::{signal, SignalKind};

/// The delay before each WAL sync while the slow disk is on.
pub const SLOW_WAL_SYNC: Duration = Duration::from_millis(200);

/// Listen for SIGUSR1 until the process ends, toggling the slow disk.
pub fn toggle_slow_disk_on_sigusr1() -> anyhow::Result<()> {
    let mut signals = signal(SignalKind::user_defined1())?;
    tracing::warn!("fault injection on: SIGUSR1 toggles a slow disk");
    tokio::spawn(async move {
        let mut slow = false;
        while signals.recv().await.is_some() {
            slow = !slow;
            let delay = if slow { SLOW_WAL_SYNC } else { Duration::ZERO };
            sync_fault::set_wal_sync_delay(delay);
            tracing::warn!(
                slow,
                delay_ms = delay.as_millis() as u64,
                "fault injection: WAL syncs"
            );
        }
    });
    Ok(())
}
