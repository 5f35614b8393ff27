//! `CertificateFiles`: a certificate and key given as PEM files (`--tls-cert`, `--tls-key`),
//! served from start and re-read on an interval, so a renewed pair is served without a
//! restart.
//!
//! The files are polled (read whole and compared with what is served) rather than watched
//! through inotify: it works the same on every file system, through symlink swaps such as
//! Kubernetes' secret volumes, and costs two small reads per interval. A new pair that cannot
//! be used (the key not the certificate's, say, while a tool has written one file but not yet
//! the other) is logged once and the certificate served so far stays.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::sign::CertifiedKey;
use tokio::io::AsyncReadExt;

use super::certificate::{certificate_summary, parse_certified_key};
use super::error::TlsError;
use super::slot::CertificateSlot;

/// Larger files are refused: a PEM chain with its key is a few KiB.
const PEM_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// The bytes of both files as last read.
type PairBytes = (Vec<u8>, Vec<u8>);

#[derive(Debug, Clone)]
pub struct CertificateFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl CertificateFiles {
    /// Serve the pair in `slot` now (failing if it cannot be used), then re-read it every
    /// `interval` in a background task and serve each new usable pair.
    pub async fn serve_and_reload(
        self,
        slot: Arc<CertificateSlot>,
        interval: Duration,
    ) -> Result<(), TlsError> {
        let served = self.read().await?;
        let certificate = parse_certified_key(&served.0, &served.1)?;
        log_installed(
            &certificate,
            "serving the TLS certificate",
            &self.certificate,
        );
        slot.install(certificate);
        tokio::spawn(self.reload_loop(slot, interval, served));
        Ok(())
    }

    async fn reload_loop(self, slot: Arc<CertificateSlot>, interval: Duration, served: PairBytes) {
        let mut served = served;
        let mut refused: Option<PairBytes> = None;
        let mut unreadable = false;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let read = match self.read().await {
                Ok(read) => read,
                Err(error) => {
                    if !unreadable {
                        tracing::warn!(
                            %error,
                            "cannot read the TLS certificate files; still serving the previous certificate"
                        );
                    }
                    unreadable = true;
                    continue;
                }
            };
            unreadable = false;
            if read == served || refused.as_ref() == Some(&read) {
                continue;
            }
            match parse_certified_key(&read.0, &read.1) {
                Ok(certificate) => {
                    log_installed(
                        &certificate,
                        "serving the new TLS certificate",
                        &self.certificate,
                    );
                    slot.install(certificate);
                    served = read;
                    refused = None;
                }
                Err(error) => {
                    tracing::warn!(
                        %error,
                        certificate = %self.certificate.display(),
                        key = %self.key.display(),
                        "the changed TLS certificate files cannot be used; still serving the previous certificate"
                    );
                    refused = Some(read);
                }
            }
        }
    }

    async fn read(&self) -> Result<PairBytes, TlsError> {
        Ok((
            read_bounded(&self.certificate).await?,
            read_bounded(&self.key).await?,
        ))
    }
}

async fn read_bounded(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_error = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(PEM_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(read_error)?;
    if bytes.len() as u64 > PEM_FILE_BYTES_MAX {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
            bytes_max: PEM_FILE_BYTES_MAX,
        });
    }
    Ok(bytes)
}

fn log_installed(certificate: &CertifiedKey, message: &'static str, path: &Path) {
    let Some(leaf) = certificate.cert.first() else {
        return;
    };
    match certificate_summary(leaf) {
        Ok(summary) => tracing::info!(
            path = %path.display(),
            serial = %summary.serial,
            names = ?summary.dns_names,
            not_after_unix_s = summary.not_after_unix_s,
            "{message}"
        ),
        Err(error) => tracing::info!(path = %path.display(), %error, "{message}"),
    }
}
