//! Realtime on three real nodes: a subscriber on every node receives every event of writes
//! made concurrently through all three, each once and in log-index order, the same order at
//! every node (writes that shared one log entry come in the entry's order), and PocketBase's
//! answers to a subscription request naming an unknown client.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, Cluster, RawBody, RawClient, SseClient, NODE_START_TIMEOUT};
use serde_json::json;

const WRITES_PER_NODE: usize = 10;
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_delivers_every_event_in_commit_order() {
    run_test(
        "realtime_cluster",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admins = cluster.raw_admins().await?;
            let (http_a, token_a) = &admins[0];
            let created = http_a
            .send("POST", "/api/collections", Some(token_a), RawBody::Json(json!({
                "name": "feed", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "n", "type": "number"}]
            })), &[])
            .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);

            let mut subscribers = Vec::new();
            for id in &ids {
                let base = cluster.node(*id).http_url();
                let subscriber = SseClient::connect(&base).await?;
                let answer = RawClient::new(&base)?
                    .send(
                        "POST",
                        "/api/realtime",
                        None,
                        RawBody::Json(json!({
                            "clientId": subscriber.client_id, "subscriptions": ["feed/*"]
                        })),
                        &[],
                    )
                    .await?;
                ensure!(
                    answer.status == 204,
                    "subscribe at node {id}: {} {}",
                    answer.status,
                    answer.text
                );
                subscribers.push(subscriber);
            }
            let unknown = http_a
                .send(
                    "POST",
                    "/api/realtime",
                    None,
                    RawBody::Json(json!({"clientId": "nope", "subscriptions": []})),
                    &[],
                )
                .await?;
            ensure!(
                unknown.status == 404 && unknown.text.contains("Missing or invalid client id."),
                "unknown client: {}",
                unknown.text
            );

            // Writes through every node at once: Raft orders them, every node applies that order.
            let mut writers = Vec::new();
            for (position, (client, _)) in admins.iter().enumerate() {
                let client = client.clone();
                writers.push(tokio::spawn(async move {
                    let mut written = Vec::new();
                    for n in 0..WRITES_PER_NODE {
                        let answer = client
                            .send(
                                "POST",
                                "/api/collections/feed/records",
                                None,
                                RawBody::Json(json!({"n": position * 100 + n})),
                                &[],
                            )
                            .await?;
                        ensure!(answer.status == 200, "write: {}", answer.text);
                        let id = answer
                            .json
                            .as_ref()
                            .and_then(|j| j["id"].as_str())
                            .context("id")?
                            .to_string();
                        written.push((id, answer.index().context("index")?));
                    }
                    Ok::<_, anyhow::Error>(written)
                }));
            }
            let mut index_of: HashMap<String, u64> = HashMap::new();
            for writer in writers {
                for (id, index) in writer.await?? {
                    index_of.insert(id, index);
                }
            }
            let total = index_of.len();
            ensure!(
                total == WRITES_PER_NODE * 3,
                "every write answered: {total}"
            );

            let mut orders = Vec::new();
            for (subscriber, node) in subscribers.iter_mut().zip(&ids) {
                let mut seen = Vec::new();
                while seen.len() < total {
                    let event = subscriber.next(EVENT_TIMEOUT).await.with_context(|| {
                        format!("node {node}: {} of {total} events", seen.len())
                    })?;
                    ensure!(
                        event.name == "feed/*" && event.data["action"] == "create",
                        "node {node}: {event:?}"
                    );
                    let id = event.data["record"]["id"]
                        .as_str()
                        .context("record id")?
                        .to_string();
                    seen.push(id);
                }
                let unique: HashSet<&String> = seen.iter().collect();
                ensure!(unique.len() == total, "node {node}: each event once");
                let indexes: Vec<u64> = seen
                    .iter()
                    .map(|id| index_of.get(id).copied().unwrap_or(0))
                    .collect();
                ensure!(
                    indexes.windows(2).all(|pair| pair[0] <= pair[1]),
                    "node {node}: events in log order: {indexes:?}"
                );
                orders.push(seen);
            }
            ensure!(
                orders.windows(2).all(|pair| pair[0] == pair[1]),
                "every node delivers the events in the same order"
            );
            Ok(())
        },
    )
    .await;
}
