//! The narrow key-value interface the state machine needs, with no RocksDB in it, so the
//! RocksDB backend and an in-memory model can stand side by side.

use crate::kv_batch::KvBatch;
use crate::StorageError;

/// One key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// Called for each key/value of a scan, in key order.
pub type ScanVisit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<ScanStep, StorageError> + 'a;

/// Whether a scan should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStep {
    Continue,
    Stop,
}

/// Point reads and ordered prefix scans over one consistent view of the state.
pub trait KvRead {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Visit every key starting with `prefix` in ascending order until `visit` says stop.
    fn scan_prefix(&self, prefix: &[u8], visit: &mut ScanVisit<'_>) -> Result<(), StorageError> {
        self.scan_prefix_from(prefix, prefix, visit)
    }

    /// Like [`KvRead::scan_prefix`], but starting at the first key at or after `start` (a
    /// seek, not a skip: an index range read costs what it returns).
    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start: &[u8],
        visit: &mut ScanVisit<'_>,
    ) -> Result<(), StorageError>;

    /// Visit the keys starting with `prefix` in descending order, from the last one below
    /// `end` (the last of the prefix when `None`), until `visit` says stop.
    fn scan_prefix_before(
        &self,
        prefix: &[u8],
        end: Option<&[u8]>,
        visit: &mut ScanVisit<'_>,
    ) -> Result<(), StorageError>;
}

/// A stream of key/value pairs, e.g. a snapshot file being read.
pub trait KvSource {
    /// The next pair, or `None` at a verified end of the stream.
    fn next_pair(&mut self) -> Result<Option<KvPair>, StorageError>;
}

/// The state machine's storage: consistent views, atomic batches and whole-state replacement.
pub trait KvBackend: Send + Sync + 'static {
    /// A consistent point-in-time view. Drop it before calling [`KvBackend::write`].
    fn view(&self) -> Result<Box<dyn KvRead + '_>, StorageError>;

    /// Apply every operation of `batch` atomically, in order. Not necessarily durable on
    /// return (see the backend's documentation).
    fn write(&self, batch: KvBatch) -> Result<(), StorageError>;

    /// Replace the whole state with the pairs of `source`, atomically: a failure at any point
    /// leaves the old state in place. Returns the number of keys installed.
    fn replace_all(&self, source: &mut dyn KvSource) -> Result<u64, StorageError>;

    /// Compact the backend's files (a no-op where there is nothing to compact).
    fn compact(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// A source, then more pairs.
pub(crate) struct Then<S, I> {
    pub first: S,
    pub then: I,
}

impl<S: KvSource, I: Iterator<Item = KvPair>> KvSource for Then<S, I> {
    fn next_pair(&mut self) -> Result<Option<KvPair>, StorageError> {
        match self.first.next_pair()? {
            Some(pair) => Ok(Some(pair)),
            None => Ok(self.then.next()),
        }
    }
}

/// A source without the pairs whose key is one of `dropped`.
pub(crate) struct Without<S> {
    pub source: S,
    pub dropped: Vec<Vec<u8>>,
}

impl<S: KvSource> KvSource for Without<S> {
    fn next_pair(&mut self) -> Result<Option<KvPair>, StorageError> {
        loop {
            match self.source.next_pair()? {
                Some((key, _)) if self.dropped.contains(&key) => continue,
                other => return Ok(other),
            }
        }
    }
}
