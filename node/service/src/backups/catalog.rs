//! The replicated list of backups (`edgebase.backups`): each backup's key (file name),
//! size, time and the blob that holds its archive. Replicated, so every node lists the
//! same backups and can serve any of them (a node lacking the blob copies it from a
//! member or from the S3 bucket); a blob named here and kept by the members is kept by
//! every node's blob keeper like a record's file.

use edgebase_blobs::BlobId;
use edgebase_model::validation::ValidationCode;
use edgebase_storage::{Command, CommandResult, Rejection};
use serde::{Deserialize, Serialize};

use super::field_refused;
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
    /// Where the archive is kept.
    #[serde(default, skip_serializing_if = "ArchiveStore::is_members")]
    pub store: ArchiveStore,
}

/// Where a backup's archive is kept: as a blob held by a majority of voters, or in the S3
/// bucket `backups.s3` named when it was made (under its key, as PocketBase keeps backups).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveStore {
    #[default]
    Members,
    S3,
}

impl ArchiveStore {
    fn is_members(&self) -> bool {
        *self == ArchiveStore::Members
    }
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

/// Every blob the members keep for a backup (not those kept in the S3 bucket), as ids.
pub fn blobs(app: &App) -> Result<Vec<BlobId>, ServiceError> {
    read(app)?
        .backups
        .iter()
        .filter(|entry| entry.store == ArchiveStore::Members)
        .map(CatalogEntry::blob_id)
        .collect()
}

/// The form field a new entry's key came from, and PocketBase's words when it is taken.
pub(super) struct Naming<'a> {
    pub field: &'a str,
    pub taken: &'a str,
}

/// Add `entry` at the catalog version read, in one batch with `completion` when given (a
/// scheduled backup's done mark, which rejects the whole batch if its run was taken over);
/// read again past a barrier on a concurrent catalog change.
pub(super) async fn add(
    app: &App,
    entry: &CatalogEntry,
    completion: Option<&Command>,
    naming: Naming<'_>,
) -> Result<(), ServiceError> {
    let attempts = app.limits().write_attempts_max.max(1);
    for _ in 0..attempts {
        let read = system_settings::read::<Catalog>(app, CATALOG_KEY)?;
        let mut catalog = read.value;
        if catalog.find(&entry.key).is_some() {
            return Err(field_refused(
                naming.field,
                ValidationCode::BackupNameExists,
                naming.taken,
                None,
            ));
        }
        if catalog.backups.len() >= BACKUPS_MAX {
            return Err(field_refused(
                naming.field,
                ValidationCode::TooManyBackups,
                format!("There are {BACKUPS_MAX} backups already; delete some first."),
                None,
            ));
        }
        catalog.backups.push(entry.clone());
        let put = system_settings::write_command(CATALOG_KEY, &catalog, read.expect)?;
        let command = match completion {
            None => put,
            Some(completion) => Command::Batch(vec![put, completion.clone()]),
        };
        match app.propose(command).await?.result {
            CommandResult::Applied { .. } => return Ok(()),
            // The catalog changed meanwhile (alone, or first in the batch): read it again.
            CommandResult::Rejected(
                Rejection::SettingVersionMismatch { .. } | Rejection::InBatch { position: 0, .. },
            ) => {}
            CommandResult::Rejected(Rejection::InBatch { .. }) => {
                return Err(ServiceError::bad_request(
                    "The scheduled backup's run was taken over by another node.",
                ))
            }
            CommandResult::Rejected(other) => {
                tracing::error!(rejection = ?other, "add a backup to the catalog");
                return Err(ServiceError::internal("add a backup to the catalog"));
            }
        }
        app.consensus().linearizable_barrier().await?;
    }
    Err(ServiceError::unavailable(
        "The backup catalog is changing too often; try again.",
    ))
}
