//! EdgeBase's storage engine: one RocksDB instance holding the Raft log, Raft metadata and
//! the deterministic state machine, plus its snapshot format.
//!
//! Entry points: [`Store::open`], then [`Store::log`] (the raw Raft log, openraft-free) and
//! [`Store::state`] (apply and reads). The state machine talks to storage only through
//! [`KvBackend`]; [`MemoryBackend`] is the in-memory model beside RocksDB. [`index`] holds
//! secondary indexes (parsed from PocketBase's index statements, maintained and enforced by
//! apply) and [`query::plan`] reads them for lists.

mod apply;
mod apply_limits;
mod change_feed;
mod codec;
mod command;
pub mod compiled_collection;
mod data_format;
mod error;
mod file_refs;
mod group_commit;
pub mod idempotency;
pub mod index;
mod keys;
mod kv;
mod kv_batch;
mod log_store;
mod memory_backend;
mod overlay;
pub mod query;
mod record_layout;
mod rocks_state;
pub mod schema;
mod snapshot;
mod state_hash;
mod state_machine;
mod state_reader;
mod store;
mod stored;
pub mod sync_fault;

pub use apply_limits::MIGRATION_RECORDS_MAX;
pub use change_feed::{AppliedChanges, ChangeAction, ChangeListener, RecordChange};
pub use codec::VALUE_BYTES_MAX;
pub use command::{
    CollectionDoc, CollectionExpect, Command, CommandResult, EntryResult, RecordExpect, Rejection,
    SettingExpect,
};
pub use compiled_collection::{CollectionRules, CompiledCollection, Rule};
pub use data_format::DATA_FORMAT;
pub use error::StorageError;
pub use file_refs::{BlobUse, BUCKET_STORE, FILES_KEY};
pub use group_commit::{SyncDone, SYNC_QUEUE_MAX};
pub use kv::{KvBackend, KvPair, KvRead, KvSource, ScanStep, ScanVisit};
pub use kv_batch::{KvBatch, KvOp};
pub use log_store::{LogMetaKey, LogStore};
pub use memory_backend::MemoryBackend;
pub use query::{
    FilterAccess, FilterPart, ListPage, ListRequest, QueryError, RequestContext, RuleCheck,
    TotalCount,
};
pub use snapshot::{SnapshotStats, SNAPSHOT_KEY_BYTES_MAX, SNAPSHOT_VALUE_BYTES_MAX};
pub use state_hash::StateHash;
pub use state_machine::{AppliedMeta, ApplyEntry, StateMachine, RECORDS_PAGE_LIMIT_MAX};
pub use state_reader::StateReader;
pub use store::Store;
pub use stored::{StoredCollection, StoredRecord, StoredSetting};
