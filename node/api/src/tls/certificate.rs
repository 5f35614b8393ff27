//! A certificate chain and its private key, from PEM text to what rustls serves, and the few
//! facts about a certificate that reloading and renewal look at.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use x509_parser::extensions::GeneralName;

use super::error::TlsError;

/// The crypto provider of every TLS endpoint of the node (ring, as the Raft transport's).
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The chain in `chain_pem` (leaf first) with the private key in `key_pem` (PKCS#8, PKCS#1
/// or SEC1). The two may be the same text. Fails when either is missing or the key is not the
/// leaf's.
pub fn parse_certified_key(chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Pem(error.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key = match PrivateKeyDer::from_pem_slice(key_pem) {
        Ok(key) => key,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => return Err(TlsError::NoPrivateKey),
        Err(error) => return Err(TlsError::Pem(error.to_string())),
    };
    // Parse the leaf first: rustls would take an unparsable one and fail every handshake.
    certificate_summary(&chain[0])?;
    CertifiedKey::from_der(chain, key, &crypto_provider()).map_err(TlsError::Key)
}

/// What reloading logs and renewal decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The serial number in hex.
    pub serial: String,
    pub issuer: String,
    /// Seconds since the Unix epoch.
    pub not_before_unix_s: i64,
    pub not_after_unix_s: i64,
    /// The DNS names of the subject alternative names, as written.
    pub dns_names: Vec<String>,
}

pub fn certificate_summary(leaf: &CertificateDer<'_>) -> Result<CertificateSummary, TlsError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|error| TlsError::Certificate(error.to_string()))?;
    let dns_names = match parsed.subject_alternative_name() {
        Ok(Some(names)) => names
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(name) => Some((*name).to_owned()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(error) => return Err(TlsError::Certificate(error.to_string())),
    };
    Ok(CertificateSummary {
        serial: parsed.raw_serial_as_string().replace(':', ""),
        issuer: parsed.issuer().to_string(),
        not_before_unix_s: parsed.validity().not_before.timestamp(),
        not_after_unix_s: parsed.validity().not_after.timestamp(),
        dns_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("generate a key");
        let certificate = rcgen::CertificateParams::new(vec![name.to_owned()])
            .expect("a DNS name is a valid subject alternative name")
            .self_signed(&key)
            .expect("self-sign");
        (certificate.pem(), key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_loads_and_a_wrong_key_or_garbage_does_not() {
        let (chain, key) = self_signed("one.test");
        let (_, other_key) = self_signed("two.test");
        let both = format!("{chain}{key}");
        let check =
            |chain: &str, key: &str| match parse_certified_key(chain.as_bytes(), key.as_bytes()) {
                Ok(_) => "ok".to_owned(),
                Err(TlsError::NoCertificate) => "no certificate".to_owned(),
                Err(TlsError::NoPrivateKey) => "no key".to_owned(),
                Err(TlsError::Key(_)) => "bad key".to_owned(),
                Err(error) => format!("other: {error}"),
            };
        let cases = [
            (chain.as_str(), key.as_str(), "ok"),
            (both.as_str(), both.as_str(), "ok"),
            (chain.as_str(), other_key.as_str(), "bad key"),
            ("", key.as_str(), "no certificate"),
            (chain.as_str(), "", "no key"),
            ("not pem", key.as_str(), "no certificate"),
        ];
        for (chain, key, expected) in cases {
            assert_eq!(
                check(chain, key),
                expected,
                "chain {chain:.40?}, key {key:.40?}"
            );
        }
    }

    #[test]
    fn the_summary_names_the_dns_names_and_validity() {
        let (chain, _) = self_signed("one.test");
        let leaf = CertificateDer::from_pem_slice(chain.as_bytes()).expect("one certificate");
        let summary = certificate_summary(&leaf).expect("rcgen's certificate parses");
        assert_eq!(summary.dns_names, vec!["one.test".to_owned()]);
        assert!(summary.not_before_unix_s < summary.not_after_unix_s);
        assert!(!summary.serial.is_empty());
    }
}
