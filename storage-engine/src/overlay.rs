//! Pending writes of one entry layered over a consistent view, so later commands of a batch
//! see what earlier ones wrote, and a rejection can drop everything at once, or (with a
//! [`Savepoint`]) only what one command of a group wrote.

use std::collections::BTreeMap;

use crate::kv::KvRead;
use crate::kv_batch::KvBatch;
use crate::StorageError;

pub(crate) struct Overlay<'a> {
    base: &'a dyn KvRead,
    /// Latest put (`Some`) or delete (`None`) per key since the last covering range delete.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    deleted_ranges: Vec<(Vec<u8>, Vec<u8>)>,
    batch: KvBatch,
    /// How to take back each change to `writes`, newest last.
    undo: Vec<Undo>,
}

/// One change to the pending writes, as it can be taken back.
enum Undo {
    /// `key` was set; before, its pending write was `previous` (`None`: it had none).
    Key {
        key: Vec<u8>,
        previous: Option<Option<Vec<u8>>>,
    },
    /// A range delete removed these pending writes.
    Range(Vec<(Vec<u8>, Option<Vec<u8>>)>),
}

/// Where the pending writes stood; [`Overlay::rollback`] returns to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Savepoint {
    ops: usize,
    ranges: usize,
    undo: usize,
}

impl<'a> Overlay<'a> {
    pub(crate) fn new(base: &'a dyn KvRead) -> Self {
        Self {
            base,
            writes: BTreeMap::new(),
            deleted_ranges: Vec::new(),
            batch: KvBatch::new(),
            undo: Vec::new(),
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(write) = self.writes.get(key) {
            return Ok(write.clone());
        }
        let deleted = self
            .deleted_ranges
            .iter()
            .any(|(start, end)| start.as_slice() <= key && key < end.as_slice());
        if deleted {
            return Ok(None);
        }
        self.base.get(key)
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        let previous = self.writes.insert(key.clone(), Some(value.clone()));
        self.undo.push(Undo::Key {
            key: key.clone(),
            previous,
        });
        self.batch.put(key, value);
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        let previous = self.writes.insert(key.clone(), None);
        self.undo.push(Undo::Key {
            key: key.clone(),
            previous,
        });
        self.batch.delete(key);
    }

    pub(crate) fn delete_range(&mut self, start: Vec<u8>, end: Vec<u8>) {
        let covered: Vec<Vec<u8>> = self
            .writes
            .range(start.clone()..end.clone())
            .map(|(key, _)| key.clone())
            .collect();
        let mut removed = Vec::with_capacity(covered.len());
        for key in covered {
            if let Some(write) = self.writes.remove(&key) {
                removed.push((key, write));
            }
        }
        self.undo.push(Undo::Range(removed));
        self.deleted_ranges.push((start.clone(), end.clone()));
        self.batch.delete_range(start, end);
    }

    /// Forget every pending write (the entry was rejected).
    pub(crate) fn discard(&mut self) {
        self.writes.clear();
        self.deleted_ranges.clear();
        self.batch = KvBatch::new();
        self.undo.clear();
    }

    /// Where the pending writes stand now.
    pub(crate) fn savepoint(&self) -> Savepoint {
        Savepoint {
            ops: self.batch.len(),
            ranges: self.deleted_ranges.len(),
            undo: self.undo.len(),
        }
    }

    /// Take back every write since `savepoint` (one command of a group was rejected).
    pub(crate) fn rollback(&mut self, savepoint: Savepoint) {
        while self.undo.len() > savepoint.undo {
            match self.undo.pop() {
                Some(Undo::Key { key, previous }) => match previous {
                    Some(write) => {
                        self.writes.insert(key, write);
                    }
                    None => {
                        self.writes.remove(&key);
                    }
                },
                Some(Undo::Range(removed)) => self.writes.extend(removed),
                None => break,
            }
        }
        self.deleted_ranges.truncate(savepoint.ranges);
        self.batch.truncate(savepoint.ops);
    }

    pub(crate) fn into_batch(self) -> KvBatch {
        self.batch
    }

    /// The first `limit` keys starting with `prefix` as this entry sees them, in key order,
    /// reading no more of the base than that (plus as many as this entry wrote there).
    pub(crate) fn first_keys(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let pending: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = self
            .writes
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .collect();
        // Pending deletes hide at most `pending.len()` base keys.
        let wanted = limit.saturating_add(pending.len());
        let mut keys = std::collections::BTreeSet::new();
        self.base.scan_prefix(prefix, &mut |key, _| {
            let deleted = self
                .deleted_ranges
                .iter()
                .any(|(start, end)| start.as_slice() <= key && key < end.as_slice());
            if !deleted {
                keys.insert(key.to_vec());
            }
            Ok(if keys.len() >= wanted {
                crate::kv::ScanStep::Stop
            } else {
                crate::kv::ScanStep::Continue
            })
        })?;
        for (key, write) in pending {
            match write {
                Some(_) => keys.insert(key.clone()),
                None => keys.remove(key),
            };
        }
        Ok(keys.into_iter().take(limit).collect())
    }
}

impl Overlay<'_> {
    /// Every key starting with `prefix` as this entry sees it (base view, minus range deletes,
    /// with pending puts and deletes), in key order. Loads the whole range: callers bound it
    /// (one collection's records during a migration).
    pub(crate) fn scan_prefix_merged(
        &self,
        prefix: &[u8],
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StorageError> {
        let mut merged = BTreeMap::new();
        self.base.scan_prefix(prefix, &mut |key, value| {
            let deleted = self
                .deleted_ranges
                .iter()
                .any(|(start, end)| start.as_slice() <= key && key < end.as_slice());
            if !deleted {
                merged.insert(key.to_vec(), value.to_vec());
            }
            Ok(crate::kv::ScanStep::Continue)
        })?;
        for (key, write) in self.writes.range(prefix.to_vec()..) {
            if !key.starts_with(prefix) {
                break;
            }
            match write {
                Some(value) => merged.insert(key.clone(), value.clone()),
                None => merged.remove(key),
            };
        }
        Ok(merged)
    }
}
