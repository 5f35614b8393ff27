//! The backup file: a zip archive (so PocketBase's upload check, `application/zip`, and
//! ordinary tools accept it) holding
//! - `edgebase-backup.json`: the [`Manifest`] (format, the applied index the state was read
//!   at, the state's size and SHA-256, the number of blobs);
//! - `state.snapshot`: the replicated state at one applied index, in the snapshot format
//!   replicas exchange (CRC-framed; see `edgebase_storage::snapshot`);
//! - `blobs/<sha256>`: every file blob the state refers to, named by its content hash.
//!
//! Reading checks the manifest, the state's size and hash, and each blob's hash as it is
//! copied out, so a truncated or altered archive is refused before anything is installed.
//! Everything streams: no entry is held whole in memory.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use edgebase_blobs::BlobId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub const MANIFEST_NAME: &str = "edgebase-backup.json";
pub const STATE_NAME: &str = "state.snapshot";
pub const BLOBS_PREFIX: &str = "blobs/";
/// The archive layout this build writes and reads.
pub const FORMAT: u32 = 1;
/// The largest manifest read (it is a few hundred bytes).
const MANIFEST_BYTES_MAX: u64 = 64 << 10;
const COPY_CHUNK_BYTES: usize = 256 << 10;

/// What an archive holds, written last so a cut-off archive has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub edgebase_version: String,
    /// When the state was read (PocketBase's date-time text, UTC).
    pub created: String,
    /// The applied log index of the state: every write acknowledged before the backup
    /// began is at or below it.
    pub applied_index: u64,
    pub state_bytes: u64,
    pub state_sha256: String,
    pub blobs: u64,
}

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not an EdgeBase backup: {0}")]
    NotABackup(String),
    #[error("the backup uses format {found}; this build reads format {FORMAT}")]
    UnsupportedFormat { found: u32 },
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ArchiveError {
    fn io(context: &'static str, path: &Path, source: std::io::Error) -> Self {
        ArchiveError::Io {
            context,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes an archive to a file, entry by entry; `finish` adds the manifest and syncs.
pub struct ArchiveWriter {
    path: PathBuf,
    zip: ZipWriter<BufWriter<File>>,
    blobs: u64,
}

impl ArchiveWriter {
    pub fn create(path: &Path) -> Result<ArchiveWriter, ArchiveError> {
        let file = File::create(path).map_err(|e| ArchiveError::io("create", path, e))?;
        Ok(ArchiveWriter {
            path: path.to_path_buf(),
            zip: ZipWriter::new(BufWriter::new(file)),
            blobs: 0,
        })
    }

    /// Add the state snapshot at `snapshot` (compressed: records are text); its size and
    /// SHA-256.
    pub fn add_state(
        &mut self,
        snapshot: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<(u64, String), ArchiveError> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(true);
        self.start(STATE_NAME, options)?;
        let mut source = File::open(snapshot).map_err(|e| ArchiveError::io("open", snapshot, e))?;
        let mut hasher = Sha256::new();
        let bytes = copy(&mut source, snapshot, &mut self.zip, &self.path, |chunk| {
            hasher.update(chunk);
            progress(chunk.len() as u64);
        })?;
        Ok((bytes, hex::encode(hasher.finalize())))
    }

    /// Add one blob's file (stored as is: files are mostly compressed already).
    pub fn add_blob(
        &mut self,
        blob: &BlobId,
        path: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<u64, ArchiveError> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true);
        self.start(&format!("{BLOBS_PREFIX}{}", blob.to_hex()), options)?;
        let mut source = File::open(path).map_err(|e| ArchiveError::io("open", path, e))?;
        let bytes = copy(&mut source, path, &mut self.zip, &self.path, |chunk| {
            progress(chunk.len() as u64)
        })?;
        self.blobs += 1;
        Ok(bytes)
    }

    pub fn blobs(&self) -> u64 {
        self.blobs
    }

    /// Write the manifest, close the archive and sync it; its size.
    pub fn finish(mut self, manifest: &Manifest) -> Result<u64, ArchiveError> {
        let text = serde_json::to_vec_pretty(manifest)
            .map_err(|e| ArchiveError::Damaged(format!("encode the manifest: {e}")))?;
        self.start(MANIFEST_NAME, SimpleFileOptions::default())?;
        self.zip
            .write_all(&text)
            .map_err(|e| ArchiveError::io("write", &self.path, e))?;
        let out = self
            .zip
            .finish()
            .map_err(|e| ArchiveError::io("finish", &self.path, zip_io(e)))?;
        let file = out
            .into_inner()
            .map_err(|e| ArchiveError::io("flush", &self.path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| ArchiveError::io("sync", &self.path, e))?;
        let size = file
            .metadata()
            .map_err(|e| ArchiveError::io("stat", &self.path, e))?
            .len();
        Ok(size)
    }

    fn start(&mut self, name: &str, options: SimpleFileOptions) -> Result<(), ArchiveError> {
        self.zip
            .start_file(name, options)
            .map_err(|e| ArchiveError::io("write", &self.path, zip_io(e)))
    }
}

/// Reads an archive written by [`ArchiveWriter`].
pub struct ArchiveReader {
    path: PathBuf,
    zip: ZipArchive<BufReader<File>>,
    manifest: Manifest,
}

impl ArchiveReader {
    /// Open an archive and read its manifest; refuses a file that is not a zip, lacks the
    /// manifest or the state, or has a format this build does not read.
    pub fn open(path: &Path) -> Result<ArchiveReader, ArchiveError> {
        let file = File::open(path).map_err(|e| ArchiveError::io("open", path, e))?;
        let mut zip = ZipArchive::new(BufReader::new(file))
            .map_err(|e| ArchiveError::NotABackup(format!("not a readable zip archive ({e})")))?;
        let manifest = {
            let entry = zip
                .by_name(MANIFEST_NAME)
                .map_err(|_| ArchiveError::NotABackup(format!("{MANIFEST_NAME} is missing")))?;
            let mut text = Vec::new();
            entry
                .take(MANIFEST_BYTES_MAX)
                .read_to_end(&mut text)
                .map_err(|e| ArchiveError::Damaged(format!("read {MANIFEST_NAME}: {e}")))?;
            let manifest: Manifest = serde_json::from_slice(&text)
                .map_err(|e| ArchiveError::NotABackup(format!("{MANIFEST_NAME}: {e}")))?;
            manifest
        };
        if manifest.format != FORMAT {
            return Err(ArchiveError::UnsupportedFormat {
                found: manifest.format,
            });
        }
        if zip.index_for_name(STATE_NAME).is_none() {
            return Err(ArchiveError::Damaged(format!("{STATE_NAME} is missing")));
        }
        Ok(ArchiveReader {
            path: path.to_path_buf(),
            zip,
            manifest,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Copy the state snapshot out to `to`, checking its size and hash against the
    /// manifest (the snapshot's own frames are checked again when it is installed).
    pub fn extract_state(&mut self, to: &Path, progress: &dyn Fn(u64)) -> Result<(), ArchiveError> {
        let mut out =
            BufWriter::new(File::create(to).map_err(|e| ArchiveError::io("create", to, e))?);
        self.copy_state(&mut out, to, progress)?;
        out.flush().map_err(|e| ArchiveError::io("write", to, e))
    }

    /// Read the whole archive and check it: the state's size and hash, and every blob's
    /// bytes against its name. Nothing is written.
    pub fn verify(&mut self) -> Result<(), ArchiveError> {
        self.copy_state(&mut std::io::sink(), Path::new("(check)"), &|_| {})?;
        for blob in self.blob_ids() {
            let mut hasher = Sha256::new();
            self.read_blob(&blob, &mut |chunk| {
                hasher.update(chunk);
                Ok(())
            })?;
            if BlobId::from_digest(hasher.finalize().into()) != blob {
                return Err(ArchiveError::Damaged(format!(
                    "the file blob {blob} does not match its name"
                )));
            }
        }
        Ok(())
    }

    fn copy_state(
        &mut self,
        out: &mut dyn Write,
        out_path: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<(), ArchiveError> {
        let mut entry = self
            .zip
            .by_name(STATE_NAME)
            .map_err(|e| ArchiveError::Damaged(format!("{STATE_NAME}: {e}")))?;
        let mut hasher = Sha256::new();
        let bytes = copy(&mut entry, &self.path, out, out_path, |chunk| {
            hasher.update(chunk);
            progress(chunk.len() as u64);
        })
        .map_err(damaged_on_read)?;
        if bytes != self.manifest.state_bytes
            || hex::encode(hasher.finalize()) != self.manifest.state_sha256
        {
            return Err(ArchiveError::Damaged(
                "the state does not match the size and SHA-256 in the manifest".into(),
            ));
        }
        Ok(())
    }

    /// The blobs the archive holds (entries under `blobs/` named by a SHA-256).
    pub fn blob_ids(&self) -> Vec<BlobId> {
        self.zip
            .file_names()
            .filter_map(|name| name.ok()?.strip_prefix(BLOBS_PREFIX)?.parse().ok())
            .collect()
    }

    /// Stream one blob's bytes to `sink`, chunk by chunk; the caller checks the hash (a blob
    /// writer expecting the id does).
    pub fn read_blob(
        &mut self,
        blob: &BlobId,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), ArchiveError>,
    ) -> Result<u64, ArchiveError> {
        let name = format!("{BLOBS_PREFIX}{}", blob.to_hex());
        let mut entry = self
            .zip
            .by_name(&name)
            .map_err(|e| ArchiveError::Damaged(format!("{name}: {e}")))?;
        let mut buffer = vec![0u8; COPY_CHUNK_BYTES];
        let mut total = 0u64;
        loop {
            let read = entry
                .read(&mut buffer)
                .map_err(|e| ArchiveError::Damaged(format!("{name}: {e}")))?;
            if read == 0 {
                return Ok(total);
            }
            total += read as u64;
            sink(&buffer[..read])?;
        }
    }
}

/// Copy `from` to `to` in chunks, showing each chunk to `seen`; the bytes copied.
fn copy(
    from: &mut dyn Read,
    from_path: &Path,
    to: &mut (impl Write + ?Sized),
    to_path: &Path,
    mut seen: impl FnMut(&[u8]),
) -> Result<u64, ArchiveError> {
    let mut buffer = vec![0u8; COPY_CHUNK_BYTES];
    let mut total = 0u64;
    loop {
        let read = from
            .read(&mut buffer)
            .map_err(|e| ArchiveError::io("read", from_path, e))?;
        if read == 0 {
            return Ok(total);
        }
        to.write_all(&buffer[..read])
            .map_err(|e| ArchiveError::io("write", to_path, e))?;
        seen(&buffer[..read]);
        total += read as u64;
    }
}

/// A read error inside the archive means the archive is damaged (a bad CRC or a cut entry).
fn damaged_on_read(error: ArchiveError) -> ArchiveError {
    match error {
        ArchiveError::Io {
            context: "read",
            source,
            ..
        } => ArchiveError::Damaged(source.to_string()),
        other => other,
    }
}

fn zip_io(error: zip::result::ZipError) -> std::io::Error {
    match error {
        zip::result::ZipError::Io(error) => error,
        other => std::io::Error::other(other),
    }
}

/// Whether a file's first bytes look like a zip archive (`PK\x03\x04`, or an empty archive's
/// end record).
pub fn looks_like_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(state_bytes: u64, state_sha256: String, blobs: u64) -> Manifest {
        Manifest {
            format: FORMAT,
            edgebase_version: "test".into(),
            created: "2026-12-07 10:00:00.000Z".into(),
            applied_index: 42,
            state_bytes,
            state_sha256,
            blobs,
        }
    }

    fn written(dir: &Path) -> (PathBuf, BlobId) {
        let snapshot = dir.join("state.in");
        std::fs::write(&snapshot, b"EBSNAP01 pretend state").unwrap();
        let blob_bytes = b"a file's bytes";
        let blob = BlobId::from_digest(Sha256::digest(blob_bytes).into());
        let blob_path = dir.join("blob.in");
        std::fs::write(&blob_path, blob_bytes).unwrap();
        let archive = dir.join("backup.zip");
        let mut writer = ArchiveWriter::create(&archive).unwrap();
        let (bytes, sha) = writer.add_state(&snapshot, &|_| {}).unwrap();
        writer.add_blob(&blob, &blob_path, &|_| {}).unwrap();
        let blobs = writer.blobs();
        writer.finish(&manifest(bytes, sha, blobs)).unwrap();
        (archive, blob)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (archive, blob) = written(dir.path());
        let mut reader = ArchiveReader::open(&archive).unwrap();
        assert_eq!(reader.manifest().applied_index, 42);
        assert_eq!(reader.blob_ids(), vec![blob]);
        let out = dir.path().join("state.out");
        reader.extract_state(&out, &|_| {}).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"EBSNAP01 pretend state");
        reader.verify().unwrap();
        let mut bytes = Vec::new();
        reader
            .read_blob(&blob, &mut |chunk| {
                bytes.extend_from_slice(chunk);
                Ok(())
            })
            .unwrap();
        assert_eq!(bytes, b"a file's bytes");
    }

    #[test]
    fn truncated_or_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (archive, _) = written(dir.path());
        let whole = std::fs::read(&archive).unwrap();
        for cut in [whole.len() / 2, whole.len() - 10, 3] {
            let path = dir.path().join(format!("cut{cut}.zip"));
            std::fs::write(&path, &whole[..cut]).unwrap();
            assert!(ArchiveReader::open(&path).is_err(), "cut at {cut}");
        }
        let text = dir.path().join("text.zip");
        std::fs::write(&text, b"hello").unwrap();
        assert!(matches!(
            ArchiveReader::open(&text),
            Err(ArchiveError::NotABackup(_))
        ));
    }

    #[test]
    fn altered_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("state.in");
        std::fs::write(&snapshot, b"EBSNAP01 pretend state").unwrap();
        let archive = dir.path().join("backup.zip");
        let mut writer = ArchiveWriter::create(&archive).unwrap();
        let (bytes, _) = writer.add_state(&snapshot, &|_| {}).unwrap();
        writer.finish(&manifest(bytes, "00".repeat(32), 0)).unwrap();
        let mut reader = ArchiveReader::open(&archive).unwrap();
        let out = dir.path().join("state.out");
        assert!(matches!(
            reader.extract_state(&out, &|_| {}),
            Err(ArchiveError::Damaged(_))
        ));
    }
}
