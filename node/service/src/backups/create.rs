//! Making a backup: a read barrier (so the state is at least as new as every write
//! acknowledged before the request), a RocksDB snapshot of the state streamed to a file
//! together with the blobs it refers to (collected from the same view), the zip archive,
//! the archive kept (by a majority, or in the S3 bucket), and the catalog entry. A scheduled backup
//! writes its catalog entry in one batch with its job's completion mark, so a run that
//! lost its claim to another node adds nothing.

use std::path::Path;

use edgebase_blobs::{BlobId, StoredBlob};
use edgebase_consensus::BLOB_BYTES_MAX;
use edgebase_model::validation::ValidationCode;
use edgebase_storage::Command;
use tokio::io::AsyncReadExt;

use super::archive::{ArchiveWriter, Manifest, FORMAT};
use super::catalog::{self, CatalogEntry};
use super::field_refused;
use super::names::{self, MANUAL_PREFIX};
use crate::app::App;
use crate::error::ServiceError;
use crate::files::{hold_locally, Place};

/// PocketBase's words for a requested name in use.
const NAME_TAKEN: &str = "The backup file name is invalid or already exists.";

/// Who asked for the backup.
pub enum CreatedBy {
    /// `POST /api/backups` or the CLI.
    Request,
    /// The backup schedule: `completion` is the job's completion mark, written in the same
    /// batch as the catalog entry (and rejecting it when the claim was lost).
    Schedule { completion: Command },
}

/// Check a requested name as PocketBase does (format, then uniqueness).
pub fn check_requested(app: &App, name: &str) -> Result<(), ServiceError> {
    if let Err((code, message)) = names::check_name(name) {
        let params = (code == ValidationCode::LengthOutOfRange)
            .then(|| serde_json::json!({"max": names::NAME_CHARS_MAX, "min": 1}));
        return Err(field_refused("name", code, message, params));
    }
    if catalog::read(app)?.find(name).is_some() {
        return Err(field_refused(
            "name",
            ValidationCode::BackupNameExists,
            NAME_TAKEN,
            None,
        ));
    }
    Ok(())
}

/// Make a backup named `name` (generated when None); its catalog entry.
pub async fn create(
    app: &App,
    name: Option<String>,
    by: CreatedBy,
) -> Result<CatalogEntry, ServiceError> {
    let name = match name {
        Some(name) => name,
        None => names::generated_name(
            MANUAL_PREFIX,
            &app.settings()?.meta.app_name,
            chrono::Utc::now(),
        ),
    };
    let _active = app.backups().begin(&name)?;
    let includes_index = app.consensus().linearizable_barrier().await?;
    let scratch = app.backups().scratch()?;
    let snapshot_path = scratch.path().join("state.snapshot");
    let state = app.state().clone();
    let snapshot_at = snapshot_path.clone();
    let (stats, blobs) = tokio::task::spawn_blocking(move || state.backup_snapshot(&snapshot_at))
        .await
        .map_err(|error| ServiceError::internal_from("snapshot the state", error))??;
    tracing::info!(
        backup = %name,
        includes_index,
        state_bytes = stats.bytes,
        blobs = blobs.len(),
        "backup: state read"
    );
    let mut blob_paths = Vec::with_capacity(blobs.len());
    for raw in blobs {
        let blob = BlobId::from_digest(raw);
        // A blob kept only in the S3 bucket is copied here too (a backup is whole); the
        // bucket place asks the members as well.
        if !hold_locally(app, blob, Place::Bucket).await? {
            return Err(ServiceError::unavailable(format!(
                "Failed to create backup: no reachable node holds the file blob {blob}."
            )));
        }
        blob_paths.push((blob, app.consensus().blobs().path_of(&blob)));
    }
    let archive_path = scratch.path().join("backup.zip");
    let archive_at = archive_path.clone();
    let created = edgebase_model::time::now_string();
    let manifest_created = created.clone();
    let size = tokio::task::spawn_blocking(move || {
        write_archive(
            &archive_at,
            &snapshot_path,
            &blob_paths,
            includes_index,
            manifest_created,
        )
    })
    .await
    .map_err(|error| ServiceError::internal_from("write the backup archive", error))??;
    let stored = store_as_blob(app, &archive_path).await?;
    let store = super::keep::keep(app, &name, &stored).await?;
    let entry = CatalogEntry {
        key: name.clone(),
        size,
        modified: created,
        blob: stored.id.to_hex(),
        store,
    };
    let completion = match &by {
        CreatedBy::Request => None,
        CreatedBy::Schedule { completion } => Some(completion),
    };
    let naming = catalog::Naming {
        field: "name",
        taken: NAME_TAKEN,
    };
    catalog::add(app, &entry, completion, naming).await?;
    tracing::info!(backup = %name, size_bytes = size, "backup created");
    Ok(entry)
}

fn write_archive(
    archive: &Path,
    snapshot: &Path,
    blobs: &[(BlobId, std::path::PathBuf)],
    includes_index: u64,
    created: String,
) -> Result<u64, ServiceError> {
    let failed = |error| ServiceError::internal_from("write the backup archive", error);
    let mut writer = ArchiveWriter::create(archive).map_err(failed)?;
    let (state_bytes, state_sha256) = writer.add_state(snapshot, &|_| {}).map_err(failed)?;
    for (blob, path) in blobs {
        writer.add_blob(blob, path, &|_| {}).map_err(failed)?;
    }
    let manifest = Manifest {
        format: FORMAT,
        edgebase_version: env!("CARGO_PKG_VERSION").to_owned(),
        created,
        applied_index: includes_index,
        state_bytes,
        state_sha256,
        blobs: writer.blobs(),
    };
    writer.finish(&manifest).map_err(failed)
}

/// Copy the archive into the blob store (hashed as it goes).
pub(super) async fn store_as_blob(app: &App, path: &Path) -> Result<StoredBlob, ServiceError> {
    let failed = |error| ServiceError::internal_from("store the backup archive", error);
    let mut writer = app
        .consensus()
        .blobs()
        .writer(BLOB_BYTES_MAX)
        .await
        .map_err(failed)?;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|error| ServiceError::internal_from("open the backup archive", error))?;
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        let read = file
            .read(&mut buffer)
            .await
            .map_err(|error| ServiceError::internal_from("read the backup archive", error))?;
        if read == 0 {
            break;
        }
        writer.write(&buffer[..read]).await.map_err(failed)?;
    }
    writer.finish().await.map_err(failed)
}
