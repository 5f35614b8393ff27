//! TLS for the HTTPS tests: a test CA that issues server certificates (rcgen), and a raw
//! TLS client that reports which certificate a server presents.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SerialNumber};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Longest a test's TLS connection and handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A self-signed CA for one test.
pub struct TestCa {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct IssuedPair {
    pub certificate_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new(common_name: &str) -> anyhow::Result<TestCa> {
        let key = KeyPair::generate().context("generate the CA key")?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let certificate = params.self_signed(&key).context("self-sign the CA")?;
        Ok(TestCa { certificate, key })
    }

    pub fn certificate_pem(&self) -> String {
        self.certificate.pem()
    }

    /// A server certificate for `names` (DNS names or IP addresses) with `serial`.
    pub fn issue(&self, names: &[&str], serial: u64) -> anyhow::Result<IssuedPair> {
        let key = KeyPair::generate().context("generate a server key")?;
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names)?;
        params.serial_number = Some(SerialNumber::from(serial));
        let certificate = params
            .signed_by(&key, &self.certificate, &self.key)
            .context("sign a server certificate")?;
        Ok(IssuedPair {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Replace `path` with `contents` by rename, as certificate tools do, so a reader never sees
/// half a file.
pub fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents)
        .with_context(|| format!("write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("replace {}", path.display()))
}

/// The certificates in `pem`.
pub fn certificates_in(pem: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("parse PEM certificates")
}

/// The chain `addr` presents to a client asking for `server_name`, checked against `roots`
/// (PEM): the handshake fails unless the chain leads to one of them and names `server_name`.
pub async fn presented_chain(
    addr: SocketAddr,
    server_name: &str,
    roots_pem: &str,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let mut roots = rustls::RootCertStore::empty();
    for root in certificates_in(roots_pem)? {
        roots.add(root).context("add a root certificate")?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(server_name.to_owned()).context("a server name")?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        connector
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS handshake with {addr} as {server_name}"))
    };
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .context("TLS handshake timed out")??;
    let (_, connection) = tls.get_ref();
    let chain = connection
        .peer_certificates()
        .context("the server presented no certificate")?
        .iter()
        .map(|certificate| certificate.clone().into_owned())
        .collect();
    Ok(chain)
}

/// The serial number (hex), issuer and subject of a DER certificate.
pub fn describe_certificate(der: &[u8]) -> anyhow::Result<CertificateFacts> {
    let (_, parsed) = x509_parser::parse_x509_certificate(der).context("parse a certificate")?;
    Ok(CertificateFacts {
        serial: parsed.raw_serial_as_string().replace(':', ""),
        issuer: parsed.issuer().to_string(),
        subject: parsed.subject().to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    pub serial: String,
    pub issuer: String,
    pub subject: String,
}
