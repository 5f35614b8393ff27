//! `MessagingClient`: EdgeBase's messaging API as the messaging benchmark uses it, as a
//! superuser on one node: set up Web Push, register push targets, send push messages, read a
//! message's state and count the messages not yet settled.

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::{json, Value};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint as _;
use web_push_native::p256::SecretKey;

use crate::items_client::{checked_json, superuser_token};

/// The VAPID `sub` claim the bench configures.
const VAPID_SUBJECT: &str = "mailto:bench@example.com";
/// The auth collection the bench's user is in (PocketBase's default `users`).
const USERS_COLLECTION: &str = "users";
const USERS_COLLECTION_ID: &str = "_pb_users_auth_";
/// A browser subscription's authentication secret (RFC 8291 §3.2).
const AUTH_SECRET_BYTES: usize = 16;

/// A message's delivery counts, as `GET /api/messages/{id}` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub removed: u64,
}

impl DeliveryCounts {
    pub fn add(&mut self, other: DeliveryCounts) {
        self.pending += other.pending;
        self.sent += other.sent;
        self.failed += other.failed;
        self.removed += other.removed;
    }
}

/// A message's state as one read showed it.
#[derive(Debug, Clone)]
pub struct MessageState {
    pub status: String,
    pub counts: DeliveryCounts,
    pub error: String,
}

impl MessageState {
    /// Whether every delivery has its final state (not pending, scheduled or sending).
    pub fn settled(&self) -> bool {
        !matches!(self.status.as_str(), "pending" | "scheduled" | "sending")
    }
}

#[derive(Clone)]
pub struct MessagingClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl MessagingClient {
    /// Log in as a superuser at `url`.
    pub async fn login(
        http: reqwest::Client,
        url: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<MessagingClient> {
        let token = superuser_token(&http, url, email, password).await?;
        Ok(MessagingClient {
            http,
            url: url.to_owned(),
            token,
        })
    }

    /// Turn Web Push on (the node makes its VAPID keys; messaging's collections are
    /// created). A failing push is tried three times, 200 ms then 400 ms apart.
    pub async fn enable_web_push(&self) -> anyhow::Result<()> {
        let response = self
            .http
            .patch(format!("{}/api/messaging/settings", self.url))
            .header("authorization", &self.token)
            .json(&json!({
                "webPush": { "enabled": true, "subject": VAPID_SUBJECT },
                "retry": { "attemptsMax": 3, "backoffMs": 200, "backoffMaxMs": 1000 },
            }))
            .send()
            .await?;
        checked_json(response, "enable Web Push").await.map(|_| ())
    }

    /// Create a user of `users`; its id.
    pub async fn create_user(&self, email: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!(
                "{}/api/collections/{USERS_COLLECTION}/records",
                self.url
            ))
            .header("authorization", &self.token)
            .json(&json!({
                "email": email,
                "password": "bench-password-123",
                "passwordConfirm": "bench-password-123",
            }))
            .send()
            .await?;
        id_of(checked_json(response, "create the user").await?)
    }

    /// Register a Web Push subscription at `endpoint` for `user_id`, with fresh browser keys;
    /// the target's id.
    pub async fn create_web_push_target(
        &self,
        user_id: &str,
        endpoint: &str,
    ) -> anyhow::Result<String> {
        let browser_key = SecretKey::random(&mut rand::rngs::OsRng);
        let p256dh =
            URL_SAFE_NO_PAD.encode(browser_key.public_key().to_encoded_point(false).as_bytes());
        let mut auth = [0u8; AUTH_SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut auth);
        let response = self
            .http
            .post(format!(
                "{}/api/collections/_messageTargets/records",
                self.url
            ))
            .header("authorization", &self.token)
            .json(&json!({
                "collectionRef": USERS_COLLECTION_ID,
                "recordRef": user_id,
                "kind": "webpush",
                "endpoint": endpoint,
                "p256dh": p256dh,
                "auth": URL_SAFE_NO_PAD.encode(auth),
            }))
            .send()
            .await?;
        id_of(checked_json(response, "register a push target").await?)
    }

    /// Send a push to `targets`; the accepted message's id.
    pub async fn send_push(&self, targets: &[String]) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/api/messages", self.url))
            .header("authorization", &self.token)
            .json(&json!({
                "kind": "push",
                "to": { "targets": targets },
                "title": "Bench",
                "body": "A push from edgebase-bench messaging.",
            }))
            .send()
            .await?;
        id_of(checked_json(response, "send a push").await?)
    }

    /// Message `id` as the node has it now.
    pub async fn message(&self, id: &str) -> anyhow::Result<MessageState> {
        let response = self
            .http
            .get(format!("{}/api/messages/{id}", self.url))
            .header("authorization", &self.token)
            .send()
            .await?;
        let message = checked_json(response, "read a message").await?;
        let count = |name: &str| message["counts"][name].as_u64().unwrap_or(0);
        Ok(MessageState {
            status: message["status"]
                .as_str()
                .context("a message without status")?
                .to_owned(),
            counts: DeliveryCounts {
                pending: count("pending"),
                sent: count("sent"),
                failed: count("failed"),
                removed: count("removed"),
            },
            error: message["error"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// Messages in the outbox that still need a node's attention (`dueAt` is 0 once every
    /// delivery is settled), counted through the records API in one light request.
    pub async fn unsettled(&self) -> anyhow::Result<u64> {
        let response = self
            .http
            .get(format!("{}/api/collections/_messages/records", self.url))
            .header("authorization", &self.token)
            .query(&[("filter", "dueAt > 0"), ("perPage", "1"), ("fields", "id")])
            .send()
            .await?;
        let page = checked_json(response, "count unsettled messages").await?;
        page["totalItems"]
            .as_u64()
            .context("no totalItems in the list answer")
    }
}

fn id_of(body: Value) -> anyhow::Result<String> {
    Ok(body["id"]
        .as_str()
        .context("no id in the answer")?
        .to_owned())
}
