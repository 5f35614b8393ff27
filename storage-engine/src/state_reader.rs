//! The replicated state as its readers see it: every query of [`StateMachine`], and no way
//! to apply an entry or install a snapshot. The node's service layer holds only this, so the
//! only writer of state is consensus.

use crate::query::{Expr, ListPage, ListRequest, QueryError, RequestContext, RuleCheck};
use crate::query::{FilterPart, RuleSubject};
use std::sync::Arc;

use crate::compiled_collection::CompiledCollection;
use crate::file_refs::BlobUse;
use crate::state_machine::StateMachine;
use crate::{StorageError, StoredCollection, StoredRecord, StoredSetting};

/// A read-only handle on the state machine; cheap to clone.
#[derive(Clone)]
pub struct StateReader {
    state: StateMachine,
}

impl StateMachine {
    /// A handle that can read this state and nothing else.
    pub fn reader(&self) -> StateReader {
        StateReader {
            state: self.clone(),
        }
    }
}

impl StateReader {
    /// A backup's snapshot of the state at one point, with the blobs it refers to (see
    /// [`StateMachine::build_backup_snapshot`]); reading only.
    pub fn backup_snapshot(
        &self,
        path: &std::path::Path,
    ) -> Result<(crate::SnapshotStats, Vec<[u8; 32]>), StorageError> {
        self.state.build_backup_snapshot(path)
    }

    /// Compact the storage files (the logical state does not change).
    pub fn compact_storage(&self) -> Result<(), StorageError> {
        self.state.compact_storage()
    }

    pub fn collection_by_id(&self, id: &str) -> Result<Option<StoredCollection>, StorageError> {
        self.state.collection_by_id(id)
    }

    /// See [`StateMachine::compiled_collection`].
    pub fn compiled_collection(
        &self,
        stored: &StoredCollection,
    ) -> Result<Arc<CompiledCollection>, StorageError> {
        self.state.compiled_collection(stored)
    }

    pub fn collection_by_name(&self, name: &str) -> Result<Option<StoredCollection>, StorageError> {
        self.state.collection_by_name(name)
    }

    /// Every collection, in creation order.
    pub fn collections(&self) -> Result<Vec<StoredCollection>, StorageError> {
        self.state.collections()
    }

    pub fn record(
        &self,
        collection_id: &str,
        record_id: &str,
    ) -> Result<Option<StoredRecord>, StorageError> {
        self.state.record(collection_id, record_id)
    }

    /// See [`StateMachine::list_records`].
    pub fn list_records(&self, request: &ListRequest) -> Result<ListPage, QueryError> {
        self.state.list_records(request)
    }

    /// See [`StateMachine::check_record`].
    pub fn check_record(
        &self,
        subject: RuleSubject<'_>,
        filters: &[FilterPart],
        context: &RequestContext,
        records_examined_max: u64,
    ) -> Result<RuleCheck, QueryError> {
        self.state
            .check_record(subject, filters, context, records_examined_max)
    }

    /// See [`StateMachine::validate_filter`].
    pub fn validate_filter(
        &self,
        collection_doc_json: &str,
        expr: &Expr,
    ) -> Result<(), QueryError> {
        self.state.validate_filter(collection_doc_json, expr)
    }

    /// See [`StateMachine::blob_use`].
    pub fn blob_use(&self, blob: &[u8; 32]) -> Result<BlobUse, StorageError> {
        self.state.blob_use(blob)
    }

    /// See [`StateMachine::referenced_blobs`].
    pub fn referenced_blobs(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<([u8; 32], BlobUse)>, StorageError> {
        self.state.referenced_blobs(after, limit)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StorageError> {
        self.state.setting(key)
    }

    /// One entry of the hooks' outbox.
    pub fn outbox_entry(&self, id: &str) -> Result<Option<String>, StorageError> {
        self.state.outbox_entry(id)
    }

    /// The hooks' outbox: up to `limit` entries (id, entry JSON), in id order.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(String, String)>, StorageError> {
        self.state.outbox(limit)
    }

    /// See [`StateMachine::idempotency_entry`].
    pub fn idempotency_entry(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<crate::idempotency::IdempotencyEntry>, StorageError> {
        self.state.idempotency_entry(scope, key)
    }

    /// See [`StateMachine::stored_setting`].
    pub fn stored_setting(&self, key: &str) -> Result<Option<StoredSetting>, StorageError> {
        self.state.stored_setting(key)
    }

    /// See [`StateMachine::state_hash`].
    pub fn state_hash(&self) -> Result<crate::StateHash, StorageError> {
        self.state.state_hash()
    }
}
