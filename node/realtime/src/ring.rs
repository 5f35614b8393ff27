//! The change feed a reconnecting client resumes from: the record changes of the latest
//! applied entries, bounded by count and by bytes, and the index after which it is complete
//! (every entry with changes after `kept_after` is here). A client that resumes from before
//! that is told to refetch instead.

use std::collections::VecDeque;
use std::sync::Arc;

use edgebase_storage::AppliedChanges;

/// Entries kept, and the bytes of their documents.
#[derive(Debug, Clone, Copy)]
pub struct RingLimits {
    pub entries_max: usize,
    pub bytes_max: usize,
}

impl Default for RingLimits {
    fn default() -> Self {
        RingLimits {
            entries_max: 10_000,
            bytes_max: 64 << 20,
        }
    }
}

pub(crate) struct ChangeRing {
    entries: VecDeque<(Arc<AppliedChanges>, usize)>,
    bytes: usize,
    /// Every entry with changes after this index is kept.
    kept_after: u64,
    limits: RingLimits,
}

fn size_of(changes: &AppliedChanges) -> usize {
    changes
        .changes
        .iter()
        .map(|change| {
            change.before.as_ref().map_or(0, String::len)
                + change.after.as_ref().map_or(0, String::len)
                + change.collection_id.len()
                + change.record_id.len()
        })
        .sum()
}

impl ChangeRing {
    pub(crate) fn new(kept_after: u64, limits: RingLimits) -> ChangeRing {
        ChangeRing {
            entries: VecDeque::new(),
            bytes: 0,
            kept_after,
            limits,
        }
    }

    pub(crate) fn push(&mut self, changes: Arc<AppliedChanges>) {
        let size = size_of(&changes);
        self.entries.push_back((changes, size));
        self.bytes += size;
        while self.entries.len() > self.limits.entries_max
            || (self.bytes > self.limits.bytes_max && self.entries.len() > 1)
        {
            if let Some((dropped, size)) = self.entries.pop_front() {
                self.bytes -= size;
                self.kept_after = dropped.index;
            }
        }
    }

    /// Forget everything up to `index` (a snapshot, or entries lost while behind).
    pub(crate) fn restart_after(&mut self, index: u64) {
        self.entries.clear();
        self.bytes = 0;
        self.kept_after = index;
    }

    /// The kept entries from `index` on; `None` when some entry after `index` may be gone.
    pub(crate) fn from(&self, index: u64) -> Option<Vec<Arc<AppliedChanges>>> {
        if index < self.kept_after {
            return None;
        }
        Some(
            self.entries
                .iter()
                .filter(|(changes, _)| changes.index >= index)
                .map(|(changes, _)| changes.clone())
                .collect(),
        )
    }

    pub(crate) fn kept_after(&self) -> u64 {
        self.kept_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgebase_storage::{ChangeAction, RecordChange};

    fn entry(index: u64, bytes: usize) -> Arc<AppliedChanges> {
        Arc::new(AppliedChanges {
            index,
            changes: vec![RecordChange {
                collection_id: String::new(),
                record_id: String::new(),
                action: ChangeAction::Create,
                before: None,
                after: Some("x".repeat(bytes)),
            }],
            collections: Vec::new(),
        })
    }

    #[test]
    fn keeps_the_latest_and_knows_what_it_lost() {
        let mut ring = ChangeRing::new(
            5,
            RingLimits {
                entries_max: 3,
                bytes_max: 100,
            },
        );
        assert!(ring.from(4).is_none(), "before the hub started");
        assert_eq!(ring.from(5).map(|e| e.len()), Some(0));
        for index in 6..=9 {
            ring.push(entry(index, 10));
        }
        assert_eq!(ring.kept_after(), 6, "the oldest went");
        assert!(ring.from(5).is_none(), "entry 6 is gone");
        let from = ring.from(6).expect("everything after 6 is kept");
        assert_eq!(
            from.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![7, 8, 9]
        );
        ring.push(entry(10, 95));
        assert_eq!(ring.kept_after(), 9, "bytes bound");
        ring.restart_after(20);
        assert!(ring.from(19).is_none() && ring.from(20).is_some());
    }
}
