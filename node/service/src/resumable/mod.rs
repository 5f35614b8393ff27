//! Resumable uploads (the tus 1.0 protocol's state, without its HTTP): an upload for one
//! file field of one record, created with its length, filled by appends at the offset it
//! stands at, and, once whole, turned into a blob that the record takes through the normal
//! replicated write. Its bytes stay on the node that created it, under
//! `DATA_DIR/blobs/resumable/<id>/` (`info.json` and `data`), so an upload cut off mid-way
//! (even by the node restarting) resumes from its offset. Uploads idle past
//! [`UPLOAD_EXPIRY`] are removed; at most [`UPLOADS_MAX`] are in progress per node.

mod append;
mod error;
mod info;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use edgebase_blobs::BlobStore;
use edgebase_model::fields::file::{mime, name, Upload};
use futures::Stream;
use tokio::io::AsyncReadExt;

pub use append::{Checksum, CHECKSUM_ALGORITHMS};
pub use error::ResumableError;
pub use info::{owner_of, UploadInfo};

/// Unfinished uploads one node keeps at once.
pub const UPLOADS_MAX: usize = 1_000;
/// Bytes one request may append (a client sends a large file in several).
pub const REQUEST_BYTES_MAX: u64 = 64 << 20;
/// How long an upload is kept after it was created.
pub const UPLOAD_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

const INFO_FILE: &str = "info.json";
const DATA_FILE: &str = "data";
/// Characters of a random upload id.
const ID_LENGTH: usize = 32;

/// The node's resumable uploads; cheap to clone.
#[derive(Clone)]
pub struct ResumableUploads {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// One writer per upload at a time.
    writing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The right to write to one upload, held for one request.
pub struct Writing {
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

/// An upload as it stands: what it is and how many bytes it holds.
#[derive(Debug, Clone)]
pub struct UploadState {
    pub info: UploadInfo,
    pub offset_bytes: u64,
}

impl UploadState {
    pub fn expires_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.info.created_at_unix_secs) + UPLOAD_EXPIRY
    }

    pub fn is_whole(&self) -> bool {
        self.offset_bytes == self.info.length_bytes
    }
}

impl ResumableUploads {
    pub fn new(dir: PathBuf) -> ResumableUploads {
        ResumableUploads {
            inner: Arc::new(Inner {
                dir,
                writing: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn upload_dir(&self, id: &str) -> Option<PathBuf> {
        let valid = id.len() == ID_LENGTH && id.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| self.inner.dir.join(id))
    }

    /// Start an upload described by `info` (its `id` and creation time are set here).
    pub async fn create(&self, mut info: UploadInfo) -> Result<UploadState, ResumableError> {
        if self.count().await? >= UPLOADS_MAX {
            return Err(ResumableError::TooMany);
        }
        info.id = edgebase_model::ids::new_secret(ID_LENGTH);
        info.created_at_unix_secs = unix_secs(SystemTime::now());
        let dir = self.upload_dir(&info.id).ok_or(ResumableError::NotFound)?;
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(ResumableError::io("create an upload"))?;
        tokio::fs::File::create(dir.join(DATA_FILE))
            .await
            .map_err(ResumableError::io("create an upload"))?;
        write_info(&dir, &info).await?;
        Ok(UploadState {
            info,
            offset_bytes: 0,
        })
    }

    /// The upload `id`, if this node holds it and it has not expired.
    pub async fn get(&self, id: &str) -> Result<UploadState, ResumableError> {
        let dir = self.upload_dir(id).ok_or(ResumableError::NotFound)?;
        let text = match tokio::fs::read(dir.join(INFO_FILE)).await {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(ResumableError::NotFound)
            }
            Err(source) => {
                return Err(ResumableError::Io {
                    action: "read an upload",
                    source,
                })
            }
        };
        let info: UploadInfo =
            serde_json::from_slice(&text).map_err(|error| ResumableError::Io {
                action: "read an upload",
                source: std::io::Error::other(error),
            })?;
        let offset_bytes = match &info.finished_as {
            Some(_) => info.length_bytes,
            None => tokio::fs::metadata(dir.join(DATA_FILE))
                .await
                .map_err(ResumableError::io("read an upload"))?
                .len(),
        };
        let state = UploadState { info, offset_bytes };
        if state.expires_at() <= SystemTime::now() {
            return Err(ResumableError::NotFound);
        }
        Ok(state)
    }

    /// The right to write to `id`; `Busy` while another request holds it.
    pub fn writing(&self, id: &str) -> Result<Writing, ResumableError> {
        let lock = {
            let mut writing = self
                .inner
                .writing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Forget locks nobody holds, so the map stays as small as the uploads in flight.
            writing.retain(|_, lock| Arc::strong_count(lock) > 1);
            writing.entry(id.to_string()).or_default().clone()
        };
        let guard = lock.try_lock_owned().map_err(|_| ResumableError::Busy)?;
        Ok(Writing { _guard: guard })
    }

    /// Append `body` at `offset` (which must be where the upload stands); the new state.
    pub async fn append<S, E>(
        &self,
        _writing: &Writing,
        state: &UploadState,
        offset: u64,
        body: S,
        checksum: Option<&Checksum>,
    ) -> Result<UploadState, ResumableError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        if offset != state.offset_bytes {
            return Err(ResumableError::OffsetMismatch {
                sent: offset,
                offset: state.offset_bytes,
            });
        }
        let dir = self
            .upload_dir(&state.info.id)
            .ok_or(ResumableError::NotFound)?;
        let room = (state.info.length_bytes - offset).min(REQUEST_BYTES_MAX);
        let end = append::append(&dir.join(DATA_FILE), offset, room, body, checksum).await?;
        Ok(UploadState {
            info: state.info.clone(),
            offset_bytes: end,
        })
    }

    /// The whole upload as a new blob in `blobs`, sniffed and named as a multipart upload
    /// of it would be.
    pub async fn to_blob(
        &self,
        _writing: &Writing,
        state: &UploadState,
        blobs: &BlobStore,
    ) -> Result<Upload, ResumableError> {
        let dir = self
            .upload_dir(&state.info.id)
            .ok_or(ResumableError::NotFound)?;
        let mut data = tokio::fs::File::open(dir.join(DATA_FILE))
            .await
            .map_err(ResumableError::io("open an upload"))?;
        let mut writer = blobs.writer(state.info.length_bytes).await?;
        let mut sample = Vec::with_capacity(mime::SNIFF_BYTES);
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let read = data
                .read(&mut chunk)
                .await
                .map_err(ResumableError::io("read an upload"))?;
            if read == 0 {
                break;
            }
            if sample.len() < mime::SNIFF_BYTES {
                let take = (mime::SNIFF_BYTES - sample.len()).min(read);
                sample.extend_from_slice(&chunk[..take]);
            }
            writer.write(&chunk[..read]).await?;
        }
        let stored = writer.finish().await?;
        let sniffed = mime::sniff(&sample);
        Ok(Upload {
            name: name::stored_name(&state.info.filename, Some(sniffed.extension)),
            original_name: state.info.filename.clone(),
            size_bytes: stored.size_bytes,
            content_type: sniffed.mime,
            blob: stored.id.to_hex(),
        })
    }

    /// The record took the upload as `file_name`: drop its bytes, keep its description (so
    /// `HEAD` still answers) until it expires.
    pub async fn finished(
        &self,
        _writing: &Writing,
        state: &UploadState,
        file_name: &str,
    ) -> Result<UploadState, ResumableError> {
        let dir = self
            .upload_dir(&state.info.id)
            .ok_or(ResumableError::NotFound)?;
        let mut info = state.info.clone();
        info.finished_as = Some(file_name.to_string());
        write_info(&dir, &info).await?;
        if let Err(error) = tokio::fs::remove_file(dir.join(DATA_FILE)).await {
            tracing::warn!(upload = %info.id, %error, "remove a finished upload's bytes");
        }
        Ok(UploadState {
            info,
            offset_bytes: state.info.length_bytes,
        })
    }

    /// End an upload and remove what it holds.
    pub async fn terminate(&self, _writing: &Writing, id: &str) -> Result<(), ResumableError> {
        let dir = self.upload_dir(id).ok_or(ResumableError::NotFound)?;
        remove_dir(&dir).await
    }

    /// Remove every expired upload; how many.
    pub async fn remove_expired(&self) -> Result<u64, ResumableError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for id in self.ids().await? {
            match self.get(&id).await {
                Ok(_) => {}
                Err(ResumableError::NotFound) => {
                    let Some(dir) = self.upload_dir(&id) else {
                        continue;
                    };
                    // A directory without a readable description is one a crash cut short.
                    let created = tokio::fs::metadata(&dir).await.and_then(|m| m.modified());
                    let stale = created
                        .map(|at| {
                            now.duration_since(at).unwrap_or_default() > Duration::from_secs(60)
                        })
                        .unwrap_or(true);
                    if stale && remove_dir(&dir).await.is_ok() {
                        removed += 1;
                    }
                }
                Err(error) => tracing::warn!(upload = %id, %error, "read an upload"),
            }
        }
        Ok(removed)
    }

    async fn ids(&self) -> Result<Vec<String>, ResumableError> {
        let mut entries = match tokio::fs::read_dir(&self.inner.dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ResumableError::Io {
                    action: "list uploads",
                    source,
                })
            }
        };
        let mut ids = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(ResumableError::io("list uploads"))?
        {
            if let Some(id) = entry.file_name().to_str() {
                if self.upload_dir(id).is_some() {
                    ids.push(id.to_string());
                }
            }
        }
        Ok(ids)
    }

    async fn count(&self) -> Result<usize, ResumableError> {
        Ok(self.ids().await?.len())
    }
}

/// Write the description durably: to a temporary file, synced, then renamed over.
async fn write_info(dir: &Path, info: &UploadInfo) -> Result<(), ResumableError> {
    let text = serde_json::to_vec(info).map_err(|error| ResumableError::Io {
        action: "write an upload",
        source: std::io::Error::other(error),
    })?;
    let temporary = dir.join(format!("{INFO_FILE}.tmp"));
    let mut file = tokio::fs::File::create(&temporary)
        .await
        .map_err(ResumableError::io("write an upload"))?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &text)
        .await
        .map_err(ResumableError::io("write an upload"))?;
    file.sync_all()
        .await
        .map_err(ResumableError::io("sync an upload"))?;
    tokio::fs::rename(&temporary, dir.join(INFO_FILE))
        .await
        .map_err(ResumableError::io("write an upload"))
}

async fn remove_dir(dir: &Path) -> Result<(), ResumableError> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(ResumableError::NotFound),
        Err(source) => Err(ResumableError::Io {
            action: "remove an upload",
            source,
        }),
    }
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> UploadInfo {
        UploadInfo {
            id: String::new(),
            collection_id: "c".into(),
            record_id: "r".into(),
            field: "docs".into(),
            filename: "Report.txt".into(),
            length_bytes: 6,
            metadata: String::new(),
            owner: "anonymous".into(),
            created_at_unix_secs: 0,
            finished_as: None,
        }
    }

    fn body(bytes: &'static [u8]) -> impl Stream<Item = Result<Bytes, String>> {
        futures::stream::iter(vec![Ok(Bytes::from_static(bytes))])
    }

    #[tokio::test]
    async fn an_upload_fills_up_resumes_and_becomes_a_blob() {
        let dir = tempfile::tempdir().expect("dir");
        let uploads = ResumableUploads::new(dir.path().join("resumable"));
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("blobs");
        let created = uploads.create(info()).await.expect("create");
        let id = created.info.id.clone();
        let writing = uploads.writing(&id).expect("writing");
        assert!(matches!(uploads.writing(&id), Err(ResumableError::Busy)));
        let half = uploads
            .append(&writing, &created, 0, body(b"abc"), None)
            .await
            .expect("half");
        drop(writing);

        // Resumed later (another handle on the same directory, as after a restart).
        let again = ResumableUploads::new(dir.path().join("resumable"));
        let state = again.get(&id).await.expect("held");
        assert_eq!(state.offset_bytes, half.offset_bytes);
        let writing = again.writing(&id).expect("writing");
        let stale = again.append(&writing, &state, 0, body(b"abc"), None).await;
        assert!(matches!(
            stale,
            Err(ResumableError::OffsetMismatch { sent: 0, offset: 3 })
        ));
        let whole = again
            .append(&writing, &state, 3, body(b"def"), None)
            .await
            .expect("rest");
        assert!(whole.is_whole());
        let upload = again.to_blob(&writing, &whole, &blobs).await.expect("blob");
        assert!(
            upload.name.starts_with("report_") && upload.name.ends_with(".txt"),
            "{}",
            upload.name
        );
        assert_eq!(upload.size_bytes, 6);
        assert_eq!(upload.content_type, "text/plain; charset=utf-8");
        let done = again
            .finished(&writing, &whole, &upload.name)
            .await
            .expect("finished");
        assert!(done.is_whole());
        assert_eq!(
            again.get(&id).await.expect("held").info.finished_as,
            Some(upload.name)
        );
        again.terminate(&writing, &id).await.expect("terminate");
        assert!(matches!(
            again.get(&id).await,
            Err(ResumableError::NotFound)
        ));
        assert!(matches!(
            again.get("../../etc").await,
            Err(ResumableError::NotFound)
        ));
    }
}
