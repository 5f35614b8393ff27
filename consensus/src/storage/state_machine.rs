//! [`RaftStateMachineStore`]: openraft's state machine and snapshot builder over the
//! engine's [`StateMachine`], with snapshots as files in a snapshot directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use edgebase_blobs::BlobId;
use edgebase_storage::{ApplyEntry, Command, CommandResult, EntryResult, StateMachine};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageError, StorageIOError};

use super::codec::{decode_optional, encode};
use super::snapshot_files::SnapshotFiles;
use super::StorageAdapterError;
use crate::node::node_core::NodeCore;
use crate::type_config::{Entry, LogId, NodeId, SnapshotMeta, StoredMembership, TypeConfig};

/// How long apply waits between attempts to fetch a restore's snapshot from the members.
const RESTORE_FETCH_PAUSE: Duration = Duration::from_secs(1);

/// The node a state machine fetches restore snapshots through, set once the node is up.
#[derive(Clone, Default)]
pub struct NodeLink(Arc<OnceLock<Weak<NodeCore>>>);

impl NodeLink {
    pub(crate) fn set(&self, core: &Arc<NodeCore>) {
        let _ = self.0.set(Arc::downgrade(core));
    }

    fn core(&self) -> Option<Arc<NodeCore>> {
        self.0.get().and_then(Weak::upgrade)
    }
}

type RaftResult<T> = Result<T, StorageError<NodeId>>;

/// The state machine for openraft, and its snapshot builder. Cheap to clone.
#[derive(Clone)]
pub struct RaftStateMachineStore {
    state: StateMachine,
    files: Arc<SnapshotFiles>,
    node: NodeLink,
}

impl RaftStateMachineStore {
    /// `snapshot_dir` holds this node's snapshot files (created if missing).
    /// `node` is filled in once the node is up; a restore entry waits for it.
    pub fn new(
        state: StateMachine,
        snapshot_dir: PathBuf,
        node: NodeLink,
    ) -> Result<Self, StorageAdapterError> {
        Ok(Self {
            state,
            files: Arc::new(SnapshotFiles::open(snapshot_dir)?),
            node,
        })
    }

    /// The file of a restore's snapshot blob on this node, fetched from a member first when
    /// this node lacks it. Apply cannot go on without it, so this waits (trying again every
    /// second) until a member provides it; the proposer made sure a majority held it.
    async fn restore_file(&self, blob_hex: &str) -> Result<PathBuf, StorageAdapterError> {
        let blob: BlobId = blob_hex.parse().map_err(|_| {
            StorageAdapterError::RestoreBlob(format!("{blob_hex:?} is not a blob id"))
        })?;
        let mut attempts = 0u64;
        loop {
            let core = self.node.core();
            if let Some(core) = core {
                match core.fetch_blob(blob).await {
                    Ok(Some(_)) => return Ok(core.blobs.path_of(&blob)),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%blob, %error, "fetch a restore's snapshot"),
                }
            }
            attempts += 1;
            if attempts % 10 == 1 {
                tracing::warn!(%blob, attempts, "a restore's snapshot is not held here yet; waiting for a member to provide it");
            }
            tokio::time::sleep(RESTORE_FETCH_PAUSE).await;
        }
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

    /// Apply in order (a restore from its snapshot file in `restores`, by log index); on
    /// failure, the log id of the entry that failed and why.
    fn apply_all(
        state: &StateMachine,
        entries: Vec<Entry>,
        restores: &HashMap<u64, PathBuf>,
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
            let entry = ApplyEntry {
                index: log_id.index,
                command,
                last_applied,
                membership,
            };
            let result = match restores.get(&log_id.index) {
                Some(snapshot) => state.apply_restore(entry, snapshot),
                None => state.apply(entry),
            }
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
        let mut restores = HashMap::new();
        for entry in &entries {
            if let EntryPayload::Normal(Command::RestoreState { snapshot_blob, .. }) =
                &entry.payload
            {
                let file = self
                    .restore_file(snapshot_blob)
                    .await
                    .map_err(|e| StorageIOError::apply(entry.log_id, &e))?;
                restores.insert(entry.log_id.index, file);
            }
        }
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || Self::apply_all(&state, entries, &restores))
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
