//! OAuth2 with PKCE end to end: a real `edgebase` node and a test OpenID Connect provider in
//! this process. The test reads the authorization URL from auth-methods, follows it as a
//! browser would (the provider signs the chosen user in and redirects with a code), then
//! posts the code and the node's verifier to auth-with-oauth2. A first login creates the
//! record, a second one logs the same record in through its `_externalAuths` link, other
//! providers (reading the user from the id_token, its RS256 signature checked against the
//! provider's JWKS or not) link the same record by its verified email, a forged id_token
//! signature is refused, a provider user whose email an unverified password account holds
//! takes that account over (verified, its password replaced), a wrong verifier is refused
//! by the provider (and the node answers PocketBase's error), and an unknown provider is
//! PocketBase's validation error. Deleting a record deletes its links, and the provider
//! user signs up anew; a link to a missing record is replaced; two racing first logins
//! end in one record; a logged-in record links a provider user with another email; rules
//! see `@request.context = "oauth2"`.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::oauth2_flow::{
    self, auth_method, authorize, call, Answer, LoginOptions, REDIRECT_URL,
};
use edgebase_tests::{
    avatar_png, run_test, Cluster, OidcProvider, UserSource, NODE_START_TIMEOUT, SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
};
use serde_json::{json, Value};

/// The flow with this suite's `createData` (the new record shows its email).
async fn oauth2_login(
    http: &reqwest::Client,
    browser: &reqwest::Client,
    base: &str,
    provider: &str,
    verifier_override: Option<&str>,
    logged_in: Option<&str>,
) -> anyhow::Result<Answer> {
    let options = LoginOptions {
        verifier_override,
        logged_in,
        create_data: Some(json!({"emailVisibility": true})),
    };
    oauth2_flow::oauth2_login(http, browser, base, provider, options).await
}

/// Which record a login must end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A new record (`meta.isNew`), remembered as Ada's.
    NewAda,
    /// Ada's record again.
    Ada,
    /// Bob's password account, taken over.
    Bob,
    /// A failure with this message.
    Failure(u16, &'static str),
}

/// One login attempt.
struct Case {
    what: &'static str,
    provider: &'static str,
    user: fn() -> Value,
    /// Replace the node's verifier with this one.
    verifier_override: Option<&'static str>,
    /// The provider signs the id_token with a signature its key does not verify.
    forge: bool,
    expect: Expect,
}

fn ada() -> Value {
    json!({
        "sub": "idp-user-1",
        "name": "Ada Lovelace",
        "preferred_username": "ada",
        "email": "ada@example.com",
        "email_verified": true,
        "picture": "https://idp.example.com/ada.png"
    })
}

fn bob() -> Value {
    json!({"sub": "idp-user-2", "name": "Bob", "email": BOB_EMAIL, "email_verified": true})
}

const BOB_EMAIL: &str = "bob@example.com";
const BOB_PASSWORD: &str = "bob-chose-this-1";

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "first login creates the record",
            provider: "oidc",
            user: ada,
            verifier_override: None,
            forge: false,
            expect: Expect::NewAda,
        },
        Case {
            what: "second login uses the link",
            provider: "oidc",
            user: ada,
            verifier_override: None,
            forge: false,
            expect: Expect::Ada,
        },
        Case {
            what: "another provider (id_token claims) links the same record by email",
            provider: "oidc2",
            user: ada,
            verifier_override: None,
            forge: false,
            expect: Expect::Ada,
        },
        Case {
            what: "a provider whose id_token signature is checked links by email too",
            provider: "oidc3",
            user: ada,
            verifier_override: None,
            forge: false,
            expect: Expect::Ada,
        },
        Case {
            what: "a forged id_token signature is refused",
            provider: "oidc3",
            user: ada,
            verifier_override: None,
            forge: true,
            expect: Expect::Failure(400, "Failed to fetch OAuth2 user."),
        },
        Case {
            what: "a wrong verifier fails PKCE at the provider",
            provider: "oidc",
            user: ada,
            verifier_override: Some("not-the-verifier-that-was-challenged-0000000"),
            forge: false,
            expect: Expect::Failure(400, "Failed to fetch OAuth2 token."),
        },
        Case {
            what: "an unverified password account with the email is taken over",
            provider: "oidc",
            user: bob,
            verifier_override: None,
            forge: false,
            expect: Expect::Bob,
        },
    ]
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
            let provider = OidcProvider::start(ada()).await?;
            let post = |path: &str, body: Value| {
                call(
                    &http,
                    format!("{base}{path}"),
                    reqwest::Method::POST,
                    None,
                    Some(body),
                )
            };

            let admin = post(
                "/api/collections/_superusers/auth-with-password",
                json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}),
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
                    "providers": [
                        provider.provider_option("oidc", UserSource::UserInfo),
                        provider.provider_option("oidc2", UserSource::IdToken),
                        provider.provider_option("oidc3", UserSource::VerifiedIdToken)
                    ]
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
            // Bob signed up with a password and never verified his email.
            let bob_signup = post(
            "/api/collections/users/records",
            json!({"email": BOB_EMAIL, "password": BOB_PASSWORD, "passwordConfirm": BOB_PASSWORD}),
        )
        .await?;
            ensure!(
                bob_signup.status == 200,
                "Bob's sign-up: {}",
                bob_signup.body
            );
            let bob_id = bob_signup.body["id"]
                .as_str()
                .context("Bob's id")?
                .to_string();

            let mut ada_id: Option<String> = None;
            let mut logins = 0;
            for case in cases() {
                // The provider serves the picture, so a new record's avatar can be stored.
                let mut signed_in = (case.user)();
                if signed_in.get("picture").is_some() {
                    signed_in["picture"] = json!(provider.avatar_url());
                }
                provider.sign_in(signed_in);
                provider.forge_signatures(case.forge);
                let answer = oauth2_login(
                    &http,
                    &browser,
                    &base,
                    case.provider,
                    case.verifier_override,
                    None,
                )
                .await?;
                let body = &answer.body;
                if let Expect::Failure(status, message) = case.expect {
                    ensure!(
                        answer.status == status && body["message"] == message,
                        "{}: {} {body}",
                        case.what,
                        answer.status
                    );
                    continue;
                }
                ensure!(
                    answer.status == 200,
                    "{}: {} {body}",
                    case.what,
                    answer.status
                );
                logins += 1;
                let user = (case.user)();
                let record = &body["record"];
                let id = record["id"].as_str().context("record id")?.to_string();
                ensure!(
                    body["meta"]["isNew"] == (case.expect == Expect::NewAda),
                    "{}: {body}",
                    case.what
                );
                ensure!(body["meta"]["id"] == user["sub"], "{}: {body}", case.what);
                ensure!(
                    body["meta"]["rawUser"]["sub"] == user["sub"],
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
                ensure!(record["email"] == user["email"], "{}: {body}", case.what);
                ensure!(record["verified"] == true, "{}: {body}", case.what);
                ensure!(record.get("password").is_none(), "{}: {body}", case.what);
                match case.expect {
                    Expect::NewAda => {
                        ensure!(record["name"] == "Ada Lovelace", "{}: {body}", case.what);
                        ensure!(record["emailVisibility"] == true, "{}: {body}", case.what);
                        // The provider's picture, downloaded into the avatar file field.
                        let avatar = record["avatar"].as_str().unwrap_or_default();
                        ensure!(
                            avatar.starts_with("avatar_") && avatar.ends_with(".png"),
                            "{}: the avatar is stored: {body}",
                            case.what
                        );
                        let file = http
                            .get(format!("{base}/api/files/users/{id}/{avatar}"))
                            .send()
                            .await?;
                        ensure!(file.status() == 200, "{}: avatar download", case.what);
                        ensure!(
                            file.bytes().await?.as_ref() == avatar_png().as_slice(),
                            "{}: the avatar is the provider's picture",
                            case.what
                        );
                        ada_id = Some(id.clone());
                    }
                    Expect::Ada => {
                        ensure!(
                            ada_id.as_deref() == Some(id.as_str()),
                            "{}: logged in {id}",
                            case.what
                        )
                    }
                    Expect::Bob => {
                        ensure!(
                            id == bob_id,
                            "{}: logged in {id}, not Bob's {bob_id}",
                            case.what
                        );
                        let old_password = post(
                            "/api/collections/users/auth-with-password",
                            json!({"identity": BOB_EMAIL, "password": BOB_PASSWORD}),
                        )
                        .await?;
                        ensure!(
                            old_password.status == 400,
                            "{}: the unverified account's password still works: {}",
                            case.what,
                            old_password.body
                        );
                    }
                    Expect::Failure(..) => {}
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
            ensure!(logins == 5, "{logins} logins succeeded");
            ensure!(
                provider.pkce_failures() == 1,
                "the provider saw {} PKCE failures",
                provider.pkce_failures()
            );

            // Four links (Ada with three providers, Bob with one), visible to the superuser.
            let links = call(
                &http,
                format!("{base}/api/collections/_externalAuths/records?sort=providerId,provider"),
                reqwest::Method::GET,
                Some(&admin_token),
                None,
            )
            .await?;
            ensure!(links.status == 200, "list links: {}", links.body);
            let items = links.body["items"].as_array().context("items")?;
            let seen: Vec<(Value, Value, Value)> = items
                .iter()
                .map(|link| {
                    (
                        link["recordRef"].clone(),
                        link["provider"].clone(),
                        link["providerId"].clone(),
                    )
                })
                .collect();
            let expected = vec![
                (json!(ada_id), json!("oidc"), json!("idp-user-1")),
                (json!(ada_id), json!("oidc2"), json!("idp-user-1")),
                (json!(ada_id), json!("oidc3"), json!("idp-user-1")),
                (json!(bob_id), json!("oidc"), json!("idp-user-2")),
            ];
            ensure!(seen == expected, "links: {}", links.body);

            // Ada's account is deleted, and her links with it; logging in again signs her up
            // anew.
            let ada_id = ada_id.context("Ada's id")?;
            let deleted = call(
                &http,
                format!("{base}/api/collections/users/records/{ada_id}"),
                reqwest::Method::DELETE,
                Some(&admin_token),
                None,
            )
            .await?;
            ensure!(deleted.status == 204, "delete Ada: {}", deleted.body);
            // Her links went with her record, as in PocketBase.
            let links = call(
                &http,
                format!("{base}/api/collections/_externalAuths/records"),
                reqwest::Method::GET,
                Some(&admin_token),
                None,
            )
            .await?;
            ensure!(
                links.body["items"].as_array().map(Vec::len) == Some(1)
                    && links.body["items"][0]["recordRef"] == json!(bob_id),
                "links after Ada's deletion: {}",
                links.body
            );
            provider.sign_in(ada());
            let again = oauth2_login(&http, &browser, &base, "oidc", None, None).await?;
            ensure!(
                again.status == 200
                    && again.body["meta"]["isNew"] == true
                    && again.body["record"]["id"] != json!(ada_id),
                "login after deletion: {} {}",
                again.status,
                again.body
            );

            // A link left pointing at a record that no longer exists (here made by hand) is
            // replaced by the next login instead of locking the provider user out.
            let users_id = enabled.body["id"].as_str().context("users id")?;
            let stale = call(
                &http,
                format!("{base}/api/collections/_externalAuths/records"),
                reqwest::Method::POST,
                Some(&admin_token),
                Some(json!({"collectionRef": users_id, "recordRef": "gone00000000000",
                    "provider": "oidc", "providerId": "idp-user-3"})),
            )
            .await?;
            ensure!(stale.status == 200, "make a stale link: {}", stale.body);
            provider.sign_in(json!({"sub": "idp-user-3", "email": "cy@example.com", "email_verified": true}));
            let relinked = oauth2_login(&http, &browser, &base, "oidc", None, None).await?;
            ensure!(
                relinked.status == 200 && relinked.body["meta"]["isNew"] == true,
                "login over a stale link: {} {}",
                relinked.status,
                relinked.body
            );
            let links = call(
                &http,
                format!("{base}/api/collections/_externalAuths/records?filter=providerId%3D%27idp-user-3%27"),
                reqwest::Method::GET,
                Some(&admin_token),
                None,
            )
            .await?;
            ensure!(
                links.body["items"].as_array().map(Vec::len) == Some(1)
                    && links.body["items"][0]["recordRef"] == relinked.body["record"]["id"],
                "links after the stale one: {}",
                links.body
            );

            // Two first logins of one provider user race: both plan a sign-up, one wins, the
            // other plans again, finds the winner's link and logs the same record in.
            provider.sign_in(json!({"sub": "idp-user-5", "email": "dee@example.com", "email_verified": true}));
            let (first, second) = tokio::join!(
                oauth2_login(&http, &browser, &base, "oidc", None, None),
                oauth2_login(&http, &browser, &base, "oidc", None, None)
            );
            let (first, second) = (first?, second?);
            ensure!(
                first.status == 200 && second.status == 200,
                "racing logins: {} {} / {} {}",
                first.status,
                first.body,
                second.status,
                second.body
            );
            ensure!(
                first.body["record"]["id"] == second.body["record"]["id"],
                "racing logins ended in two records: {} / {}",
                first.body,
                second.body
            );
            let new_count = [&first, &second]
                .iter()
                .filter(|answer| answer.body["meta"]["isNew"] == true)
                .count();
            ensure!(new_count == 1, "{new_count} of the racing logins were new");

            // A logged-in record links the provider user whatever its email, and keeps its
            // password (it is its owner asking).
            let eve = post(
                "/api/collections/users/records",
                json!({"email": "eve@example.com", "password": "eve-pass-123", "passwordConfirm": "eve-pass-123"}),
            )
            .await?;
            ensure!(eve.status == 200, "Eve's sign-up: {}", eve.body);
            let eve_login = post(
                "/api/collections/users/auth-with-password",
                json!({"identity": "eve@example.com", "password": "eve-pass-123"}),
            )
            .await?;
            let eve_token = eve_login.body["token"].as_str().context("Eve's token")?;
            provider.sign_in(json!({"sub": "idp-user-6", "email": "eve.elsewhere@example.com", "email_verified": true}));
            let linked = oauth2_login(&http, &browser, &base, "oidc", None, Some(eve_token)).await?;
            ensure!(
                linked.status == 200
                    && linked.body["record"]["id"] == eve.body["id"]
                    && linked.body["meta"]["isNew"] == false
                    && linked.body["record"]["email"] == "eve@example.com"
                    && linked.body["record"]["verified"] == false,
                "a logged-in record linking: {} {}",
                linked.status,
                linked.body
            );
            let eve_again = post(
                "/api/collections/users/auth-with-password",
                json!({"identity": "eve@example.com", "password": "eve-pass-123"}),
            )
            .await?;
            ensure!(eve_again.status == 200, "Eve's password after linking: {}", eve_again.body);

            // With MFA on, OAuth2 is one factor of two: Eve's password answers 401 with an
            // mfaId, and her linked OAuth2 identity with that mfaId completes the login. (Her
            // password comes first: an OAuth2 login resets an unverified account's password,
            // as PocketBase's does.)
            let patch_users = |body: Value| {
                call(
                    &http,
                    format!("{base}/api/collections/users"),
                    reqwest::Method::PATCH,
                    Some(&admin_token),
                    Some(body),
                )
            };
            let mfa_on = patch_users(json!({"mfa": {"enabled": true, "duration": 600, "rule": ""}})).await?;
            ensure!(mfa_on.status == 200, "turn MFA on: {}", mfa_on.body);
            let first_factor = post(
                "/api/collections/users/auth-with-password",
                json!({"identity": "eve@example.com", "password": "eve-pass-123"}),
            )
            .await?;
            let mfa_id = first_factor.body["mfaId"].as_str().unwrap_or_default().to_string();
            ensure!(
                first_factor.status == 401 && !mfa_id.is_empty(),
                "the password as a first factor: {} {}",
                first_factor.status,
                first_factor.body
            );
            provider.sign_in(json!({"sub": "idp-user-6", "email": "eve.elsewhere@example.com", "email_verified": true}));
            let (auth_url, verifier, state) = auth_method(&http, &base, "oidc").await?;
            let code = authorize(&browser, &auth_url, &state).await?;
            let second_factor = post(
                "/api/collections/users/auth-with-oauth2",
                json!({"provider": "oidc", "code": code, "codeVerifier": verifier,
                       "redirectURL": REDIRECT_URL, "mfaId": mfa_id}),
            )
            .await?;
            ensure!(
                second_factor.status == 200 && second_factor.body["record"]["id"] == eve.body["id"],
                "OAuth2 as the second factor: {} {}",
                second_factor.status,
                second_factor.body
            );
            provider.sign_in(json!({"sub": "idp-user-6", "email": "eve.elsewhere@example.com", "email_verified": true}));
            let alone = oauth2_login(&http, &browser, &base, "oidc", None, None).await?;
            ensure!(
                alone.status == 401 && alone.body["mfaId"].is_string(),
                "OAuth2 alone under MFA asks for a second factor: {} {}",
                alone.status,
                alone.body
            );
            let mfa_off = patch_users(json!({"mfa": {"enabled": false}})).await?;
            ensure!(mfa_off.status == 200, "turn MFA off: {}", mfa_off.body);

            // Rules see `@request.context = "oauth2"` during an OAuth2 login (sign-up's
            // create rule and the authRule), as in PocketBase; a plain sign-up does not.
            let oauth2_only = call(
                &http,
                format!("{base}/api/collections/users"),
                reqwest::Method::PATCH,
                Some(&admin_token),
                Some(json!({"createRule": "@request.context = 'oauth2'", "authRule": "@request.context = 'oauth2'"})),
            )
            .await?;
            ensure!(oauth2_only.status == 200, "OAuth2-only rules: {}", oauth2_only.body);
            let plain = post(
                "/api/collections/users/records",
                json!({"email": "plain@example.com", "password": "plain-pass-1", "passwordConfirm": "plain-pass-1"}),
            )
            .await?;
            ensure!(plain.status == 400, "a plain sign-up under an OAuth2-only rule: {}", plain.body);
            provider.sign_in(json!({"sub": "idp-user-7", "email": "fay@example.com", "email_verified": true}));
            let fay = oauth2_login(&http, &browser, &base, "oidc", None, None).await?;
            ensure!(
                fay.status == 200 && fay.body["meta"]["isNew"] == true,
                "an OAuth2 sign-up under an OAuth2-only rule: {} {}",
                fay.status,
                fay.body
            );

            // An unknown provider and a missing code are PocketBase's validation errors.
            let refused = post(
                "/api/collections/users/auth-with-oauth2",
                json!({"provider": "github", "redirectURL": REDIRECT_URL}),
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

/// Across a cluster: the auth URL comes from node A, the login goes to node B (the node
/// keeps no flow state: the verifier travels with the client), and a second login at node C
/// finds the link B created. Every request asks for a strong read so each node has applied
/// the writes before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_login_across_nodes() {
    run_test(
        "auth_oauth2_cluster",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let url = |index: usize| cluster.node(ids[index]).http_url();
            let mut strong = reqwest::header::HeaderMap::new();
            strong.insert(
                "X-Edgebase-Consistency",
                reqwest::header::HeaderValue::from_static("strong"),
            );
            let http = reqwest::Client::builder().default_headers(strong).build()?;
            let browser = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let provider = OidcProvider::start(ada()).await?;
            let admin = call(
                &http,
                format!("{}/api/collections/_superusers/auth-with-password", url(0)),
                reqwest::Method::POST,
                None,
                Some(json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD})),
            )
            .await?;
            ensure!(admin.status == 200, "superuser login: {}", admin.body);
            let admin_token = admin.body["token"].as_str().context("token")?.to_string();
            let enabled = call(
                &http,
                format!("{}/api/collections/users", url(0)),
                reqwest::Method::PATCH,
                Some(&admin_token),
                Some(json!({"oauth2": {
                    "enabled": true,
                    "providers": [provider.provider_option("oidc", UserSource::UserInfo)]
                }})),
            )
            .await?;
            ensure!(enabled.status == 200, "enable OAuth2: {}", enabled.body);

            // (node giving the auth URL, node taking the code, expected isNew)
            let mut first_id: Option<Value> = None;
            for (methods_at, login_at, is_new) in [(0, 1, true), (2, 2, false), (1, 0, false)] {
                let (auth_url, verifier, state) =
                    auth_method(&http, &url(methods_at), "oidc").await?;
                let code = authorize(&browser, &auth_url, &state).await?;
                let answer = call(
                    &http,
                    format!("{}/api/collections/users/auth-with-oauth2", url(login_at)),
                    reqwest::Method::POST,
                    None,
                    Some(json!({
                        "provider": "oidc",
                        "code": code,
                        "codeVerifier": verifier,
                        "redirectURL": REDIRECT_URL
                    })),
                )
                .await?;
                let what = format!("auth URL from node {methods_at}, login at node {login_at}");
                ensure!(
                    answer.status == 200,
                    "{what}: {} {}",
                    answer.status,
                    answer.body
                );
                ensure!(
                    answer.body["meta"]["isNew"] == is_new,
                    "{what}: {}",
                    answer.body
                );
                let id = answer.body["record"]["id"].clone();
                match &first_id {
                    None => first_id = Some(id.clone()),
                    Some(first) => ensure!(first == &id, "{what}: logged in {id}, not {first}"),
                }
                // The token works at every node.
                let token = answer.body["token"].as_str().context("token")?;
                let record_id = id.as_str().context("record id")?;
                for node in 0..ids.len() {
                    let own = call(
                        &http,
                        format!("{}/api/collections/users/records/{record_id}", url(node)),
                        reqwest::Method::GET,
                        Some(token),
                        None,
                    )
                    .await?;
                    ensure!(
                        own.status == 200,
                        "{what}: own record at node {node}: {}",
                        own.body
                    );
                }
            }

            // A keyed login retried at another node (the provider no longer takes its code)
            // gets the first answer.
            let (auth_url, verifier, state) = auth_method(&http, &url(0), "oidc").await?;
            let code = authorize(&browser, &auth_url, &state).await?;
            let body = json!({
                "provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": REDIRECT_URL
            });
            let keyed_login = |node: usize| {
                let request = http
                    .post(format!("{}/api/collections/users/auth-with-oauth2", url(node)))
                    .header("Idempotency-Key", "oauth2-login-1")
                    .json(&body);
                async move {
                    let response = request.send().await?;
                    let status = response.status().as_u16();
                    let replayed = response.headers().contains_key("idempotent-replayed");
                    let json: Value = response.json().await?;
                    anyhow::Ok((status, replayed, json))
                }
            };
            let (status, _, first) = keyed_login(0).await?;
            ensure!(status == 200, "keyed OAuth2 login: {status} {first}");
            let (status, replayed, again) = keyed_login(2).await?;
            ensure!(
                status == 200 && replayed && again == first,
                "the keyed OAuth2 login again: {status} {again}"
            );
            Ok(())
        },
    )
    .await;
}
