//! `RawClient`: plain HTTP requests for tests that must send what the SDK never would
//! (malformed bodies, garbage tokens) and see exactly what came back.

use std::time::Duration;

use anyhow::Context;
use edgebase_client::wire::{ErrorEnvelope, HEADER_INDEX};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

/// Longest response body a test reads.
const RESPONSE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A request body.
#[derive(Debug, Clone, Default)]
pub enum RawBody {
    #[default]
    None,
    /// Serialized and sent with `Content-Type: application/json`.
    Json(Value),
    /// Sent as is with `Content-Type: application/json` (for malformed JSON).
    Text(String),
    /// Sent as is with `Content-Type: application/json`.
    Bytes(Vec<u8>),
    /// Sent as is with the given content type (a multipart body, for example).
    Typed {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// What came back.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body exactly as received.
    pub bytes: Vec<u8>,
    /// The body parsed as JSON, if it is JSON.
    pub json: Option<Value>,
}

impl RawResponse {
    /// `X-Edgebase-Index`, if present and a number.
    pub fn index(&self) -> Option<u64> {
        self.headers.get(HEADER_INDEX)?.to_str().ok()?.parse().ok()
    }

    /// The body as PocketBase's error envelope, if it is one.
    pub fn envelope(&self) -> Option<ErrorEnvelope> {
        serde_json::from_value(self.json.clone()?).ok()
    }
}

/// An HTTP client bound to one server.
#[derive(Debug, Clone)]
pub struct RawClient {
    http: reqwest::Client,
    base_url: String,
}

/// How long an idle connection stays pooled: well under the node's header-read timeout
/// (10 s), which also ends a keep-alive connection waiting for its next request. A request
/// sent on a connection just as the node closes it fails with "connection closed before
/// message completed".
const POOL_IDLE: Duration = Duration::from_secs(4);

impl RawClient {
    pub fn new(base_url: &str) -> anyhow::Result<RawClient> {
        RawClient::build(base_url, None, Duration::from_secs(30))
    }

    /// A client whose requests give up after `timeout` (the nemesis clients: an answer that
    /// does not come in time is an unknown outcome).
    pub fn with_timeout(base_url: &str, timeout: Duration) -> anyhow::Result<RawClient> {
        RawClient::build(base_url, None, timeout)
    }

    /// A client whose connections come from `local` (another loopback address, to play a
    /// second client machine).
    pub fn from_address(base_url: &str, local: std::net::IpAddr) -> anyhow::Result<RawClient> {
        RawClient::build(base_url, Some(local), Duration::from_secs(30))
    }

    fn build(
        base_url: &str,
        local: Option<std::net::IpAddr>,
        timeout: Duration,
    ) -> anyhow::Result<RawClient> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .local_address(local)
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .context("build an HTTP client")?;
        Ok(RawClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Send `method path` (path starts with `/`, may carry a query); `auth` is the raw
    /// `Authorization` value.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: RawBody,
        headers: &[(&str, String)],
    ) -> anyhow::Result<RawResponse> {
        let method = Method::from_bytes(method.as_bytes())
            .with_context(|| format!("HTTP method {method:?}"))?;
        let url = format!("{}{path}", self.base_url);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request = match body {
            RawBody::None => request,
            RawBody::Json(value) => request
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(&value).context("serialize the body")?),
            RawBody::Text(text) => request
                .header("Content-Type", "application/json")
                .body(text),
            RawBody::Bytes(bytes) => request
                .header("Content-Type", "application/json")
                .body(bytes),
            RawBody::Typed {
                content_type,
                bytes,
            } => request.header("Content-Type", content_type).body(bytes),
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .with_context(|| format!("read the answer to {method} {url}"))?
        {
            if bytes.len() + chunk.len() > RESPONSE_BYTES_MAX {
                anyhow::bail!("the answer to {method} {url} exceeds {RESPONSE_BYTES_MAX} bytes");
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).ok();
        Ok(RawResponse {
            status,
            headers,
            text,
            bytes,
            json,
        })
    }

    pub async fn get(&self, path: &str, auth: Option<&str>) -> anyhow::Result<RawResponse> {
        self.send("GET", path, auth, RawBody::None, &[]).await
    }
}
