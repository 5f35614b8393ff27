//! The Web Push service (RFC 8030): subscriptions whose keys it makes, pushes it takes only
//! when VAPID-signed (RFC 8292) and decrypts (RFC 8291).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::p256::SecretKey;
use web_push_native::Auth;

use super::{
    delay, header_text, lock, now_secs, take, Inbox, Refusal, ServiceState, Shared, TestAnswer,
    TestService, KEPT_MAX,
};

/// RFC 8292 §2: a VAPID token expires at most 24 hours ahead.
const VAPID_LIFETIME_MAX_SECS: u64 = 24 * 3_600;

/// A Web Push service.
pub type WebPushService = TestService<WebPushState>;

/// A subscription made at the service, as a browser hands it to the application server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSubscription {
    pub id: String,
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed, base64url without padding.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url without padding.
    pub auth: String,
}

/// A push the service took, decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPushReceived {
    pub subscription: String,
    pub plaintext: String,
    pub ttl: u32,
    pub topic: Option<String>,
    pub urgency: Option<String>,
    pub vapid_subject: String,
    /// The VAPID public key (`k`) that signed the request.
    pub vapid_key: String,
    /// The status answered.
    pub status: u16,
}

/// A subscription's private half, kept by the "browser".
struct SubscriptionSecret {
    secret: SecretKey,
    auth: Auth,
}

pub struct WebPushState {
    inbox: Inbox<WebPushReceived>,
    origin: String,
    subscriptions: HashMap<String, SubscriptionSecret>,
    expected_vapid_key: Option<String>,
    subscribed: u64,
}

impl ServiceState for WebPushState {
    type Record = WebPushReceived;
    const NAME: &'static str = "Web Push service";
    fn inbox(&mut self) -> &mut Inbox<WebPushReceived> {
        &mut self.inbox
    }
}

/// The claims a VAPID token must carry.
#[derive(Debug, Deserialize)]
struct VapidClaims {
    exp: u64,
    sub: String,
}

impl WebPushService {
    pub async fn start() -> anyhow::Result<WebPushService> {
        TestService::serve(
            |origin| WebPushState {
                inbox: Inbox::default(),
                origin: origin.to_string(),
                subscriptions: HashMap::new(),
                expected_vapid_key: None,
                subscribed: 0,
            },
            Router::new().route("/push/{id}", post(receive_push)),
        )
        .await
    }

    /// A new subscription: a fresh P-256 key pair and authentication secret.
    pub fn subscribe(&self) -> TestSubscription {
        let secret = SecretKey::random(&mut rand::rngs::OsRng);
        let auth_bytes: [u8; 16] = rand::random();
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let mut state = lock(&self.state);
        assert!(
            state.subscriptions.len() < KEPT_MAX,
            "more than {KEPT_MAX} test subscriptions"
        );
        state.subscribed += 1;
        let id = format!("sub-{}", state.subscribed);
        state.subscriptions.insert(
            id.clone(),
            SubscriptionSecret {
                secret,
                auth: Auth::clone_from_slice(&auth_bytes),
            },
        );
        TestSubscription {
            endpoint: format!("{}/push/{id}", state.origin),
            id,
            p256dh,
            auth: URL_SAFE_NO_PAD.encode(auth_bytes),
        }
    }

    /// Refuse (403) requests whose VAPID key `k` is not `public_key` (base64url).
    pub fn expect_vapid_key(&self, public_key: &str) {
        lock(&self.state).expected_vapid_key = Some(public_key.trim_end_matches('=').to_string());
    }
}

async fn receive_push(
    State(state): State<Shared<WebPushState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut service = lock(&state);
    match check_push(&service, &id, &headers, &body) {
        Ok(push) => take(&mut *service, &id, TestAnswer::new(201, ""), |status| {
            WebPushReceived { status, ..push }
        }),
        Err(refusal) => {
            let refusal = Refusal {
                reason: format!("push to {id}: {}", refusal.reason),
                ..refusal
            };
            service.inbox.reject(refusal)
        }
    }
}

/// Everything a push service checks of a push, and the push decrypted.
fn check_push(
    service: &WebPushState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WebPushReceived, Refusal> {
    let subscription = service
        .subscriptions
        .get(id)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "unknown subscription"))?;
    let authorization = header_text(headers, "authorization")
        .ok_or_else(|| Refusal::new(StatusCode::UNAUTHORIZED, "no Authorization header"))?;
    let (subject, key) = verify_vapid(authorization, &service.origin)
        .map_err(|reason| Refusal::new(StatusCode::UNAUTHORIZED, reason))?;
    if let Some(expected) = &service.expected_vapid_key {
        if &key != expected {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("VAPID key {key} is not the subscription's {expected}"),
            ));
        }
    }
    let encoding = header_text(headers, "content-encoding");
    if encoding != Some("aes128gcm") {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("Content-Encoding is {encoding:?}, not aes128gcm"),
        ));
    }
    let ttl = header_text(headers, "ttl")
        .and_then(|ttl| ttl.parse::<u32>().ok())
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "no TTL header"))?;
    let plaintext =
        web_push_native::decrypt(body.to_vec(), &subscription.secret, &subscription.auth)
            .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, format!("decrypt: {error}")))?;
    let plaintext = String::from_utf8(plaintext)
        .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "the plaintext is not UTF-8"))?;
    Ok(WebPushReceived {
        subscription: id.to_string(),
        plaintext,
        ttl,
        topic: header_text(headers, "topic").map(str::to_owned),
        urgency: header_text(headers, "urgency").map(str::to_owned),
        vapid_subject: subject,
        vapid_key: key,
        status: 0,
    })
}

/// Check `vapid t=<JWT>, k=<key>` (RFC 8292 §3): the JWT signed ES256 by `k`, for this
/// origin, expiring in the future and at most 24 hours ahead, with a `mailto:` or `https:`
/// subject. Gives the subject and the key.
fn verify_vapid(authorization: &str, origin: &str) -> Result<(String, String), String> {
    let parameters = authorization
        .strip_prefix("vapid ")
        .ok_or("the Authorization scheme is not vapid")?;
    let mut token = None;
    let mut key = None;
    for parameter in parameters.split(',').map(str::trim) {
        if let Some(value) = parameter.strip_prefix("t=") {
            token = Some(value);
        } else if let Some(value) = parameter.strip_prefix("k=") {
            key = Some(value);
        }
    }
    let (Some(token), Some(key)) = (token, key) else {
        return Err("the vapid authorization lacks t= or k=".into());
    };
    let point = decode_base64url(key)
        .filter(|point| point.len() == 65 && point[0] == 4)
        .ok_or("k is not an uncompressed P-256 point")?;
    let decoding_key = DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..65]),
    )
    .map_err(|error| format!("k: {error}"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<VapidClaims>(token, &decoding_key, &validation)
        .map_err(|error| format!("the VAPID token: {error}"))?
        .claims;
    if claims.exp > now_secs() + VAPID_LIFETIME_MAX_SECS {
        return Err(format!(
            "the VAPID token expires more than 24 h ahead ({})",
            claims.exp
        ));
    }
    if !(claims.sub.starts_with("mailto:") || claims.sub.starts_with("https:")) {
        return Err(format!(
            "the VAPID subject {:?} is not mailto: or https:",
            claims.sub
        ));
    }
    Ok((claims.sub, key.trim_end_matches('=').to_string()))
}

fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}
