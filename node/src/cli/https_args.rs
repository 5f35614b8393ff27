//! Flags of `edgebase serve` for HTTPS on the public port: the listener, and where its
//! certificate comes from (PEM files, or an ACME CA).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use edgebase_api::tls::acme::LETS_ENCRYPT_DIRECTORY;

const TLS_RELOAD_INTERVAL_DEFAULT_SECS: u64 = 2;
/// An ACME CA signs at most 100 names into one certificate (Let's Encrypt's limit).
pub const ACME_DOMAINS_MAX: usize = 100;

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct HttpsArgs {
    /// HTTPS listen address (e.g. `0.0.0.0:443`). Needs a certificate: `--tls-cert` and
    /// `--tls-key`, or `--acme-domain`. While it is on, the HTTP listener redirects every
    /// request to HTTPS (308), except `/api/health` and ACME's HTTP-01 challenges.
    #[arg(long, value_name = "ADDR", requires = "certificate_source")]
    pub https: Option<SocketAddr>,
    /// PEM file with the certificate chain (leaf first) that HTTPS serves. Re-read every
    /// `--tls-reload-interval-secs`: a changed, usable pair is served from the next
    /// connection on; an unusable one is logged and the previous certificate kept.
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "https"], group = "certificate_source")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires_all = ["tls_cert", "https"])]
    pub tls_key: Option<PathBuf>,
    /// How often `--tls-cert` and `--tls-key` are read for changes.
    #[arg(long, value_name = "SECS", default_value_t = TLS_RELOAD_INTERVAL_DEFAULT_SECS, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    #[serde(default = "tls_reload_interval_default_secs")]
    pub tls_reload_interval_secs: u64,
    /// Get the HTTPS certificate for this DNS name from an ACME CA (Let's Encrypt by
    /// default), as PocketBase's `serve DOMAIN`; repeat for more names (at most 100). The
    /// CA checks each name over HTTP, so port 80 of each must reach `--http`. Agrees to the
    /// CA's terms of service. Account and certificate are kept in `DIR/acme/` and the
    /// certificate is renewed 30 days before it expires.
    #[arg(
        long = "acme-domain",
        value_name = "NAME",
        requires = "https",
        conflicts_with_all = ["tls_cert", "tls_key"],
        group = "certificate_source",
        value_parser = parse_acme_domain
    )]
    #[serde(default)]
    pub acme_domains: Vec<String>,
    /// Contact address the ACME CA may send expiry and policy notices to.
    #[arg(long, value_name = "EMAIL", requires = "acme_domains")]
    pub acme_email: Option<String>,
    /// The ACME CA's directory URL (e.g. Let's Encrypt's staging directory while testing).
    #[arg(long, value_name = "URL", default_value = LETS_ENCRYPT_DIRECTORY)]
    #[serde(default = "acme_directory_default")]
    pub acme_directory: String,
    /// PEM file of CAs to trust, besides the built-in web roots, for the ACME server's own
    /// HTTPS (a private or test ACME server such as pebble).
    #[arg(long, value_name = "PEM", requires = "acme_domains")]
    pub acme_ca_file: Option<PathBuf>,
}

fn tls_reload_interval_default_secs() -> u64 {
    TLS_RELOAD_INTERVAL_DEFAULT_SECS
}

fn acme_directory_default() -> String {
    LETS_ENCRYPT_DIRECTORY.to_owned()
}

impl Default for HttpsArgs {
    fn default() -> Self {
        HttpsArgs {
            https: None,
            tls_cert: None,
            tls_key: None,
            tls_reload_interval_secs: TLS_RELOAD_INTERVAL_DEFAULT_SECS,
            acme_domains: Vec::new(),
            acme_email: None,
            acme_directory: acme_directory_default(),
            acme_ca_file: None,
        }
    }
}

/// A DNS name an ACME CA can check over HTTP: letters, digits and `-` in dot-separated
/// labels, no wildcard (HTTP-01 cannot prove one), no IP address, no port. Lowercased.
fn parse_acme_domain(text: &str) -> Result<String, String> {
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    if name.len() > 253 {
        return Err("a DNS name is at most 253 characters".to_owned());
    }
    if name.contains('*') {
        return Err("wildcard names need a DNS-01 challenge; list each name instead".to_owned());
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Err("an ACME certificate here is for DNS names, not IP addresses".to_owned());
    }
    let labels_valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !labels_valid {
        return Err(format!(
            "{text:?} is not a DNS name (letters, digits and '-' in dot-separated labels; no scheme, port or path)"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acme_domains_are_plain_dns_names() {
        let cases = [
            ("example.com", Some("example.com")),
            ("API.Example.COM.", Some("api.example.com")),
            ("edgebase.test", Some("edgebase.test")),
            ("localhost", Some("localhost")),
            ("*.example.com", None),
            ("127.0.0.1", None),
            ("example.com:443", None),
            ("https://example.com", None),
            ("-bad.example.com", None),
            ("a..b", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_acme_domain(text).ok().as_deref(),
                expected,
                "{text:?}"
            );
        }
    }
}
