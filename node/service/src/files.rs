//! Files on the write path: before a write that names new files is proposed, their blobs
//! must be held durably by a majority of voters, so no node that applies the write can be
//! left with a reference nobody can serve.

use std::collections::BTreeSet;

use edgebase_blobs::BlobId;
use edgebase_model::fields::file::{Uploads, FILES_KEY};

use crate::app::App;
use crate::error::ServiceError;
use crate::record_writes::Planned;

/// Push every uploaded blob the planned write names to a majority of voters (a blob a
/// peer already holds is not sent again).
pub async fn replicate_uploads(
    app: &App,
    planned: &Planned,
    uploads: &Uploads,
) -> Result<(), ServiceError> {
    if uploads.is_empty() {
        return Ok(());
    }
    let named: BTreeSet<&str> = planned
        .effects
        .iter()
        .filter_map(|effect| effect.doc.as_ref()?.get(FILES_KEY)?.as_object())
        .flat_map(|files| files.values())
        .filter_map(|entry| entry.get("blob")?.as_str())
        .collect();
    let blobs: BTreeSet<BlobId> = uploads
        .values()
        .flatten()
        .filter(|upload| named.contains(upload.blob.as_str()))
        .filter_map(|upload| upload.blob.parse().ok())
        .collect();
    for blob in blobs {
        let replication = app.consensus().replicate_blob(blob).await?;
        tracing::debug!(%blob, holders = ?replication.holders, "upload held by a majority");
    }
    Ok(())
}
