//! Realtime behind a load balancer, on three real nodes: a client id names the node holding
//! its stream, so a subscription request or an OAuth2 redirect that lands on another node is
//! relayed there over the cluster transport. Also PocketBase's guards, relayed or not: an
//! unknown client id, a request from another address than the stream's, an auth that
//! changes identity; and the stream keeps working through all of them.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, Cluster, RawBody, RawClient, SseClient, NODE_START_TIMEOUT};
use serde_json::json;

const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Another loopback address: a second client machine.
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

async fn subscribe(
    http: &RawClient,
    client_id: &str,
    token: Option<&str>,
    topics: &[&str],
) -> anyhow::Result<(u16, String)> {
    let answer = http
        .send(
            "POST",
            "/api/realtime",
            token,
            RawBody::Json(json!({"clientId": client_id, "subscriptions": topics})),
            &[],
        )
        .await?;
    Ok((answer.status, answer.text))
}

/// The next event, which must be `name`.
async fn expect_event(stream: &mut SseClient, name: &str) -> anyhow::Result<serde_json::Value> {
    let event = stream
        .next(EVENT_TIMEOUT)
        .await
        .with_context(|| format!("no {name} event in time"))?;
    ensure!(event.name == name, "expected {name}, got {event:?}");
    Ok(event.data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_another_nodes_client_are_relayed_there() {
    run_test(
        "realtime_relay",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admins = cluster.raw_admins().await?;
            let (admin_a, super_token) = &admins[0];
            let created = admin_a
                .send(
                    "POST",
                    "/api/collections",
                    Some(super_token),
                    RawBody::Json(json!({
                        "name": "feed", "type": "base",
                        "listRule": "@request.auth.id != ''", "viewRule": "@request.auth.id != ''",
                        "fields": [{"name": "n", "type": "number"}]
                    })),
                    &[],
                )
                .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);
            let user = admin_a
                .send(
                    "POST",
                    "/api/collections/users/records",
                    Some(super_token),
                    RawBody::Json(json!({
                        "email": "relay@example.com", "password": "password-123",
                        "passwordConfirm": "password-123"
                    })),
                    &[],
                )
                .await?;
            ensure!(user.status == 200, "create user: {}", user.text);

            let urls: Vec<String> = ids.iter().map(|id| cluster.node(*id).http_url()).collect();
            let (url_a, url_b, url_c) = (&urls[0], &urls[1], &urls[2]);
            let login = RawClient::new(url_b)?
                .send(
                    "POST",
                    "/api/collections/users/auth-with-password",
                    None,
                    RawBody::Json(json!({
                        "identity": "relay@example.com", "password": "password-123"
                    })),
                    &[],
                )
                .await?;
            ensure!(login.status == 200, "login: {}", login.text);
            let user_token = login
                .json
                .as_ref()
                .and_then(|j| j["token"].as_str())
                .context("token")?
                .to_string();

            // The stream is at A; its id names A.
            let mut stream = SseClient::connect(url_a).await?;
            let owner = ids[0].to_string();
            ensure!(
                stream.client_id.split_once('_').map(|(node, _)| node) == Some(owner.as_str()),
                "client id {} does not name node {owner}",
                stream.client_id
            );

            // Subscribed through B with the user's auth; a write through C reaches the stream at A.
            let http_b = RawClient::new(url_b)?;
            let answer =
                subscribe(&http_b, &stream.client_id, Some(&user_token), &["feed/*"]).await?;
            ensure!(answer.0 == 204, "subscribe through B: {answer:?}");
            let write = RawClient::new(url_c)?
                .send(
                    "POST",
                    "/api/collections/feed/records",
                    Some(super_token),
                    RawBody::Json(json!({"n": 1})),
                    &[],
                )
                .await?;
            ensure!(write.status == 200, "write through C: {}", write.text);
            let data = expect_event(&mut stream, "feed/*").await?;
            ensure!(
                data["action"] == "create" && data["record"]["n"] == 1,
                "event: {data}"
            );

            // PocketBase's guards hold wherever the request lands.
            let http_c = RawClient::new(url_c)?;
            let changed =
                subscribe(&http_c, &stream.client_id, Some(super_token), &["feed/*"]).await?;
            ensure!(changed.0 == 403, "another identity through C: {changed:?}");
            ensure!(
                changed.1.contains("authorization don't match"),
                "{changed:?}"
            );
            for url in [url_a, url_b] {
                let elsewhere = RawClient::from_address(url, OTHER_CLIENT)?;
                let answer = subscribe(
                    &elsewhere,
                    &stream.client_id,
                    Some(&user_token),
                    &["feed/*"],
                )
                .await?;
                ensure!(answer.0 == 400, "from another address at {url}: {answer:?}");
                ensure!(answer.1.contains("Invalid realtime client."), "{answer:?}");
            }
            let random = "x".repeat(40);
            for unknown in [
                format!("{owner}_{random}"),
                format!("99_{random}"),
                "not-a-client".to_string(),
            ] {
                for http in [&http_b, &http_c] {
                    let answer = subscribe(http, &unknown, None, &["feed/*"]).await?;
                    ensure!(answer.0 == 404, "unknown client {unknown}: {answer:?}");
                    ensure!(
                        answer.1.contains("Missing or invalid client id."),
                        "{answer:?}"
                    );
                }
            }
            // The stream kept its subscription and auth through all of that.
            let write = admin_a
                .send(
                    "POST",
                    "/api/collections/feed/records",
                    Some(super_token),
                    RawBody::Json(json!({"n": 2})),
                    &[],
                )
                .await?;
            ensure!(write.status == 200, "write: {}", write.text);
            let data = expect_event(&mut stream, "feed/*").await?;
            ensure!(data["record"]["n"] == 2, "event: {data}");

            // OAuth2: the login's stream at B waits on `@oauth2`; the provider's redirect lands at A.
            let mut login_stream = SseClient::connect(url_b).await?;
            let answer = subscribe(&http_c, &login_stream.client_id, None, &["@oauth2"]).await?;
            ensure!(answer.0 == 204, "subscribe @oauth2 through C: {answer:?}");
            let redirect = RawClient::new(url_a)?
                .get(
                    &format!(
                        "/api/oauth2-redirect?state={}&code=the-code",
                        login_stream.client_id
                    ),
                    None,
                )
                .await?;
            ensure!(
                redirect.status == 200 && redirect.text.contains("Auth completed"),
                "redirect at A: {} {}",
                redirect.status,
                redirect.text
            );
            let data = expect_event(&mut login_stream, "@oauth2").await?;
            ensure!(
                data == json!({"state": login_stream.client_id, "code": "the-code"}),
                "@oauth2 event: {data}"
            );
            // Delivered once: the subscription ended with it.
            let again = RawClient::new(url_c)?
                .get(
                    &format!(
                        "/api/oauth2-redirect?state={}&code=again",
                        login_stream.client_id
                    ),
                    None,
                )
                .await?;
            ensure!(
                again.text.contains("Failed to authenticate"),
                "second redirect: {}",
                again.text
            );

            // A provider's error reaches the app too, and the page says it failed.
            let answer = subscribe(&http_c, &login_stream.client_id, None, &["@oauth2"]).await?;
            ensure!(answer.0 == 204, "subscribe @oauth2 again: {answer:?}");
            let denied = RawClient::new(url_c)?
                .send(
                    "POST",
                    "/api/oauth2-redirect",
                    None,
                    RawBody::Typed {
                        content_type: "application/x-www-form-urlencoded".into(),
                        bytes: format!("state={}&error=access_denied", login_stream.client_id)
                            .into_bytes(),
                    },
                    &[],
                )
                .await?;
            ensure!(
                denied.text.contains("Failed to authenticate"),
                "denied: {}",
                denied.text
            );
            let data = expect_event(&mut login_stream, "@oauth2").await?;
            ensure!(
                data["error"] == "access_denied" && data["code"] == "",
                "@oauth2 event: {data}"
            );

            // A redirect from another address than the stream's is refused, and ends the wait.
            let answer = subscribe(&http_c, &login_stream.client_id, None, &["@oauth2"]).await?;
            ensure!(answer.0 == 204, "subscribe @oauth2 once more: {answer:?}");
            let foreign = RawClient::from_address(url_a, OTHER_CLIENT)?
                .get(
                    &format!(
                        "/api/oauth2-redirect?state={}&code=stolen",
                        login_stream.client_id
                    ),
                    None,
                )
                .await?;
            ensure!(
                foreign.text.contains("Failed to authenticate"),
                "foreign redirect: {}",
                foreign.text
            );
            let own = RawClient::new(url_a)?
                .get(
                    &format!(
                        "/api/oauth2-redirect?state={}&code=late",
                        login_stream.client_id
                    ),
                    None,
                )
                .await?;
            ensure!(
                own.text.contains("Failed to authenticate"),
                "redirect after a foreign one: {}",
                own.text
            );
            // Nothing reached the stream meanwhile: the next event is the next proper redirect's.
            let answer = subscribe(&http_c, &login_stream.client_id, None, &["@oauth2"]).await?;
            ensure!(answer.0 == 204, "subscribe @oauth2 a last time: {answer:?}");
            let last = RawClient::new(url_c)?
                .get(
                    &format!(
                        "/api/oauth2-redirect?state={}&code=final",
                        login_stream.client_id
                    ),
                    None,
                )
                .await?;
            ensure!(
                last.text.contains("Auth completed"),
                "last redirect: {}",
                last.text
            );
            let data = expect_event(&mut login_stream, "@oauth2").await?;
            ensure!(
                data["code"] == "final",
                "the event after a foreign redirect: {data}"
            );
            Ok(())
        },
    )
    .await;
}
