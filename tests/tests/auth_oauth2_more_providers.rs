//! OAuth2 logins end to end through providers other than OpenID Connect: a real `edgebase`
//! node and the test provider in this process, configured under PocketBase's names
//! `twitch`, `kakao`, `patreon` and `monday` (a GraphQL endpoint, asked with a POST) and serving each provider's own user answer shape at its
//! userinfo endpoint. The node must map that answer as PocketBase does (id, name,
//! username, avatar, an email only when the provider vouches for it), create the record,
//! log it in again through its link, and refuse an answer that names no user. Without an
//! email the default users collection cannot take the new record, as in PocketBase.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::oauth2_flow::{call, oauth2_login, Answer, LoginOptions};
use edgebase_tests::{
    run_test, Cluster, OidcProvider, UserSource, SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
use serde_json::{json, Value};

/// What a login must end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A record, new or not, with these meta fields: [id, name, username, avatarURL]
    /// and this record email.
    Login {
        is_new: bool,
        meta: [&'static str; 4],
        email: &'static str,
    },
    /// A failure with this status and message.
    Failure(u16, &'static str),
}

struct Case {
    what: &'static str,
    provider: &'static str,
    user: fn() -> Value,
    expect: Expect,
}

fn twitch_user() -> Value {
    json!({"data": [{
        "id": "141981764",
        "login": "twitchdev",
        "display_name": "TwitchDev",
        "type": "",
        "broadcaster_type": "partner",
        "description": "Supporting third-party developers building Twitch integrations.",
        "profile_image_url": "https://static-cdn.jtvnw.net/user-default-pictures/twitchdev.png",
        "email": "twitchdev@example.com",
        "created_at": "2016-12-14T20:32:28Z"
    }]})
}

fn kakao_user() -> Value {
    json!({
        "id": 123456789,
        "connected_at": "2022-04-11T01:45:28Z",
        "properties": {"nickname": "kakaofriend", "profile_image": "https://k.kakaocdn.net/p.jpg"},
        "kakao_account": {
            "email": "kakao@example.com",
            "is_email_valid": true,
            "is_email_verified": false
        }
    })
}

fn kakao_user_verified() -> Value {
    let mut user = kakao_user();
    user["kakao_account"]["is_email_verified"] = json!(true);
    user
}

fn patreon_user() -> Value {
    json!({"data": {
        "id": "9876",
        "type": "user",
        "attributes": {
            "full_name": "Pat Reon",
            "vanity": "patreon-pat",
            "image_url": "https://c8.patreon.com/pat.png",
            "email": "pat@example.com",
            "is_email_verified": true
        }
    }})
}

fn monday_user() -> Value {
    json!({"data": {"me": {
        "id": "4012345",
        "enabled": true,
        "name": "Mon Day",
        "email": "monday@example.com",
        "is_verified": true,
        "photo_small": "https://files.monday.com/photo_small.png"
    }}, "account_id": 1})
}

fn monday_disabled() -> Value {
    let mut user = monday_user();
    user["data"]["me"]["enabled"] = json!(false);
    user
}

fn twitch_without_user() -> Value {
    json!({"data": []})
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "twitch: the first entry of data, with its email",
            provider: "twitch",
            user: twitch_user,
            expect: Expect::Login {
                is_new: true,
                meta: [
                    "141981764",
                    "TwitchDev",
                    "twitchdev",
                    "https://static-cdn.jtvnw.net/user-default-pictures/twitchdev.png",
                ],
                email: "twitchdev@example.com",
            },
        },
        Case {
            what: "twitch: the second login goes through the link",
            provider: "twitch",
            user: twitch_user,
            expect: Expect::Login {
                is_new: false,
                meta: [
                    "141981764",
                    "TwitchDev",
                    "twitchdev",
                    "https://static-cdn.jtvnw.net/user-default-pictures/twitchdev.png",
                ],
                email: "twitchdev@example.com",
            },
        },
        Case {
            // No email to give the new record, and the users collection requires one
            // (PocketBase 0.40.6's users collection requires it too).
            what: "kakao: an unverified email is not taken",
            provider: "kakao",
            user: kakao_user,
            expect: Expect::Failure(400, "Failed to create record."),
        },
        Case {
            what: "kakao: numeric id, nickname, the verified email",
            provider: "kakao",
            user: kakao_user_verified,
            expect: Expect::Login {
                is_new: true,
                meta: [
                    "123456789",
                    "",
                    "kakaofriend",
                    "https://k.kakaocdn.net/p.jpg",
                ],
                email: "kakao@example.com",
            },
        },
        Case {
            what: "patreon: JSON:API attributes, a verified email",
            provider: "patreon",
            user: patreon_user,
            expect: Expect::Login {
                is_new: true,
                meta: [
                    "9876",
                    "Pat Reon",
                    "patreon-pat",
                    "https://c8.patreon.com/pat.png",
                ],
                email: "pat@example.com",
            },
        },
        Case {
            what: "monday: the user from a GraphQL query",
            provider: "monday",
            user: monday_user,
            expect: Expect::Login {
                is_new: true,
                meta: [
                    "4012345",
                    "Mon Day",
                    "",
                    "https://files.monday.com/photo_small.png",
                ],
                email: "monday@example.com",
            },
        },
        Case {
            what: "monday: a disabled account is refused",
            provider: "monday",
            user: monday_disabled,
            expect: Expect::Failure(400, "Failed to fetch OAuth2 user."),
        },
        Case {
            what: "twitch: an answer without a user entry is refused",
            provider: "twitch",
            user: twitch_without_user,
            expect: Expect::Failure(400, "Failed to fetch OAuth2 user."),
        },
    ]
}

fn check(case: &Case, answer: &Answer) -> anyhow::Result<()> {
    let body = &answer.body;
    let what = case.what;
    let (is_new, meta, email) = match case.expect {
        Expect::Login {
            is_new,
            meta,
            email,
        } => (is_new, meta, email),
        Expect::Failure(status, message) => {
            ensure!(
                answer.status == status && body["message"] == message,
                "{what}: {} {body}",
                answer.status
            );
            return Ok(());
        }
    };
    ensure!(answer.status == 200, "{what}: {} {body}", answer.status);
    ensure!(body["meta"]["isNew"] == is_new, "{what}: {body}");
    let got = ["id", "name", "username", "avatarURL"].map(|key| body["meta"][key].clone());
    ensure!(
        got == meta.map(Value::from),
        "{what}: meta {got:?} in {body}"
    );
    ensure!(
        body["meta"]["rawUser"] == (case.user)(),
        "{what}: rawUser {body}"
    );
    let record = &body["record"];
    ensure!(
        body["meta"]["email"] == email,
        "{what}: meta email in {body}"
    );
    // The login answer is the record's own, so its email shows.
    ensure!(record["email"] == email, "{what}: {body}");
    ensure!(record["verified"] == true, "{what}: {body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_login_through_more_providers() {
    run_test(
        "auth_oauth2_more_providers",
        Duration::from_secs(240),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(1).start().await?;
            let base = cluster.nodes()[0].http_url();
            let http = reqwest::Client::new();
            let browser = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            let provider = OidcProvider::start(twitch_user()).await?;
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
            let providers = ["twitch", "kakao", "patreon", "monday"]
                .map(|name| provider.provider_option(name, UserSource::UserInfo));
            let enabled = call(
                &http,
                format!("{base}/api/collections/users"),
                reqwest::Method::PATCH,
                Some(&admin_token),
                Some(json!({"oauth2": {
                    "enabled": true,
                    "providers": providers
                }})),
            )
            .await?;
            ensure!(enabled.status == 200, "enable OAuth2: {}", enabled.body);

            for case in cases() {
                provider.sign_in((case.user)());
                let answer = oauth2_login(
                    &http,
                    &browser,
                    &base,
                    case.provider,
                    LoginOptions::default(),
                )
                .await?;
                check(&case, &answer)?;
            }
            // Only monday's two lookups are GraphQL queries.
            ensure!(
                provider.user_info_posts() == 2,
                "{} user lookups were POSTs",
                provider.user_info_posts()
            );
            ensure!(
                provider.pkce_failures() == 0,
                "PKCE failed {} times",
                provider.pkce_failures()
            );
            Ok(())
        },
    )
    .await;
}
