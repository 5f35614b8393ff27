//! A small OpenID Connect provider for tests, served by axum inside the test process:
//! `/authorize` signs in whichever user the test chose (no UI) and redirects back with a
//! code; `/token` exchanges a code once, checking the client, the redirect URI and PKCE
//! (the S256 of the verifier must equal the challenge) and answering an RS256 id_token
//! too; `/userinfo` answers the user's claims for an access token it issued (to a GET, or
//! to a POST as GraphQL user endpoints take); `/jwks`
//! publishes the signing key. Started as Apple, it issues Apple's id_tokens and answers an
//! authorization asked with `response_mode=form_post` with a form posting the code back,
//! with the user's name, as Apple does. Every map it keeps is bounded.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The provider's id_token signing key: an RSA key made for these tests only, published at
/// `/jwks` with its modulus below (exponent 65537).
const SIGNING_KEY_PEM: &str = include_str!("oidc_test_key.pem");
const SIGNING_KEY_MODULUS: &str = "pRsvpvtFaP7QTOVyUfz30FfvTPUdAy3qJDokbWpJWxWLkUYoedgIOGyDlQt8q-WcvUvJjhoV5SlysuhDmCd6Px4GGPgnyJ78IJr3Am3tRvlyBVV6L7XJxDR6uchFZ13tTBElWZXwqPpz7BPaTNMlClrI4vq4jrCShlDe-389YGE0Kdbsi2aVimxcN31AAnvPJWv5ZGhZ8Hb444HomlMBBv1U-pIaMFPHKpJy6wQ03e3DqCQPP99bqx0_c8PchraHCeWfiQCQ9C__KamQl1PJCjJp04pK6H_rF0CcMqo9_9f1uAphD5TOT5ww7JMyNtf2_Go-fzaNk4gmzF9VdN67FQ";
const SIGNING_KEY_ID: &str = "edgebase-test-key";

/// Most codes or access tokens outstanding at once; more is a test bug.
const OUTSTANDING_MAX: usize = 1_000;

/// The client the provider knows.
pub const CLIENT_ID: &str = "edgebase-test-client";
pub const CLIENT_SECRET: &str = "edgebase-test-secret";

#[derive(Debug, Clone)]
struct PendingCode {
    challenge: String,
    redirect_uri: String,
    user: Value,
}

#[derive(Debug, Default)]
struct ProviderState {
    user: Value,
    codes: HashMap<String, PendingCode>,
    tokens: HashMap<String, Value>,
    counter: u64,
    pkce_failures: u64,
    exchanges: u64,
    /// Sign id_tokens with a signature the published key does not verify.
    forge_signatures: bool,
    /// How many user lookups came as a POST (GraphQL user endpoints).
    user_info_posts: u64,
    /// Pose as Apple: id_tokens issued by Apple without the name, and an authorization
    /// asked with `response_mode=form_post` answered by a form posting the code, the state
    /// and the user's name back.
    apple: bool,
}

/// Apple's id_token issuer, as Apple's relying parties check it.
const APPLE_ISSUER: &str = "https://appleid.apple.com";

/// Where a relying party configured for this provider reads the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    UserInfo,
    /// The id_token's claims, its signature unchecked.
    IdToken,
    /// The id_token's claims, its signature checked against the provider's .
    VerifiedIdToken,
}

/// A running provider; dropping it stops the server.
pub struct OidcProvider {
    addr: SocketAddr,
    state: Arc<Mutex<ProviderState>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Shared = Arc<Mutex<ProviderState>>;

fn oauth_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, ProviderState> {
    // A panic while holding the lock already fails the test; keep serving.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn authorize(
    State(state): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let param = |key: &str| params.get(key).cloned().unwrap_or_default();
    if param("client_id") != CLIENT_ID {
        return oauth_error("unauthorized_client", "unknown client_id");
    }
    if param("response_type") != "code" {
        return oauth_error("unsupported_response_type", "only code");
    }
    if param("code_challenge").is_empty() || param("code_challenge_method") != "S256" {
        return oauth_error("invalid_request", "PKCE with S256 is required");
    }
    let redirect_uri = param("redirect_uri");
    let Ok(mut target) = reqwest::Url::parse(&redirect_uri) else {
        return oauth_error("invalid_request", "redirect_uri is not a URL");
    };
    let mut provider = lock(&state);
    if provider.codes.len() >= OUTSTANDING_MAX {
        return oauth_error("temporarily_unavailable", "too many outstanding codes");
    }
    provider.counter += 1;
    let code = format!("code-{}", provider.counter);
    let user = provider.user.clone();
    provider.codes.insert(
        code.clone(),
        PendingCode {
            challenge: param("code_challenge"),
            redirect_uri: redirect_uri.clone(),
            user: user.clone(),
        },
    );
    if provider.apple && param("response_mode") == "form_post" {
        return apple_form_post(&redirect_uri, &code, &param("state"), &user);
    }
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &param("state"));
    Redirect::to(target.as_str()).into_response()
}

/// Apple's `form_post` answer: a page whose form posts the code, the state and (as Apple
/// does on a first sign-in) the user's name as JSON back to the redirect URI.
fn apple_form_post(redirect_uri: &str, code: &str, state: &str, user: &Value) -> Response {
    let full_name = user["name"].as_str().unwrap_or_default();
    let (first, last) = full_name.split_once(' ').unwrap_or((full_name, ""));
    let apple_user = json!({
        "name": {"firstName": first, "lastName": last},
        "email": user["email"],
    })
    .to_string();
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let field = |name: &str, value: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value)
        )
    };
    let page = format!(
        r#"<html><body onload="document.forms[0].submit()"><form method="post" action="{}">{}{}{}</form></body></html>"#,
        escape(redirect_uri),
        field("code", code),
        field("state", state),
        field("user", &apple_user),
    );
    axum::response::Html(page).into_response()
}

/// The client's credentials: HTTP basic auth (form-encoded parts) or the form's fields.
fn client_credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> (String, String) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|text| text.split_once(':')) {
        return (id.to_string(), secret.to_string());
    }
    let field = |key: &str| form.get(key).cloned().unwrap_or_default();
    (field("client_id"), field("client_secret"))
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |key: &str| form.get(key).cloned().unwrap_or_default();
    let (client_id, client_secret) = client_credentials(&headers, &form);
    if client_id != CLIENT_ID || client_secret != CLIENT_SECRET {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if field("grant_type") != "authorization_code" {
        return oauth_error("unsupported_grant_type", "only authorization_code");
    }
    let mut provider = lock(&state);
    provider.exchanges += 1;
    // A code is used at most once, whatever the outcome.
    let Some(pending) = provider.codes.remove(&field("code")) else {
        return oauth_error("invalid_grant", "unknown or used code");
    };
    if pending.redirect_uri != field("redirect_uri") {
        return oauth_error("invalid_grant", "redirect_uri differs");
    }
    if s256(&field("code_verifier")) != pending.challenge {
        provider.pkce_failures += 1;
        return oauth_error("invalid_grant", "PKCE verification failed");
    }
    if provider.tokens.len() >= OUTSTANDING_MAX {
        return oauth_error("temporarily_unavailable", "too many tokens");
    }
    provider.counter += 1;
    let access_token = format!("access-{}", provider.counter);
    provider
        .tokens
        .insert(access_token.clone(), pending.user.clone());
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": format!("refresh-{}", provider.counter),
        "id_token": id_token(&pending.user, provider.forge_signatures, provider.apple),
    }))
    .into_response()
}

/// An id_token carrying the user's claims for [`CLIENT_ID`], valid an hour, signed RS256
/// with the test key (or, when `forged`, with its signature's bytes reversed); as Apple's
/// (issued by Apple, without the name) when `apple`.
fn id_token(user: &Value, forged: bool, apple: bool) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let mut claims = user.clone();
    if let Some(claims) = claims.as_object_mut() {
        claims.insert("aud".into(), json!(CLIENT_ID));
        let issuer = if apple {
            claims.remove("name");
            APPLE_ISSUER
        } else {
            "edgebase-test-provider"
        };
        claims.insert("iss".into(), json!(issuer));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 3600));
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(SIGNING_KEY_ID.into());
    let signed = jsonwebtoken::EncodingKey::from_rsa_pem(SIGNING_KEY_PEM.as_bytes())
        .and_then(|key| jsonwebtoken::encode(&header, &claims, &key))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "sign a test id_token");
            String::new()
        });
    if !forged {
        return signed;
    }
    match signed.rsplit_once('.') {
        Some((content, signature)) => {
            let reversed: String = signature.chars().rev().collect();
            format!("{content}.{reversed}")
        }
        None => signed,
    }
}

async fn jwks() -> Json<Value> {
    Json(json!({"keys": [{
        "kty": "RSA",
        "kid": SIGNING_KEY_ID,
        "use": "sig",
        "alg": "RS256",
        "n": SIGNING_KEY_MODULUS,
        "e": "AQAB"
    }]}))
}

async fn userinfo(
    State(state): State<Shared>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    if method == axum::http::Method::POST {
        lock(&state).user_info_posts += 1;
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    match lock(&state).tokens.get(token) {
        Some(user) => Json(user.clone()).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response(),
    }
}

impl OidcProvider {
    /// Serve on a free loopback port; `user` is who signs in until [`Self::sign_in`].
    pub async fn start(user: Value) -> anyhow::Result<OidcProvider> {
        OidcProvider::serve(ProviderState {
            user,
            ..ProviderState::default()
        })
        .await
    }

    /// A provider posing as Apple (see [`Self::apple_option`]).
    pub async fn start_as_apple(user: Value) -> anyhow::Result<OidcProvider> {
        OidcProvider::serve(ProviderState {
            user,
            apple: true,
            ..ProviderState::default()
        })
        .await
    }

    async fn serve(state: ProviderState) -> anyhow::Result<OidcProvider> {
        let state: Shared = Arc::new(Mutex::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the OIDC provider")?;
        let addr = listener.local_addr()?;
        let router = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo).post(userinfo))
            .route("/jwks", get(jwks))
            .route(AVATAR_PATH, get(avatar))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the test OIDC provider stopped");
            }
        });
        Ok(OidcProvider {
            addr,
            state,
            server,
        })
    }

    /// The URL of the users' avatar (an 8x8 PNG, [`avatar_png`]).
    pub fn avatar_url(&self) -> String {
        format!("{}{AVATAR_PATH}", self.base_url())
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The provider entry of an auth collection's `oauth2.providers` for this provider;
    /// without `user_info` the relying party reads the user from the id_token.
    pub fn provider_option(&self, name: &str, user_info: UserSource) -> Value {
        let base = self.base_url();
        let (user_info_url, extra) = match user_info {
            UserSource::UserInfo => (format!("{base}/userinfo"), json!({})),
            UserSource::IdToken => (String::new(), json!({})),
            UserSource::VerifiedIdToken => (
                String::new(),
                json!({"jwksURL": format!("{base}/jwks"), "issuers": ["edgebase-test-provider"]}),
            ),
        };
        json!({
            "name": name,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "authURL": format!("{base}/authorize"),
            "tokenURL": format!("{base}/token"),
            "userInfoURL": user_info_url,
            "extra": extra,
        })
    }

    /// The `apple` entry of `oauth2.providers` for a provider started with
    /// [`Self::start_as_apple`]: Apple's endpoints moved here, and its keys read from here.
    pub fn apple_option(&self) -> Value {
        let base = self.base_url();
        json!({
            "name": "apple",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "authURL": format!("{base}/authorize"),
            "tokenURL": format!("{base}/token"),
            "extra": {"jwksURL": format!("{base}/jwks")},
        })
    }

    /// Who signs in at the next `/authorize`.
    pub fn sign_in(&self, user: Value) {
        lock(&self.state).user = user;
    }

    /// Sign the next id_tokens with a signature that does not verify (or stop doing so).
    pub fn forge_signatures(&self, forged: bool) {
        lock(&self.state).forge_signatures = forged;
    }

    /// How many token exchanges failed the PKCE check.
    pub fn pkce_failures(&self) -> u64 {
        lock(&self.state).pkce_failures
    }

    /// How many user lookups came as a POST.
    pub fn user_info_posts(&self) -> u64 {
        lock(&self.state).user_info_posts
    }

    /// How many token exchanges reached the code check.
    pub fn exchanges(&self) -> u64 {
        lock(&self.state).exchanges
    }
}

/// Where the provider serves its users' avatar.
const AVATAR_PATH: &str = "/avatar.png";

/// The avatar the provider serves.
pub fn avatar_png() -> Vec<u8> {
    crate::png(8, 8)
}

async fn avatar() -> Response {
    ([(header::CONTENT_TYPE, "image/png")], avatar_png()).into_response()
}
