//! The realtime hooks, differentially against PocketBase 0.40.6 and one EdgeBase node with
//! the same `pb_hooks`: `onRealtimeSubscribeRequest` dropping a topic from every
//! subscription and refusing another, `onRealtimeMessageSend` changing each record event's
//! data and dropping one event. The answers and the events a client gets must be the same.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::conformance::{json_differences, Target, TargetKind};
use edgebase_tests::{run_test, RawBody, SseClient};
use serde_json::{json, Value};

const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

const HOOKS: &str = r#"
onRealtimeSubscribeRequest((e) => {
    if (e.subscriptions.includes("forbidden")) {
        throw new ForbiddenError("Not this topic.")
    }
    e.subscriptions = e.subscriptions.filter((topic) => !topic.startsWith("secrets"))
    e.next()
})

onRealtimeMessageSend((e) => {
    if (e.message.name === "PB_CONNECT") {
        return e.next()
    }
    const data = JSON.parse(toString(e.message.data))
    if (data.record && data.record.title === "hidden") {
        return
    }
    if (data.record) {
        data.record.title = data.record.title + " (sent)"
    }
    e.message.data = JSON.stringify(data)
    e.next()
})
"#;

/// The answers and the events of the scenario against `target`, labelled.
async fn scenario(target: &Target) -> anyhow::Result<Vec<(String, Value)>> {
    let token = target.superuser_token.as_str();
    let http = &target.client;
    for name in ["posts", "secrets"] {
        let created = http
            .send(
                "POST",
                "/api/collections",
                Some(token),
                RawBody::Json(json!({
                    "name": name, "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                    "fields": [{"name": "title", "type": "text"}],
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
    let client_id = stream.client_id.clone();
    let mut seen = Vec::new();
    for (label, topics) in [
        ("a refused topic", json!(["posts", "forbidden"])),
        ("posts and secrets", json!(["posts", "secrets"])),
    ] {
        let answer = http
            .send(
                "POST",
                "/api/realtime",
                None,
                RawBody::Json(json!({"clientId": client_id, "subscriptions": topics})),
                &[],
            )
            .await?;
        seen.push((
            format!("subscribe: {label}"),
            json!({"status": answer.status, "body": answer.json.unwrap_or(Value::Null)}),
        ));
    }
    for (collection, title) in [
        ("secrets", "dropped by the subscription hook"),
        ("posts", "hidden"),
        ("posts", "shown"),
    ] {
        let created = http
            .send(
                "POST",
                &format!("/api/collections/{collection}/records"),
                None,
                RawBody::Json(json!({ "title": title })),
                &[],
            )
            .await?;
        ensure!(
            created.status == 200,
            "{}: create in {collection}: {}",
            target.kind,
            created.text
        );
    }
    // The first event the client gets is the last write's: the two before it never came.
    let event = stream
        .next(EVENT_TIMEOUT)
        .await
        .with_context(|| format!("{}: no event", target.kind))?;
    seen.push((
        "the first event".into(),
        json!({
            "name": event.name,
            "action": event.data["action"],
            "title": event.data["record"]["title"],
        }),
    ));
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_hooks_match_pocketbase() {
    run_test(
        "hooks_realtime",
        Duration::from_secs(300),
        |context| async move {
            let hooks = BTreeMap::from([("realtime.pb.js".to_owned(), HOOKS.to_owned())]);
            let pocketbase = Target::start_with_hooks(
                TargetKind::PocketBase,
                context.root(),
                "pocketbase",
                &hooks,
            )
            .await?;
            let expected = scenario(&pocketbase).await?;
            // The scenario shows what it means to: the refusal, and only the changed event.
            ensure!(
                expected[0].1["status"] == 403
                    && expected[1].1["status"] == 204
                    && expected[2].1["title"] == "shown (sent)",
                "PocketBase's answers: {expected:?}"
            );
            let edgebase =
                Target::start_with_hooks(TargetKind::EdgeBase, context.root(), "edgebase", &hooks)
                    .await?;
            let got = scenario(&edgebase).await?;
            ensure!(
                expected.len() == got.len(),
                "steps: {expected:?} vs {got:?}"
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
