//! A node's loaded TLS identity and trust root, and the quinn server/client configs built
//! from them.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use crate::tls::{node_id_from_cert, TlsError, TlsPaths};
use crate::type_config::NodeId;
use crate::wire_version::supported_alpns;

/// The CA this node trusts and the certificate/key it presents, checked on load.
pub struct TlsMaterial {
    node_id: NodeId,
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("node_id", &self.node_id)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// Read the PEM files named by `paths`. Fails when a file is missing or malformed, or when
    /// the node certificate does not name a node.
    pub fn load(paths: &TlsPaths) -> Result<Self, TlsError> {
        let ca_certs = read_certs(&paths.ca_cert)?;
        let mut roots = RootCertStore::empty();
        for cert in ca_certs {
            roots.add(cert).map_err(|e| TlsError::BadPem {
                path: paths.ca_cert.clone(),
                reason: e.to_string(),
            })?;
        }
        let chain = read_certs(&paths.node_cert)?;
        let leaf = chain.first().ok_or_else(|| TlsError::BadPem {
            path: paths.node_cert.clone(),
            reason: "no certificate in file".to_string(),
        })?;
        let node_id = node_id_from_cert(leaf).ok_or_else(|| TlsError::NoNodeId {
            path: paths.node_cert.clone(),
        })?;
        let key = read_key(&paths.node_key)?;
        Ok(Self {
            node_id,
            roots: Arc::new(roots),
            chain,
            key,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// A 32-byte secret for `purpose`, derived from the node's private key (SHA-256 of the
    /// purpose and the key), so it is the same after every restart and unknown to anyone
    /// without the key.
    pub fn derived_secret(&self, purpose: &str) -> [u8; 32] {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        context.update(b"edgebase derived secret\0");
        context.update(purpose.as_bytes());
        context.update(b"\0");
        context.update(self.key.secret_der());
        let digest = context.finish();
        let mut secret = [0u8; 32];
        secret.copy_from_slice(digest.as_ref());
        secret
    }

    /// The node id this node's own certificate names.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// A server config that requires a client certificate signed by the cluster CA.
    pub fn server_config(
        &self,
        transport: Arc<quinn::TransportConfig>,
    ) -> Result<quinn::ServerConfig, TlsError> {
        let verifier =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), self.provider.clone())
                .build()?;
        let mut tls = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        tls.alpn_protocols = supported_alpns();
        let quic = QuicServerConfig::try_from(tls).map_err(|e| TlsError::Quic(e.to_string()))?;
        let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
        config.transport_config(transport);
        Ok(config)
    }

    /// A client config that trusts only the cluster CA and presents this node's certificate.
    /// The server name to verify is chosen per connection (`node-{peer}.edgebase`).
    pub fn client_config(
        &self,
        transport: Arc<quinn::TransportConfig>,
    ) -> Result<quinn::ClientConfig, TlsError> {
        let mut tls = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(self.roots.clone())
            .with_client_auth_cert(self.chain.clone(), self.key.clone_key())?;
        tls.alpn_protocols = supported_alpns();
        let quic = QuicClientConfig::try_from(tls).map_err(|e| TlsError::Quic(e.to_string()))?;
        let mut config = quinn::ClientConfig::new(Arc::new(quic));
        config.transport_config(transport);
        Ok(config)
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::BadPem {
            path: path.to_path_buf(),
            reason: "no certificate in file".to_string(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| TlsError::BadPem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| TlsError::BadPem {
            path: path.to_path_buf(),
            reason: "no private key in file".to_string(),
        })
}
