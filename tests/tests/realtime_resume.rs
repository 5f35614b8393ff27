//! Resuming a realtime stream on three real nodes: a subscriber at node B sees some events,
//! B is killed (-9) while writes go on, and the client reconnects to node C with the id of
//! the last event it saw: it gets every event it missed, then the live ones, each once and
//! in log order. Resuming from before what a node's feed holds (B, restarted: its feed starts
//! where its state was) answers `EB_REFETCH` instead.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, Cluster, RawBody, RawClient, SseClient, SseEvent, NODE_START_TIMEOUT,
};
use serde_json::json;

const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

async fn subscribe(base: &str, client_id: &str) -> anyhow::Result<()> {
    let answer = RawClient::new(base)?
        .send(
            "POST",
            "/api/realtime",
            None,
            RawBody::Json(json!({
                "clientId": client_id, "subscriptions": ["feed/*"]
            })),
            &[],
        )
        .await?;
    ensure!(
        answer.status == 204,
        "subscribe at {base}: {} {}",
        answer.status,
        answer.text
    );
    Ok(())
}

/// Create `count` records through `client`; their ids and write indexes.
async fn write(
    client: &RawClient,
    count: usize,
    from: usize,
) -> anyhow::Result<Vec<(String, u64)>> {
    let mut written = Vec::new();
    for n in from..from + count {
        let answer = client
            .send(
                "POST",
                "/api/collections/feed/records",
                None,
                RawBody::Json(json!({"n": n})),
                &[],
            )
            .await?;
        ensure!(
            answer.status == 200,
            "write {n}: {} {}",
            answer.status,
            answer.text
        );
        let id = answer
            .json
            .as_ref()
            .and_then(|j| j["id"].as_str())
            .context("id")?
            .to_string();
        written.push((id, answer.index().context("index")?));
    }
    Ok(written)
}

async fn events(stream: &mut SseClient, count: usize) -> anyhow::Result<Vec<SseEvent>> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let event = stream
            .next(EVENT_TIMEOUT)
            .await
            .with_context(|| format!("{} of {count} events", seen.len()))?;
        seen.push(event);
    }
    Ok(seen)
}

fn index_of(event: &SseEvent) -> u64 {
    event
        .id
        .split('.')
        .next()
        .and_then(|index| index.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_stream_misses_nothing() {
    run_test(
        "realtime_resume",
        Duration::from_secs(300),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let (b, c) = (ids[1], ids[2]);
            let admins = cluster.raw_admins().await?;
            let (http_a, token_a) = &admins[0];
            let http_c = &admins[2].0;
            let created = http_a
            .send("POST", "/api/collections", Some(token_a), RawBody::Json(json!({
                "name": "feed", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "n", "type": "number"}]
            })), &[])
            .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);

            let (base_b, base_c) = (cluster.node(b).http_url(), cluster.node(c).http_url());
            let mut stream = SseClient::connect(&base_b).await?;
            subscribe(&base_b, &stream.client_id).await?;
            let mut written = write(http_a, 5, 0).await?;
            let mut seen = events(&mut stream, 5).await?;
            let last_seen = seen.last().context("an event")?.id.clone();

            // B dies; writes go on through A; the client comes back at C.
            cluster.node_mut(b).kill9()?;
            drop(stream);
            written.extend(write(http_a, 5, 5).await?);
            let mut resumed = SseClient::connect_resuming(&base_c, Some(&last_seen)).await?;
            subscribe(&base_c, &resumed.client_id).await?;
            seen.extend(events(&mut resumed, 5).await?);
            written.extend(write(http_c, 3, 10).await?);
            seen.extend(events(&mut resumed, 3).await?);

            let ids_seen: Vec<String> = seen
                .iter()
                .map(|event| {
                    event.data["record"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            let ids_written: Vec<String> = written.iter().map(|(id, _)| id.clone()).collect();
            ensure!(
                ids_seen == ids_written,
                "every event once, in write order:\n seen {ids_seen:?}\n written {ids_written:?}"
            );
            let unique: HashSet<&String> = ids_seen.iter().collect();
            ensure!(unique.len() == ids_seen.len(), "no event twice");
            let indexes: Vec<u64> = seen.iter().map(index_of).collect();
            let written_indexes: Vec<u64> = written.iter().map(|(_, index)| *index).collect();
            ensure!(
                indexes == written_indexes,
                "event ids carry the write's index: {indexes:?} vs {written_indexes:?}"
            );

            // B restarted holds nothing from before its start (it applies what it missed while
            // down, so it could resume from `last_seen`): from earlier, it asks for a refetch.
            cluster.node_mut(b).restart()?;
            cluster.node_mut(b).wait_healthy(NODE_START_TIMEOUT).await?;
            let first_index = index_of(&seen[0]);
            ensure!(
                first_index > 1,
                "events start after the collection was made"
            );
            let mut stale =
                SseClient::connect_resuming(&base_b, Some(&format!("{}.0", first_index - 1)))
                    .await?;
            subscribe(&base_b, &stale.client_id).await?;
            let first = stale
                .next(EVENT_TIMEOUT)
                .await
                .context("an answer to the resume")?;
            ensure!(
                first.name == "EB_REFETCH",
                "a resume from before the feed: {first:?}"
            );
            Ok(())
        },
    )
    .await;
}
