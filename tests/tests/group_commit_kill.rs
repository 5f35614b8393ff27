//! `kill -9` of the leader while many writes are in flight, so they travel in shared log
//! entries and shared fsyncs: every write that was answered 200 is on the survivors, and on
//! the killed node once it restarts from its own disk. Writers keep going through the kill;
//! the ones that fail or time out are simply not counted as acknowledged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, seeded_rng, wait_until, Cluster, RawBody, RawClient, NODE_START_TIMEOUT,
};
use rand::Rng;
use serde_json::json;

const WRITERS: usize = 24;
const ACKED_BEFORE_KILL: usize = 300;
const ACKED_AFTER_KILL: usize = 150;
const WAIT: Duration = Duration::from_secs(60);

/// Record ids answered 200.
type Acked = Arc<Mutex<Vec<String>>>;

fn acked_count(acked: &Acked) -> usize {
    acked.lock().expect("acked").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_in_shared_entries_survive_leader_kill9() {
    run_test("group_commit_kill", Duration::from_secs(300), |context| async move {
        let mut rng = seeded_rng("group_commit_kill");
        let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
        let ids = cluster.ids();
        let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let admins = cluster.raw_admins().await?;
        let token = admins[0].1.clone();
        let created = admins[0]
            .0
            .send("POST", "/api/collections", Some(&token), RawBody::Json(json!({
                "name": "items", "type": "base", "createRule": "",
                "fields": [{"name": "n", "type": "number"}]
            })), &[])
            .await?;
        ensure!(created.status == 200, "create collection: {}", created.text);
        let index = created.index().unwrap_or(0).to_string();
        let nodes: Vec<RawClient> = ids
            .iter()
            .map(|id| RawClient::with_timeout(&cluster.node(*id).http_url(), Duration::from_secs(5)))
            .collect::<anyhow::Result<_>>()?;

        let acked: Acked = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let nodes = nodes.clone();
            let acked = acked.clone();
            let stop = stop.clone();
            let index = index.clone();
            let seed: u64 = rng.gen();
            writers.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let node = &nodes[(writer + n as usize) % nodes.len()];
                    let id = format!("w{writer:02}x{:011}", (seed.wrapping_add(n)) % 100_000_000_000);
                    n += 1;
                    let answer = node
                        .send("POST", "/api/collections/items/records", None,
                            RawBody::Json(json!({"id": id, "n": n})),
                            &[("X-Edgebase-After", index.clone())])
                        .await;
                    match answer {
                        Ok(answer) if answer.status == 200 => acked.lock().expect("acked").push(id),
                        // Refused, failed or unknown: not acknowledged. A dead node refuses
                        // connections at once; do not spin on it.
                        _ => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            }));
        }

        wait_until("writes to be acknowledged before the kill", WAIT, || {
            let acked = acked.clone();
            async move { Ok((acked_count(&acked) >= ACKED_BEFORE_KILL).then_some(())) }
        })
        .await?;
        cluster.node_mut(leader).kill9()?;
        let at_kill = acked_count(&acked);
        tracing::info!(leader, at_kill, "killed the leader with writes in flight");
        wait_until("writes to be acknowledged after the kill", WAIT, || {
            let acked = acked.clone();
            async move { Ok((acked_count(&acked) >= at_kill + ACKED_AFTER_KILL).then_some(())) }
        })
        .await?;
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.await.context("a writer panicked")?;
        }
        let acked: Vec<String> = acked.lock().expect("acked").clone();

        cluster.node_mut(leader).restart()?;
        cluster.node_mut(leader).wait_healthy(NODE_START_TIMEOUT).await?;
        cluster.wait_for_voters(&ids, NODE_START_TIMEOUT).await?;
        let expected: std::collections::BTreeSet<String> = acked.iter().cloned().collect();
        for (id, node) in ids.iter().zip(&nodes) {
            let token = token.clone();
            let expected = &expected;
            wait_until(&format!("node {id} to hold every acknowledged write"), WAIT, || {
                let node = node.clone();
                let token = token.clone();
                async move {
                    let mut held = std::collections::BTreeSet::new();
                    for page in 1.. {
                        let answer = node
                            .send("GET", &format!("/api/collections/items/records?perPage=500&page={page}&fields=id&skipTotal=1"),
                                Some(&token), RawBody::None, &[("X-Edgebase-Consistency", "strong".to_owned())])
                            .await?;
                        ensure!(answer.status == 200, "list: {} {}", answer.status, answer.text);
                        let items = answer.json.as_ref().and_then(|j| j["items"].as_array()).context("items")?;
                        held.extend(items.iter().filter_map(|item| item["id"].as_str().map(str::to_owned)));
                        if items.len() < 500 {
                            break;
                        }
                    }
                    let missing = expected.difference(&held).count();
                    tracing::info!(node = id, missing, held = held.len(), "acknowledged writes held");
                    Ok((missing == 0).then_some(()))
                }
            })
            .await?;
        }
        tracing::info!(acknowledged = acked.len(), "every acknowledged write is on every node");
        Ok(())
    })
    .await;
}
