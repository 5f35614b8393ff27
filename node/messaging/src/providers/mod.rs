//! The providers a delivery goes out through, each one request per delivery with a bounded
//! time, and what their answers mean for the delivery ([`Outcome`]).

use std::time::Duration;

use serde_json::{Map, Value};

mod apns;
mod fcm;
mod sms;
mod webpush;

pub use apns::ApnsClient;
pub use fcm::FcmClient;
pub use sms::send_sms;
pub use webpush::{check_subscription, generate_vapid_keys, WebPushClient, WebPushSubscription};

/// Longest one provider request may take (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a provider's answer read (error bodies are short).
pub const ANSWER_BYTES_MAX: usize = 64 * 1024;
/// Most bytes of a push's plaintext payload: a Web Push record is at most 4096 bytes
/// (RFC 8291: 86 bytes of header, a 16-byte tag and the padding delimiter), and FCM and
/// APNs take 4096-byte payloads.
pub const PUSH_PAYLOAD_BYTES_MAX: usize = 3_993;

/// What a push says, whichever provider carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushContent {
    pub title: String,
    pub body: String,
    /// Extra key/values for the app (FCM's `data` takes strings only: others are sent as
    /// their JSON text).
    pub data: Map<String, Value>,
    /// How long the provider keeps an undelivered push (Web Push `TTL`, APNs
    /// `apns-expiration`, FCM `android.ttl`).
    pub ttl_secs: u32,
    /// A stable id for this delivery (Web Push `Topic`, APNs `apns-collapse-id`, FCM
    /// `collapse_key`), so a device shows a push sent twice once.
    pub collapse_id: String,
    /// The message's id, in the payload as `messageId`.
    pub message_id: String,
}

impl PushContent {
    /// The payload Web Push encrypts: `{"title","body","data","messageId"}` as JSON.
    pub fn web_push_payload(&self) -> Vec<u8> {
        serde_json::json!({
            "title": self.title,
            "body": self.body,
            "data": self.data,
            "messageId": self.message_id,
        })
        .to_string()
        .into_bytes()
    }
}

/// What one attempt to deliver came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider took it.
    Sent,
    /// The provider says the target no longer exists (Web Push 404/410, FCM
    /// `UNREGISTERED`/404, APNs 410 or `BadDeviceToken`): the target is removed.
    Gone(String),
    /// A failure that may pass (a 5xx, 429, a timeout, a refused connection): tried again.
    Retry(String),
    /// A failure that will not pass (a 4xx other than those): not tried again.
    Failed(String),
}

/// The outcome an HTTP status means for most providers (a 2xx sent, 408/429/5xx tried
/// again, 404/410 gone, another 4xx failed), with the answer's text for the error.
pub fn outcome_of_status(status: u16, answer: &str) -> Outcome {
    let detail = || format!("{status}: {}", answer.chars().take(300).collect::<String>());
    match status {
        200..=299 => Outcome::Sent,
        404 | 410 => Outcome::Gone(detail()),
        408 | 429 | 500..=599 => Outcome::Retry(detail()),
        _ => Outcome::Failed(detail()),
    }
}

/// A request that failed without an answer: worth another attempt.
pub fn outcome_of_error(error: &reqwest::Error) -> Outcome {
    Outcome::Retry(format!("request failed: {error}"))
}

/// The HTTP client every provider shares: bounded time, no redirects (a push service that
/// redirects is misconfigured), HTTP/2 where the server offers it.
pub fn http_client() -> reqwest::Client {
    client_builder()
        .build()
        .expect("a reqwest client with rustls builds")
}

/// The settings every provider client shares (see [`http_client`]); APNs builds a second
/// client from it for `http://` endpoints.
fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
}

/// An answer's text, at most [`ANSWER_BYTES_MAX`] bytes of it.
pub async fn answer_text(mut answer: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = answer.chunk().await {
        let room = ANSWER_BYTES_MAX.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= ANSWER_BYTES_MAX {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The base64url (unpadded, 43 characters) of `id`'s SHA-256: a stand-in for an id too long
/// or too odd for a provider's header, the same for the same id.
fn digest_id(id: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(id.as_bytes()))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
