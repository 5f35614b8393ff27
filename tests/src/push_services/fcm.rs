//! The FCM service: the OAuth2 token endpoint that takes a service account's signed
//! assertion (RFC 7523), and the HTTP v1 send endpoint that takes the tokens it issued.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    delay, header_text, lock, take, Inbox, Refusal, ServiceState, Shared, TestAnswer, TestService,
    KEPT_MAX,
};

/// The scope an FCM access token must be asked for.
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// RFC 7523's grant type.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The FCM test service account (its key is the OIDC provider's test key).
const FCM_CLIENT_EMAIL: &str = "edgebase-test@edgebase-test.iam.gserviceaccount.com";
const FCM_PRIVATE_KEY_PEM: &str = include_str!("../oidc_test_key.pem");

/// Firebase Cloud Messaging: the OAuth2 token endpoint and the HTTP v1 send endpoint.
pub type FcmService = TestService<FcmState>;

/// A service account the FCM service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcmServiceAccount {
    pub client_email: String,
    /// The RSA private key, PEM.
    pub private_key_pem: String,
    /// Its public key (SubjectPublicKeyInfo PEM), that verifies the account's assertions.
    pub public_key_pem: String,
}

/// The test service account: the OIDC provider's RSA test key.
pub fn fcm_service_account() -> FcmServiceAccount {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let private_key = rsa::RsaPrivateKey::from_pkcs1_pem(FCM_PRIVATE_KEY_PEM)
        .expect("the test key is a PKCS#1 RSA PEM key");
    let public_key_pem = private_key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("an RSA public key serialises");
    FcmServiceAccount {
        client_email: FCM_CLIENT_EMAIL.into(),
        private_key_pem: FCM_PRIVATE_KEY_PEM.into(),
        public_key_pem,
    }
}

/// A message the FCM service took.
#[derive(Debug, Clone, PartialEq)]
pub struct FcmReceived {
    pub project: String,
    pub token: String,
    pub title: String,
    pub body: String,
    pub data: BTreeMap<String, String>,
    /// The whole request body.
    pub raw: Value,
    /// The status answered.
    pub status: u16,
}

pub struct FcmState {
    inbox: Inbox<FcmReceived>,
    origin: String,
    account: FcmServiceAccount,
    verifying_key: DecodingKey,
    access_tokens: HashSet<String>,
    token_exchanges: u64,
    token_failure: Option<TestAnswer>,
}

impl ServiceState for FcmState {
    type Record = FcmReceived;
    const NAME: &'static str = "FCM service";
    fn inbox(&mut self) -> &mut Inbox<FcmReceived> {
        &mut self.inbox
    }
}

/// The claims of a service account's assertion.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    scope: String,
    iat: u64,
    exp: u64,
}

impl FcmService {
    /// Serve for [`fcm_service_account`].
    pub async fn start() -> anyhow::Result<FcmService> {
        let account = fcm_service_account();
        let verifying_key = DecodingKey::from_rsa_pem(account.public_key_pem.as_bytes())
            .context("read the FCM test account's public key")?;
        TestService::serve(
            |origin| FcmState {
                inbox: Inbox::default(),
                origin: origin.to_string(),
                account,
                verifying_key,
                access_tokens: HashSet::new(),
                token_exchanges: 0,
                token_failure: None,
            },
            Router::new().route("/token", post(exchange_token)).route(
                "/v1/projects/{project}/messages:send",
                post(receive_message),
            ),
        )
        .await
    }

    /// Where assertions are exchanged for access tokens.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.origin())
    }

    /// The messaging settings' `fcm` object for this service and the test account.
    pub fn settings(&self, project_id: &str) -> Value {
        let account = fcm_service_account();
        json!({
            "enabled": true,
            "projectId": project_id,
            "clientEmail": account.client_email,
            "privateKey": account.private_key_pem,
            "tokenUrl": self.token_url(),
            "endpoint": self.origin(),
        })
    }

    /// How many access tokens were issued.
    pub fn token_exchanges(&self) -> u64 {
        lock(&self.state).token_exchanges
    }

    /// Forget every access token issued: the next sends are answered 401.
    pub fn revoke_access_tokens(&self) {
        lock(&self.state).access_tokens.clear();
    }

    /// Answer token exchanges with `answer` (after checking them), or again issue tokens.
    pub fn fail_token_exchanges(&self, answer: Option<TestAnswer>) {
        lock(&self.state).token_failure = answer;
    }
}

async fn exchange_token(
    State(state): State<Shared<FcmState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut service = lock(&state);
    if let Err(refusal) = check_assertion(&service, &headers, &body) {
        let refusal = Refusal {
            reason: format!("token exchange: {}", refusal.reason),
            ..refusal
        };
        return service.inbox.reject(refusal);
    }
    if let Some(answer) = service.token_failure.clone() {
        return answer.respond();
    }
    if service.access_tokens.len() >= KEPT_MAX {
        return service.inbox.reject(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "token exchange: too many access tokens",
        ));
    }
    service.token_exchanges += 1;
    let access_token = format!("fcm-test-token-{}", service.token_exchanges);
    service.access_tokens.insert(access_token.clone());
    axum::Json(json!({
        "access_token": access_token,
        "expires_in": 3600,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// RFC 7523: a form with the JWT-bearer grant and an assertion signed RS256 by the account,
/// for this token URL, asking for the FCM scope, valid at most an hour.
fn check_assertion(service: &FcmState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let bad = |reason: String| Refusal::new(StatusCode::BAD_REQUEST, reason);
    let content_type = header_text(headers, "content-type").unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(bad(format!("Content-Type is {content_type:?}, not a form")));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != JWT_BEARER_GRANT {
        return Err(bad(format!("grant_type is {:?}", field("grant_type"))));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[format!("{}/token", service.origin)]);
    validation.set_issuer(&[&service.account.client_email]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(
        field("assertion"),
        &service.verifying_key,
        &validation,
    )
    .map_err(|error| bad(format!("the assertion: {error}")))?
    .claims;
    if !claims
        .scope
        .split_whitespace()
        .any(|scope| scope == FCM_SCOPE)
    {
        return Err(bad(format!(
            "the scope {:?} lacks firebase.messaging",
            claims.scope
        )));
    }
    if claims.exp.saturating_sub(claims.iat) > 3_600 {
        return Err(bad("the assertion is valid more than an hour".into()));
    }
    Ok(())
}

async fn receive_message(
    State(state): State<Shared<FcmState>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    delay(&state).await;
    let mut service = lock(&state);
    match check_message(&service, &project, &headers, &body) {
        Ok(message) => {
            let token = message.token.clone();
            let name = format!(
                "projects/{project}/messages/{}",
                service.inbox.received.len() + 1
            );
            let success = TestAnswer::json(200, json!({ "name": name }));
            take(&mut *service, &token, success, |status| FcmReceived {
                status,
                ..message
            })
        }
        Err(refusal) => {
            let refusal = Refusal {
                reason: format!("send in {project}: {}", refusal.reason),
                ..refusal
            };
            service.inbox.reject(refusal)
        }
    }
}

/// An access token this service issued, and a v1 message: a token, a notification with a
/// title and body, data of strings only, and an Android TTL in seconds (`"<n>s"`).
fn check_message(
    service: &FcmState,
    project: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<FcmReceived, Refusal> {
    let access_token = header_text(headers, "authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !service.access_tokens.contains(access_token) {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            reason: format!("access token {access_token:?} was not issued or was revoked"),
            body: json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
        });
    }
    let bad = |reason: &str| Refusal::new(StatusCode::BAD_REQUEST, reason);
    let raw: Value = serde_json::from_slice(body).map_err(|_| bad("the body is not JSON"))?;
    let message = &raw["message"];
    let text = |value: &Value, what: &str| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("{what} is not a string")))
    };
    let token = text(&message["token"], "message.token")?;
    if token.is_empty() {
        return Err(bad("message.token is empty"));
    }
    let title = text(
        &message["notification"]["title"],
        "message.notification.title",
    )?;
    let body_text = text(
        &message["notification"]["body"],
        "message.notification.body",
    )?;
    let mut data = BTreeMap::new();
    if let Some(entries) = message.get("data") {
        let entries = entries
            .as_object()
            .ok_or_else(|| bad("message.data is not an object"))?;
        for (key, value) in entries {
            data.insert(key.clone(), text(value, &format!("message.data.{key}"))?);
        }
    }
    if let Some(ttl) = message["android"].get("ttl") {
        let seconds = ttl.as_str().and_then(|ttl| ttl.strip_suffix('s'));
        if !seconds
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("message.android.ttl is not \"<n>s\""));
        }
    }
    Ok(FcmReceived {
        project: project.to_string(),
        token,
        title,
        body: body_text,
        data,
        raw,
        status: 0,
    })
}
