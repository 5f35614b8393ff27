//! `AcmeHttpClient`: instant-acme's HTTP client trait over reqwest, the HTTP client the node
//! already uses, so the ACME server's TLS is checked against the same built-in roots (plus
//! `--acme-ca-file`) with no second TLS stack.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use axum::http;
use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};

use crate::tls::error::TlsError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest one request to the ACME server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A CA file is a few certificates.
const CA_FILE_BYTES_MAX: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub(super) struct AcmeHttpClient {
    client: reqwest::Client,
}

impl AcmeHttpClient {
    /// A client trusting the built-in web roots and, if given, the CAs in `ca_file`.
    pub(super) async fn new(ca_file: Option<&Path>) -> Result<Self, TlsError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = ca_file {
            let read_error = |source| TlsError::Read {
                path: path.to_owned(),
                source,
            };
            let size = tokio::fs::metadata(path).await.map_err(read_error)?.len();
            if size > CA_FILE_BYTES_MAX {
                return Err(TlsError::TooLarge {
                    path: path.to_owned(),
                    bytes_max: CA_FILE_BYTES_MAX,
                });
            }
            let pem = tokio::fs::read(path).await.map_err(read_error)?;
            let roots =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| TlsError::CaFile {
                    path: path.to_owned(),
                    source,
                })?;
            if roots.is_empty() {
                return Err(TlsError::CaFileEmpty {
                    path: path.to_owned(),
                });
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let client = builder.build().map_err(TlsError::HttpClient)?;
        Ok(AcmeHttpClient { client })
    }

    pub(super) fn boxed(&self) -> Box<dyn HttpClient> {
        Box::new(self.clone())
    }
}

impl HttpClient for AcmeHttpClient {
    fn request(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let client = self.client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
                .map_err(|error| instant_acme::Error::Other(Box::new(error)))?;
            let response = client
                .execute(request)
                .await
                .map_err(|error| instant_acme::Error::Other(Box::new(error)))?;
            Ok(BytesResponse::from(http::Response::from(response)))
        })
    }
}
