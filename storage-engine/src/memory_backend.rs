//! An in-memory [`KvBackend`] over a `BTreeMap`: the model the RocksDB backend is tested
//! against, and a store for unit tests.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard};

use crate::keys;
use crate::kv::{KvBackend, KvPair, KvRead, KvSource, ScanStep, ScanVisit};
use crate::kv_batch::{KvBatch, KvOp};
use crate::StorageError;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every key in one ordered map behind a lock.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    map: RwLock<Map>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key and value, in order (for comparing with another backend).
    pub fn dump(&self) -> Result<Vec<KvPair>, StorageError> {
        let map = self.read()?;
        Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Map>, StorageError> {
        self.map
            .read()
            .map_err(|_| StorageError::Poisoned("memory backend"))
    }
}

struct MemoryView<'a> {
    map: RwLockReadGuard<'a, Map>,
}

impl KvRead for MemoryView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.map.get(key).cloned())
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start: &[u8],
        visit: &mut ScanVisit<'_>,
    ) -> Result<(), StorageError> {
        let range = self
            .map
            .range::<[u8], _>((Bound::Included(start.max(prefix)), Bound::Unbounded));
        for (key, value) in range {
            if !key.starts_with(prefix) {
                break;
            }
            if visit(key, value)? == ScanStep::Stop {
                break;
            }
        }
        Ok(())
    }

    fn scan_prefix_before(
        &self,
        prefix: &[u8],
        end: Option<&[u8]>,
        visit: &mut ScanVisit<'_>,
    ) -> Result<(), StorageError> {
        let prefix_end = keys::prefix_end(prefix);
        let end = end.map_or(prefix_end.as_slice(), |end| end.min(prefix_end.as_slice()));
        if end <= prefix {
            return Ok(());
        }
        let range = self
            .map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Excluded(end)));
        for (key, value) in range.rev() {
            if !key.starts_with(prefix) {
                continue;
            }
            if visit(key, value)? == ScanStep::Stop {
                break;
            }
        }
        Ok(())
    }
}

impl KvBackend for MemoryBackend {
    fn view(&self) -> Result<Box<dyn KvRead + '_>, StorageError> {
        Ok(Box::new(MemoryView { map: self.read()? }))
    }

    fn write(&self, batch: KvBatch) -> Result<(), StorageError> {
        let mut map = self
            .map
            .write()
            .map_err(|_| StorageError::Poisoned("memory backend"))?;
        for op in batch.into_ops() {
            match op {
                KvOp::Put { key, value } => {
                    map.insert(key, value);
                }
                KvOp::Delete { key } => {
                    map.remove(&key);
                }
                KvOp::DeleteRange { start, end } => {
                    let doomed: Vec<Vec<u8>> = map
                        .range::<[u8], _>((
                            Bound::Included(start.as_slice()),
                            Bound::Excluded(end.as_slice()),
                        ))
                        .map(|(key, _)| key.clone())
                        .collect();
                    for key in doomed {
                        map.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn replace_all(&self, source: &mut dyn KvSource) -> Result<u64, StorageError> {
        let mut fresh = Map::new();
        while let Some((key, value)) = source.next_pair()? {
            fresh.insert(key, value);
        }
        let keys = fresh.len() as u64;
        let mut map = self
            .map
            .write()
            .map_err(|_| StorageError::Poisoned("memory backend"))?;
        *map = fresh;
        Ok(keys)
    }
}
