//! Auth across a cluster: tokens are verified from each node's replicated state. A user
//! created through node A logs in at node B; a password change through node B makes the old
//! token fail at node C (the new token key is replicated); a token signed by another
//! cluster (its own collection secret) for a record with the same id is refused.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, seeded_rng, Cluster, NODE_START_TIMEOUT};
use rand::seq::SliceRandom;
use serde_json::{json, Value};

/// One answer: status, JSON body and the log index the node reported.
struct Answer {
    status: u16,
    body: Value,
    index: u64,
}

/// A raw HTTP call as a PocketBase client makes it, waiting for `after` on the node.
async fn call(
    http: &reqwest::Client,
    base_url: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    after: u64,
) -> anyhow::Result<Answer> {
    let mut request = http
        .request(method.clone(), format!("{base_url}{path}"))
        .header("X-Edgebase-After", after.to_string());
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {path}"))?;
    let status = response.status().as_u16();
    let index = response
        .headers()
        .get("X-Edgebase-Index")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let text = response.text().await.context("read the answer")?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        body,
        index,
    })
}

fn text(value: &Value, key: &str) -> anyhow::Result<String> {
    value[key]
        .as_str()
        .map(String::from)
        .with_context(|| format!("no {key:?} in {value}"))
}

const USER_ID: &str = "clusteruser0001";
const EMAIL: &str = "roamer@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_follow_replicated_state() {
    run_test(
        "auth_cluster",
        Duration::from_secs(300),
        |context| async move {
            let mut rng = seeded_rng("auth_cluster");
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let mut ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            ids.shuffle(&mut rng);
            let [a, b, c] = [ids[0], ids[1], ids[2]];
            let url = |id: u64| cluster.node(id).http_url();
            let http = reqwest::Client::new();
            use reqwest::Method;

            // A user signs up through node A (the users collection exists on a new cluster).
            let created = call(
                &http,
                &url(a),
                Method::POST,
                "/api/collections/users/records",
                None,
                Some(json!({"id": USER_ID, "email": EMAIL, "password": "first-pass-1", "passwordConfirm": "first-pass-1"})),
                0,
            )
            .await?;
            ensure!(created.status == 200, "sign up at node {a}: {}", created.body);

            // ... and logs in at node B.
            let login = call(
                &http,
                &url(b),
                Method::POST,
                "/api/collections/users/auth-with-password",
                None,
                Some(json!({"identity": EMAIL, "password": "first-pass-1"})),
                created.index,
            )
            .await?;
            ensure!(login.status == 200, "login at node {b}: {}", login.body);
            let old_token = text(&login.body, "token")?;
            let own_path = format!("/api/collections/users/records/{USER_ID}");

            // The token works at node C.
            let seen = call(&http, &url(c), Method::GET, &own_path, Some(&old_token), None, created.index).await?;
            ensure!(seen.status == 200, "own record at node {c}: {}", seen.body);

            // A password change through node B ...
            let changed = call(
                &http,
                &url(b),
                Method::PATCH,
                &own_path,
                Some(&old_token),
                Some(json!({"oldPassword": "first-pass-1", "password": "second-pass-2", "passwordConfirm": "second-pass-2"})),
                created.index,
            )
            .await?;
            ensure!(changed.status == 200, "password change at node {b}: {}", changed.body);

            // ... makes the old token fail at node C (and at A), once they applied it.
            for node in [c, a] {
                let refused = call(&http, &url(node), Method::GET, &own_path, Some(&old_token), None, changed.index).await?;
                ensure!(
                    refused.status == 404,
                    "the old token still reads the record at node {node}: {} {}",
                    refused.status,
                    refused.body
                );
                let refresh = call(&http, &url(node), Method::POST, "/api/collections/users/auth-refresh", Some(&old_token), None, changed.index).await?;
                ensure!(refresh.status == 401, "the old token refreshed at node {node}: {}", refresh.body);
            }
            let relogin = call(
                &http,
                &url(c),
                Method::POST,
                "/api/collections/users/auth-with-password",
                None,
                Some(json!({"identity": EMAIL, "password": "second-pass-2"})),
                changed.index,
            )
            .await?;
            ensure!(relogin.status == 200, "login with the new password at node {c}: {}", relogin.body);

            // Another cluster, the same user id and email: its token names the same record
            // and collection but is signed with that cluster's secret and token key.
            let other = Cluster::builder(&context.root().join("other-cluster")).size(1).start().await?;
            let other_id = other.ids()[0];
            other.wait_for_leader(&[other_id], NODE_START_TIMEOUT).await?;
            let other_url = other.node(other_id).http_url();
            let foreign_user = call(
                &http,
                &other_url,
                Method::POST,
                "/api/collections/users/records",
                None,
                Some(json!({"id": USER_ID, "email": EMAIL, "password": "second-pass-2", "passwordConfirm": "second-pass-2"})),
                0,
            )
            .await?;
            ensure!(foreign_user.status == 200, "sign up on the other cluster: {}", foreign_user.body);
            let foreign_login = call(
                &http,
                &other_url,
                Method::POST,
                "/api/collections/users/auth-with-password",
                None,
                Some(json!({"identity": EMAIL, "password": "second-pass-2"})),
                foreign_user.index,
            )
            .await?;
            ensure!(foreign_login.status == 200, "login on the other cluster: {}", foreign_login.body);
            let foreign_token = text(&foreign_login.body, "token")?;
            for node in [a, b, c] {
                let refused = call(&http, &url(node), Method::POST, "/api/collections/users/auth-refresh", Some(&foreign_token), None, changed.index).await?;
                ensure!(
                    refused.status == 401,
                    "node {node} accepted another cluster's token: {} {}",
                    refused.status,
                    refused.body
                );
            }
            // Secrets and password hashes never leave a node: not in answers, not in logs.
            let admin = cluster.admin(a).await?;
            let token = admin.token().context("the admin session has a token")?;
            let definition = call(&http, &url(a), Method::GET, "/api/collections/users", Some(&token), None, changed.index).await?;
            let listed = call(&http, &url(a), Method::GET, "/api/collections/users/records", Some(&token), None, changed.index).await?;
            ensure!(definition.status == 200 && listed.status == 200, "superuser reads failed");
            let definition_text = definition.body.to_string();
            ensure!(
                !definition_text.contains("\"secret\""),
                "the collection shows a token secret: {definition_text}"
            );
            let items = listed.body["items"].as_array().context("a record list")?;
            ensure!(!items.is_empty(), "the superuser sees no users");
            for record in items {
                ensure!(
                    record.get("password").is_none() && record.get("tokenKey").is_none(),
                    "a record shows its password hash or token key: {record}"
                );
            }
            for node in cluster.nodes() {
                let log = node.log_text()?;
                ensure!(
                    !log.contains("$argon2") && !log.contains("first-pass-1") && !log.contains("second-pass-2"),
                    "node {} logged a password or hash",
                    node.id()
                );
            }
            // An impersonation token of one second expires, and is then refused everywhere.
            let impersonated = call(
                &http,
                &url(b),
                Method::POST,
                &format!("/api/collections/users/impersonate/{USER_ID}"),
                Some(&token),
                Some(json!({"duration": 1})),
                changed.index,
            )
            .await?;
            ensure!(impersonated.status == 200, "impersonate at node {b}: {}", impersonated.body);
            let short_token = text(&impersonated.body, "token")?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let refresh = call(&http, &url(c), Method::POST, "/api/collections/users/auth-refresh", Some(&short_token), None, changed.index).await?;
                if refresh.status == 401 {
                    break;
                }
                ensure!(refresh.status == 200, "refresh of a live impersonation token: {}", refresh.body);
                ensure!(
                    text(&refresh.body, "token")? == short_token,
                    "an impersonation token was refreshed into a new one"
                );
                ensure!(tokio::time::Instant::now() < deadline, "a one-second token still works after 10 s");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }

            eprintln!("login at {b} after sign-up at {a}; password change at {b} refused the old token at {c} and {a}; foreign token refused");
            Ok(())
        },
    )
    .await
}
