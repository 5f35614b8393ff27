//! HTTPS on the public port: the certificate the TLS listener serves (from PEM files, reloaded
//! when they change, or from an ACME CA such as Let's Encrypt), and the HTTP side's redirect
//! to HTTPS.
//!
//! The TLS listener is `http_server::serve` with `Transport::Tls`: the same router, middleware
//! and limits as plain HTTP. Its certificate lives in a [`CertificateSlot`] that every
//! handshake reads, so a new certificate is served from the next handshake on, without a
//! restart.

pub mod acme;
mod certificate;
mod error;
mod file_reload;
mod redirect;
mod slot;

pub use error::TlsError;
pub use file_reload::CertificateFiles;
pub use redirect::http_side_router;
pub use slot::{CertificateSlot, TlsAcceptor};
