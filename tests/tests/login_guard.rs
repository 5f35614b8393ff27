//! Failed sign-ins are limited by default (rate-limit settings off, as on a new node): after
//! five wrong passwords for one identity, further attempts for it get 429 for a minute, the
//! right password included, while other identities sign in as usual.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, Node, NodeSpec, RawBody, RawClient, NODE_START_TIMEOUT};
use serde_json::json;

const PASSWORD: &str = "a-good-password-1";

async fn sign_in(client: &RawClient, email: &str, password: &str) -> anyhow::Result<u16> {
    let response = client
        .send(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            RawBody::Json(json!({"identity": email, "password": password})),
            &[],
        )
        .await
        .context("auth-with-password")?;
    Ok(response.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_are_refused() {
    run_test("login_guard", Duration::from_secs(120), |context| async move {
        let mut node = Node::start(NodeSpec::single(context.root(), "node")?)?;
        node.wait_healthy(NODE_START_TIMEOUT).await?;
        let client = RawClient::new(&node.http_url())?;
        for email in ["ann@example.com", "bob@example.com"] {
            let created = client
                .send(
                    "POST",
                    "/api/collections/users/records",
                    None,
                    RawBody::Json(json!({"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})),
                    &[],
                )
                .await?;
            ensure!(created.status == 200, "sign-up of {email}: {}", created.text);
        }
        for attempt in 1..=5 {
            let status = sign_in(&client, "ann@example.com", "wrong-password").await?;
            ensure!(status == 400, "wrong password, attempt {attempt}: {status}");
        }
        let locked = sign_in(&client, "ann@example.com", "wrong-password").await?;
        ensure!(locked == 429, "the sixth failure in a minute: {locked}");
        let right = sign_in(&client, "ann@example.com", PASSWORD).await?;
        ensure!(right == 429, "the right password while locked: {right}");
        let other = sign_in(&client, "bob@example.com", PASSWORD).await?;
        ensure!(other == 200, "another identity signs in: {other}");
        Ok(())
    })
    .await
}
