//! Restoring a backup into the running cluster, through Raft: the archive is checked whole,
//! its state snapshot and every file blob are stored on this node and pushed to a majority
//! of voters, then one `Command::RestoreState` names the snapshot by hash. Every replica
//! applies it at the same log index from the same bytes (a replica lacking the snapshot
//! fetches it from a member before it applies), so all end at the same state. The backup
//! catalog and the scheduler's claims are kept as they are: a restore does not forget the
//! backups made since, nor rerun jobs.

use edgebase_blobs::BlobStore;
use edgebase_storage::{Command, CommandResult};

use super::archive::ArchiveReader;
use super::catalog::CATALOG_KEY;
use super::create::store_as_blob;
use super::seed::{copy_blobs, SeedError};
use super::{find, hold};
use crate::app::App;
use crate::error::ServiceError;
use crate::scheduler::claim::claim_key;
use crate::scheduler::jobs::JOB_IDS;

/// Replace the cluster's state with backup `key`'s; returns once this node has applied it.
pub async fn restore(app: &App, key: &str) -> Result<u64, ServiceError> {
    let _active = app.backups().begin(key)?;
    let entry = find(app, key)?
        .ok_or_else(|| ServiceError::bad_request("Missing or invalid backup file."))?;
    let archive = app.consensus().blobs().path_of(&hold(app, &entry).await?);
    let scratch = app.backups().scratch()?;
    let snapshot = scratch.path().join("state.snapshot");
    let snapshot_at = snapshot.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut reader = ArchiveReader::open(&archive)?;
        reader.verify()?;
        reader.extract_state(&snapshot_at, &|_| {})?;
        Ok::<_, super::archive::ArchiveError>(reader)
    })
    .await
    .map_err(|error| ServiceError::internal_from("read the backup", error))?
    .map_err(|error| {
        ServiceError::bad_request(format!("The backup cannot be restored: {error}."))
    })?;
    let blob_ids = reader.blob_ids();
    let blobs: &BlobStore = app.consensus().blobs();
    copy_blobs(reader, blobs, &|_| {})
        .await
        .map_err(|error: SeedError| {
            ServiceError::internal_from("copy the backup's files", error)
        })?;
    for blob in blob_ids {
        app.consensus().replicate_blob(blob).await?;
    }
    let stored = store_as_blob(app, &snapshot).await?;
    app.consensus().replicate_blob(stored.id).await?;
    let mut kept_settings = vec![CATALOG_KEY.to_owned()];
    kept_settings.extend(JOB_IDS.iter().map(|job| claim_key(job)));
    let outcome = app
        .propose(Command::RestoreState {
            snapshot_blob: stored.id.to_hex(),
            kept_settings,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { version } => {
            tracing::info!(backup = key, index = version, "backup restored");
            Ok(version)
        }
        CommandResult::Rejected(rejection) => {
            tracing::error!(backup = key, ?rejection, "restore a backup");
            Err(ServiceError::internal("restore a backup"))
        }
    }
}
