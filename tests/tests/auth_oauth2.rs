//! OAuth2 with PKCE end to end: a real `edgebase` node and a test OpenID Connect provider in
//! this process. The test reads the authorization URL from auth-methods, follows it as a
//! browser would (the provider signs the chosen user in and redirects with a code), then
//! posts the code and the node's verifier to auth-with-oauth2. A first login creates the
//! record, a second one logs the same record in through its `_externalAuths` link, a wrong
//! verifier is refused by the provider (and the node answers PocketBase's error), and an
//! unknown provider is PocketBase's validation error.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, Cluster, OidcProvider, SUPERUSER_EMAIL, SUPERUSER_PASSWORD};
use serde_json::{json, Value};

/// Where the provider sends the browser back (never fetched: the test reads the redirect).
const REDIRECT_URL: &str = "http://127.0.0.1:9/oauth2-redirect";

/// One answer: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

async fn call(
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

/// auth-methods' entry for `provider`: the authorization URL and the verifier.
async fn auth_method(
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

/// Follow the authorization URL as a browser would and read the code from the redirect.
async fn authorize(
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

fn query_escape(value: &str) -> String {
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

/// One login attempt's expectation.
struct Case {
    what: &'static str,
    provider: &'static str,
    /// Replace the node's verifier with this one.
    verifier_override: Option<&'static str>,
    status: u16,
    /// The answer's `message` for a failure, `meta.isNew` for a success.
    expected: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_login_with_pkce() {
    run_test(
        "auth_oauth2",
        Duration::from_secs(240),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(1).start().await?;
            let base = cluster.nodes()[0].http_url();
            let http = reqwest::Client::new();
            let browser = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let provider = OidcProvider::start(json!({
                "sub": "idp-user-1",
                "name": "Ada Lovelace",
                "preferred_username": "ada",
                "email": "ada@example.com",
                "email_verified": true,
                "picture": "https://idp.example.com/ada.png"
            }))
            .await?;

            let admin = call(
                &http,
                format!("{base}/api/collections/_superusers/auth-with-password"),
                reqwest::Method::POST,
                None,
                Some(json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD})),
            )
            .await?;
            ensure!(admin.status == 200, "superuser login: {}", admin.body);
            let admin_token = admin.body["token"].as_str().context("token")?.to_string();
            let enabled = call(
                &http,
                format!("{base}/api/collections/users"),
                reqwest::Method::PATCH,
                Some(&admin_token),
                Some(json!({"oauth2": {
                    "enabled": true,
                    "mappedFields": {"name": "name", "avatarURL": "avatar"},
                    "providers": [provider.provider_option("oidc")]
                }})),
            )
            .await?;
            ensure!(enabled.status == 200, "enable OAuth2: {}", enabled.body);
            ensure!(
                enabled.body["oauth2"]["providers"][0]
                    .get("clientSecret")
                    .is_none(),
                "the client secret is shown: {}",
                enabled.body
            );

            let cases = [
                Case {
                    what: "first login creates the record",
                    provider: "oidc",
                    verifier_override: None,
                    status: 200,
                    expected: json!(true),
                },
                Case {
                    what: "second login links the same record",
                    provider: "oidc",
                    verifier_override: None,
                    status: 200,
                    expected: json!(false),
                },
                Case {
                    what: "a wrong verifier fails PKCE at the provider",
                    provider: "oidc",
                    verifier_override: Some("not-the-verifier-that-was-challenged-0000000"),
                    status: 400,
                    expected: json!("Failed to fetch OAuth2 token."),
                },
            ];
            let mut record_id: Option<String> = None;
            for case in &cases {
                let (auth_url, verifier, state) = auth_method(&http, &base, case.provider).await?;
                let code = authorize(&browser, &auth_url, &state).await?;
                let verifier = case.verifier_override.map_or(verifier, String::from);
                let answer = call(
                    &http,
                    format!("{base}/api/collections/users/auth-with-oauth2"),
                    reqwest::Method::POST,
                    None,
                    Some(json!({
                        "provider": case.provider,
                        "code": code,
                        "codeVerifier": verifier,
                        "redirectURL": REDIRECT_URL,
                        "createData": {"emailVisibility": true}
                    })),
                )
                .await?;
                ensure!(
                    answer.status == case.status,
                    "{}: {} {}",
                    case.what,
                    answer.status,
                    answer.body
                );
                if case.status != 200 {
                    ensure!(
                        answer.body["message"] == case.expected,
                        "{}: {}",
                        case.what,
                        answer.body
                    );
                    continue;
                }
                let body = &answer.body;
                ensure!(
                    body["meta"]["isNew"] == case.expected,
                    "{}: {body}",
                    case.what
                );
                ensure!(body["meta"]["id"] == "idp-user-1", "{}: {body}", case.what);
                ensure!(
                    body["meta"]["rawUser"]["preferred_username"] == "ada",
                    "{}: {body}",
                    case.what
                );
                ensure!(
                    body["meta"]["accessToken"]
                        .as_str()
                        .is_some_and(|token| !token.is_empty()),
                    "{}: {body}",
                    case.what
                );
                let record = &body["record"];
                ensure!(
                    record["email"] == "ada@example.com",
                    "{}: {body}",
                    case.what
                );
                ensure!(record["verified"] == true, "{}: {body}", case.what);
                ensure!(record["name"] == "Ada Lovelace", "{}: {body}", case.what);
                ensure!(record["emailVisibility"] == true, "{}: {body}", case.what);
                ensure!(record.get("password").is_none(), "{}: {body}", case.what);
                let id = record["id"].as_str().context("record id")?.to_string();
                match &record_id {
                    None => record_id = Some(id.clone()),
                    Some(first) => {
                        ensure!(first == &id, "{}: logged in {id}, not {first}", case.what)
                    }
                }
                // The token is a working auth token for the record.
                let token = body["token"].as_str().context("token")?;
                let own = call(
                    &http,
                    format!("{base}/api/collections/users/records/{id}"),
                    reqwest::Method::GET,
                    Some(token),
                    None,
                )
                .await?;
                ensure!(own.status == 200, "{}: own record: {}", case.what, own.body);
            }
            ensure!(
                provider.pkce_failures() == 1,
                "the provider saw {} PKCE failures",
                provider.pkce_failures()
            );
            ensure!(
                provider.exchanges() == 3,
                "the provider saw {} exchanges",
                provider.exchanges()
            );

            // One link, visible to the superuser in `_externalAuths`.
            let links = call(
                &http,
                format!("{base}/api/collections/_externalAuths/records"),
                reqwest::Method::GET,
                Some(&admin_token),
                None,
            )
            .await?;
            ensure!(links.status == 200, "list links: {}", links.body);
            let items = links.body["items"].as_array().context("items")?;
            ensure!(items.len() == 1, "links: {}", links.body);
            ensure!(
                items[0]["recordRef"] == json!(record_id)
                    && items[0]["provider"] == "oidc"
                    && items[0]["providerId"] == "idp-user-1",
                "link: {}",
                items[0]
            );

            // An unknown provider and a missing code are PocketBase's validation errors.
            let refused = call(
                &http,
                format!("{base}/api/collections/users/auth-with-oauth2"),
                reqwest::Method::POST,
                None,
                Some(json!({"provider": "github", "redirectURL": REDIRECT_URL})),
            )
            .await?;
            ensure!(
                refused.status == 400
                    && refused.body["message"]
                        == "An error occurred while loading the submitted data."
                    && refused.body["data"]["provider"]["code"] == "validation_invalid_provider"
                    && refused.body["data"]["code"]["code"] == "validation_required",
                "unknown provider: {} {}",
                refused.status,
                refused.body
            );
            Ok(())
        },
    )
    .await;
}
