//! The APNs service over HTTP/2 without TLS: provider tokens checked against a P-256 key it
//! made, and Apple's headers and payload checked.

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    delay, header_text, lock, now_secs, take, Inbox, Refusal, ServiceState, Shared, TestAnswer,
    TestService,
};

/// What the APNs test service expects of provider tokens and requests.
pub const APNS_TEAM_ID: &str = "EDGETEAM01";
pub const APNS_KEY_ID: &str = "EDGEKEY001";
pub const APNS_TOPIC: &str = "com.edgebase.test";
/// Apple takes a provider token up to an hour old.
const APNS_TOKEN_AGE_MAX_SECS: u64 = 3_600;

/// Apple Push Notification service, spoken to as HTTP/2 without TLS (prior knowledge).
pub type ApnsService = TestService<ApnsState>;

/// A notification the APNs service took.
#[derive(Debug, Clone, PartialEq)]
pub struct ApnsReceived {
    pub device: String,
    pub topic: String,
    pub push_type: String,
    pub priority: Option<String>,
    pub collapse_id: Option<String>,
    /// `apns-expiration`, Unix seconds.
    pub expiration: Option<u64>,
    pub payload: Value,
    /// The status answered.
    pub status: u16,
}

pub struct ApnsState {
    inbox: Inbox<ApnsReceived>,
    signing_key_pem: String,
    verifying_key: DecodingKey,
}

impl ServiceState for ApnsState {
    type Record = ApnsReceived;
    const NAME: &'static str = "APNs service";
    fn inbox(&mut self) -> &mut Inbox<ApnsReceived> {
        &mut self.inbox
    }
}

/// The claims of a provider token.
#[derive(Debug, Deserialize)]
struct ProviderClaims {
    iat: u64,
}

impl ApnsService {
    /// Serve with a new P-256 signing key; provider tokens must be signed by it with `kid`
    /// [`APNS_KEY_ID`] and `iss` [`APNS_TEAM_ID`].
    pub async fn start() -> anyhow::Result<ApnsService> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .context("generate the APNs test key")?;
        let point = key.public_key_raw();
        anyhow::ensure!(point.len() == 65, "a P-256 public key is 65 bytes");
        let verifying_key = DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..65]),
        )
        .context("the APNs test key's public key")?;
        let signing_key_pem = key.serialize_pem();
        TestService::serve(
            |_| ApnsState {
                inbox: Inbox::default(),
                signing_key_pem,
                verifying_key,
            },
            Router::new().route("/3/device/{token}", post(receive_notification)),
        )
        .await
    }

    /// The `.p8` key provider tokens must be signed with (PKCS#8 PEM).
    pub fn signing_key_pem(&self) -> String {
        lock(&self.state).signing_key_pem.clone()
    }

    /// The messaging settings' `apns` object for this service.
    pub fn settings(&self) -> Value {
        json!({
            "enabled": true,
            "teamId": APNS_TEAM_ID,
            "keyId": APNS_KEY_ID,
            "privateKey": self.signing_key_pem(),
            "topic": APNS_TOPIC,
            "endpoint": self.origin(),
        })
    }
}

async fn receive_notification(
    State(state): State<Shared<ApnsState>>,
    Path(device): Path<String>,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut service = lock(&state);
    match check_notification(&service, &device, version, &headers, &body) {
        Ok(notification) => {
            let success = TestAnswer::new(200, "");
            take(&mut *service, &device, success, |status| ApnsReceived {
                status,
                ..notification
            })
        }
        Err(refusal) => {
            let refusal = Refusal {
                reason: format!("notification to {device}: {}", refusal.reason),
                ..refusal
            };
            service.inbox.reject(refusal)
        }
    }
}

/// HTTP/2, a provider token signed ES256 by the service's key with its key id and team, the
/// app's topic, a push type, a hex device token and a JSON payload with `aps`.
fn check_notification(
    service: &ApnsState,
    device: &str,
    version: Version,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ApnsReceived, Refusal> {
    if version != Version::HTTP_2 {
        return Err(Refusal::apns(
            StatusCode::BAD_REQUEST,
            "BadProtocol",
            format!("the request came over {version:?}, not HTTP/2"),
        ));
    }
    verify_provider_token(service, headers)?;
    let topic = header_text(headers, "apns-topic").unwrap_or_default();
    if topic != APNS_TOPIC {
        return Err(Refusal::apns(
            StatusCode::BAD_REQUEST,
            "TopicDisallowed",
            format!("apns-topic is {topic:?}"),
        ));
    }
    let push_type = header_text(headers, "apns-push-type").unwrap_or_default();
    if !matches!(push_type, "alert" | "background") {
        return Err(Refusal::apns(
            StatusCode::BAD_REQUEST,
            "InvalidPushType",
            format!("apns-push-type is {push_type:?}"),
        ));
    }
    if device.is_empty() || !device.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(Refusal::apns(
            StatusCode::BAD_REQUEST,
            "BadDeviceToken",
            "not hex",
        ));
    }
    let collapse_id = header_text(headers, "apns-collapse-id").map(str::to_owned);
    if collapse_id.as_ref().is_some_and(|id| id.len() > 64) {
        return Err(Refusal::apns(
            StatusCode::BAD_REQUEST,
            "BadCollapseId",
            "over 64 bytes",
        ));
    }
    let expiration = match header_text(headers, "apns-expiration") {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            Refusal::apns(
                StatusCode::BAD_REQUEST,
                "BadExpirationDate",
                text.to_string(),
            )
        })?),
    };
    let payload: Value = serde_json::from_slice(body).map_err(|_| {
        Refusal::apns(
            StatusCode::BAD_REQUEST,
            "PayloadEmpty",
            "the payload is not JSON",
        )
    })?;
    if !payload["aps"].is_object() {
        return Err(Refusal::apns(
            StatusCode::BAD_REQUEST,
            "PayloadEmpty",
            "no aps object",
        ));
    }
    Ok(ApnsReceived {
        device: device.to_string(),
        topic: topic.to_string(),
        push_type: push_type.to_string(),
        priority: header_text(headers, "apns-priority").map(str::to_owned),
        collapse_id,
        expiration,
        payload,
        status: 0,
    })
}

/// `authorization: bearer <JWT>`: ES256 by the service's key, `kid` [`APNS_KEY_ID`], `iss`
/// [`APNS_TEAM_ID`], issued within the last hour.
fn verify_provider_token(service: &ApnsState, headers: &HeaderMap) -> Result<(), Refusal> {
    let invalid =
        |reason: String| Refusal::apns(StatusCode::FORBIDDEN, "InvalidProviderToken", reason);
    let token = header_text(headers, "authorization")
        .and_then(|value| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            Refusal::apns(
                StatusCode::FORBIDDEN,
                "MissingProviderToken",
                "no bearer token",
            )
        })?;
    let header = jsonwebtoken::decode_header(token).map_err(|error| invalid(error.to_string()))?;
    if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(APNS_KEY_ID) {
        return Err(invalid(format!(
            "alg {:?}, kid {:?}",
            header.alg, header.kid
        )));
    }
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss"]);
    validation.set_issuer(&[APNS_TEAM_ID]);
    let claims = jsonwebtoken::decode::<ProviderClaims>(token, &service.verifying_key, &validation)
        .map_err(|error| invalid(error.to_string()))?
        .claims;
    let now = now_secs();
    if claims.iat + APNS_TOKEN_AGE_MAX_SECS < now {
        return Err(Refusal::apns(
            StatusCode::FORBIDDEN,
            "ExpiredProviderToken",
            format!("issued at {}", claims.iat),
        ));
    }
    if claims.iat > now + 60 {
        return Err(invalid(format!("issued in the future ({})", claims.iat)));
    }
    Ok(())
}
