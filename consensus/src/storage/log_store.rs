//! [`RaftLogStore`]: openraft's log storage over the engine's [`LogStore`], with appends made
//! durable by group commit before openraft is told, and the newest entries kept in memory
//! (`log_cache.rs`) for apply and replication to read.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use edgebase_storage::{LogMetaKey, LogStore};
use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{OptionalSend, StorageError, StorageIOError};

use super::codec::{decode, decode_optional, encode};
use super::log_cache::{LogCache, LOG_CACHE_BYTES_DEFAULT};
use super::StorageAdapterError;
use crate::type_config::{Entry, LogId, NodeId, TypeConfig, Vote};

type RaftResult<T> = Result<T, StorageError<NodeId>>;

/// The Raft log for openraft. Cheap to clone; clones share the same log.
#[derive(Clone)]
pub struct RaftLogStore {
    log: LogStore,
    cache: Arc<LogCache>,
    /// The last commit index openraft saved (0 before any), for metrics.
    committed_index: Arc<AtomicU64>,
}

impl RaftLogStore {
    pub fn new(log: LogStore) -> Self {
        Self::with_cache_bytes(log, LOG_CACHE_BYTES_DEFAULT)
    }

    /// A log keeping at most `cache_bytes` of its newest entries in memory (0: none).
    pub fn with_cache_bytes(log: LogStore, cache_bytes: usize) -> Self {
        Self {
            log,
            cache: Arc::new(LogCache::new(cache_bytes)),
            committed_index: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The last commit index saved, shared: it follows the log after Raft takes it.
    pub fn committed_index(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.committed_index)
    }

    fn read_entries(
        log: &LogStore,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageAdapterError> {
        log.entries(start, end)?
            .into_iter()
            .map(|(_, bytes)| decode::<Entry>(&bytes, "log entry"))
            .collect()
    }

    fn last_purged(&self) -> Result<Option<LogId>, StorageAdapterError> {
        decode_optional(self.log.meta(LogMetaKey::LastPurged)?, "last purged log id")
    }

    fn last_log_id(&self) -> Result<Option<LogId>, StorageAdapterError> {
        match self.log.last()? {
            Some((_, bytes)) => Ok(Some(decode::<Entry>(&bytes, "log entry")?.log_id)),
            None => Ok(None),
        }
    }
}

fn read_logs(error: StorageAdapterError) -> StorageError<NodeId> {
    StorageIOError::read_logs(&error).into()
}

fn write_logs(error: StorageAdapterError) -> StorageError<NodeId> {
    StorageIOError::write_logs(&error).into()
}

/// `[start, end)` of a range of log indexes.
fn index_span<RB: RangeBounds<u64>>(range: &RB) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&start) => start,
        Bound::Excluded(&start) => start.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&end) => end.saturating_add(1),
        Bound::Excluded(&end) => end,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for RaftLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> RaftResult<Vec<Entry>> {
        let (start, end) = index_span(&range);
        if let Some(entries) = self.cache.get(start, end) {
            return Ok(entries);
        }
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || Self::read_entries(&log, start, end))
            .await
            .map_err(StorageAdapterError::from)
            .and_then(|entries| entries)
            .map_err(read_logs)
    }
}

impl RaftLogStorage<TypeConfig> for RaftLogStore {
    type LogReader = RaftLogStore;

    async fn get_log_state(&mut self) -> RaftResult<LogState<TypeConfig>> {
        let last_purged_log_id = self.last_purged().map_err(read_logs)?;
        let last_log_id = self.last_log_id().map_err(read_logs)?;
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last_log_id.or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> RaftResult<()> {
        let bytes = encode(vote, "vote").map_err(|e| StorageIOError::write_vote(&e))?;
        let log = self.log.clone();
        // A synced write: off the async runtime.
        tokio::task::spawn_blocking(move || log.put_meta(LogMetaKey::Vote, &bytes))
            .await
            .map_err(StorageAdapterError::from)
            .and_then(|result| result.map_err(StorageAdapterError::from))
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> RaftResult<Option<Vote>> {
        self.log
            .meta(LogMetaKey::Vote)
            .map_err(StorageAdapterError::from)
            .and_then(|bytes| decode_optional(bytes, "vote"))
            .map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> RaftResult<()> {
        if let Some(committed) = &committed {
            self.committed_index
                .fetch_max(committed.index, Ordering::Relaxed);
        }
        let bytes = encode(&committed, "committed log id").map_err(write_logs)?;
        // Only a hint for restart; durable with the next synced write (see put_meta_lazy).
        self.log
            .put_meta_lazy(LogMetaKey::Committed, &bytes)
            .map_err(|e| write_logs(e.into()))
    }

    async fn read_committed(&mut self) -> RaftResult<Option<LogId>> {
        let bytes = self
            .log
            .meta(LogMetaKey::Committed)
            .map_err(|e| read_logs(e.into()))?;
        let committed: Option<Option<LogId>> =
            decode_optional(bytes, "committed log id").map_err(read_logs)?;
        let committed = committed.flatten();
        if let Some(committed) = &committed {
            self.committed_index
                .fetch_max(committed.index, Ordering::Relaxed);
        }
        Ok(committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> RaftResult<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        let mut cached = Vec::new();
        for entry in entries {
            let bytes = encode(&entry, "log entry")
                .map_err(|e| StorageIOError::write_log_entry(entry.log_id, &e))?;
            cached.push((entry.clone(), bytes.len()));
            encoded.push((entry.log_id.index, bytes));
        }
        self.log.append(encoded).map_err(|e| write_logs(e.into()))?;
        self.cache.appended(cached);
        // openraft hears of the append only once the WAL holding it is synced; appends in
        // flight together share one fsync.
        self.log.sync(Box::new(move |result| {
            callback.log_io_completed(result.map_err(std::io::Error::other));
        }));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> RaftResult<()> {
        self.cache.truncated_from(log_id.index);
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.truncate_from(log_id.index))
            .await
            .map_err(StorageAdapterError::from)
            .and_then(|result| result.map_err(StorageAdapterError::from))
            .map_err(write_logs)
    }

    async fn purge(&mut self, log_id: LogId) -> RaftResult<()> {
        let bytes = encode(&log_id, "last purged log id").map_err(write_logs)?;
        self.cache.purged_through(log_id.index);
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.purge_through(log_id.index, &bytes))
            .await
            .map_err(StorageAdapterError::from)
            .and_then(|result| result.map_err(StorageAdapterError::from))
            .map_err(write_logs)
    }
}

#[cfg(test)]
mod tests {
    use super::index_span;

    #[test]
    fn index_spans() {
        assert_eq!(index_span(&(3..7)), (3, 7));
        assert_eq!(index_span(&(3..=7)), (3, 8));
        assert_eq!(index_span(&(..)), (0, u64::MAX));
        assert_eq!(index_span(&(5..)), (5, u64::MAX));
        assert_eq!(index_span(&(..=u64::MAX)), (0, u64::MAX));
    }
}
