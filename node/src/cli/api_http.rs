//! Talking to a node's API from the CLI: one HTTP client for long work, URLs under the
//! node's base, and error answers as errors carrying PocketBase's message.

use anyhow::Context;
use edgebase_client::wire::ErrorEnvelope;

use super::cluster::ConnectArgs;

/// An HTTP client for long transfers (no overall timeout; connecting is bounded).
pub(super) fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .context("HTTP client")
}

pub(super) fn url(connect: &ConnectArgs, path: &str) -> String {
    format!("{}/{path}", connect.node.trim_end_matches('/'))
}

/// A non-2xx answer as an error carrying the server's message.
pub(super) async fn refused(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(envelope) => anyhow::anyhow!(
            "{} {} {}",
            envelope.status,
            envelope.message,
            serde_json::to_string(&envelope.data).unwrap_or_default()
        ),
        Err(_) => anyhow::anyhow!("{status}: {text}"),
    }
}
