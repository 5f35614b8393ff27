//! What a layer above adds to the writes of its own system collections: checks on their
//! documents (messaging's push targets: a Web Push subscription's keys must be a P-256 key
//! and a 16-byte secret), run by every create and update after the fields validated, so a
//! bad document is refused with PocketBase's field errors before anything is proposed; and
//! which of them hold records that belong to an auth record (`collectionRef`, `recordRef`)
//! and are deleted with it.

use std::sync::{Arc, RwLock};

use edgebase_model::record_values::Document;
use edgebase_model::validation::FieldErrors;

/// A check on the documents written to the collections it names.
pub trait RecordCheck: Send + Sync {
    /// The collection names it checks.
    fn collections(&self) -> &[&'static str];
    /// The field errors of `doc` (empty when it is fine).
    fn check(&self, collection: &str, doc: &Document) -> FieldErrors;
    /// Collections whose records belong to the auth record their `collectionRef` and
    /// `recordRef` name, deleted in the same command as it.
    fn owned_by_auth_records(&self) -> &[&'static str] {
        &[]
    }
}

/// The checks added so far.
#[derive(Default)]
pub struct RecordChecks {
    checks: RwLock<Vec<Arc<dyn RecordCheck>>>,
}

impl RecordChecks {
    pub fn add(&self, check: Arc<dyn RecordCheck>) {
        self.checks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(check);
    }

    /// Every collection an added check says belongs to auth records.
    pub fn owned_by_auth_records(&self) -> Vec<&'static str> {
        let checks = self
            .checks
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        checks
            .iter()
            .flat_map(|check| check.owned_by_auth_records().iter().copied())
            .collect()
    }

    /// Every added check's errors for `doc` in `collection`, together.
    pub fn check(&self, collection: &str, doc: &Document) -> FieldErrors {
        let checks = self
            .checks
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut errors = FieldErrors::new();
        for check in checks.iter() {
            if check.collections().contains(&collection) {
                errors.extend(check.check(collection, doc));
            }
        }
        errors
    }
}
