//! The client side of an OAuth2 login as a browser and an app do it against a node: read the
//! provider's entry from auth-methods, follow its authorization URL to the test provider,
//! read the code from the redirect, and post it with the verifier to auth-with-oauth2.

use anyhow::{ensure, Context};
use serde_json::{json, Value};

/// Where the provider sends the browser back (never fetched: the test reads the redirect).
pub const REDIRECT_URL: &str = "http://127.0.0.1:9/oauth2-redirect";

/// One answer: status and JSON body (`null` when the body is not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// One request with an optional token and JSON body.
pub async fn call(
    http: &reqwest::Client,
    url: String,
    method: reqwest::Method,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<Answer> {
    let mut request = http.request(method.clone(), &url);
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {url}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.context("read the answer")?;
    Ok(Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    })
}

/// auth-methods' entry for `provider` of `users`: the authorization URL, the verifier and
/// the state. The entry must use PKCE.
pub async fn auth_method(
    http: &reqwest::Client,
    base: &str,
    provider: &str,
) -> anyhow::Result<(String, String, String)> {
    let methods = call(
        http,
        format!("{base}/api/collections/users/auth-methods"),
        reqwest::Method::GET,
        None,
        None,
    )
    .await?;
    ensure!(methods.status == 200, "auth-methods: {}", methods.body);
    let entry = methods.body["oauth2"]["providers"]
        .as_array()
        .and_then(|providers| providers.iter().find(|entry| entry["name"] == provider))
        .with_context(|| format!("no {provider} in {}", methods.body))?
        .clone();
    ensure!(entry["codeChallengeMethod"] == "S256", "no PKCE in {entry}");
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
    Ok((text("authURL"), text("codeVerifier"), text("state")))
}

/// Follow the authorization URL as a browser would and read the code from the redirect;
/// the state must come back unchanged. `browser` must not follow redirects.
pub async fn authorize(
    browser: &reqwest::Client,
    auth_url: &str,
    state: &str,
) -> anyhow::Result<String> {
    let url = format!("{auth_url}{}", query_escape(REDIRECT_URL));
    let response = browser
        .get(&url)
        .send()
        .await
        .context("follow the auth URL")?;
    ensure!(
        response.status().is_redirection(),
        "the provider answered {} to {url}",
        response.status()
    );
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .context("a redirect without a location")?;
    let location = reqwest::Url::parse(location)?;
    ensure!(
        location.as_str().starts_with(REDIRECT_URL),
        "redirected to {location}"
    );
    let param = |key: &str| {
        location
            .query_pairs()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.into_owned())
    };
    ensure!(
        param("state").as_deref() == Some(state),
        "the state came back changed: {location}"
    );
    param("code").context("no code in the redirect")
}

/// Percent-encode a query value (RFC 3986 unreserved characters stay).
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What a login sends besides the code.
#[derive(Debug, Default, Clone)]
pub struct LoginOptions<'a> {
    /// Replace the node's verifier with this one.
    pub verifier_override: Option<&'a str>,
    /// Log in as this token's record (linking).
    pub logged_in: Option<&'a str>,
    /// `createData` for a new record.
    pub create_data: Option<Value>,
}

/// The whole flow for `provider`: auth-methods, the provider's redirect, auth-with-oauth2
/// with the node's verifier (or the override).
pub async fn oauth2_login(
    http: &reqwest::Client,
    browser: &reqwest::Client,
    base: &str,
    provider: &str,
    options: LoginOptions<'_>,
) -> anyhow::Result<Answer> {
    let (auth_url, verifier, state) = auth_method(http, base, provider).await?;
    let code = authorize(browser, &auth_url, &state).await?;
    let verifier = options.verifier_override.map_or(verifier, String::from);
    let mut body = json!({
        "provider": provider,
        "code": code,
        "codeVerifier": verifier,
        "redirectURL": REDIRECT_URL,
    });
    if let Some(create_data) = options.create_data {
        body["createData"] = create_data;
    }
    call(
        http,
        format!("{base}/api/collections/users/auth-with-oauth2"),
        reqwest::Method::POST,
        options.logged_in,
        Some(body),
    )
    .await
}
