//! Files on the write and read paths. Before a write that names new files is proposed,
//! their blobs must be held durably where the write says: by a majority of voters, or (with
//! S3 storage on, the entry saying `"store": "s3"`) by the bucket, so no node that applies
//! the write can be left with a reference nobody can serve. A node that lacks a blob it
//! must serve copies it from the bucket or a member first.

use std::collections::BTreeMap;

use edgebase_blobs::BlobId;
use edgebase_model::fields::file::{Uploads, BUCKET_STORE, FILES_KEY};
use serde_json::Value;

use crate::app::App;
use crate::error::ServiceError;
use crate::record_writes::Planned;

/// Where an entry of `@files` keeps its blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Members,
    Bucket,
}

/// The place an `@files` entry names.
pub fn place_of(entry: &Value) -> Place {
    match entry.get("store").and_then(Value::as_str) {
        Some(BUCKET_STORE) => Place::Bucket,
        _ => Place::Members,
    }
}

/// Store every uploaded blob the planned write names where its entry says: push it to a
/// majority of voters (a peer that holds it already is not sent it again), or upload it to
/// the bucket.
pub async fn replicate_uploads(
    app: &App,
    planned: &Planned,
    uploads: &Uploads,
) -> Result<(), ServiceError> {
    if uploads.is_empty() {
        return Ok(());
    }
    let mut named: BTreeMap<&str, Place> = BTreeMap::new();
    for entry in planned
        .effects
        .iter()
        .filter_map(|effect| effect.doc.as_ref()?.get(FILES_KEY)?.as_object())
        .flat_map(|files| files.values())
    {
        if let Some(blob) = entry.get("blob").and_then(Value::as_str) {
            named.insert(blob, place_of(entry));
        }
    }
    let mut blobs: BTreeMap<BlobId, Place> = BTreeMap::new();
    for upload in uploads.values().flatten() {
        if let (Some(place), Ok(blob)) = (named.get(upload.blob.as_str()), upload.blob.parse()) {
            blobs.insert(blob, *place);
        }
    }
    for (blob, place) in blobs {
        match place {
            Place::Members => {
                let replication = app.consensus().replicate_blob(blob).await?;
                tracing::debug!(%blob, holders = ?replication.holders, "upload held by a majority");
            }
            Place::Bucket => {
                let bucket = app.bucket()?.ok_or_else(|| {
                    ServiceError::unavailable(
                        "S3 storage was turned off while the file was uploaded; try again.",
                    )
                })?;
                bucket
                    .put_blob(app.consensus().blobs(), blob)
                    .await
                    .map_err(|error| {
                        tracing::warn!(%blob, %error, "upload to the S3 bucket failed");
                        ServiceError::unavailable("Failed to upload the file to S3 storage.")
                    })?;
                tracing::debug!(%blob, "upload held by the S3 bucket");
            }
        }
    }
    Ok(())
}

/// Make sure this node holds `blob` (kept at `place`), copying it from the bucket or from
/// a member that holds it; whether it is held now.
pub async fn hold_locally(app: &App, blob: BlobId, place: Place) -> Result<bool, ServiceError> {
    let blobs = app.consensus().blobs();
    let held = |error| ServiceError::internal_from("read a blob", error);
    if blobs.size_of(&blob).await.map_err(held)?.is_some() {
        return Ok(true);
    }
    if place == Place::Bucket {
        if let Some(bucket) = app.bucket()? {
            let writer = blobs
                .writer_expecting(blob, edgebase_consensus::BLOB_BYTES_MAX)
                .await
                .map_err(held)?;
            match bucket.fetch_into(&blob, writer).await {
                Ok(Some(stored)) => {
                    tracing::debug!(%blob, size_bytes = stored.size_bytes, "copied a blob from the S3 bucket");
                    return Ok(true);
                }
                Ok(None) => tracing::warn!(%blob, "the S3 bucket lacks a referenced blob"),
                Err(error) => tracing::warn!(%blob, %error, "copy a blob from the S3 bucket"),
            }
        }
    }
    // A member may still hold it (the uploading node until its copy ages out).
    Ok(app.consensus().fetch_blob(blob).await?.is_some())
}
