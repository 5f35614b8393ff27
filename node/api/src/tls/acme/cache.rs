//! `CertificateCache`: the ACME certificate and its key in one PEM file under `DIR/acme/`,
//! replaced by rename so a crash leaves the old pair or the new one, never half of each.

use std::path::{Path, PathBuf};

use rustls::sign::CertifiedKey;

use super::{certificate_summary, parse_certified_key, CertificateSummary};
use crate::tls::error::TlsError;

const CERTIFICATE_FILE: &str = "certificate.pem";
/// A chain and key are a few KiB.
const CERTIFICATE_FILE_BYTES_MAX: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub(super) struct CertificateCache {
    dir: PathBuf,
}

impl CertificateCache {
    pub(super) async fn open(dir: &Path) -> Result<Self, TlsError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| TlsError::Write {
                path: dir.to_owned(),
                source,
            })?;
        Ok(CertificateCache {
            dir: dir.to_owned(),
        })
    }

    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cached certificate, if there is one.
    pub(super) async fn load(
        &self,
    ) -> Result<Option<(CertifiedKey, CertificateSummary)>, TlsError> {
        let path = self.dir.join(CERTIFICATE_FILE);
        let pem = match read_private(&path, CERTIFICATE_FILE_BYTES_MAX).await? {
            Some(pem) => pem,
            None => return Ok(None),
        };
        let certificate = parse_certified_key(&pem, &pem)?;
        let leaf = certificate
            .cert
            .first()
            .expect("a parsed certified key has a leaf certificate");
        let summary = certificate_summary(leaf)?;
        Ok(Some((certificate, summary)))
    }

    pub(super) async fn save(&self, chain_pem: &str, key_pem: &str) -> Result<(), TlsError> {
        let path = self.dir.join(CERTIFICATE_FILE);
        write_private(&path, format!("{chain_pem}\n{key_pem}").as_bytes()).await
    }
}

/// The bytes of `path`, or `None` when it does not exist.
pub(super) async fn read_private(path: &Path, bytes_max: u64) -> Result<Option<Vec<u8>>, TlsError> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(TlsError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    if bytes.len() as u64 > bytes_max {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
            bytes_max,
        });
    }
    Ok(Some(bytes))
}

/// Replace `path` with `bytes`, readable by the owner only (it holds a private key): write a
/// temporary file, sync it, rename it over `path`.
pub(super) async fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use tokio::io::AsyncWriteExt;

    let temporary = path.with_extension("tmp");
    let write_error = |source| TlsError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&temporary).await.map_err(write_error)?;
    file.write_all(bytes).await.map_err(write_error)?;
    file.sync_all().await.map_err(write_error)?;
    drop(file);
    tokio::fs::rename(&temporary, path)
        .await
        .map_err(write_error)
}
