//! [`RaftStateMachineStore`]: openraft's state machine and snapshot builder over the
//! engine's [`StateMachine`], with snapshots as files in a snapshot directory.

use std::path::PathBuf;
use std::sync::Arc;

use edgebase_storage::{ApplyEntry, CommandResult, EntryResult, StateMachine};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageError, StorageIOError};

use super::codec::{decode_optional, encode};
use super::snapshot_files::SnapshotFiles;
use super::StorageAdapterError;
use crate::type_config::{Entry, LogId, NodeId, SnapshotMeta, StoredMembership, TypeConfig};

type RaftResult<T> = Result<T, StorageError<NodeId>>;

/// The state machine for openraft, and its snapshot builder. Cheap to clone.
#[derive(Clone)]
pub struct RaftStateMachineStore {
    state: StateMachine,
    files: Arc<SnapshotFiles>,
}

impl RaftStateMachineStore {
    /// `snapshot_dir` holds this node's snapshot files (created if missing).
    pub fn new(state: StateMachine, snapshot_dir: PathBuf) -> Result<Self, StorageAdapterError> {
        Ok(Self {
            state,
            files: Arc::new(SnapshotFiles::open(snapshot_dir)?),
        })
    }

    /// The engine's state machine (for reads).
    pub fn state(&self) -> &StateMachine {
        &self.state
    }

    fn applied(
        state: &StateMachine,
    ) -> Result<(Option<LogId>, StoredMembership), StorageAdapterError> {
        let applied = state.applied()?;
        let last_applied = decode_optional(applied.last_applied, "last applied log id")?;
        let membership = decode_optional(applied.membership, "membership")?.unwrap_or_default();
        Ok((last_applied, membership))
    }

    /// Apply in order; on failure, the log id of the entry that failed and why.
    fn apply_all(
        state: &StateMachine,
        entries: Vec<Entry>,
    ) -> Result<Vec<EntryResult>, (LogId, StorageAdapterError)> {
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            let log_id = entry.log_id;
            let last_applied = encode(&log_id, "log id").map_err(|e| (log_id, e))?;
            let (command, membership) = match entry.payload {
                EntryPayload::Blank => (None, None),
                EntryPayload::Normal(command) => (Some(command), None),
                EntryPayload::Membership(membership) => {
                    let stored = StoredMembership::new(Some(log_id), membership);
                    let bytes = encode(&stored, "membership").map_err(|e| (log_id, e))?;
                    (None, Some(bytes))
                }
            };
            let result = state
                .apply(ApplyEntry {
                    index: log_id.index,
                    command,
                    last_applied,
                    membership,
                })
                .map_err(|e| (log_id, e.into()))?;
            results.push(result.unwrap_or(EntryResult::One(CommandResult::Applied {
                version: log_id.index,
            })));
        }
        Ok(results)
    }

    fn build(
        state: &StateMachine,
        files: &SnapshotFiles,
    ) -> Result<Snapshot<TypeConfig>, StorageAdapterError> {
        let temp = files.temp_path();
        let stats = state.build_snapshot(&temp)?;
        let last_log_id: Option<LogId> =
            decode_optional(stats.applied.last_applied, "last applied log id")?;
        let last_membership: StoredMembership =
            decode_optional(stats.applied.membership, "membership")?.unwrap_or_default();
        let meta = SnapshotMeta {
            snapshot_id: files.next_id(last_log_id.as_ref()),
            last_log_id,
            last_membership,
        };
        let file = files.publish(&meta, &temp)?;
        tracing::info!(id = %meta.snapshot_id, keys = stats.keys, bytes = stats.bytes, "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        })
    }

    fn install(
        state: &StateMachine,
        files: &SnapshotFiles,
        meta: &SnapshotMeta,
        file: std::fs::File,
    ) -> Result<(), StorageAdapterError> {
        let path = files.take_received(file)?;
        state.install_snapshot(&path)?;
        let (installed, _) = Self::applied(state)?;
        if installed != meta.last_log_id {
            return Err(StorageAdapterError::SnapshotMismatch {
                expected: format!("{:?}", meta.last_log_id),
                found: format!("{installed:?}"),
            });
        }
        drop(files.publish(meta, &path)?);
        tracing::info!(id = %meta.snapshot_id, "installed snapshot");
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for RaftStateMachineStore {
    async fn build_snapshot(&mut self) -> RaftResult<Snapshot<TypeConfig>> {
        let state = self.state.clone();
        let files = Arc::clone(&self.files);
        tokio::task::spawn_blocking(move || Self::build(&state, &files))
            .await
            .map_err(StorageAdapterError::from)
            .and_then(|result| result)
            .map_err(|e| StorageIOError::write_snapshot(None, &e).into())
    }
}

impl RaftStateMachine<TypeConfig> for RaftStateMachineStore {
    type SnapshotBuilder = RaftStateMachineStore;

    async fn applied_state(&mut self) -> RaftResult<(Option<LogId>, StoredMembership)> {
        Self::applied(&self.state).map_err(|e| StorageIOError::read_state_machine(&e).into())
    }

    async fn apply<I>(&mut self, entries: I) -> RaftResult<Vec<EntryResult>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || Self::apply_all(&state, entries))
            .await
            .map_err(|e| StorageIOError::write_state_machine(&StorageAdapterError::from(e)))?
            .map_err(|(log_id, e)| StorageIOError::apply(log_id, &e).into())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> RaftResult<Box<tokio::fs::File>> {
        let file = self
            .files
            .begin_receiving()
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Box::new(tokio::fs::File::from_std(file)))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<tokio::fs::File>,
    ) -> RaftResult<()> {
        let file = snapshot.into_std().await;
        let state = self.state.clone();
        let files = Arc::clone(&self.files);
        let meta_owned = meta.clone();
        tokio::task::spawn_blocking(move || Self::install(&state, &files, &meta_owned, file))
            .await
            .map_err(StorageAdapterError::from)
            .and_then(|result| result)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e).into())
    }

    async fn get_current_snapshot(&mut self) -> RaftResult<Option<Snapshot<TypeConfig>>> {
        let current = self
            .files
            .current()
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(current.map(|(meta, file)| Snapshot {
            meta,
            snapshot: Box::new(tokio::fs::File::from_std(file)),
        }))
    }
}
