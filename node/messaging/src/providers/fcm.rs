//! Firebase Cloud Messaging, HTTP v1 API: a push to one registration token, authorised by
//! an OAuth2 access token that the service account's signed JWT is exchanged for (RFC 7523)
//! and that is kept until shortly before it expires.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::apns::apns_collapse_id;
use super::{
    answer_text, outcome_of_error, outcome_of_status, unix_now_secs, Outcome, PushContent,
    REQUEST_TIMEOUT,
};
use crate::settings::FcmSettings;

/// The OAuth2 scope that sends FCM messages.
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// RFC 7523's grant: a JWT exchanged for an access token.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long the signed assertion is valid; Google takes at most an hour.
const ASSERTION_VALID_SECS: u64 = 3_600;
/// An access token is replaced this long before it expires, so none expires in flight.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The longest an access token is kept, whatever its `expires_in` says.
const TOKEN_KEPT_MAX: Duration = Duration::from_secs(24 * 3_600);
/// Longest registration token taken (FCM's are about 160 characters).
const REGISTRATION_TOKEN_CHARS_MAX: usize = 4_096;

/// Sends FCM messages, keeping one access token for the service account last used.
#[derive(Debug, Default)]
pub struct FcmClient {
    token: Mutex<Option<CachedToken>>,
}

/// An access token and the service account it was issued to.
#[derive(Debug)]
struct CachedToken {
    account: Account,
    access_token: String,
    refresh_at: Instant,
}

/// What a cached access token was obtained with: a change to any of them asks for a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    client_email: String,
    private_key: String,
    token_url: String,
}

impl Account {
    fn of(settings: &FcmSettings) -> Account {
        Account {
            client_email: settings.client_email.clone(),
            private_key: settings.private_key.clone(),
            token_url: settings.token_url.clone(),
        }
    }
}

/// The service account's assertion (Google's "JWT for OAuth 2.0 server to server").
#[derive(Debug, Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// What the messages endpoint said, before the client decides what to do about a 401.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Done(Outcome),
    /// The access token was refused: get another and try again.
    Unauthorized(String),
}

impl FcmClient {
    pub fn new() -> FcmClient {
        FcmClient::default()
    }

    /// Send one push to a registration token. A 401 drops the access token and tries once
    /// more with a new one.
    pub async fn send(
        &self,
        http: &reqwest::Client,
        settings: &FcmSettings,
        token: &str,
        content: &PushContent,
    ) -> Outcome {
        if token.is_empty() || token.len() > REGISTRATION_TOKEN_CHARS_MAX {
            return Outcome::Failed("The FCM registration token is empty or too long.".into());
        }
        let url = match messages_url(settings) {
            Ok(url) => url,
            Err(reason) => return Outcome::Failed(reason),
        };
        let body = message_body(token, content);
        match self.send_once(http, settings, &url, &body).await {
            Answer::Done(outcome) => outcome,
            Answer::Unauthorized(_) => match self.send_once(http, settings, &url, &body).await {
                Answer::Done(outcome) => outcome,
                Answer::Unauthorized(detail) => Outcome::Retry(detail),
            },
        }
    }

    async fn send_once(
        &self,
        http: &reqwest::Client,
        settings: &FcmSettings,
        url: &Url,
        body: &Value,
    ) -> Answer {
        let access_token = match self.access_token(http, settings).await {
            Ok(access_token) => access_token,
            Err(outcome) => return Answer::Done(outcome),
        };
        let sent = http
            .post(url.clone())
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(&access_token)
            .json(body)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(error) => return Answer::Done(outcome_of_error(&error)),
        };
        let status = answer.status().as_u16();
        let answer = read_answer(status, &answer_text(answer).await);
        if matches!(answer, Answer::Unauthorized(_)) {
            self.forget(&access_token).await;
        }
        answer
    }

    /// The cached access token for these settings' account, or a new one.
    async fn access_token(
        &self,
        http: &reqwest::Client,
        settings: &FcmSettings,
    ) -> Result<String, Outcome> {
        // Held across the exchange, so concurrent sends wait for one token, not ask for many.
        let mut cached = self.token.lock().await;
        let account = Account::of(settings);
        if let Some(token) = cached.as_ref() {
            if token.account == account && Instant::now() < token.refresh_at {
                return Ok(token.access_token.clone());
            }
        }
        let answer = exchange_assertion(http, settings).await?;
        let lifetime = Duration::from_secs(answer.expires_in).min(TOKEN_KEPT_MAX);
        *cached = Some(CachedToken {
            account,
            access_token: answer.access_token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(TOKEN_REFRESH_MARGIN),
        });
        Ok(answer.access_token)
    }

    /// Drop the cached access token if it is still `refused`.
    async fn forget(&self, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|token| token.access_token == refused)
        {
            *cached = None;
        }
    }
}

/// `{endpoint}/v1/projects/{project_id}/messages:send`.
fn messages_url(settings: &FcmSettings) -> Result<Url, String> {
    let project_ok = !settings.project_id.is_empty()
        && settings
            .project_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !project_ok {
        return Err("The FCM project id is empty or not a project id.".into());
    }
    let url = format!(
        "{}/v1/projects/{}/messages:send",
        settings.endpoint.trim_end_matches('/'),
        settings.project_id
    );
    http_url(&url).ok_or_else(|| "The FCM endpoint is not an http or https URL.".into())
}

fn http_url(text: &str) -> Option<Url> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
}

/// The service account's signed assertion.
fn assertion(settings: &FcmSettings) -> Result<String, Outcome> {
    let key = EncodingKey::from_rsa_pem(settings.private_key.as_bytes()).map_err(|_| {
        Outcome::Failed("The FCM service account's private key is not an RSA PEM key.".into())
    })?;
    let iat = unix_now_secs();
    let claims = AssertionClaims {
        iss: &settings.client_email,
        scope: FCM_SCOPE,
        aud: &settings.token_url,
        iat,
        exp: iat + ASSERTION_VALID_SECS,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
        .map_err(|error| Outcome::Failed(format!("Signing the FCM token request failed: {error}")))
}

/// Exchange the assertion for an access token at `token_url`.
async fn exchange_assertion(
    http: &reqwest::Client,
    settings: &FcmSettings,
) -> Result<TokenAnswer, Outcome> {
    let url = http_url(&settings.token_url)
        .ok_or_else(|| Outcome::Failed("The FCM token URL is not an http or https URL.".into()))?;
    let assertion = assertion(settings)?;
    let answer = http
        .post(url)
        .timeout(REQUEST_TIMEOUT)
        .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)])
        .send()
        .await
        .map_err(|error| outcome_of_error(&error))?;
    let status = answer.status().as_u16();
    let text = answer_text(answer).await;
    if !(200..=299).contains(&status) {
        return Err(token_failure(status, &text));
    }
    serde_json::from_str::<TokenAnswer>(&text)
        .ok()
        .filter(|answer| !answer.access_token.is_empty())
        .ok_or_else(|| {
            Outcome::Retry(format!(
                "The FCM token answer has no access token: {}",
                text.chars().take(300).collect::<String>()
            ))
        })
}

/// A token endpoint that refused: worth another try if it may pass (a 5xx, 429), else a
/// configuration to fix (a wrong key, account or URL).
fn token_failure(status: u16, answer: &str) -> Outcome {
    match outcome_of_status(status, answer) {
        Outcome::Retry(detail) => Outcome::Retry(format!("FCM token request: {detail}")),
        Outcome::Sent | Outcome::Gone(_) | Outcome::Failed(_) => Outcome::Failed(format!(
            "FCM token request refused: {status}: {}",
            answer.chars().take(300).collect::<String>()
        )),
    }
}

/// The v1 `messages:send` body.
fn message_body(token: &str, content: &PushContent) -> Value {
    let mut data: Map<String, Value> = content
        .data
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (key.clone(), Value::String(text))
        })
        .collect();
    data.insert("messageId".into(), json!(content.message_id));
    let mut android = json!({"ttl": format!("{}s", content.ttl_secs)});
    let mut message = json!({
        "token": token,
        "notification": {"title": content.title, "body": content.body},
        "data": data,
    });
    if !content.collapse_id.is_empty() {
        android["collapse_key"] = json!(content.collapse_id);
        message["apns"] =
            json!({"headers": {"apns-collapse-id": apns_collapse_id(&content.collapse_id)}});
    }
    message["android"] = android;
    json!({ "message": message })
}

/// What FCM's answer means: 2xx sent; 404, or a 400 that says the token is unregistered or
/// not a token, gone; 401 unauthorized; 408/429/5xx tried again; another 4xx failed.
fn read_answer(status: u16, answer: &str) -> Answer {
    let detail = || format!("{status}: {}", answer.chars().take(300).collect::<String>());
    match status {
        401 => Answer::Unauthorized(detail()),
        400 if names_a_dead_token(answer) => Answer::Done(Outcome::Gone(detail())),
        400 => Answer::Done(Outcome::Failed(detail())),
        _ => Answer::Done(outcome_of_status(status, answer)),
    }
}

/// Whether a 400's error says the registration token is at fault: an `UNREGISTERED` error
/// code, or `INVALID_ARGUMENT` about `message.token` (a field violation, or FCM's "not a
/// valid FCM registration token" message).
fn names_a_dead_token(answer: &str) -> bool {
    let Ok(body) = serde_json::from_str::<Value>(answer) else {
        return false;
    };
    let error = &body["error"];
    let details = error["details"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let error_codes = || {
        details
            .iter()
            .filter_map(|detail| detail["errorCode"].as_str())
    };
    if error_codes().any(|code| code == "UNREGISTERED") {
        return true;
    }
    let invalid_argument = error["status"] == "INVALID_ARGUMENT"
        || error_codes().any(|code| code == "INVALID_ARGUMENT");
    let token_field = details.iter().any(|detail| {
        detail["fieldViolations"]
            .as_array()
            .is_some_and(|violations| violations.iter().any(|v| v["field"] == "message.token"))
    });
    let token_message = error["message"]
        .as_str()
        .is_some_and(|message| message.contains("registration token"));
    invalid_argument && (token_field || token_message)
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
            Answer::Unauthorized(_) => "unauthorized",
        }
    }

    #[test]
    fn answers_map_to_outcomes() {
        let unregistered = r#"{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        let unregistered_400 = r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        let bad_token = r#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#;
        let bad_token_field = r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid registration token"}]}]}}"#;
        let bad_payload = r#"{"error":{"code":400,"message":"Invalid JSON payload received.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.data","description":"Invalid value"}]}]}}"#;
        let cases: &[(u16, &str, &str)] = &[
            (200, "{}", "sent"),
            (404, unregistered, "gone"),
            (404, "", "gone"),
            (400, unregistered_400, "gone"),
            (400, bad_token, "gone"),
            (400, bad_token_field, "gone"),
            (400, bad_payload, "failed"),
            (400, "not json", "failed"),
            (401, "", "unauthorized"),
            (403, r#"{"error":{"status":"PERMISSION_DENIED"}}"#, "failed"),
            (429, "", "retry"),
            (500, "", "retry"),
            (503, "", "retry"),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                outcome_name(&read_answer(*status, body)),
                *expected,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn token_endpoint_failures() {
        let cases: &[(u16, &str)] = &[
            (400, "failed"),
            (401, "failed"),
            (404, "failed"),
            (429, "retry"),
            (500, "retry"),
        ];
        for (status, expected) in cases {
            let got = outcome_name(&Answer::Done(token_failure(*status, "x")));
            assert_eq!(got, *expected, "{status}");
        }
    }

    #[test]
    fn message_body_shape() {
        let mut data = Map::new();
        data.insert("text".into(), json!("hi"));
        data.insert("count".into(), json!(3));
        data.insert("nested".into(), json!({"a": true}));
        let content = PushContent {
            title: "T".into(),
            body: "B".into(),
            data,
            ttl_secs: 90,
            collapse_id: "c".repeat(70),
            message_id: "m-1".into(),
        };
        let body = message_body("tok", &content);
        let message = &body["message"];
        assert_eq!(message["token"], "tok");
        assert_eq!(message["notification"], json!({"title": "T", "body": "B"}));
        assert_eq!(
            message["data"],
            json!({"text": "hi", "count": "3", "nested": "{\"a\":true}", "messageId": "m-1"})
        );
        assert_eq!(message["android"]["ttl"], "90s");
        assert_eq!(message["android"]["collapse_key"], "c".repeat(70));
        let apns_collapse = message["apns"]["headers"]["apns-collapse-id"]
            .as_str()
            .unwrap_or_default();
        assert!(!apns_collapse.is_empty() && apns_collapse.len() <= 64);

        let plain = message_body(
            "tok",
            &PushContent {
                collapse_id: String::new(),
                ..content
            },
        );
        assert!(plain["message"].get("apns").is_none());
        assert!(plain["message"]["android"].get("collapse_key").is_none());
    }

    #[tokio::test]
    async fn a_key_that_is_not_rsa_fails_without_a_request() {
        let settings = FcmSettings {
            enabled: true,
            project_id: "demo".into(),
            client_email: "sa@demo.iam.gserviceaccount.com".into(),
            private_key: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n".into(),
            // Nothing listens here: a request would come back as Retry, not Failed.
            token_url: "http://127.0.0.1:9/token".into(),
            endpoint: "http://127.0.0.1:9".into(),
        };
        let content = PushContent {
            title: "T".into(),
            body: "B".into(),
            data: Map::new(),
            ttl_secs: 60,
            collapse_id: String::new(),
            message_id: "m".into(),
        };
        let outcome = FcmClient::new()
            .send(&super::super::http_client(), &settings, "tok", &content)
            .await;
        assert_eq!(
            outcome,
            Outcome::Failed("The FCM service account's private key is not an RSA PEM key.".into())
        );
    }

    #[test]
    fn project_ids_and_endpoints_are_checked() {
        let settings = |project: &str, endpoint: &str| FcmSettings {
            project_id: project.into(),
            endpoint: endpoint.into(),
            ..FcmSettings::default()
        };
        assert_eq!(
            messages_url(&settings("demo-1", "https://fcm.googleapis.com/"))
                .map(|url| url.to_string()),
            Ok("https://fcm.googleapis.com/v1/projects/demo-1/messages:send".to_string())
        );
        assert!(messages_url(&settings("", "https://fcm.googleapis.com")).is_err());
        assert!(messages_url(&settings("a/../b", "https://fcm.googleapis.com")).is_err());
        assert!(messages_url(&settings("demo", "fcm.googleapis.com")).is_err());
    }
}
