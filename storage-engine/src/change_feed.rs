//! The change feed: what each applied entry did to records and collections, handed to a listener right after
//! the entry's batch is written, in log order (apply is sequential), so a node can push
//! change events to its own subscribers. A rejected entry changed nothing and reports
//! nothing. A listener must not block: it runs on the apply path.

use std::sync::{Arc, OnceLock};

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
}

impl ChangeAction {
    /// PocketBase's name for it in realtime events.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Create => "create",
            ChangeAction::Update => "update",
            ChangeAction::Delete => "delete",
        }
    }
}

/// One record write or delete of an applied entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    pub collection_id: String,
    pub record_id: String,
    pub action: ChangeAction,
    /// The document before the change (none for a create).
    pub before: Option<String>,
    /// The document after the change (none for a delete).
    pub after: Option<String>,
}

/// Every record change of one applied entry, and the collections it created, changed or
/// deleted (by id: their rules or auth secrets may have changed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedChanges {
    pub index: u64,
    pub changes: Vec<RecordChange>,
    pub collections: Vec<String>,
}

impl AppliedChanges {
    /// Whether the entry changed no record and no collection.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.collections.is_empty()
    }
}

/// Told of what apply does, in log order.
pub trait ChangeListener: Send + Sync {
    /// The entry at `changes.index` was applied and changed these records and collections.
    fn applied(&self, changes: AppliedChanges);
    /// The state was replaced by a snapshot up to `index`: the changes before it were never
    /// reported here.
    fn jumped(&self, index: u64);
}

/// Where apply finds the listener: set once, by the node, after the state machine exists.
#[derive(Clone, Default)]
pub(crate) struct ListenerSlot(Arc<OnceLock<Arc<dyn ChangeListener>>>);

impl ListenerSlot {
    pub(crate) fn set(&self, listener: Arc<dyn ChangeListener>) -> bool {
        self.0.set(listener).is_ok()
    }

    pub(crate) fn get(&self) -> Option<&Arc<dyn ChangeListener>> {
        self.0.get()
    }
}
