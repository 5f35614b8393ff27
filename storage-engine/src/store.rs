//! The one RocksDB instance behind the Raft log, its metadata and the state machine.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, Options, DB};

use crate::group_commit::GroupCommit;
use crate::log_store::{LogShared, CF_LOG, CF_LOG_META};
use crate::rocks_state::{RocksState, CF_STATE};
use crate::{LogStore, StateMachine, StorageError};

/// One open database. Cheap to clone; closes when the last clone (and every [`LogStore`] and
/// [`StateMachine`] taken from it) is dropped.
#[derive(Clone)]
pub struct Store {
    log: Arc<LogShared>,
    /// The RocksDB state behind `machine`, for the store's own tests.
    #[cfg(test)]
    state: Arc<RocksState>,
    /// The one state machine every caller shares (its compiled collections and change
    /// listener included).
    machine: StateMachine,
}

impl Store {
    /// Open or create the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io("create data dir", dir, e))?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let families = [CF_LOG, CF_LOG_META, CF_STATE]
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = Arc::new(DB::open_cf_descriptors(&options, dir, families)?);
        crate::data_format::check_and_upgrade(&db, CF_LOG_META)?;
        let state = Arc::new(RocksState::open(Arc::clone(&db))?);
        let group_commit = GroupCommit::start(Arc::clone(&db))?;
        tracing::debug!(dir = %dir.display(), "opened store");
        let machine = StateMachine::with_backend(Arc::clone(&state) as Arc<dyn crate::KvBackend>);
        Ok(Store {
            log: Arc::new(LogShared { db, group_commit }),
            #[cfg(test)]
            state,
            machine,
        })
    }

    /// A database in `dir` holding only a state machine that is never replicated: node-local
    /// data such as the request logs, applied with entry indexes its owner numbers. Writes are
    /// not synced; a crash may lose the last ones.
    pub fn open_local_state(dir: &Path) -> Result<StateMachine, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::io("create local state dir", dir, e))?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Small: this database holds logs, not the app's data.
        options.set_write_buffer_size(8 << 20);
        let families = [ColumnFamilyDescriptor::new(CF_STATE, Options::default())];
        let db = Arc::new(DB::open_cf_descriptors(&options, dir, families)?);
        let state = Arc::new(RocksState::open(db)?);
        tracing::debug!(dir = %dir.display(), "opened local state");
        Ok(StateMachine::with_backend(
            state as Arc<dyn crate::KvBackend>,
        ))
    }

    /// The data dir's format version.
    pub fn data_format(&self) -> Result<u64, StorageError> {
        crate::data_format::read(&self.log.db, CF_LOG_META)
    }

    /// Write a format stamp, synced: what a newer (or older) binary would have left, for
    /// tests of what this one does with such a data dir.
    pub fn stamp_format(&self, format: u64) -> Result<(), StorageError> {
        crate::data_format::write(&self.log.db, CF_LOG_META, format)
    }

    /// The Raft log (cheap clone).
    pub fn log(&self) -> LogStore {
        LogStore::new(Arc::clone(&self.log))
    }

    /// The state machine (a cheap clone of the one the store holds).
    pub fn state(&self) -> StateMachine {
        self.machine.clone()
    }

    #[cfg(test)]
    pub(crate) fn rocks_state(&self) -> &RocksState {
        &self.state
    }
}
