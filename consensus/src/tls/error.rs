//! Errors from creating, loading and checking cluster certificates.

use std::path::PathBuf;

/// Why a certificate could not be generated, loaded or turned into a TLS config.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to overwrite existing CA key {path}")]
    CaExists { path: PathBuf },
    #[error("generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {reason}")]
    BadPem { path: PathBuf, reason: String },
    #[error("certificate {path} names no node (expected a DNS SAN node-<id>.edgebase)")]
    NoNodeId { path: PathBuf },
    #[error("certificate names node {in_cert}, but this node is {configured}")]
    NodeIdMismatch { in_cert: u64, configured: u64 },
    #[error("build TLS config: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("build client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("build QUIC crypto config: {0}")]
    Quic(String),
}
