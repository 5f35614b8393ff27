//! A hooks bundle deployed to the whole cluster (`edgebase hooks deploy`): the bundle's
//! encoded files kept as a blob held by a majority of voters, named in the replicated
//! document `edgebase.hooks`. Every node watches the document and swaps the named bundle in
//! when it changes; while one is deployed it replaces the nodes' own `pb_hooks` folders.
//! Withdrawing it puts each node back on its folder.

use edgebase_blobs::BlobId;
use edgebase_consensus::BLOB_BYTES_MAX;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServiceError;
use crate::files::{hold_locally, Place};
use crate::system_settings::{self, Change};

pub const HOOKS_KEY: &str = "edgebase.hooks";

/// The deployed bundle, as the replicated document names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedBundle {
    /// The bundle's own hash (over its files' names and contents).
    pub hash: String,
    /// The blob holding the encoded bundle (its SHA-256, hex).
    pub blob: String,
    pub files: usize,
    pub bytes: u64,
    /// When it was deployed (PocketBase's date-time text, UTC).
    pub deployed: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct HooksDocument {
    #[serde(default)]
    bundle: Option<DeployedBundle>,
}

/// The bundle deployed as this node has applied it, if any.
pub fn deployed(app: &App) -> Result<Option<DeployedBundle>, ServiceError> {
    Ok(system_settings::read::<HooksDocument>(app, HOOKS_KEY)?
        .value
        .bundle)
}

/// The blob the members keep for the deployed bundle.
pub fn kept_blob(app: &App) -> Result<Option<BlobId>, ServiceError> {
    deployed(app)?.map(|bundle| blob_id(&bundle)).transpose()
}

/// Deploy the bundle whose encoding is `encoded` (hash `hash`, `files` files): the blob is
/// held by a majority before the document names it, so every node can fetch it.
pub async fn deploy(
    app: &App,
    encoded: &[u8],
    hash: String,
    files: usize,
) -> Result<DeployedBundle, ServiceError> {
    let failed = |error| ServiceError::internal_from("store the hooks bundle", error);
    let mut writer = app
        .consensus()
        .blobs()
        .writer(BLOB_BYTES_MAX)
        .await
        .map_err(failed)?;
    writer.write(encoded).await.map_err(failed)?;
    let stored = writer.finish().await.map_err(failed)?;
    app.consensus().replicate_blob(stored.id).await?;
    let bundle = DeployedBundle {
        hash,
        blob: stored.id.to_hex(),
        files,
        bytes: stored.size_bytes,
        deployed: edgebase_model::time::now_string(),
    };
    let written = bundle.clone();
    system_settings::update(app, HOOKS_KEY, move |document: &mut HooksDocument| {
        document.bundle = Some(written.clone());
        Ok(Change::Write(()))
    })
    .await?;
    tracing::info!(hash = %bundle.hash, files, "hooks bundle deployed");
    Ok(bundle)
}

/// Withdraw the deployed bundle (every node goes back to its own folder); whether one was
/// deployed.
pub async fn withdraw(app: &App) -> Result<bool, ServiceError> {
    let withdrawn = system_settings::update(app, HOOKS_KEY, |document: &mut HooksDocument| {
        Ok(match document.bundle.take() {
            Some(_) => Change::Write(true),
            None => Change::Keep(false),
        })
    })
    .await?;
    if withdrawn {
        tracing::info!("hooks bundle withdrawn");
    }
    Ok(withdrawn)
}

/// The encoded bundle `bundle` names, copied from a member when this node lacks it.
pub async fn fetch(app: &App, bundle: &DeployedBundle) -> Result<Vec<u8>, ServiceError> {
    let blob = blob_id(bundle)?;
    if !hold_locally(app, blob, Place::Members).await? {
        return Err(ServiceError::unavailable(
            "No reachable node holds the deployed hooks bundle right now.",
        ));
    }
    tokio::fs::read(app.consensus().blobs().path_of(&blob))
        .await
        .map_err(|error| ServiceError::internal_from("read the hooks bundle", error))
}

fn blob_id(bundle: &DeployedBundle) -> Result<BlobId, ServiceError> {
    bundle
        .blob
        .parse()
        .map_err(|_| ServiceError::internal("the hooks document names a malformed blob"))
}
