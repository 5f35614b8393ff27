//! Apple Push Notification service: a push to one device token over HTTP/2, authorised by a
//! provider token (an ES256 JWT signed with the team's `.p8` key) that is kept for 50
//! minutes (Apple refuses one older than an hour, and one renewed more than every 20).

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{
    answer_text, client_builder, digest_id, outcome_of_error, outcome_of_status, unix_now_secs,
    Outcome, PushContent, REQUEST_TIMEOUT,
};
use crate::settings::ApnsSettings;

/// How long a provider token is used before a new one is signed.
const PROVIDER_TOKEN_KEPT: Duration = Duration::from_secs(50 * 60);
/// Apple's `apns-collapse-id` is at most 64 bytes.
const COLLAPSE_ID_BYTES_MAX: usize = 64;
/// Apple's limit on a notification's payload.
const PAYLOAD_BYTES_MAX: usize = 4_096;
/// Longest device token taken (Apple's are 64 hexadecimal digits today).
const DEVICE_TOKEN_CHARS_MAX: usize = 200;

/// Sends APNs notifications, keeping one provider token for the key last used.
#[derive(Debug)]
pub struct ApnsClient {
    provider_token: Mutex<Option<ProviderToken>>,
    /// For `http://` endpoints (local test servers): HTTP/2 without TLS needs prior
    /// knowledge, which a client that also speaks HTTP/1 cannot have.
    cleartext: reqwest::Client,
}

/// A signed provider token and the key it was signed with.
#[derive(Debug)]
struct ProviderToken {
    signer: Signer,
    jwt: String,
    signed_at: Instant,
}

/// What a provider token is signed with: a change to any of them asks for a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signer {
    team_id: String,
    key_id: String,
    private_key: String,
}

impl Signer {
    fn of(settings: &ApnsSettings) -> Signer {
        Signer {
            team_id: settings.team_id.clone(),
            key_id: settings.key_id.clone(),
            private_key: settings.private_key.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ProviderClaims<'a> {
    iss: &'a str,
    iat: u64,
}

/// What APNs said, before the client decides what to do about a refused provider token.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Done(Outcome),
    /// `ExpiredProviderToken` or `InvalidProviderToken`: sign another and try again.
    ProviderTokenRefused(String),
}

/// Whether a provider token may come from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenChoice {
    Cached,
    Fresh,
}

impl Default for ApnsClient {
    fn default() -> Self {
        ApnsClient::new()
    }
}

impl ApnsClient {
    pub fn new() -> ApnsClient {
        ApnsClient {
            provider_token: Mutex::new(None),
            cleartext: client_builder()
                .http2_prior_knowledge()
                .build()
                .expect("a reqwest client with rustls builds"),
        }
    }

    /// Send one notification to a device token. A refused provider token is signed anew
    /// once; refused again, the push fails.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        settings: &ApnsSettings,
        device_token: &str,
        content: &PushContent,
    ) -> Outcome {
        let request = match prepare(settings, device_token, content) {
            Ok(request) => request,
            Err(reason) => return Outcome::Failed(reason),
        };
        let client = match request.url.scheme() {
            "http" => &self.cleartext,
            _ => http,
        };
        let first = self
            .send_once(client, settings, &request, TokenChoice::Cached)
            .await;
        match first {
            Answer::Done(outcome) => outcome,
            Answer::ProviderTokenRefused(_) => {
                match self
                    .send_once(client, settings, &request, TokenChoice::Fresh)
                    .await
                {
                    Answer::Done(outcome) => outcome,
                    Answer::ProviderTokenRefused(detail) => Outcome::Failed(detail),
                }
            }
        }
    }

    async fn send_once(
        &self,
        client: &reqwest::Client,
        settings: &ApnsSettings,
        request: &PreparedRequest,
        choice: TokenChoice,
    ) -> Answer {
        let jwt = match self.provider_jwt(settings, choice).await {
            Ok(jwt) => jwt,
            Err(reason) => return Answer::Done(Outcome::Failed(reason)),
        };
        let mut builder = client
            .post(request.url.clone())
            .version(reqwest::Version::HTTP_2)
            .timeout(REQUEST_TIMEOUT)
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-topic", &settings.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-expiration", request.expiration)
            .header("content-type", "application/json")
            .body(request.body.clone());
        if let Some(collapse_id) = &request.collapse_id {
            builder = builder.header("apns-collapse-id", collapse_id);
        }
        match builder.send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                read_answer(status, &answer_text(answer).await)
            }
            Err(error) => Answer::Done(outcome_of_error(&error)),
        }
    }

    /// The provider token for these settings' key: the cached one if young enough and
    /// `choice` allows it, else a new one.
    async fn provider_jwt(
        &self,
        settings: &ApnsSettings,
        choice: TokenChoice,
    ) -> Result<String, String> {
        let mut cached = self.provider_token.lock().await;
        let signer = Signer::of(settings);
        if let Some(token) = cached.as_ref() {
            let young = token.signed_at.elapsed() < PROVIDER_TOKEN_KEPT;
            if choice == TokenChoice::Cached && token.signer == signer && young {
                return Ok(token.jwt.clone());
            }
        }
        let jwt = sign_provider_token(settings)?;
        *cached = Some(ProviderToken {
            signer,
            jwt: jwt.clone(),
            signed_at: Instant::now(),
        });
        Ok(jwt)
    }
}

/// A new provider token: ES256, `kid` the key id, `iss` the team id, `iat` now.
fn sign_provider_token(settings: &ApnsSettings) -> Result<String, String> {
    let key = EncodingKey::from_ec_pem(settings.private_key.as_bytes())
        .map_err(|_| "The APNs signing key is not a PKCS#8 PEM P-256 key.".to_string())?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(settings.key_id.clone());
    let claims = ProviderClaims {
        iss: &settings.team_id,
        iat: unix_now_secs(),
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|error| format!("Signing the APNs provider token failed: {error}"))
}

/// A notification ready to go out to one device.
struct PreparedRequest {
    url: Url,
    body: Vec<u8>,
    expiration: u64,
    collapse_id: Option<String>,
}

fn prepare(
    settings: &ApnsSettings,
    device_token: &str,
    content: &PushContent,
) -> Result<PreparedRequest, String> {
    let hex = device_token.bytes().all(|byte| byte.is_ascii_hexdigit());
    if device_token.is_empty() || device_token.len() > DEVICE_TOKEN_CHARS_MAX || !hex {
        return Err("The APNs device token is not hexadecimal.".into());
    }
    if settings.topic.is_empty() {
        return Err("The APNs topic (the app's bundle id) is not set.".into());
    }
    let url = Url::parse(&format!(
        "{}/3/device/{device_token}",
        settings.endpoint.trim_end_matches('/')
    ))
    .ok()
    .filter(|url| matches!(url.scheme(), "http" | "https"))
    .ok_or("The APNs endpoint is not an http or https URL.")?;
    let body = payload(content).to_string().into_bytes();
    if body.len() > PAYLOAD_BYTES_MAX {
        return Err(format!(
            "payload too large: {} bytes, more than APNs' {PAYLOAD_BYTES_MAX}",
            body.len()
        ));
    }
    Ok(PreparedRequest {
        url,
        body,
        expiration: unix_now_secs() + u64::from(content.ttl_secs),
        collapse_id: (!content.collapse_id.is_empty())
            .then(|| apns_collapse_id(&content.collapse_id)),
    })
}

/// `{"aps":{"alert":{"title","body"}},"messageId":…}` with the data's keys beside them (a
/// data key named `aps` or `messageId` gives way).
fn payload(content: &PushContent) -> Value {
    let mut payload = content.data.clone();
    payload.insert(
        "aps".into(),
        json!({"alert": {"title": content.title, "body": content.body}}),
    );
    payload.insert("messageId".into(), json!(content.message_id));
    Value::Object(payload)
}

/// An `apns-collapse-id` for a collapse id: itself when it fits Apple's 64 bytes, else a
/// digest of it (also used for FCM's APNs headers).
pub(super) fn apns_collapse_id(collapse_id: &str) -> String {
    if collapse_id.len() <= COLLAPSE_ID_BYTES_MAX {
        collapse_id.to_string()
    } else {
        digest_id(collapse_id)
    }
}

/// What APNs' answer means: 200 sent; 410, or a 400 saying the token is bad or for another
/// app, gone; a 403 refusing the provider token, sign again; 408/429/5xx tried again;
/// another 4xx failed.
fn read_answer(status: u16, answer: &str) -> Answer {
    let reason = serde_json::from_str::<Value>(answer)
        .ok()
        .and_then(|body| body["reason"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let detail = || format!("{status}: {}", answer.chars().take(300).collect::<String>());
    match (status, reason.as_str()) {
        (200..=299, _) => Answer::Done(Outcome::Sent),
        (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
            Answer::Done(Outcome::Gone(detail()))
        }
        (403, "ExpiredProviderToken" | "InvalidProviderToken") => {
            Answer::ProviderTokenRefused(detail())
        }
        (404, _) => Answer::Done(Outcome::Failed(detail())),
        _ => Answer::Done(outcome_of_status(status, answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome_name(answer: &Answer) -> &'static str {
        match answer {
            Answer::Done(Outcome::Sent) => "sent",
            Answer::Done(Outcome::Gone(_)) => "gone",
            Answer::Done(Outcome::Retry(_)) => "retry",
            Answer::Done(Outcome::Failed(_)) => "failed",
            Answer::ProviderTokenRefused(_) => "sign again",
        }
    }

    #[test]
    fn answers_map_to_outcomes() {
        let cases: &[(u16, &str, &str)] = &[
            (200, "", "sent"),
            (410, r#"{"reason":"Unregistered","timestamp":1}"#, "gone"),
            (400, r#"{"reason":"BadDeviceToken"}"#, "gone"),
            (400, r#"{"reason":"DeviceTokenNotForTopic"}"#, "gone"),
            (400, r#"{"reason":"PayloadEmpty"}"#, "failed"),
            (400, "not json", "failed"),
            (403, r#"{"reason":"ExpiredProviderToken"}"#, "sign again"),
            (403, r#"{"reason":"InvalidProviderToken"}"#, "sign again"),
            (403, r#"{"reason":"BadCertificate"}"#, "failed"),
            (404, r#"{"reason":"BadPath"}"#, "failed"),
            (413, r#"{"reason":"PayloadTooLarge"}"#, "failed"),
            (429, r#"{"reason":"TooManyRequests"}"#, "retry"),
            (500, r#"{"reason":"InternalServerError"}"#, "retry"),
            (503, r#"{"reason":"ServiceUnavailable"}"#, "retry"),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                outcome_name(&read_answer(*status, body)),
                *expected,
                "{status} {body}"
            );
        }
    }

    fn content(collapse_id: &str) -> PushContent {
        let mut data = serde_json::Map::new();
        data.insert("room".into(), json!("r1"));
        data.insert("aps".into(), json!("ignored"));
        PushContent {
            title: "T".into(),
            body: "B".into(),
            data,
            ttl_secs: 120,
            collapse_id: collapse_id.into(),
            message_id: "m-1".into(),
        }
    }

    fn settings() -> ApnsSettings {
        ApnsSettings {
            enabled: true,
            team_id: "TEAM123456".into(),
            key_id: "KEY1234567".into(),
            private_key: String::new(),
            topic: "com.example.app".into(),
            endpoint: "http://127.0.0.1:9".into(),
        }
    }

    #[test]
    fn device_tokens_must_be_hex() {
        let long = "a".repeat(DEVICE_TOKEN_CHARS_MAX + 1);
        for bad in ["", "xyz", "00ff/../1", long.as_str()] {
            assert_eq!(
                prepare(&settings(), bad, &content("c")).err().as_deref(),
                Some("The APNs device token is not hexadecimal."),
                "{bad}"
            );
        }
        assert!(prepare(&settings(), &"0a".repeat(32), &content("c")).is_ok());
    }

    #[test]
    fn prepared_request() {
        let request = prepare(&settings(), "00ff", &content("c1")).expect("prepared");
        assert_eq!(request.url.as_str(), "http://127.0.0.1:9/3/device/00ff");
        let body: Value = serde_json::from_slice(&request.body).expect("JSON");
        assert_eq!(
            body,
            json!({"aps": {"alert": {"title": "T", "body": "B"}}, "messageId": "m-1", "room": "r1"})
        );
        let now = unix_now_secs();
        assert!(request.expiration >= now + 119 && request.expiration <= now + 121);
        assert_eq!(request.collapse_id.as_deref(), Some("c1"));
        let without_collapse = prepare(&settings(), "00ff", &content("")).expect("prepared");
        assert_eq!(without_collapse.collapse_id, None);
    }

    #[test]
    fn collapse_ids_fit_64_bytes() {
        let exactly = "x".repeat(64);
        assert_eq!(apns_collapse_id(&exactly), exactly);
        let long = "y".repeat(65);
        let hashed = apns_collapse_id(&long);
        assert!(hashed.len() <= COLLAPSE_ID_BYTES_MAX);
        assert_ne!(hashed, apns_collapse_id(&"y".repeat(66)));
    }

    #[tokio::test]
    async fn a_key_that_is_not_p8_fails_without_a_request() {
        let outcome = ApnsClient::new()
            .send(
                &super::super::http_client(),
                &settings(),
                "00ff",
                &content("c"),
            )
            .await;
        assert_eq!(
            outcome,
            Outcome::Failed("The APNs signing key is not a PKCS#8 PEM P-256 key.".into())
        );
    }
}
