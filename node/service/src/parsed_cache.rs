//! A bounded cache of values parsed from stored JSON, keyed by id and checked by version.
//!
//! Collections and auth records are read on nearly every request; parsing their JSON each
//! time was the largest single cost of a create (bench/RESULTS.md). A stored value's version
//! is the log index of the entry that last wrote it, so an entry is reused only while the
//! stored version is the same: a change applied on any node is seen at the next read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most entries kept; past it the cache starts over (a rare, cheap reset).
const ENTRIES_MAX: usize = 4_096;

pub struct ParsedCache<T> {
    entries: Mutex<HashMap<String, (u64, Arc<T>)>>,
}

impl<T> Default for ParsedCache<T> {
    fn default() -> Self {
        ParsedCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> ParsedCache<T> {
    /// The value for `key` at `version`, parsed with `parse` unless cached at that version.
    pub fn get_or_parse<E>(
        &self,
        key: &str,
        version: u64,
        parse: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some((cached_version, value)) = self.lock().get(key) {
            if *cached_version == version {
                return Ok(value.clone());
            }
        }
        let value = Arc::new(parse()?);
        let mut entries = self.lock();
        if entries.len() >= ENTRIES_MAX {
            entries.clear();
        }
        entries.insert(key.to_string(), (version, value.clone()));
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Arc<T>)>> {
        // A panic while holding the lock leaves only a cache behind: keep using it.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reparses_only_when_the_version_changes() {
        let cache = ParsedCache::<String>::default();
        let mut parses = 0;
        let mut get = |version: u64, text: &str| {
            cache
                .get_or_parse::<()>("k", version, || {
                    parses += 1;
                    Ok(text.to_string())
                })
                .expect("parse succeeds")
        };
        assert_eq!(*get(1, "a"), "a");
        assert_eq!(*get(1, "ignored"), "a");
        assert_eq!(*get(2, "b"), "b");
        assert_eq!(parses, 2);
    }
}
