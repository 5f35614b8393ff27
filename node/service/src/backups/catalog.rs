//! The replicated list of backups (`edgebase.backups`): each backup's key (file name),
//! size, time and the blob that holds its archive. Replicated, so every node lists the
//! same backups and can serve any of them (a node lacking the blob copies it from a
//! member); a blob named here is kept by every node's blob keeper like a record's file.

use edgebase_blobs::BlobId;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServiceError;
use crate::system_settings;

pub const CATALOG_KEY: &str = "edgebase.backups";
/// The most backups the catalog holds; creating or uploading one more is refused.
pub const BACKUPS_MAX: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub key: String,
    pub size: u64,
    /// PocketBase's date-time text, UTC.
    pub modified: String,
    /// The archive's blob (its SHA-256, hex).
    pub blob: String,
}

impl CatalogEntry {
    pub fn blob_id(&self) -> Result<BlobId, ServiceError> {
        self.blob
            .parse()
            .map_err(|_| ServiceError::internal("a backup entry names a malformed blob"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub backups: Vec<CatalogEntry>,
}

impl Catalog {
    pub fn find(&self, key: &str) -> Option<&CatalogEntry> {
        self.backups.iter().find(|entry| entry.key == key)
    }
}

/// The catalog as this node has applied it.
pub fn read(app: &App) -> Result<Catalog, ServiceError> {
    Ok(system_settings::read::<Catalog>(app, CATALOG_KEY)?.value)
}

/// Every blob a backup keeps, as ids.
pub fn blobs(app: &App) -> Result<Vec<BlobId>, ServiceError> {
    read(app)?
        .backups
        .iter()
        .map(CatalogEntry::blob_id)
        .collect()
}
