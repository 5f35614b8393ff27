//! Backups, as PocketBase's API offers them, of a replicated cluster: a backup is the
//! replicated state at one point at least as new as the request (past a read barrier, so
//! every write acknowledged before it began is in it, and no partial write is: an entry
//! applies whole), plus every file blob that state refers to, in one zip archive
//! (`archive.rs`). Writes go on while it is taken: the state is read from a RocksDB
//! snapshot. The archive is kept as a blob held by a majority of voters, or in the S3
//! bucket `backups.s3` names (`keep.rs`), and named in the replicated catalog
//! (`catalog.rs`), so any node lists, serves and deletes it.
//!
//! One backup or upload at a time per node, as in PocketBase.

pub mod archive;
pub mod catalog;
mod create;
mod keep;
mod names;
mod restore;
pub mod seed;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use edgebase_blobs::StoredBlob;
use edgebase_model::validation::{field_error, FieldErrors, ValidationCode};
use serde::Serialize;

use crate::app::App;
use crate::error::ServiceError;
use crate::system_settings::{self, Change};

pub use self::catalog::{ArchiveStore, Catalog, CatalogEntry, BACKUPS_MAX, CATALOG_KEY};
pub use self::create::{check_requested, create, CreatedBy};
pub use self::keep::hold;
pub use self::names::{auto_name, check_name, AUTO_PREFIX};
pub use self::restore::restore;

/// PocketBase's words for an uploaded file's name in use.
const UPLOAD_NAME_TAKEN: &str = "Backup file with the specified name already exists.";

const BUSY: &str = "Try again later - another backup/restore process has already been started";

/// A backup as `GET /api/backups` lists it (PocketBase's field order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    pub modified: String,
    pub key: String,
    pub size: u64,
}

/// This node's backup work: which operation runs, and where its temporary files go.
pub struct Backups {
    active: Mutex<Option<String>>,
    work_dir: PathBuf,
}

/// Held while a backup or upload runs; clears the node's active operation when dropped.
pub struct ActiveBackup<'a> {
    backups: &'a Backups,
}

impl Drop for ActiveBackup<'_> {
    fn drop(&mut self) {
        *self
            .backups
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}

impl Backups {
    /// Temporary files go under `BLOBS_DIR/backups-work`, on the blobs' file system so an
    /// archive is copied in without crossing devices (what a crash left there is removed
    /// now).
    pub fn new(blobs_dir: &Path) -> Backups {
        let work_dir = blobs_dir.join("backups-work");
        if work_dir.exists() {
            if let Err(error) = std::fs::remove_dir_all(&work_dir) {
                tracing::warn!(%error, dir = %work_dir.display(), "remove old backup work files");
            }
        }
        Backups {
            active: Mutex::new(None),
            work_dir,
        }
    }

    /// Mark `name` as this node's running operation, or refuse while another runs.
    pub fn begin(&self, name: &str) -> Result<ActiveBackup<'_>, ServiceError> {
        let mut active = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if active.is_some() {
            return Err(ServiceError::bad_request(BUSY));
        }
        *active = Some(name.to_owned());
        Ok(ActiveBackup { backups: self })
    }

    /// The key of the backup being made or uploaded here, if any.
    pub fn active(&self) -> Option<String> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A fresh directory for one operation's temporary files, removed when dropped.
    pub fn scratch(&self) -> Result<tempfile::TempDir, ServiceError> {
        std::fs::create_dir_all(&self.work_dir)
            .map_err(|error| ServiceError::internal_from("create the backup work dir", error))?;
        tempfile::Builder::new()
            .prefix("op-")
            .tempdir_in(&self.work_dir)
            .map_err(|error| ServiceError::internal_from("create a backup work dir", error))
    }
}

/// Every backup, sorted by key (as PocketBase's file listing is).
pub fn list(app: &App) -> Result<Vec<BackupInfo>, ServiceError> {
    let mut backups: Vec<BackupInfo> = catalog::read(app)?
        .backups
        .into_iter()
        .map(|entry| BackupInfo {
            modified: entry.modified,
            key: entry.key,
            size: entry.size,
        })
        .collect();
    backups.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(backups)
}

/// The backup named `key`, if the catalog has it.
pub fn find(app: &App, key: &str) -> Result<Option<CatalogEntry>, ServiceError> {
    Ok(catalog::read(app)?.find(key).cloned())
}

/// Remove `key` from the catalog; its blob goes once no node needs it (the blob keeper's
/// grace period), or from the S3 bucket at once. Refused for the backup this node is
/// making.
pub async fn delete(app: &App, key: &str) -> Result<(), ServiceError> {
    if app.backups().active().as_deref() == Some(key) {
        return Err(ServiceError::bad_request(
            "The backup is currently being used and cannot be deleted.",
        ));
    }
    let removed = system_settings::update(app, CATALOG_KEY, |catalog: &mut Catalog| {
        let Some(at) = catalog.backups.iter().position(|entry| entry.key == key) else {
            return Ok(Change::Keep(None));
        };
        Ok(Change::Write(Some(catalog.backups.remove(at))))
    })
    .await?;
    let Some(removed) = removed else {
        return Err(ServiceError::bad_request(
            "Invalid or already deleted backup file.",
        ));
    };
    keep::discard(app, &removed).await;
    tracing::info!(key, "backup deleted");
    Ok(())
}

/// PocketBase's 400 for one form field's problem.
pub(crate) fn field_refused(
    field: &str,
    code: ValidationCode,
    message: impl Into<String>,
    params: Option<serde_json::Value>,
) -> ServiceError {
    let mut data = FieldErrors::new();
    data.insert(field.into(), field_error(code, message, params));
    ServiceError::validation(
        "An error occurred while validating the submitted data.",
        data,
    )
}

/// Take an uploaded archive (already a blob on this node) into the catalog under
/// `original_name`: it must be a zip, an EdgeBase backup this build can restore, and its
/// name must be free. The blob is replicated to a majority first.
pub async fn upload(
    app: &App,
    original_name: &str,
    stored: StoredBlob,
) -> Result<(), ServiceError> {
    let _active = app.backups().begin(original_name)?;
    let path = app.consensus().blobs().path_of(&stored.id);
    let head = read_head(&path)?;
    if !archive::looks_like_zip(&head) {
        return Err(field_refused(
            "file",
            ValidationCode::InvalidMimeType,
            format!("\"{original_name}\" mime type must be one of: application/zip."),
            None,
        ));
    }
    if let Err(reason) = names::check_upload_name(original_name) {
        return Err(field_refused(
            "file",
            ValidationCode::InvalidFileName,
            reason,
            None,
        ));
    }
    let opened = tokio::task::spawn_blocking(move || archive::ArchiveReader::open(&path)?.verify())
        .await
        .map_err(|error| ServiceError::internal_from("check an uploaded backup", error))?;
    if let Err(error) = opened {
        return Err(field_refused(
            "file",
            ValidationCode::InvalidBackup,
            format!("The file is not a backup this node can restore: {error}."),
            None,
        ));
    }
    if find(app, original_name)?.is_some() {
        return Err(field_refused(
            "file",
            ValidationCode::BackupNameExists,
            UPLOAD_NAME_TAKEN,
            None,
        ));
    }
    let store = keep::keep(app, original_name, &stored).await?;
    let entry = CatalogEntry {
        key: original_name.to_owned(),
        size: stored.size_bytes,
        modified: edgebase_model::time::now_string(),
        blob: stored.id.to_hex(),
        store,
    };
    let naming = catalog::Naming {
        field: "file",
        taken: UPLOAD_NAME_TAKEN,
    };
    catalog::add(app, &entry, None, naming).await?;
    tracing::info!(
        key = original_name,
        size_bytes = stored.size_bytes,
        "backup uploaded"
    );
    Ok(())
}

/// The first bytes of a file (enough to tell a zip).
fn read_head(path: &Path) -> Result<Vec<u8>, ServiceError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4);
    std::fs::File::open(path)
        .and_then(|file| file.take(4).read_to_end(&mut head))
        .map_err(|error| ServiceError::internal_from("read an uploaded backup", error))?;
    Ok(head)
}

/// PocketBase's `canBackup` in the health answer: no backup or upload runs on this node.
pub fn can_backup(app: &App) -> bool {
    app.backups().active().is_none()
}
