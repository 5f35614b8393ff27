//! The snapshot directory: the current snapshot file and its persisted meta, files being
//! received, and unique snapshot ids.
//!
//! Layout: `{id}.snap` (the current snapshot), `current.meta` (its `SnapshotMeta` and file
//! name, replaced by write-temp-then-rename), `*.tmp` (snapshots being built or received;
//! removed on start).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::StorageAdapterError;
use crate::type_config::{LogId, SnapshotMeta};

const META_FILE: &str = "current.meta";
const SNAPSHOT_EXTENSION: &str = "snap";
const TEMP_EXTENSION: &str = "tmp";
/// At most this many received files wait for install; older ones are removed.
const RECEIVING_FILES_MAX: usize = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MetaFile {
    meta: SnapshotMeta,
    file_name: String,
}

/// The snapshot directory of one state machine.
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
    counter: AtomicU64,
    current: Mutex<Option<MetaFile>>,
    /// Files handed out by `begin_receiving`, with their (device, inode) to recognise them.
    receiving: Mutex<Vec<(PathBuf, u64, u64)>>,
}

impl SnapshotFiles {
    /// Load the current snapshot's meta and remove leftovers of interrupted builds.
    pub(crate) fn open(dir: PathBuf) -> Result<Self, StorageAdapterError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| StorageAdapterError::io("create snapshot dir", &dir, e))?;
        let meta_path = dir.join(META_FILE);
        let mut current = match std::fs::read(&meta_path) {
            Ok(bytes) => Some(decode::<MetaFile>(&bytes, "snapshot meta file")?),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(StorageAdapterError::io("read", &meta_path, error)),
        };
        if let Some(meta) = &current {
            if !dir.join(&meta.file_name).exists() {
                tracing::warn!(file = %meta.file_name, "current snapshot file is missing");
                current = None;
            }
        }
        let counter = current
            .as_ref()
            .and_then(|meta| {
                meta.meta
                    .snapshot_id
                    .rsplit('-')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |last| last + 1);
        let files = SnapshotFiles {
            dir,
            counter: AtomicU64::new(counter),
            current: Mutex::new(current.clone()),
            receiving: Mutex::new(Vec::new()),
        };
        let keep = current.map(|meta| meta.file_name);
        files.remove_files_except(keep.as_deref(), true)?;
        Ok(files)
    }

    /// A new unique id: `{term}-{index}-{counter}`.
    pub(crate) fn next_id(&self, last_log_id: Option<&LogId>) -> String {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        match last_log_id {
            Some(log_id) => format!("{}-{}-{counter}", log_id.leader_id.term, log_id.index),
            None => format!("0-0-{counter}"),
        }
    }

    /// A fresh path for a snapshot being built.
    pub(crate) fn temp_path(&self) -> PathBuf {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("build-{counter}.{TEMP_EXTENSION}"))
    }

    /// A new empty file for a snapshot being received, remembered so `take_received` can
    /// install it in place.
    pub(crate) fn begin_receiving(&self) -> Result<File, StorageAdapterError> {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("receive-{counter}.{TEMP_EXTENSION}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StorageAdapterError::io("create", &path, e))?;
        let metadata = file
            .metadata()
            .map_err(|e| StorageAdapterError::io("stat", &path, e))?;
        let mut receiving = self
            .receiving
            .lock()
            .map_err(|_| StorageAdapterError::Poisoned("receiving snapshots"))?;
        receiving.push((path, metadata.dev(), metadata.ino()));
        while receiving.len() > RECEIVING_FILES_MAX {
            let (old, _, _) = receiving.remove(0);
            remove_quietly(&old);
        }
        Ok(file)
    }

    /// A synced file on disk holding the snapshot `file` reads: the received file itself when
    /// `file` is one `begin_receiving` handed out, else a streamed copy.
    pub(crate) fn take_received(&self, mut file: File) -> Result<PathBuf, StorageAdapterError> {
        let metadata = file
            .metadata()
            .map_err(|e| StorageAdapterError::io("stat", &self.dir, e))?;
        let known = {
            let mut receiving = self
                .receiving
                .lock()
                .map_err(|_| StorageAdapterError::Poisoned("receiving snapshots"))?;
            let position = receiving
                .iter()
                .position(|(_, dev, ino)| *dev == metadata.dev() && *ino == metadata.ino());
            position.map(|position| receiving.remove(position).0)
        };
        if let Some(path) = known {
            file.sync_all()
                .map_err(|e| StorageAdapterError::io("sync", &path, e))?;
            return Ok(path);
        }
        let path = self.temp_path();
        let mut copy = || -> std::io::Result<()> {
            file.seek(SeekFrom::Start(0))?;
            let mut out = File::create(&path)?;
            std::io::copy(&mut file, &mut out)?;
            out.flush()?;
            out.sync_all()
        };
        copy().map_err(|e| StorageAdapterError::io("copy snapshot to", &path, e))?;
        Ok(path)
    }

    /// Make the snapshot at `built` (a temp file) current unless a newer one already is, and
    /// return it open for reading. A snapshot older than the current one is handed out once:
    /// its file is removed from the directory as soon as it is open.
    pub(crate) fn publish(
        &self,
        meta: &SnapshotMeta,
        built: &Path,
    ) -> Result<File, StorageAdapterError> {
        let mut current = self
            .current
            .lock()
            .map_err(|_| StorageAdapterError::Poisoned("current snapshot"))?;
        if let Some(existing) = current.as_ref() {
            if existing.meta.last_log_id > meta.last_log_id {
                let file =
                    File::open(built).map_err(|e| StorageAdapterError::io("open", built, e))?;
                remove_quietly(built);
                return Ok(file);
            }
        }
        let file_name = format!("{}.{SNAPSHOT_EXTENSION}", meta.snapshot_id);
        let path = self.dir.join(&file_name);
        std::fs::rename(built, &path)
            .map_err(|e| StorageAdapterError::io("rename to", &path, e))?;
        let record = MetaFile {
            meta: meta.clone(),
            file_name: file_name.clone(),
        };
        let meta_temp = self.dir.join(format!("{META_FILE}.{TEMP_EXTENSION}"));
        let write_meta = || -> std::io::Result<()> {
            let mut file = File::create(&meta_temp)?;
            file.write_all(&encode(&record, "snapshot meta file").map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            std::fs::rename(&meta_temp, self.dir.join(META_FILE))?;
            File::open(&self.dir)?.sync_all()
        };
        write_meta()
            .map_err(|e| StorageAdapterError::io("write snapshot meta in", &self.dir, e))?;
        let file = File::open(&path).map_err(|e| StorageAdapterError::io("open", &path, e))?;
        *current = Some(record);
        drop(current);
        self.remove_files_except(Some(&file_name), false)?;
        Ok(file)
    }

    /// The current snapshot's meta and its file, opened for reading. Opened under the lock,
    /// so a concurrent publish cannot remove the file in between.
    pub(crate) fn current(&self) -> Result<Option<(SnapshotMeta, File)>, StorageAdapterError> {
        let current = self
            .current
            .lock()
            .map_err(|_| StorageAdapterError::Poisoned("current snapshot"))?;
        let Some(record) = current.as_ref() else {
            return Ok(None);
        };
        let path = self.dir.join(&record.file_name);
        let file = File::open(&path).map_err(|e| StorageAdapterError::io("open", &path, e))?;
        Ok(Some((record.meta.clone(), file)))
    }

    /// Remove snapshot files other than `keep`, and temp files too when `temps`.
    fn remove_files_except(
        &self,
        keep: Option<&str>,
        temps: bool,
    ) -> Result<(), StorageAdapterError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| StorageAdapterError::io("list", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StorageAdapterError::io("list", &self.dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let extension = path.extension().and_then(|e| e.to_str());
            let stale = match extension {
                Some(SNAPSHOT_EXTENSION) => keep != Some(name.as_ref()),
                Some(TEMP_EXTENSION) => temps,
                _ => false,
            };
            if stale {
                remove_quietly(&path);
            }
        }
        Ok(())
    }
}

fn remove_quietly(path: &Path) {
    if let Err(error) = std::fs::remove_file(path) {
        if error.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), %error, "remove old snapshot file");
        }
    }
}
