//! Group commit: one thread syncs the write-ahead log once for every sync request queued so
//! far, then completes them all, so many appends in flight share one fsync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;

use rocksdb::DB;

use crate::StorageError;

/// Called once the WAL holding every earlier write is durable (or syncing failed).
pub type SyncDone = Box<dyn FnOnce(Result<(), StorageError>) + Send>;

/// At most this many requests wait for the sync thread; `submit` blocks beyond it.
pub const SYNC_QUEUE_MAX: usize = 4096;

/// The sync thread and the queue feeding it. Dropping it stops and joins the thread.
pub(crate) struct GroupCommit {
    sender: Option<SyncSender<SyncDone>>,
    thread: Option<JoinHandle<()>>,
    syncs: Arc<AtomicU64>,
}

impl GroupCommit {
    pub(crate) fn start(db: Arc<DB>) -> Result<Self, StorageError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(SYNC_QUEUE_MAX);
        let syncs = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&syncs);
        let thread = std::thread::Builder::new()
            .name("edgebase-wal-sync".into())
            .spawn(move || run(&db, &receiver, &counter))
            .map_err(|error| StorageError::Sync(format!("start the sync thread: {error}")))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
            syncs,
        })
    }

    /// How many WAL syncs the thread has done so far.
    pub(crate) fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Queue `done`; blocks only while [`SYNC_QUEUE_MAX`] requests are already waiting.
    pub(crate) fn submit(&self, done: SyncDone) {
        let Some(sender) = &self.sender else {
            done(Err(StorageError::SyncStopped));
            return;
        };
        if let Err(std::sync::mpsc::SendError(done)) = sender.send(done) {
            done(Err(StorageError::SyncStopped));
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                tracing::error!("the WAL sync thread panicked");
            }
        }
    }
}

fn run(db: &DB, receiver: &Receiver<SyncDone>, syncs: &AtomicU64) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < SYNC_QUEUE_MAX {
            match receiver.try_recv() {
                Ok(done) => group.push(done),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if let Some(delay) = crate::sync_fault::wal_sync_delay() {
            std::thread::sleep(delay);
        }
        let started = std::time::Instant::now();
        let result = db.flush_wal(true);
        syncs.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!("edgebase_wal_sync_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("edgebase_wal_sync_group_appends").record(group.len() as f64);
        if let Err(error) = &result {
            tracing::error!(%error, "sync write-ahead log");
        }
        tracing::trace!(requests = group.len(), "synced write-ahead log");
        for done in group {
            done(
                result
                    .clone()
                    .map_err(|error| StorageError::Sync(error.to_string())),
            );
        }
    }
}
