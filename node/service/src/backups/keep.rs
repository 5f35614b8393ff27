//! Where an archive is kept once made or uploaded, and getting it back: pushed to a
//! majority of voters, or, when `backups.s3` is on, uploaded to that bucket under the
//! backup's key (in parts, from the local copy, never whole in memory). A node that needs
//! an archive it lacks copies it from a member or from the bucket, checked against the
//! catalog's hash either way; a copy taken from the bucket is not kept past the blob
//! keeper's grace period.

use edgebase_blobs::{BlobId, StoredBlob};

use super::catalog::{ArchiveStore, CatalogEntry};
use crate::app::App;
use crate::error::ServiceError;
use crate::files::{hold_locally, Place};

/// Keep the archive stored on this node as `stored` for the backup `key`; where it went.
pub(super) async fn keep(
    app: &App,
    key: &str,
    stored: &StoredBlob,
) -> Result<ArchiveStore, ServiceError> {
    let Some(bucket) = app.backups_bucket()? else {
        app.consensus().replicate_blob(stored.id).await?;
        return Ok(ArchiveStore::Members);
    };
    bucket
        .put_named(app.consensus().blobs(), stored.id, key)
        .await
        .map_err(|error| {
            tracing::warn!(key, %error, "upload a backup to the S3 bucket");
            ServiceError::unavailable(format!(
                "The backup could not be uploaded to the S3 bucket: {error}."
            ))
        })?;
    tracing::info!(key, bucket = bucket.name(), "backup kept in the S3 bucket");
    Ok(ArchiveStore::S3)
}

/// Make sure this node holds the archive of `entry` (copied from a member or the bucket if
/// not).
pub async fn hold(app: &App, entry: &CatalogEntry) -> Result<BlobId, ServiceError> {
    let blob = entry.blob_id()?;
    match entry.store {
        ArchiveStore::Members => {
            if !hold_locally(app, blob, Place::Members).await? {
                return Err(ServiceError::unavailable(
                    "No reachable node holds this backup right now; try again.",
                ));
            }
        }
        ArchiveStore::S3 => fetch_from_bucket(app, entry, blob).await?,
    }
    Ok(blob)
}

async fn fetch_from_bucket(
    app: &App,
    entry: &CatalogEntry,
    blob: BlobId,
) -> Result<(), ServiceError> {
    let blobs = app.consensus().blobs();
    let local = |error| ServiceError::internal_from("read a backup", error);
    if blobs.size_of(&blob).await.map_err(local)?.is_some() {
        return Ok(());
    }
    let Some(bucket) = app.backups_bucket()? else {
        return Err(ServiceError::unavailable(
            "This backup is kept in an S3 bucket, but backups.s3 is off; turn it on again to reach it.",
        ));
    };
    let writer = blobs
        .writer_expecting(blob, edgebase_consensus::BLOB_BYTES_MAX)
        .await
        .map_err(local)?;
    match bucket.fetch_named_into(&entry.key, writer).await {
        Ok(Some(stored)) => {
            tracing::debug!(key = %entry.key, size_bytes = stored.size_bytes, "copied a backup from the S3 bucket");
            Ok(())
        }
        Ok(None) => Err(ServiceError::unavailable(
            "The S3 bucket no longer holds this backup.",
        )),
        Err(error) => {
            tracing::warn!(key = %entry.key, %error, "copy a backup from the S3 bucket");
            Err(ServiceError::unavailable(format!(
                "The backup could not be read from the S3 bucket: {error}."
            )))
        }
    }
}

/// After `entry` left the catalog: remove its archive from the bucket when it was kept
/// there (a blob kept by the members goes with the blob keeper's next sweep).
pub(super) async fn discard(app: &App, entry: &CatalogEntry) {
    if entry.store != ArchiveStore::S3 {
        return;
    }
    let removed = match app.backups_bucket() {
        Ok(Some(bucket)) => bucket
            .remove_named(&entry.key)
            .await
            .map_err(|error| error.to_string()),
        Ok(None) => Err("backups.s3 is off".to_owned()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = removed {
        tracing::warn!(key = %entry.key, %error, "remove a deleted backup from the S3 bucket; it stays there");
    }
}
