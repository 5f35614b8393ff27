//! `TlsError`: why a certificate could not be loaded or obtained.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
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
    #[error("read the CA certificates in {path}: {source}")]
    CaFile {
        path: PathBuf,
        source: reqwest::Error,
    },
    #[error("{path} holds no PEM certificate")]
    CaFileEmpty { path: PathBuf },
    #[error("build the ACME HTTP client: {0}")]
    HttpClient(reqwest::Error),
}

/// `error` with the causes its message leaves out (reqwest says "error sending request" and
/// keeps the TLS or connection failure in its source), each once, joined by ": ".
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_added_once() {
        let io = std::io::Error::other("connection refused");
        let read = TlsError::Read {
            path: PathBuf::from("/x"),
            source: io,
        };
        assert_eq!(with_causes(&read), "read /x: connection refused");
        let acme = TlsError::AcmeRefused("no".to_owned());
        assert_eq!(with_causes(&acme), "ACME: no");
    }
}
