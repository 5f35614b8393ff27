//! The newest log entries in memory, so applying them and replicating them to followers do
//! not read back and decode what was just appended. Bounded in bytes (the entries' encoded
//! size); the oldest go first. It mirrors the log exactly from its first entry on: every
//! append, truncation and purge goes through it, and a range that starts before its first
//! entry is read from RocksDB.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::type_config::Entry;

/// Default bound on the entries kept, by encoded size.
pub const LOG_CACHE_BYTES_DEFAULT: usize = 64 * 1024 * 1024;

pub(crate) struct LogCache {
    inner: Mutex<Cached>,
    bytes_max: usize,
}

#[derive(Default)]
struct Cached {
    /// Index -> (entry, encoded bytes).
    entries: BTreeMap<u64, (Entry, usize)>,
    bytes: usize,
}

impl LogCache {
    pub(crate) fn new(bytes_max: usize) -> Self {
        Self {
            inner: Mutex::new(Cached::default()),
            bytes_max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        // A panic while holding the lock cannot leave the map half-changed in a way that
        // matters more than losing the cache: start over empty.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut cached = poisoned.into_inner();
            cached.entries.clear();
            cached.bytes = 0;
            cached
        })
    }

    /// Entries appended (in index order, each with its encoded size). One at or below the
    /// newest cached index replaces it and drops what followed; one past a gap starts the
    /// cache over from it.
    pub(crate) fn appended(&self, entries: Vec<(Entry, usize)>) {
        let mut cached = self.lock();
        for (entry, bytes) in entries {
            let index = entry.log_id.index;
            match cached.entries.last_key_value() {
                Some((&last, _)) if index <= last => {
                    // Written over: what followed it is gone from the log too.
                    let removed = cached.entries.split_off(&index);
                    cached.bytes -= removed.values().map(|(_, bytes)| bytes).sum::<usize>();
                }
                Some((&last, _)) if index > last + 1 => {
                    // A gap (the log restarted after a snapshot): only entries from here
                    // on are known.
                    cached.entries.clear();
                    cached.bytes = 0;
                }
                _ => {}
            }
            cached.entries.insert(index, (entry, bytes));
            cached.bytes += bytes;
        }
        while cached.bytes > self.bytes_max {
            let Some((_, (_, bytes))) = cached.entries.pop_first() else {
                break;
            };
            cached.bytes -= bytes;
        }
    }

    /// Entries `start <= index < end` if the cache holds every one of them that the log
    /// holds (the range starts at or after its first entry); `None` means read the log.
    pub(crate) fn get(&self, start: u64, end: u64) -> Option<Vec<Entry>> {
        let cached = self.lock();
        let (&first, _) = cached.entries.first_key_value()?;
        if start < first || start >= end {
            return None;
        }
        Some(
            cached
                .entries
                .range(start..end)
                .map(|(_, (entry, _))| entry.clone())
                .collect(),
        )
    }

    /// Entries from `index` on were removed from the log.
    pub(crate) fn truncated_from(&self, index: u64) {
        let mut cached = self.lock();
        let removed = cached.entries.split_off(&index);
        cached.bytes -= removed.values().map(|(_, bytes)| bytes).sum::<usize>();
    }

    /// Entries up to `index` were purged from the log.
    pub(crate) fn purged_through(&self, index: u64) {
        let mut cached = self.lock();
        let kept = match index.checked_add(1) {
            Some(next) => cached.entries.split_off(&next),
            None => BTreeMap::new(),
        };
        cached.entries = kept;
        cached.bytes = cached.entries.values().map(|(_, bytes)| bytes).sum();
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, LogId};

    use super::*;

    fn entry(index: u64) -> (Entry, usize) {
        (
            Entry {
                log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
                payload: EntryPayload::Blank,
            },
            10,
        )
    }

    fn indexes(entries: Option<Vec<Entry>>) -> Option<Vec<u64>> {
        entries.map(|entries| entries.iter().map(|e| e.log_id.index).collect())
    }

    #[test]
    fn serves_only_ranges_it_holds_whole() {
        let cache = LogCache::new(1_000);
        assert_eq!(indexes(cache.get(1, 5)), None);
        cache.appended((5..10).map(entry).collect());
        assert_eq!(indexes(cache.get(5, 8)), Some(vec![5, 6, 7]));
        assert_eq!(indexes(cache.get(7, u64::MAX)), Some(vec![7, 8, 9]));
        assert_eq!(indexes(cache.get(4, 8)), None, "4 is only in the log");
        assert_eq!(
            indexes(cache.get(12, 20)),
            Some(vec![]),
            "past the end: none"
        );
    }

    #[test]
    fn follows_truncation_purge_and_its_byte_bound() {
        let cache = LogCache::new(50);
        cache.appended((1..=5).map(entry).collect());
        cache.truncated_from(4);
        assert_eq!(indexes(cache.get(1, u64::MAX)), Some(vec![1, 2, 3]));
        cache.appended(vec![entry(4)]);
        cache.purged_through(2);
        assert_eq!(indexes(cache.get(3, u64::MAX)), Some(vec![3, 4]));
        assert_eq!(indexes(cache.get(2, u64::MAX)), None);
        // 10 bytes each, 50 at most: appending six more keeps the newest five.
        cache.appended((5..=10).map(entry).collect());
        assert_eq!(indexes(cache.get(6, u64::MAX)), Some(vec![6, 7, 8, 9, 10]));
        assert_eq!(indexes(cache.get(5, u64::MAX)), None);
        // A gap starts over.
        cache.appended(vec![entry(20)]);
        assert_eq!(indexes(cache.get(10, u64::MAX)), None);
        assert_eq!(indexes(cache.get(20, u64::MAX)), Some(vec![20]));
    }
}
