//! Realtime event payloads, differentially: the same subscriptions and writes against
//! PocketBase 0.40.6 and EdgeBase, and the events each stream carries (topic, action, record
//! with every field type, hidden fields, `fields` picking) compared after normalising ids and
//! times. Each write's events are awaited before the next write, and compared as a set per
//! write (PocketBase sends the events of one change to several topics in no fixed order).

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::conformance::{json_differences, Normalizer, Target, TargetKind};
use edgebase_tests::{run_test, RawBody, SseClient};
use serde_json::{json, Value};

const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

fn topic_with_options(base: &str, options: Value) -> String {
    let encoded: String =
        url::form_urlencoded::byte_serialize(options.to_string().as_bytes()).collect();
    format!("{base}?options={encoded}")
}

/// The events of every write of the scenario against `target`, normalised.
async fn scenario(target: &Target) -> anyhow::Result<Vec<Vec<(String, Value)>>> {
    let token = target.superuser_token.as_str();
    let client = &target.client;
    let created = client
        .send("POST", "/api/collections", Some(token), RawBody::Json(json!({
            "name": "rt_things", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
            "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "count", "type": "number"},
                {"name": "flag", "type": "bool"},
                {"name": "meta", "type": "json"},
                {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b", "c"]},
                {"name": "when", "type": "date"},
                {"name": "contact", "type": "email"},
                {"name": "secret", "type": "text", "hidden": true},
                {"name": "created", "type": "autodate", "onCreate": true},
                {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
            ]
        })), &[])
        .await?;
    ensure!(
        created.status == 200,
        "{}: create collection: {}",
        target.kind,
        created.text
    );

    let base = target.process.http_url();
    let mut guest = SseClient::connect(&base).await?;
    let mut admin = SseClient::connect(&base).await?;
    let picked = topic_with_options(
        "rt_things/*",
        json!({"query": {"fields": "id,title,count"}}),
    );
    let subscribe = |id: String, topics: Vec<String>, auth: Option<String>| async move {
        let answer = client
            .send(
                "POST",
                "/api/realtime",
                auth.as_deref(),
                RawBody::Json(json!({"clientId": id, "subscriptions": topics})),
                &[],
            )
            .await?;
        ensure!(
            answer.status == 204,
            "subscribe: {} {}",
            answer.status,
            answer.text
        );
        Ok::<_, anyhow::Error>(())
    };
    subscribe(
        guest.client_id.clone(),
        vec!["rt_things/*".into(), picked.clone(), "rt_things".into()],
        None,
    )
    .await?;
    subscribe(
        admin.client_id.clone(),
        vec!["rt_things/*".into()],
        Some(token.to_string()),
    )
    .await?;

    let mut writes = Vec::new();
    let full = json!({
        "title": "first", "count": 2.5, "flag": true, "meta": {"a": [1, 2]}, "tags": ["b", "a"],
        "when": "2026-01-02 03:04:05.678Z", "contact": "x@example.com", "secret": "hush"
    });
    let first = client
        .send(
            "POST",
            "/api/collections/rt_things/records",
            None,
            RawBody::Json(full),
            &[],
        )
        .await?;
    ensure!(
        first.status == 200,
        "{}: create: {}",
        target.kind,
        first.text
    );
    let id = first
        .json
        .as_ref()
        .and_then(|j| j["id"].as_str())
        .context("id")?
        .to_string();
    writes.push(collect(&mut [(&mut guest, 3), (&mut admin, 1)], &id).await?);

    // A subscription to the one record, beside the others.
    subscribe(
        guest.client_id.clone(),
        vec!["rt_things/*".into(), format!("rt_things/{id}")],
        None,
    )
    .await?;
    let path = format!("/api/collections/rt_things/records/{id}");
    let updated = client
        .send(
            "PATCH",
            &path,
            None,
            RawBody::Json(json!({"title": "second", "tags+": "c", "meta": null})),
            &[],
        )
        .await?;
    ensure!(
        updated.status == 200,
        "{}: update: {}",
        target.kind,
        updated.text
    );
    writes.push(collect(&mut [(&mut guest, 2), (&mut admin, 1)], &id).await?);

    let deleted = client
        .send("DELETE", &path, None, RawBody::None, &[])
        .await?;
    ensure!(
        deleted.status == 204,
        "{}: delete: {}",
        target.kind,
        deleted.text
    );
    writes.push(collect(&mut [(&mut guest, 2), (&mut admin, 1)], &id).await?);

    let mut normalizer = Normalizer::new();
    Ok(writes
        .into_iter()
        .map(|events| {
            events
                .into_iter()
                .map(|(topic, data)| (topic, normalizer.normalize(&data)))
                .collect()
        })
        .collect())
}

/// `count` events from each stream, as (`who:topic` with the record id replaced, data),
/// sorted by that key.
async fn collect(
    streams: &mut [(&mut SseClient, usize)],
    record_id: &str,
) -> anyhow::Result<Vec<(String, Value)>> {
    let mut events = Vec::new();
    for (who, (stream, count)) in streams.iter_mut().enumerate() {
        for seen in 0..*count {
            let event = stream
                .next(EVENT_TIMEOUT)
                .await
                .with_context(|| format!("stream {who}: event {} of {count}", seen + 1))?;
            events.push((
                format!("{who}:{}", event.name.replace(record_id, "<record>")),
                event.data,
            ));
        }
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_payloads_match_pocketbase() {
    run_test("realtime_payloads", Duration::from_secs(300), |context| async move {
        let pocketbase = Target::start(TargetKind::PocketBase, context.root(), "pocketbase").await?;
        let expected = scenario(&pocketbase).await?;
        let edgebase = Target::start(TargetKind::EdgeBase, context.root(), "edgebase").await?;
        let got = scenario(&edgebase).await?;
        ensure!(expected.len() == got.len(), "writes: {} vs {}", expected.len(), got.len());
        for (write, (want, have)) in expected.iter().zip(&got).enumerate() {
            let want_topics: Vec<&String> = want.iter().map(|(topic, _)| topic).collect();
            let have_topics: Vec<&String> = have.iter().map(|(topic, _)| topic).collect();
            ensure!(want_topics == have_topics, "write {write}: topics {want_topics:?} vs {have_topics:?}");
            for ((topic, want), (_, have)) in want.iter().zip(have) {
                let differences = json_differences(want, have);
                ensure!(differences.is_empty(), "write {write}, {topic}: {differences:?}\nPocketBase: {want}\nEdgeBase: {have}");
            }
        }
        Ok(())
    })
    .await;
}
