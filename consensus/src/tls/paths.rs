//! Where a node's CA certificate, node certificate and node key live on disk.

use std::path::{Path, PathBuf};

use crate::tls::{TlsError, TlsMaterial, CA_CERT_FILE, NODE_CERT_FILE, NODE_KEY_FILE};

/// Paths of the PEM files a node needs for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    pub ca_cert: PathBuf,
    pub node_cert: PathBuf,
    pub node_key: PathBuf,
}

impl TlsPaths {
    /// The standard file names (`ca.crt`, `node.crt`, `node.key`) inside `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            ca_cert: dir.join(CA_CERT_FILE),
            node_cert: dir.join(NODE_CERT_FILE),
            node_key: dir.join(NODE_KEY_FILE),
        }
    }

    /// Whether all three files exist.
    pub fn exist(&self) -> bool {
        self.ca_cert.exists() && self.node_cert.exists() && self.node_key.exists()
    }

    /// Read and check the files; see [`TlsMaterial`].
    pub fn load(&self) -> Result<TlsMaterial, TlsError> {
        TlsMaterial::load(self)
    }
}
