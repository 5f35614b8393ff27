//! Request logs as PocketBase keeps them (`/api/logs`): one entry per request, kept per node
//! and never replicated. A request only queues its entry (bounded; a full queue drops it and
//! counts the drop); a writer thread stores queued entries in batches and prunes by the
//! `logs` settings (`maxDays`, `minLevel`) and by a bound on how many are kept.

mod entry;
mod store;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

pub use entry::{LogEntry, LEVEL_ERROR, LEVEL_INFO};
pub use store::{shown, LogStore, StatsBucket, LOGS_COLLECTION_ID, STATS_BUCKETS_MAX};
pub use writer::LOG_ENTRIES_MAX;

use crate::{App, ServiceError};

/// Entries waiting for the writer; more are dropped (and counted) rather than slow a request.
pub const LOG_QUEUE_MAX: usize = 10_000;

/// The node's request logs: the queue requests put entries on, and the store.
#[derive(Clone)]
pub struct RequestLogs {
    inner: Arc<Inner>,
}

struct Inner {
    store: LogStore,
    sender: SyncSender<LogEntry>,
    /// Taken by the writer when it starts.
    receiver: Mutex<Option<Receiver<LogEntry>>>,
    dropped: AtomicU64,
}

impl RequestLogs {
    /// The logs kept in `dir` (created when missing).
    pub fn open(dir: &Path) -> Result<RequestLogs, ServiceError> {
        Ok(RequestLogs::over(LogStore::open(dir)?))
    }

    /// Logs held in memory (tests).
    pub fn in_memory() -> Result<RequestLogs, ServiceError> {
        Ok(RequestLogs::over(LogStore::in_memory()?))
    }

    fn over(store: LogStore) -> RequestLogs {
        let (sender, receiver) = sync_channel(LOG_QUEUE_MAX);
        RequestLogs {
            inner: Arc::new(Inner {
                store,
                sender,
                receiver: Mutex::new(Some(receiver)),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Queue `entry` for the store without waiting; false (and counted) when the queue is
    /// full or the writer is gone.
    pub fn record(&self, entry: LogEntry) -> bool {
        match self.inner.sender.try_send(entry) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Entries dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    pub fn store(&self) -> &LogStore {
        &self.inner.store
    }

    /// Start the writer thread (once; later calls do nothing). It reads the `logs` settings
    /// through `app` before every write and prune.
    /// Prune now, as the settings say (the scheduled `__pbLogsCleanup__`; the writer also
    /// prunes on its own when the settings change and hourly).
    pub fn prune_now(&self, app: &App) -> Result<(), ServiceError> {
        writer::prune(self, &app.settings()?.logs)
    }

    pub fn start_writer(&self, app: App) -> Result<(), ServiceError> {
        let receiver = self
            .inner
            .receiver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(receiver) = receiver {
            writer::spawn(self.clone(), receiver, app)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{LogEntry, RequestLogs, LOG_QUEUE_MAX};

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let logs = RequestLogs::in_memory().unwrap();
        let entry = LogEntry::now(0, "GET /".into(), serde_json::Map::new());
        for _ in 0..LOG_QUEUE_MAX {
            assert!(logs.record(entry.clone()));
        }
        assert!(!logs.record(entry.clone()));
        assert!(!logs.record(entry));
        assert_eq!(logs.dropped(), 2);
    }
}
