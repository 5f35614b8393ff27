//! `CertificateSlot`: the certificate every TLS handshake of the public listener reads, which
//! reloading and renewal replace at any time; and the acceptor built on it.

use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::certificate::crypto_provider;
use super::error::TlsError;

pub use tokio_rustls::TlsAcceptor;

/// The certificate served to every client, whatever name it asks for. Empty until the first
/// one is installed (an ACME node before its first order): handshakes fail until then.
#[derive(Debug, Default)]
pub struct CertificateSlot {
    current: RwLock<Option<Arc<CertifiedKey>>>,
}

impl CertificateSlot {
    /// From the next handshake on, serve `certificate`. Handshakes under way keep the one
    /// they read.
    pub fn install(&self, certificate: CertifiedKey) {
        let certificate = Arc::new(certificate);
        // Only a whole `Option` is ever stored, so a poisoned lock still holds a valid one.
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(certificate);
    }

    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A TLS acceptor (TLS 1.2 and 1.3, HTTP/1.1 by ALPN, no client certificates) that serves
    /// whatever this slot holds at each handshake.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        // The HTTP server speaks HTTP/1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for CertificateSlot {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}
