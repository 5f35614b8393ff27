//! PocketBase's answers around a live realtime stream, differentially against PocketBase
//! 0.40.6 and one EdgeBase node: a subscription request from another address than the
//! stream's, a guest stream taking a user's auth, the auth then changing identity, and the
//! `@oauth2` events a redirect sends (its code, or the provider's error), compared after
//! putting the client id aside; and subscriptions whose options or filter do not parse. The redirect's page is not compared: PocketBase sends the
//! browser to its dashboard, which EdgeBase does not serve yet.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::conformance::{json_differences, Target, TargetKind};
use edgebase_tests::{run_test, RawBody, RawClient, SseClient};
use serde_json::{json, Value};

const EVENT_TIMEOUT: Duration = Duration::from_secs(20);
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Every answer and event of the scenario against `target`, labelled, client ids replaced.
async fn scenario(target: &Target) -> anyhow::Result<Vec<(String, Value)>> {
    let base = target.process.http_url();
    let token = target.superuser_token.as_str();
    let http = &target.client;
    let user = http
        .send("POST", "/api/collections/users/records", Some(token), RawBody::Json(json!({
            "email": "answers@example.com", "password": "password-123", "passwordConfirm": "password-123"
        })), &[])
        .await?;
    ensure!(
        user.status == 200,
        "{}: create user: {}",
        target.kind,
        user.text
    );
    let login = http
        .send(
            "POST",
            "/api/collections/users/auth-with-password",
            None,
            RawBody::Json(json!({
                "identity": "answers@example.com", "password": "password-123"
            })),
            &[],
        )
        .await?;
    let user_token = login
        .json
        .as_ref()
        .and_then(|j| j["token"].as_str())
        .context("user token")?
        .to_string();

    let mut stream = SseClient::connect(&base).await?;
    let client_id = stream.client_id.clone();
    let mut seen = Vec::new();
    let mut answer = |label: &str, response: edgebase_tests::RawResponse| {
        let body = response.json.unwrap_or(Value::Null);
        let text = body.to_string().replace(&client_id, "<client>");
        seen.push((label.to_string(), json!({"status": response.status, "body": serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)})));
    };
    let form =
        |topics: &[&str]| RawBody::Json(json!({"clientId": client_id, "subscriptions": topics}));

    let elsewhere = RawClient::from_address(&base, OTHER_CLIENT)?;
    answer(
        "from another address",
        elsewhere
            .send("POST", "/api/realtime", None, form(&["users/*"]), &[])
            .await?,
    );
    answer(
        "guest",
        http.send("POST", "/api/realtime", None, form(&["users/*"]), &[])
            .await?,
    );
    answer(
        "guest takes a user's auth",
        http.send(
            "POST",
            "/api/realtime",
            Some(&user_token),
            form(&["users/*"]),
            &[],
        )
        .await?,
    );
    answer(
        "the user stays",
        http.send(
            "POST",
            "/api/realtime",
            Some(&user_token),
            form(&["users/*", "@oauth2"]),
            &[],
        )
        .await?,
    );
    answer(
        "another identity",
        http.send(
            "POST",
            "/api/realtime",
            Some(token),
            form(&["users/*"]),
            &[],
        )
        .await?,
    );
    answer(
        "back to a guest",
        http.send("POST", "/api/realtime", None, form(&["users/*"]), &[])
            .await?,
    );

    // `@oauth2` events: a code, then (subscribed again) the provider's error.
    let mut events = Vec::new();
    for query in ["code=the-code", "error=access_denied"] {
        let subscribed = http
            .send(
                "POST",
                "/api/realtime",
                Some(&user_token),
                form(&["@oauth2"]),
                &[],
            )
            .await?;
        ensure!(
            subscribed.status == 204,
            "{}: subscribe @oauth2: {}",
            target.kind,
            subscribed.text
        );
        http.get(
            &format!("/api/oauth2-redirect?state={client_id}&{query}"),
            None,
        )
        .await?;
        let event = stream
            .next(EVENT_TIMEOUT)
            .await
            .with_context(|| format!("{}: no @oauth2 event for {query}", target.kind))?;
        let text = event.data.to_string().replace(&client_id, "<client>");
        events.push((
            format!("event {}: {query}", event.name),
            serde_json::from_str(&text)?,
        ));
    }
    seen.extend(events);
    seen.extend(bad_options(target).await?);
    Ok(seen)
}

/// Subscriptions whose options do not parse (ignored, as PocketBase ignores them) or whose
/// filter does not (the subscription gets nothing): the events one write brings, up to a
/// marker write's event that says everything before it was sent.
async fn bad_options(target: &Target) -> anyhow::Result<Vec<(String, Value)>> {
    let token = target.superuser_token.as_str();
    let http = &target.client;
    for name in ["rt_bad", "rt_marker"] {
        let created = http
            .send(
                "POST",
                "/api/collections",
                Some(token),
                RawBody::Json(json!({
                    "name": name, "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                    "fields": [{"name": "title", "type": "text"}]
                })),
                &[],
            )
            .await?;
        ensure!(
            created.status == 200,
            "{}: create {name}: {}",
            target.kind,
            created.text
        );
    }
    let mut stream = SseClient::connect(&target.process.http_url()).await?;
    let topics = [
        "rt_bad/*?options={not json".to_string(),
        format!(
            "rt_bad/*?options={}",
            urlencoded(r#"{"query":{"filter":"title ~~ 'x'"}}"#)
        ),
        format!(
            "rt_bad/*?options={}",
            urlencoded(r#"{"query":{"filter":"nope = 1"}}"#)
        ),
        format!(
            "rt_bad/*?options={}",
            urlencoded(r#"{"query":{"filter":"title = 'kept'"}}"#)
        ),
        "rt_marker/*".to_string(),
    ];
    let subscribed = http
        .send(
            "POST",
            "/api/realtime",
            None,
            RawBody::Json(json!({
                "clientId": stream.client_id, "subscriptions": topics
            })),
            &[],
        )
        .await?;
    let mut seen = vec![(
        "bad options: subscribe".to_string(),
        json!(subscribed.status),
    )];
    for (collection, title) in [("rt_bad", "kept"), ("rt_marker", "marker")] {
        let written = http
            .send(
                "POST",
                &format!("/api/collections/{collection}/records"),
                Some(token),
                RawBody::Json(json!({"title": title})),
                &[],
            )
            .await?;
        ensure!(
            written.status == 200,
            "{}: write {collection}: {}",
            target.kind,
            written.text
        );
    }
    let mut events = Vec::new();
    loop {
        let event = stream
            .next(EVENT_TIMEOUT)
            .await
            .with_context(|| format!("{}: no marker event", target.kind))?;
        let done = event.name == "rt_marker/*";
        events.push((event.name, event.data["record"]["title"].clone()));
        if done {
            break;
        }
    }
    // One change's events to several topics come in no fixed order.
    events.sort_by(|a, b| a.0.cmp(&b.0));
    seen.extend(
        events
            .into_iter()
            .map(|(topic, title)| (format!("bad options: event {topic}"), title)),
    );
    Ok(seen)
}

fn urlencoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_around_a_live_stream_match_pocketbase() {
    run_test(
        "realtime_answers",
        Duration::from_secs(300),
        |context| async move {
            let pocketbase =
                Target::start(TargetKind::PocketBase, context.root(), "pocketbase").await?;
            let expected = scenario(&pocketbase).await?;
            // The scenario shows what it means to: of the bad subscriptions, only the one whose
            // options PocketBase ignores (and the well-filtered one, and the marker) get events.
            let bad_events = expected
                .iter()
                .filter(|(label, _)| label.starts_with("bad options: event"))
                .count();
            ensure!(
                bad_events == 3,
                "PocketBase's events for the bad options: {expected:?}"
            );
            let edgebase = Target::start(TargetKind::EdgeBase, context.root(), "edgebase").await?;
            let got = scenario(&edgebase).await?;
            ensure!(
                expected.len() == got.len(),
                "steps: {} vs {}",
                expected.len(),
                got.len()
            );
            for ((label, want), (_, have)) in expected.iter().zip(&got) {
                let differences = json_differences(want, have);
                ensure!(
                    differences.is_empty(),
                    "{label}: {differences:?}\nPocketBase: {want}\nEdgeBase: {have}"
                );
            }
            Ok(())
        },
    )
    .await;
}
