//! The raw Raft log: opaque entries by index plus a few metadata values, in two column
//! families. openraft-free: the consensus crate serialises entries and metadata.

use std::sync::Arc;

use rocksdb::{ColumnFamily, Direction, IteratorMode, WriteBatch, WriteOptions, DB};

use crate::codec::{decode_u64, encode_u64};
use crate::group_commit::{GroupCommit, SyncDone};
use crate::StorageError;

pub(crate) const CF_LOG: &str = "raft_log";
pub(crate) const CF_LOG_META: &str = "raft_meta";

/// The Raft metadata values the log keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMetaKey {
    Vote,
    Committed,
    LastPurged,
}

impl LogMetaKey {
    fn key(self) -> &'static [u8] {
        match self {
            LogMetaKey::Vote => b"vote",
            LogMetaKey::Committed => b"committed",
            LogMetaKey::LastPurged => b"last_purged",
        }
    }
}

pub(crate) struct LogShared {
    pub(crate) db: Arc<DB>,
    pub(crate) group_commit: GroupCommit,
}

/// The Raft log. Cheap to clone.
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<LogShared>,
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

impl LogStore {
    pub(crate) fn new(shared: Arc<LogShared>) -> Self {
        Self { shared }
    }

    fn db(&self) -> &DB {
        &self.shared.db
    }

    fn log_cf(&self) -> &ColumnFamily {
        self.db()
            .cf_handle(CF_LOG)
            .expect("the database is always opened with the raft log column family")
    }

    fn meta_cf(&self) -> &ColumnFamily {
        self.db()
            .cf_handle(CF_LOG_META)
            .expect("the database is always opened with the raft meta column family")
    }

    /// Write entries (index -> bytes). Readable when this returns; NOT yet durable: call
    /// [`LogStore::sync`].
    pub fn append(&self, entries: Vec<(u64, Vec<u8>)>) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        for (index, bytes) in entries {
            batch.put_cf(self.log_cf(), encode_u64(index), bytes);
        }
        self.db().write(batch)?;
        Ok(())
    }

    /// Group commit: queue `done`; a dedicated thread syncs the WAL once for every request
    /// queued so far, then calls each `done`. Many appends in flight share one fsync.
    pub fn sync(&self, done: SyncDone) {
        self.shared.group_commit.submit(done);
    }

    /// How many WAL syncs group commit has done since the store was opened (each may have
    /// completed many [`LogStore::sync`] requests).
    pub fn wal_syncs(&self) -> u64 {
        self.shared.group_commit.syncs()
    }

    /// Entries with `start <= index < end_exclusive`, in order.
    pub fn entries(
        &self,
        start: u64,
        end_exclusive: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StorageError> {
        let mut found = Vec::new();
        if start >= end_exclusive {
            return Ok(found);
        }
        let mut iterator = self.db().raw_iterator_cf(self.log_cf());
        iterator.seek(encode_u64(start));
        while iterator.valid() {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            let index = decode_u64(key, "raft log index")?;
            if index >= end_exclusive {
                break;
            }
            found.push((index, value.to_vec()));
            iterator.next();
        }
        iterator.status()?;
        Ok(found)
    }

    pub fn first(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        self.edge(IteratorMode::Start)
    }

    pub fn last(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        self.edge(IteratorMode::End)
    }

    fn edge(&self, mode: IteratorMode<'_>) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        debug_assert!(!matches!(mode, IteratorMode::From(_, Direction::Reverse)));
        match self.db().iterator_cf(self.log_cf(), mode).next() {
            None => Ok(None),
            Some(item) => {
                let (key, value) = item?;
                Ok(Some((
                    decode_u64(&key, "raft log index")?,
                    value.into_vec(),
                )))
            }
        }
    }

    /// Remove every entry >= index (a conflicting suffix). Durable on return.
    pub fn truncate_from(&self, index: u64) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.log_cf(), encode_u64(index), encode_u64(u64::MAX));
        batch.delete_cf(self.log_cf(), encode_u64(u64::MAX));
        self.db().write_opt(batch, &synced())?;
        Ok(())
    }

    /// Remove every entry <= index and record `last_purged` in the same write. Durable.
    pub fn purge_through(&self, index: u64, last_purged: &[u8]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.meta_cf(), LogMetaKey::LastPurged.key(), last_purged);
        match index.checked_add(1) {
            Some(end) => batch.delete_range_cf(self.log_cf(), encode_u64(0), encode_u64(end)),
            None => {
                batch.delete_range_cf(self.log_cf(), encode_u64(0), encode_u64(u64::MAX));
                batch.delete_cf(self.log_cf(), encode_u64(u64::MAX));
            }
        }
        self.db().write_opt(batch, &synced())?;
        Ok(())
    }

    pub fn meta(&self, key: LogMetaKey) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db().get_cf(self.meta_cf(), key.key())?)
    }

    /// Not synced: durable with the next synced write (the WAL is one ordered log), so a crash
    /// can only lose it together with everything written after the last sync. For values that
    /// are hints, such as the committed log id.
    pub fn put_meta_lazy(&self, key: LogMetaKey, value: &[u8]) -> Result<(), StorageError> {
        self.db().put_cf(self.meta_cf(), key.key(), value)?;
        Ok(())
    }

    /// Durable (WAL synced) on return.
    pub fn put_meta(&self, key: LogMetaKey, value: &[u8]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.meta_cf(), key.key(), value);
        self.db().write_opt(batch, &synced())?;
        Ok(())
    }
}
