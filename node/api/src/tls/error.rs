//! `TlsError`: why a certificate could not be loaded or obtained.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {bytes_max} bytes; it is not a PEM certificate or key")]
    TooLarge { path: PathBuf, bytes_max: u64 },
    #[error("no PEM certificate found")]
    NoCertificate,
    #[error("no PEM private key found")]
    NoPrivateKey,
    #[error("unreadable PEM: {0}")]
    Pem(String),
    #[error("the certificate cannot be parsed: {0}")]
    Certificate(String),
    /// rustls refused the key, or the key is not the certificate's.
    #[error("unusable private key: {0}")]
    Key(rustls::Error),
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
    #[error("ACME: {0}")]
    Acme(#[from] instant_acme::Error),
    #[error("ACME: {0}")]
    AcmeRefused(String),
    #[error("read the ACME account in {path}: {source}")]
    AccountFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the ACME CA file: {0}")]
    CaFile(reqwest::Error),
}
