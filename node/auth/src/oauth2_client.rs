//! The node's side of the OAuth2 authorization code flow: the PKCE values and state it
//! hands out, the provider's authorization URL, the code-for-token exchange and the user
//! lookup (OpenID Connect userinfo, or the id_token's claims), each with bounded time and
//! bounded answer sizes.

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use edgebase_model::fields::address::is_email;
use edgebase_model::ids;
use edgebase_model::oauth2_providers::{map_user, InactiveAccount, ProviderConfig, UserClaims};

/// Longest a provider may take to answer one request (PocketBase allows 30 s for the flow).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest token or user answer read from a provider.
const ANSWER_BYTES_MAX: usize = 1024 * 1024;
/// Length of the `state` (PocketBase's 30) and of the PKCE verifier (PocketBase's 43).
pub const STATE_LENGTH: usize = 30;
pub const CODE_VERIFIER_LENGTH: usize = 43;

#[derive(Debug, thiserror::Error)]
pub enum OAuth2Error {
    #[error("request to the provider failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("the provider answered {status}")]
    Status { status: u16 },
    #[error("the provider's answer is too large")]
    TooLarge,
    #[error("the provider's answer does not parse: {0}")]
    Parse(String),
    #[error("the provider gave no access token")]
    NoAccessToken,
    #[error("the id_token is not for this client or has expired")]
    IdToken,
    #[error("the provider has no {0} configured")]
    MissingUrl(&'static str),
    #[error(transparent)]
    Inactive(#[from] InactiveAccount),
}

/// What the token endpoint answered.
#[derive(Debug, Clone, Default)]
pub struct TokenAnswer {
    pub access_token: String,
    pub refresh_token: String,
    pub id_token: String,
    pub expiry: Option<DateTime<Utc>>,
    /// Every field of the answer (some providers put user data there: VK's `email`,
    /// Instagram's `permissions`).
    pub fields: Map<String, Value>,
}

/// The provider's user, in PocketBase's `AuthUser` terms.
#[derive(Debug, Clone, Default)]
pub struct OAuth2User {
    pub id: String,
    pub name: String,
    pub username: String,
    pub email: String,
    pub avatar_url: String,
    pub raw_user: Map<String, Value>,
    pub access_token: String,
    pub refresh_token: String,
    pub expiry: Option<DateTime<Utc>>,
}

impl OAuth2User {
    /// PocketBase's `meta` (the `AuthUser` fields plus `isNew`); `expiry` as PocketBase's
    /// date time text, empty when the provider named none.
    pub fn meta(&self, is_new: bool) -> Value {
        let expiry = self
            .expiry
            .map(|at| at.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        // PocketBase 0.40.6's key order.
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "avatarURL": self.avatar_url,
            "expiry": expiry,
            "rawUser": self.raw_user,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "email": self.email,
            "avatarUrl": self.avatar_url,
            "isNew": is_new,
        })
    }
}

/// A new PKCE verifier and its S256 challenge.
pub fn new_pkce() -> (String, String) {
    let verifier = ids::new_secret(CODE_VERIFIER_LENGTH);
    let challenge = s256_challenge(&verifier);
    (verifier, challenge)
}

/// RFC 7636's S256: base64url (no padding) of the SHA-256 of the verifier.
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
fn query_escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                escaped.push(char::from(byte))
            }
            b' ' => escaped.push('+'),
            other => escaped.push_str(&format!("%{other:02X}")),
        }
    }
    escaped
}

/// The authorization URL PocketBase's auth-methods gives: the parameters sorted by name as
/// Go encodes them, then an empty `redirect_uri` for the client to complete.
pub fn auth_url(config: &ProviderConfig, state: &str, code_challenge: Option<&str>) -> String {
    let scope = config.kind.scopes.join(" ");
    let mut params: Vec<(&str, &str)> = vec![
        ("client_id", &config.client_id),
        ("response_type", "code"),
        ("state", state),
    ];
    // Go's oauth2 package sends no scope when the provider has none.
    if !scope.is_empty() {
        params.push(("scope", &scope));
    }
    if let Some(challenge) = code_challenge {
        params.push(("code_challenge", challenge));
        params.push(("code_challenge_method", "S256"));
    }
    // Apple posts its redirect (with the user's name on the first login) instead of a GET.
    if config.kind.claims == UserClaims::Apple {
        params.push(("response_mode", "form_post"));
    }
    params.sort_by(|a, b| a.0.cmp(b.0));
    let query = params
        .iter()
        .map(|(key, value)| format!("{key}={}", query_escape(value)))
        .collect::<Vec<_>>()
        .join("&");
    let separator = if config.auth_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{separator}{query}&redirect_uri=", config.auth_url)
}

fn client() -> Result<reqwest::Client, OAuth2Error> {
    Ok(reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()?)
}

/// Start downloading an OAuth2 user's avatar (the caller streams and bounds the body), with
/// the same time bounds as every request to a provider; a status outside 2xx fails.
pub async fn fetch_avatar(url: &str) -> Result<reqwest::Response, OAuth2Error> {
    let response = client()?.get(url).send().await?;
    if !response.status().is_success() {
        return Err(OAuth2Error::Status {
            status: response.status().as_u16(),
        });
    }
    Ok(response)
}

/// Read an answer's body, refusing more than `bytes_max`.
async fn bounded_body(
    mut response: reqwest::Response,
    bytes_max: usize,
) -> Result<Vec<u8>, OAuth2Error> {
    if response
        .content_length()
        .is_some_and(|length| length > bytes_max as u64)
    {
        return Err(OAuth2Error::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > bytes_max {
            return Err(OAuth2Error::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn text_of(map: &Map<String, Value>, key: &str) -> String {
    match map.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// Parse a token answer: JSON, or form encoding (as some providers answer).
fn parse_token_answer(body: &[u8], is_form: bool) -> Result<TokenAnswer, OAuth2Error> {
    let fields: Map<String, Value> = if is_form {
        reqwest::Url::parse("http://token.invalid/")
            .map_err(|error| OAuth2Error::Parse(error.to_string()))?
            .join(&format!("?{}", String::from_utf8_lossy(body)))
            .map_err(|error| OAuth2Error::Parse(error.to_string()))?
            .query_pairs()
            .map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())))
            .collect()
    } else {
        serde_json::from_slice(body).map_err(|error| OAuth2Error::Parse(error.to_string()))?
    };
    let access_token = text_of(&fields, "access_token");
    if access_token.is_empty() {
        return Err(OAuth2Error::NoAccessToken);
    }
    let expires_in_secs = match fields.get("expires_in") {
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    }
    .filter(|secs| *secs > 0);
    Ok(TokenAnswer {
        access_token,
        refresh_token: text_of(&fields, "refresh_token"),
        id_token: text_of(&fields, "id_token"),
        expiry: expires_in_secs.map(|secs| Utc::now() + chrono::Duration::seconds(secs)),
        fields,
    })
}

/// Exchange the authorization code at the token endpoint. The client credentials go in a
/// basic auth header first; a provider that refuses them there gets them in the form, as
/// Go's oauth2 package auto-detects.
pub async fn exchange_code(
    config: &ProviderConfig,
    code: &str,
    redirect_url: &str,
    code_verifier: Option<&str>,
) -> Result<TokenAnswer, OAuth2Error> {
    if config.token_url.is_empty() {
        return Err(OAuth2Error::MissingUrl("tokenURL"));
    }
    let client = client()?;
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "authorization_code"), ("code", code)];
    if !redirect_url.is_empty() {
        form.push(("redirect_uri", redirect_url));
    }
    if let Some(verifier) = code_verifier {
        form.push(("code_verifier", verifier));
    }
    let mut last_status = 0;
    for credentials_in_form in [false, true] {
        let mut fields = form.clone();
        let mut request = client
            .post(&config.token_url)
            .header(reqwest::header::ACCEPT, "application/json");
        if credentials_in_form {
            fields.push(("client_id", &config.client_id));
            fields.push(("client_secret", &config.client_secret));
        } else {
            request = request.basic_auth(
                query_escape(&config.client_id),
                Some(query_escape(&config.client_secret)),
            );
        }
        let response = request.form(&fields).send().await?;
        let status = response.status();
        let is_form = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        let body = bounded_body(response, ANSWER_BYTES_MAX).await?;
        if status.is_success() {
            return parse_token_answer(&body, is_form);
        }
        last_status = status.as_u16();
        // Only a refusal of the client's credentials is worth a second try.
        if status != reqwest::StatusCode::UNAUTHORIZED {
            break;
        }
    }
    Err(OAuth2Error::Status {
        status: last_status,
    })
}

/// How far PocketBase lets an id_token's time claims be off (its default 5 minutes).
const ID_TOKEN_LEEWAY_SECS: i64 = 300;
/// Largest JWKS document read.
const JWKS_BYTES_MAX: usize = 256 * 1024;

/// The claims of an id_token received straight from the token endpoint, checked as
/// PocketBase checks them: issued to this client, `exp`, `nbf` and `iat` within the leeway,
/// `iss` among the `issuers` extra option when set, and the signature against the
/// `jwksURL` extra option when set (OpenID Connect Core 3.1.3.7 lets TLS to the token
/// endpoint stand in for the signature otherwise).
async fn id_token_claims(
    config: &ProviderConfig,
    id_token: &str,
) -> Result<Map<String, Value>, OAuth2Error> {
    let (header, claims) = jwt_parts(id_token)?;
    check_id_token_claims(&claims, config, Utc::now().timestamp())?;
    if let Some(jwks_url) = config
        .extra
        .get("jwksURL")
        .and_then(Value::as_str)
        .filter(|url| !url.is_empty())
    {
        verify_id_token_signature(id_token, jwks_url, key_id(&header)?).await?;
    }
    Ok(claims)
}

/// Apple's id_token issuer.
const APPLE_ISSUER: &str = "https://appleid.apple.com";
/// Where Apple publishes its id_token keys (the `jwksURL` extra option overrides it, for a
/// stand-in provider).
const APPLE_JWKS_URL: &str = "https://appleid.apple.com/auth/keys";

/// Apple's user: the id_token's claims, as PocketBase checks them: present, issued by Apple
/// to this client, with an `exp` (and `iat`) within the leeway, and signed by a key Apple
/// publishes.
async fn apple_id_token_claims(
    config: &ProviderConfig,
    id_token: &str,
) -> Result<Map<String, Value>, OAuth2Error> {
    if id_token.is_empty() {
        return Err(OAuth2Error::Parse("empty id_token".into()));
    }
    let (header, claims) = jwt_parts(id_token)?;
    check_id_token_claims(&claims, config, Utc::now().timestamp())?;
    let issuer = claims.get("iss").and_then(Value::as_str);
    if !claims.contains_key("exp") || issuer != Some(APPLE_ISSUER) {
        return Err(OAuth2Error::IdToken);
    }
    let jwks_url = config
        .extra
        .get("jwksURL")
        .and_then(Value::as_str)
        .filter(|url| !url.is_empty())
        .unwrap_or(APPLE_JWKS_URL);
    verify_id_token_signature(id_token, jwks_url, key_id(&header)?).await?;
    Ok(claims)
}

/// A JWT's header and claims.
type JwtParts = (Map<String, Value>, Map<String, Value>);

/// A JWT's header and claims, unverified.
fn jwt_parts(token: &str) -> Result<JwtParts, OAuth2Error> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return Err(OAuth2Error::Parse("id_token is not a JWT".into()));
    };
    let decode_part = |part: &str| -> Result<Map<String, Value>, OAuth2Error> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|error| OAuth2Error::Parse(error.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|error| OAuth2Error::Parse(error.to_string()))
    };
    Ok((decode_part(header)?, decode_part(payload)?))
}

/// The `kid` a JWT's header names.
fn key_id(header: &Map<String, Value>) -> Result<&str, OAuth2Error> {
    header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(OAuth2Error::IdToken)
}

/// The claim checks of [`id_token_claims`] at `now` (seconds since the epoch).
fn check_id_token_claims(
    claims: &Map<String, Value>,
    config: &ProviderConfig,
    now: i64,
) -> Result<(), OAuth2Error> {
    let audience_matches = match claims.get("aud") {
        Some(Value::String(audience)) => *audience == config.client_id,
        Some(Value::Array(audiences)) => audiences
            .iter()
            .any(|audience| audience.as_str() == Some(config.client_id.as_str())),
        _ => false,
    };
    let time = |key: &str| claims.get(key).and_then(Value::as_f64).map(|at| at as i64);
    let expired = time("exp").is_some_and(|exp| now > exp + ID_TOKEN_LEEWAY_SECS);
    let not_yet = time("nbf").is_some_and(|nbf| now + ID_TOKEN_LEEWAY_SECS < nbf);
    let issued_later = time("iat").is_some_and(|iat| now + ID_TOKEN_LEEWAY_SECS < iat);
    let issuers: Vec<&str> = config
        .extra
        .get("issuers")
        .and_then(Value::as_array)
        .map(|issuers| issuers.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let issuer_ok = issuers.is_empty() || issuers.contains(&issuer);
    if audience_matches && !expired && !not_yet && !issued_later && issuer_ok {
        Ok(())
    } else {
        Err(OAuth2Error::IdToken)
    }
}

/// Check the id_token's RSA signature with the key `kid` of the provider's JWKS.
async fn verify_id_token_signature(
    id_token: &str,
    jwks_url: &str,
    kid: &str,
) -> Result<(), OAuth2Error> {
    let response = client()?.get(jwks_url).send().await?;
    let status = response.status();
    let body = bounded_body(response, JWKS_BYTES_MAX).await?;
    if !status.is_success() {
        return Err(OAuth2Error::Status {
            status: status.as_u16(),
        });
    }
    let jwks: Value =
        serde_json::from_slice(&body).map_err(|error| OAuth2Error::Parse(error.to_string()))?;
    let key = jwks
        .get("keys")
        .and_then(Value::as_array)
        .and_then(|keys| keys.iter().find(|key| key["kid"].as_str() == Some(kid)))
        .ok_or(OAuth2Error::IdToken)?;
    let component = |name: &str| key.get(name).and_then(Value::as_str).unwrap_or_default();
    let algorithm: jsonwebtoken::Algorithm =
        component("alg").parse().map_err(|_| OAuth2Error::IdToken)?;
    let decoding_key =
        jsonwebtoken::DecodingKey::from_rsa_components(component("n"), component("e"))
            .map_err(|_| OAuth2Error::IdToken)?;
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    // The claims were checked above, with PocketBase's leeway.
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(id_token, &decoding_key, &validation)
        .map(|_| ())
        .map_err(|_| OAuth2Error::IdToken)
}

/// The headers some providers demand on their user endpoint besides the bearer token.
fn user_info_headers(config: &ProviderConfig) -> Vec<(&'static str, String)> {
    match config.kind.name {
        "twitch" => vec![("Client-Id", config.client_id.clone())],
        "trakt" => vec![
            ("Content-Type", "application/json".into()),
            ("trakt-api-key", config.client_id.clone()),
            ("trakt-api-version", "2".into()),
        ],
        "notion" => vec![("Notion-Version", "2022-06-28".into())],
        _ => Vec::new(),
    }
}

/// The GraphQL query providers without a user endpoint answer the user to (POSTed as JSON).
fn user_info_query(config: &ProviderConfig) -> Option<&'static str> {
    match config.kind.name {
        "linear" => Some("query Me { viewer { id displayName name email avatarUrl active } }"),
        "monday" => Some("query { me { id enabled name email is_verified photo_small }}"),
        _ => None,
    }
}

/// GET a provider endpoint with the access token (POST `query` as GraphQL when given);
/// `Ok(None)` when it answered one of `ignored` statuses (a scope the user did not grant).
async fn get_json(
    url: &str,
    token: &TokenAnswer,
    headers: &[(&'static str, String)],
    query: Option<&str>,
    ignored: fn(u16) -> bool,
) -> Result<Option<Vec<u8>>, OAuth2Error> {
    let client = client()?;
    let request = match query {
        Some(query) => client
            .post(url)
            .json(&serde_json::json!({ "query": query })),
        None => client.get(url),
    };
    let mut request = request
        .bearer_auth(&token.access_token)
        .header(reqwest::header::ACCEPT, "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    if ignored(status) {
        return Ok(None);
    }
    let body = bounded_body(response, ANSWER_BYTES_MAX).await?;
    if status >= 400 {
        return Err(OAuth2Error::Status { status });
    }
    Ok(Some(body))
}

/// Fetch the provider's user: its userinfo endpoint when one is configured, else (OpenID
/// Connect) the id_token's claims; then the email some providers serve apart.
pub async fn fetch_user(
    config: &ProviderConfig,
    token: &TokenAnswer,
) -> Result<OAuth2User, OAuth2Error> {
    let raw_user = if !config.user_info_url.is_empty() {
        let body = get_json(
            &config.user_info_url,
            token,
            &user_info_headers(config),
            user_info_query(config),
            |_| false,
        )
        .await?
        .unwrap_or_default();
        serde_json::from_slice(&body).map_err(|error| OAuth2Error::Parse(error.to_string()))?
    } else if config.kind.claims == UserClaims::Apple {
        apple_id_token_claims(config, &token.id_token).await?
    } else if config.kind.claims == UserClaims::OpenIdConnect && !token.id_token.is_empty() {
        id_token_claims(config, &token.id_token).await?
    } else {
        return Err(OAuth2Error::MissingUrl("userInfoURL"));
    };
    let mut user = user_from_raw(config.kind.claims, raw_user, token)?;
    match config.kind.claims {
        UserClaims::GitHub if user.email.is_empty() => {
            user.email = github_primary_email(config, token).await?;
        }
        UserClaims::Bitbucket => {
            user.email = bitbucket_primary_email(config, token).await?;
        }
        UserClaims::Gitee if user.email.is_empty() => {
            user.email = gitee_primary_email(config, token).await?;
        }
        _ => {}
    }
    Ok(user)
}

/// Bitbucket's primary address from `/2.0/user/emails`; any refusal leaves it empty.
async fn bitbucket_primary_email(
    config: &ProviderConfig,
    token: &TokenAnswer,
) -> Result<String, OAuth2Error> {
    let url = format!("{}/emails", config.user_info_url);
    let Some(body) = get_json(&url, token, &[], None, |status| status >= 400).await? else {
        return Ok(String::new());
    };
    let answer: Value =
        serde_json::from_slice(&body).map_err(|error| OAuth2Error::Parse(error.to_string()))?;
    Ok(answer["values"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|email| email["is_primary"] == true)
        .and_then(|email| email["email"].as_str())
        .unwrap_or_default()
        .to_string())
}

/// Gitee's confirmed primary address from `/api/v5/emails` (next to the configured user
/// endpoint; PocketBase always asks gitee.com). A refusal, or the object Gitee answers
/// for a private address, leaves it empty.
async fn gitee_primary_email(
    config: &ProviderConfig,
    token: &TokenAnswer,
) -> Result<String, OAuth2Error> {
    let base = config
        .user_info_url
        .strip_suffix("/user")
        .unwrap_or(&config.user_info_url);
    let url = format!("{base}/emails");
    let ignored = |status| matches!(status, 401 | 403 | 404);
    let Some(body) = get_json(&url, token, &[], None, ignored).await? else {
        return Ok(String::new());
    };
    let Ok(emails) = serde_json::from_slice::<Vec<Value>>(&body) else {
        return Ok(String::new());
    };
    Ok(emails
        .iter()
        .find(|email| {
            email["state"] == "confirmed"
                && email["scope"]
                    .as_array()
                    .is_some_and(|scopes| scopes.iter().any(|scope| scope == "primary"))
                && email["email"].as_str().is_some_and(is_email)
        })
        .and_then(|email| email["email"].as_str())
        .unwrap_or_default()
        .to_string())
}

/// GitHub hides a private address from `/user`; its verified primary address comes from
/// `/user/emails`, when the token's scopes allow (a refusal leaves the email empty).
async fn github_primary_email(
    config: &ProviderConfig,
    token: &TokenAnswer,
) -> Result<String, OAuth2Error> {
    let url = format!("{}/emails", config.user_info_url);
    let ignored = |status| matches!(status, 401 | 403 | 404);
    let Some(body) = get_json(&url, token, &[], None, ignored).await? else {
        return Ok(String::new());
    };
    let emails: Vec<Value> =
        serde_json::from_slice(&body).map_err(|error| OAuth2Error::Parse(error.to_string()))?;
    Ok(emails
        .iter()
        .find(|email| email["verified"] == true && email["primary"] == true)
        .and_then(|email| email["email"].as_str())
        .unwrap_or_default()
        .to_string())
}

/// Map a provider's raw user answer to PocketBase's OAuth2 user.
pub fn user_from_raw(
    claims: UserClaims,
    mut raw_user: Map<String, Value>,
    token: &TokenAnswer,
) -> Result<OAuth2User, OAuth2Error> {
    let fields = map_user(claims, &raw_user, &token.fields)?;
    if claims == UserClaims::Instagram && !raw_user.contains_key("permissions") {
        if let Some(permissions) = token.fields.get("permissions") {
            raw_user.insert("permissions".into(), permissions.clone());
        }
    }
    Ok(OAuth2User {
        id: fields.id,
        name: fields.name,
        username: fields.username,
        email: fields.email,
        avatar_url: fields.avatar_url,
        raw_user,
        access_token: token.access_token.clone(),
        refresh_token: token.refresh_token.clone(),
        expiry: token.expiry,
    })
}

/// A fresh `state` for one authorization request.
pub fn new_state() -> String {
    ids::new_secret(STATE_LENGTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgebase_model::oauth2_providers::supported;
    use serde_json::json;

    /// A verifier and challenge pair read off PocketBase 0.40.6's auth-methods.
    #[test]
    fn s256_matches_pocketbase() {
        assert_eq!(
            s256_challenge("a5ri3A39YIOh8bG59TpzXEOwJ7DXkemKKu65fMXWPvA"),
            "uP3rMf9vXouGelbv-q_-640CaU426Z0WbsyVpTdbcxc"
        );
    }

    /// The URL shape read off PocketBase 0.40.6's auth-methods.
    #[test]
    fn auth_url_matches_pocketbase() {
        let kind = supported("oidc").expect("supported");
        let config = ProviderConfig {
            kind,
            client_id: "cid".into(),
            client_secret: "sec".into(),
            display_name: "OIDC".into(),
            auth_url: "http://127.0.0.1:18221/authorize".into(),
            token_url: String::new(),
            user_info_url: String::new(),
            pkce: true,
            extra: Map::new(),
        };
        let cases = [
            (Some("uP3r"), "http://127.0.0.1:18221/authorize?client_id=cid&code_challenge=uP3r&code_challenge_method=S256&response_type=code&scope=openid+email+profile&state=st&redirect_uri="),
            (None, "http://127.0.0.1:18221/authorize?client_id=cid&response_type=code&scope=openid+email+profile&state=st&redirect_uri="),
        ];
        for (challenge, expected) in cases {
            assert_eq!(auth_url(&config, "st", challenge), expected);
        }
        let google = ProviderConfig::from_option(&json!({"name": "google", "clientId": "g"}))
            .expect("supported");
        assert!(auth_url(&google, "s", None).contains(
            "scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.profile+https%3A%2F%2F"
        ));
    }

    /// Provider, display name, PKCE default, authURL with state `ST` and challenge `CH`:
    /// read off PocketBase 0.40.6's auth-methods (client id `cid`, nothing else configured).
    #[test]
    fn provider_auth_urls_match_pocketbase() {
        let cases: &[(&str, &str, bool, &str)] = &[
            ("apple", "Apple", true, "https://appleid.apple.com/auth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_mode=form_post&response_type=code&scope=name+email&state=ST&redirect_uri="),
            ("bitbucket", "Bitbucket", false, "https://bitbucket.org/site/oauth2/authorize?client_id=cid&response_type=code&scope=account&state=ST&redirect_uri="),
            ("box", "Box", true, "https://account.box.com/api/oauth2/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=root_readonly&state=ST&redirect_uri="),
            ("facebook", "Facebook", true, "https://www.facebook.com/v3.2/dialog/oauth?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=email&state=ST&redirect_uri="),
            ("gitee", "Gitee", true, "https://gitee.com/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=user_info+emails&state=ST&redirect_uri="),
            ("instagram2", "Instagram", true, "https://www.instagram.com/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=instagram_business_basic&state=ST&redirect_uri="),
            ("kakao", "Kakao", true, "https://kauth.kakao.com/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=account_email+profile_nickname+profile_image&state=ST&redirect_uri="),
            ("lark", "Lark", true, "https://accounts.feishu.cn/open-apis/authen/v1/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&state=ST&redirect_uri="),
            ("linear", "Linear", false, "https://linear.app/oauth/authorize?client_id=cid&response_type=code&scope=read&state=ST&redirect_uri="),
            ("monday", "monday.com", true, "https://auth.monday.com/oauth2/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=me%3Aread&state=ST&redirect_uri="),
            ("livechat", "LiveChat", true, "https://accounts.livechat.com/?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&state=ST&redirect_uri="),
            ("mailcow", "mailcow", true, "?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=profile&state=ST&redirect_uri="),
            ("notion", "Notion", true, "https://api.notion.com/v1/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&state=ST&redirect_uri="),
            ("patreon", "Patreon", true, "https://www.patreon.com/oauth2/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=identity+identity%5Bemail%5D&state=ST&redirect_uri="),
            ("planningcenter", "Planning Center", true, "https://api.planningcenteronline.com/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=people&state=ST&redirect_uri="),
            ("strava", "Strava", true, "https://www.strava.com/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=profile%3Aread_all&state=ST&redirect_uri="),
            ("trakt", "Trakt", true, "https://trakt.tv/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&state=ST&redirect_uri="),
            ("twitch", "Twitch", true, "https://id.twitch.tv/oauth2/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=user%3Aread%3Aemail&state=ST&redirect_uri="),
            ("twitter", "X/Twitter", true, "https://x.com/i/oauth2/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=users.read+users.email+tweet.read&state=ST&redirect_uri="),
            ("vk", "ВКонтакте", false, "https://oauth.vk.com/authorize?client_id=cid&response_type=code&scope=email&state=ST&redirect_uri="),
            ("wakatime", "WakaTime", true, "https://wakatime.com/oauth/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=email&state=ST&redirect_uri="),
            ("yandex", "Yandex", true, "https://oauth.yandex.com/authorize?client_id=cid&code_challenge=CH&code_challenge_method=S256&response_type=code&scope=login%3Aemail+login%3Aavatar+login%3Ainfo&state=ST&redirect_uri="),
        ];
        for (name, display_name, pkce, expected) in cases {
            let config = ProviderConfig::from_option(&json!({"name": name, "clientId": "cid"}))
                .expect("supported");
            assert_eq!(config.display_name, *display_name, "{name}");
            assert_eq!(config.pkce, *pkce, "{name}");
            let challenge = config.pkce.then_some("CH");
            assert_eq!(auth_url(&config, "ST", challenge), *expected, "{name}");
        }
    }

    /// Body, whether form encoded, expected access and refresh tokens.
    type TokenCase<'a> = (&'a [u8], bool, Option<(&'a str, &'a str)>);

    #[test]
    fn token_answers_parse() {
        let cases: &[TokenCase] = &[
            (
                br#"{"access_token":"at","refresh_token":"rt","expires_in":3600}"#,
                false,
                Some(("at", "rt")),
            ),
            (
                b"access_token=at2&token_type=bearer",
                true,
                Some(("at2", "")),
            ),
            (br#"{"error":"invalid_grant"}"#, false, None),
            (b"not json", false, None),
        ];
        for (body, is_form, expected) in cases {
            let got = parse_token_answer(body, *is_form).ok();
            let got = got
                .as_ref()
                .map(|answer| (answer.access_token.as_str(), answer.refresh_token.as_str()));
            assert_eq!(got, *expected, "{}", String::from_utf8_lossy(body));
        }
    }

    /// id_token claims at now = 1000, PocketBase's leeway of 300 s.
    #[test]
    fn id_token_claim_checks() {
        let mut config = ProviderConfig::from_option(&json!({"name": "oidc", "clientId": "cid"}))
            .expect("supported");
        let cases = [
            (json!({"aud": "cid", "exp": 1100}), true),
            (json!({"aud": ["x", "cid"], "exp": 1100}), true),
            (json!({"aud": "other", "exp": 1100}), false),
            (json!({"exp": 1100}), false),
            (json!({"aud": "cid", "exp": 800}), true),
            (json!({"aud": "cid", "exp": 600}), false),
            (json!({"aud": "cid", "iat": 1400}), false),
            (json!({"aud": "cid", "nbf": 1200}), true),
        ];
        for (claims, valid) in &cases {
            let Value::Object(claims) = claims else {
                continue;
            };
            assert_eq!(
                check_id_token_claims(claims, &config, 1000).is_ok(),
                *valid,
                "{claims:?}"
            );
        }
        config
            .extra
            .insert("issuers".into(), json!(["https://idp"]));
        for (issuer, valid) in [("https://idp", true), ("https://evil", false)] {
            let claims = json!({"aud": "cid", "iss": issuer});
            let Value::Object(claims) = claims else {
                continue;
            };
            assert_eq!(
                check_id_token_claims(&claims, &config, 1000).is_ok(),
                valid,
                "{issuer}"
            );
        }
    }

    #[test]
    fn oidc_email_needs_verification() {
        let token = TokenAnswer::default();
        for (raw, email) in [
            (
                json!({"sub": "1", "email": "a@x.com", "email_verified": true}),
                "a@x.com",
            ),
            (
                json!({"sub": "1", "email": "a@x.com", "email_verified": false}),
                "",
            ),
            (json!({"sub": "1", "email": "a@x.com"}), ""),
        ] {
            let Value::Object(raw) = raw else { continue };
            let user = user_from_raw(UserClaims::OpenIdConnect, raw, &token).expect("mapped");
            assert_eq!(user.email, email);
        }
    }
}
