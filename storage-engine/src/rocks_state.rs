//! The RocksDB [`KvBackend`] for the state machine, with generations for atomic snapshot
//! installs.
//!
//! Every state key lives in the `state` column family under `g` + generation (8 bytes BE) +
//! logical key. The key `a` holds the active generation; every read takes a RocksDB snapshot
//! and reads the active generation from it, so a read never mixes two generations.
//!
//! Installing a snapshot ([`KvBackend::replace_all`]) streams the pairs into the next
//! generation in bounded write batches (never the whole snapshot in memory), then flips `a`
//! with one small synced write, then range-deletes the old generation. A crash before the
//! flip leaves a partial next generation that nobody reads and that [`RocksState::open`]
//! deletes; a crash after it leaves an old generation that `open` deletes too.
//!
//! Durability: applied-state writes are not synced. RocksDB's WAL is one ordered log for
//! every column family, so the next synced write (a Raft log sync, vote, truncate or purge)
//! makes every earlier state write durable too; after a crash, openraft re-applies committed
//! entries past the durable `last_applied`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rocksdb::{ColumnFamily, WriteBatch, WriteOptions, DB};

use crate::codec::{decode_u64, encode_u64};
use crate::keys;
use crate::kv::{KvBackend, KvRead, KvSource, ScanStep, ScanVisit};
use crate::kv_batch::{KvBatch, KvOp};
use crate::StorageError;

pub(crate) const CF_STATE: &str = "state";
const ACTIVE_GENERATION_KEY: &[u8] = b"a";
const GENERATION_TAG: u8 = b'g';
/// Install writes at most this many bytes per write batch.
const INSTALL_BATCH_BYTES_MAX: usize = 4 << 20;

/// The state machine's keys in RocksDB.
pub(crate) struct RocksState {
    db: Arc<DB>,
    /// Mirrors the `a` key; only apply and install (serialised by Raft) change state.
    active_generation: AtomicU64,
    install_lock: Mutex<()>,
    #[cfg(test)]
    pub(crate) crash_before_flip: std::sync::atomic::AtomicBool,
}

fn cf(db: &DB) -> &ColumnFamily {
    db.cf_handle(CF_STATE)
        .expect("the database is always opened with the state column family")
}

fn generation_start(generation: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(GENERATION_TAG);
    key.extend_from_slice(&generation.to_be_bytes());
    key
}

/// Exclusive end of a generation's keys.
fn generation_end(generation: u64) -> Vec<u8> {
    match generation.checked_add(1) {
        Some(next) => generation_start(next),
        None => vec![GENERATION_TAG + 1],
    }
}

fn physical(prefix: &[u8], logical: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + logical.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(logical);
    key
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

impl RocksState {
    /// Read the active generation and delete every other generation (left by a crash).
    pub(crate) fn open(db: Arc<DB>) -> Result<Self, StorageError> {
        let active = match db.get_cf(cf(&db), ACTIVE_GENERATION_KEY)? {
            Some(bytes) => decode_u64(&bytes, "active generation")?,
            None => 0,
        };
        let state = RocksState {
            db,
            active_generation: AtomicU64::new(active),
            install_lock: Mutex::new(()),
            #[cfg(test)]
            crash_before_flip: std::sync::atomic::AtomicBool::new(false),
        };
        state.remove_range_if_used(&generation_start(0), &generation_start(active))?;
        state.remove_range_if_used(&generation_end(active), &[GENERATION_TAG + 1])?;
        Ok(state)
    }

    fn remove_range_if_used(&self, start: &[u8], end: &[u8]) -> Result<(), StorageError> {
        if start >= end {
            return Ok(());
        }
        let mut iterator = self.db.raw_iterator_cf(cf(&self.db));
        iterator.seek(start);
        let used = iterator.valid() && iterator.key().is_some_and(|key| key < end);
        iterator.status()?;
        drop(iterator);
        if used {
            tracing::info!("remove a state generation left by an interrupted snapshot install");
            self.db.delete_range_cf(cf(&self.db), start, end)?;
            self.db
                .compact_range_cf(cf(&self.db), Some(start), Some(end));
        }
        Ok(())
    }

    /// How many physical keys the state column family holds (every generation).
    #[cfg(test)]
    pub(crate) fn physical_key_count(&self) -> Result<u64, StorageError> {
        let mut iterator = self.db.raw_iterator_cf(cf(&self.db));
        iterator.seek_to_first();
        let mut count = 0;
        while iterator.valid() {
            count += 1;
            iterator.next();
        }
        iterator.status()?;
        Ok(count)
    }
}

struct RocksView<'a> {
    snapshot: rocksdb::SnapshotWithThreadMode<'a, DB>,
    cf: &'a ColumnFamily,
    prefix: Vec<u8>,
}

impl KvRead for RocksView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.snapshot.get_cf(self.cf, physical(&self.prefix, key))?)
    }

    fn scan_prefix_from(
        &self,
        prefix: &[u8],
        start: &[u8],
        visit: &mut ScanVisit<'_>,
    ) -> Result<(), StorageError> {
        let physical_prefix = physical(&self.prefix, prefix);
        let mut iterator = self.snapshot.raw_iterator_cf(self.cf);
        iterator.seek(physical(&self.prefix, start.max(prefix)));
        while iterator.valid() {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            if !key.starts_with(&physical_prefix) {
                break;
            }
            if visit(&key[self.prefix.len()..], value)? == ScanStep::Stop {
                break;
            }
            iterator.next();
        }
        iterator.status()?;
        Ok(())
    }

    fn scan_prefix_before(
        &self,
        prefix: &[u8],
        end: Option<&[u8]>,
        visit: &mut ScanVisit<'_>,
    ) -> Result<(), StorageError> {
        let physical_prefix = physical(&self.prefix, prefix);
        let prefix_end = keys::prefix_end(prefix);
        let end = physical(
            &self.prefix,
            end.map_or(prefix_end.as_slice(), |end| end.min(prefix_end.as_slice())),
        );
        let mut iterator = self.snapshot.raw_iterator_cf(self.cf);
        iterator.seek_for_prev(&end);
        while iterator.valid() {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            if key >= end.as_slice() {
                iterator.prev();
                continue;
            }
            if !key.starts_with(&physical_prefix) {
                break;
            }
            if visit(&key[self.prefix.len()..], value)? == ScanStep::Stop {
                break;
            }
            iterator.prev();
        }
        iterator.status()?;
        Ok(())
    }
}

impl KvBackend for RocksState {
    fn view(&self) -> Result<Box<dyn KvRead + '_>, StorageError> {
        let snapshot = self.db.snapshot();
        let cf = cf(&self.db);
        let generation = match snapshot.get_cf(cf, ACTIVE_GENERATION_KEY)? {
            Some(bytes) => decode_u64(&bytes, "active generation")?,
            None => 0,
        };
        Ok(Box::new(RocksView {
            snapshot,
            cf,
            prefix: generation_start(generation),
        }))
    }

    fn write(&self, batch: KvBatch) -> Result<(), StorageError> {
        // Raft never applies during an install; the lock makes that a guarantee, so a write
        // can never land in a generation being replaced.
        let _not_installing = self
            .install_lock
            .lock()
            .map_err(|_| StorageError::Poisoned("snapshot install"))?;
        let prefix = generation_start(self.active_generation.load(Ordering::Acquire));
        let cf = cf(&self.db);
        let mut rocks_batch = WriteBatch::default();
        for op in batch.into_ops() {
            match op {
                KvOp::Put { key, value } => rocks_batch.put_cf(cf, physical(&prefix, &key), value),
                KvOp::Delete { key } => rocks_batch.delete_cf(cf, physical(&prefix, &key)),
                KvOp::DeleteRange { start, end } => rocks_batch.delete_range_cf(
                    cf,
                    physical(&prefix, &start),
                    physical(&prefix, &end),
                ),
            }
        }
        // Not synced: see the module documentation.
        self.db.write(rocks_batch)?;
        Ok(())
    }

    fn replace_all(&self, source: &mut dyn KvSource) -> Result<u64, StorageError> {
        let _installing = self
            .install_lock
            .lock()
            .map_err(|_| StorageError::Poisoned("snapshot install"))?;
        let old = self.active_generation.load(Ordering::Acquire);
        let next = old
            .checked_add(1)
            .ok_or(StorageError::GenerationExhausted)?;
        let cf = cf(&self.db);
        let prefix = generation_start(next);
        // A failed install may have left pairs here; start clean.
        self.db
            .delete_range_cf(cf, generation_start(next), generation_end(next))?;

        let mut keys = 0u64;
        let mut fill = || -> Result<(), StorageError> {
            let mut batch = WriteBatch::default();
            while let Some((key, value)) = source.next_pair()? {
                batch.put_cf(cf, physical(&prefix, &key), value);
                keys += 1;
                if batch.size_in_bytes() >= INSTALL_BATCH_BYTES_MAX {
                    self.db.write(std::mem::take(&mut batch))?;
                }
            }
            self.db.write(batch)?;
            Ok(())
        };
        if let Err(error) = fill() {
            // Nobody reads the next generation; remove what was written (open would too).
            self.db
                .delete_range_cf(cf, generation_start(next), generation_end(next))?;
            return Err(error);
        }

        #[cfg(test)]
        if self.crash_before_flip.load(Ordering::Acquire) {
            return Err(StorageError::Sync("simulated crash before the flip".into()));
        }

        let mut flip = WriteBatch::default();
        flip.put_cf(cf, ACTIVE_GENERATION_KEY, encode_u64(next));
        self.db.write_opt(flip, &synced())?;
        self.active_generation.store(next, Ordering::Release);

        let (old_start, old_end) = (generation_start(old), generation_end(old));
        self.db.delete_range_cf(cf, &old_start, &old_end)?;
        self.db
            .compact_range_cf(cf, Some(&old_start), Some(&old_end));
        tracing::info!(keys, generation = next, "installed state snapshot");
        Ok(keys)
    }

    fn compact(&self) -> Result<(), StorageError> {
        let generation = self.active_generation.load(Ordering::Acquire);
        let (start, end) = (generation_start(generation), generation_end(generation));
        self.db
            .compact_range_cf(cf(&self.db), Some(&start), Some(&end));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use crate::{ApplyEntry, Command, StateMachine, Store};

    fn set(state: &StateMachine, index: u64, key: &str, value: &str) {
        state
            .apply(ApplyEntry {
                index,
                command: Some(Command::PutSetting {
                    key: key.into(),
                    value_json: value.into(),
                }),
                last_applied: vec![index as u8],
                membership: None,
            })
            .expect("apply");
    }

    #[test]
    fn a_crash_before_the_flip_keeps_the_old_state_and_open_removes_the_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = StateMachine::in_memory();
        for index in 1..=20 {
            set(&source, index, &format!("key{index}"), "new");
        }
        let snapshot = dir.path().join("snap");
        source.build_snapshot(&snapshot).expect("build");

        let db = dir.path().join("db");
        let keys_before = {
            let store = Store::open(&db).expect("open");
            let state = store.state();
            set(&state, 1, "key1", "old");
            let keys_before = store.rocks_state().physical_key_count().expect("count");
            store
                .rocks_state()
                .crash_before_flip
                .store(true, Ordering::Release);
            assert!(state.install_snapshot(&snapshot).is_err());
            assert_eq!(state.setting("key1").expect("read").as_deref(), Some("old"));
            assert_eq!(state.setting("key2").expect("read"), None);
            let keys_after = store.rocks_state().physical_key_count().expect("count");
            assert!(
                keys_after > keys_before,
                "the partial generation is on disk"
            );
            keys_before
        };

        let store = Store::open(&db).expect("reopen");
        let state = store.state();
        assert_eq!(state.setting("key1").expect("read").as_deref(), Some("old"));
        assert_eq!(
            store.rocks_state().physical_key_count().expect("count"),
            keys_before,
            "open removed the partial generation"
        );
        // A later install works and replaces everything.
        state.install_snapshot(&snapshot).expect("install");
        assert_eq!(state.setting("key1").expect("read").as_deref(), Some("new"));
        assert_eq!(
            state.setting("key20").expect("read").as_deref(),
            Some("new")
        );
    }

    #[test]
    fn backward_scans_give_the_forward_order_reversed_on_both_backends() {
        use crate::kv::{KvBackend, ScanStep};
        use crate::{KvBatch, MemoryBackend};

        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db")).expect("open");
        let memory = MemoryBackend::default();
        let keys: Vec<Vec<u8>> = [
            &b"a"[..],
            b"b",
            b"b\x00",
            b"b1",
            b"b2",
            b"b2x",
            b"b\xff",
            b"b\xff\xff",
            b"c",
            b"d",
        ]
        .iter()
        .map(|key| key.to_vec())
        .collect();
        for backend in [store.rocks_state() as &dyn KvBackend, &memory] {
            let mut batch = KvBatch::new();
            for key in &keys {
                batch.put(key.clone(), key.clone());
            }
            backend.write(batch).expect("write");
        }
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"b", None),
            (b"b", Some(b"b2")),
            (b"b", Some(b"b2y")),
            (b"b", Some(b"a")),
            (b"b\xff", None),
            (b"", None),
        ];
        for (prefix, end) in cases {
            let expected: Vec<Vec<u8>> = keys
                .iter()
                .filter(|key| key.starts_with(prefix) && end.is_none_or(|end| key.as_slice() < end))
                .rev()
                .cloned()
                .collect();
            for backend in [store.rocks_state() as &dyn KvBackend, &memory] {
                let view = backend.view().expect("view");
                let mut seen = Vec::new();
                view.scan_prefix_before(prefix, end, &mut |key, value| {
                    assert_eq!(key, value);
                    seen.push(key.to_vec());
                    Ok(ScanStep::Continue)
                })
                .expect("scan");
                assert_eq!(seen, expected, "prefix {prefix:?} end {end:?}");
            }
        }
    }
}
