//! The Rust SDK's realtime subscription outlives its node: on three real nodes, the node
//! holding the SDK's stream is killed (-9) and records are written while the SDK cannot
//! reconnect (its proxies are closed); once it can, it reconnects to another node, resumes
//! from the last event it saw, and in the end has delivered the create event of every record
//! the cluster holds exactly once, in log order, with no refetch.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::{Client, Consistency, RealtimeEvent, Totals};
use edgebase_tests::{run_test, Cluster, TcpProxy, NODE_START_TIMEOUT};
use serde_json::json;

const WRITES_BEFORE: u64 = 10;
/// Written after the kill while the reader cannot reconnect: without the resume their events
/// would be lost.
const WRITES_IN_THE_GAP: u64 = 10;
const WRITES_AFTER: u64 = 15;
const WAIT: Duration = Duration::from_secs(60);

/// Create a record with `n` through any reachable node, retrying through elections; a try
/// whose outcome was unknown may have created it already, which the check below allows.
async fn write(writer: &Client, n: u64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match writer.records("feed").create(&json!({"n": n})).await {
            Ok(_) => return Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(%error, n, "write retried");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error).with_context(|| format!("write {n}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_resumes_at_another_node_and_misses_nothing() {
    run_test(
        "sdk_realtime_resume",
        Duration::from_secs(300),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admin = cluster.admin(ids[0]).await?;
            admin
            .collections()
            .create(&json!({
                "name": "feed", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "n", "type": "number"}]
            }))
            .await?;
            let urls: Vec<String> = ids.iter().map(|id| cluster.node(*id).http_url()).collect();
            let url_refs: Vec<&str> = urls.iter().map(String::as_str).collect();
            let writer = Client::with_nodes(&url_refs).await?;
            writer.set_token(admin.token().context("admin token")?);
            // The reader reaches each node through a proxy of its own, which the test can
            // close to hold the reader's reconnect off while it writes.
            let mut proxies = Vec::new();
            for id in &ids {
                proxies.push(TcpProxy::start(vec![cluster.node(*id).http_addr()]).await?);
            }
            let proxy_urls: Vec<String> = proxies.iter().map(TcpProxy::url).collect();
            let proxy_refs: Vec<&str> = proxy_urls.iter().map(String::as_str).collect();
            let reader = Client::with_nodes(&proxy_refs).await?;

            let mut subscription = reader.subscribe(&["feed/*"]).await?;
            let first_node = match subscription.next().await {
                Some(RealtimeEvent::Connected { client_id, .. }) => client_id
                    .split_once('_')
                    .and_then(|(node, _)| node.parse::<u64>().ok())
                    .context("the client id names its node")?,
                other => anyhow::bail!("first event: {other:?}"),
            };
            for n in 0..WRITES_BEFORE {
                write(&writer, n).await?;
            }
            // The stream's node dies while no node takes the reader back: what is written
            // meanwhile reaches it only through the resume.
            for proxy in &proxies {
                proxy.set_open(false);
            }
            cluster.node_mut(first_node).kill9()?;
            let gap_end = WRITES_BEFORE + WRITES_IN_THE_GAP;
            for n in WRITES_BEFORE..gap_end {
                write(&writer, n).await?;
            }
            for proxy in &proxies {
                proxy.set_open(true);
            }
            for n in gap_end..gap_end + WRITES_AFTER {
                write(&writer, n).await?;
            }

            // What the cluster holds, read through the leader.
            let held: BTreeSet<String> = writer
                .with_consistency(Consistency::Strong)
                .records("feed")
                .list(1, 500, Totals::Skip)
                .await?
                .items
                .iter()
                .filter_map(|record| {
                    record
                        .get("id")
                        .and_then(|id| id.as_str())
                        .map(String::from)
                })
                .collect();
            ensure!(
                held.len() as u64 >= WRITES_BEFORE + WRITES_IN_THE_GAP + WRITES_AFTER,
                "records held: {}",
                held.len()
            );

            let mut seen: BTreeMap<String, u32> = BTreeMap::new();
            let mut indexes = Vec::new();
            let mut nodes = Vec::new();
            let deadline = tokio::time::Instant::now() + WAIT;
            while !held.iter().all(|id| seen.contains_key(id)) {
                let event = tokio::time::timeout_at(deadline, subscription.next())
                    .await
                    .with_context(|| {
                        format!("events of {} of {} records came", seen.len(), held.len())
                    })?
                    .context("the subscription ended")?;
                match event {
                    RealtimeEvent::Connected { client_id, .. } => nodes.push(client_id),
                    RealtimeEvent::Event { id, data, .. } => {
                        ensure!(data["action"] == "create", "event: {data}");
                        let record = data["record"]["id"]
                            .as_str()
                            .context("record id")?
                            .to_string();
                        *seen.entry(record).or_default() += 1;
                        let index = id
                            .as_deref()
                            .and_then(|id| id.split_once('.'))
                            .and_then(|(index, _)| index.parse::<u64>().ok());
                        indexes.push(index.context("event ids are index.number")?);
                    }
                    RealtimeEvent::Refetch => {
                        anyhow::bail!("asked to refetch: the resume should have covered the gap")
                    }
                    RealtimeEvent::Closed { reason } => {
                        anyhow::bail!("the subscription gave up: {reason}")
                    }
                }
            }
            ensure!(!nodes.is_empty(), "the SDK reconnected after its node died");
            ensure!(
                nodes
                    .iter()
                    .all(|client| !client.starts_with(&format!("{first_node}_"))),
                "the new streams are at other nodes: {nodes:?}"
            );
            let twice: Vec<&String> = seen
                .iter()
                .filter(|(_, count)| **count > 1)
                .map(|(id, _)| id)
                .collect();
            ensure!(twice.is_empty(), "events delivered twice: {twice:?}");
            ensure!(
                indexes.windows(2).all(|pair| pair[0] <= pair[1]),
                "events in log order: {indexes:?}"
            );
            Ok(())
        },
    )
    .await;
}
