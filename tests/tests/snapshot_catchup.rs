//! A node whose data dir is wiped rejoins and catches up through a snapshot.
//!
//! How the test knows the snapshot path was taken: every record is written and applied on
//! all three nodes *before* `POST /api/cluster/snapshot` runs on each of them, and that call
//! builds a snapshot at the node's applied index and purges the log up to it. So no node
//! holds the log entries that created those records any more; the leader can only bring an
//! empty follower to that state by sending a snapshot. The wiped node ending up with every
//! record therefore proves snapshot installation. The test also checks the snapshot indexes
//! cover the last write and that the rejoined node's log reports installing a snapshot.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::Client;
use edgebase_tests::{all_records, run_test, wait_until, Cluster, NODE_START_TIMEOUT};
use serde_json::json;

const COLLECTION: &str = "bulk";
const RECORD_COUNT: usize = 300;
const CONCURRENT_WRITES: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiped_node_catches_up_through_a_snapshot() {
    run_test("snapshot_catchup", Duration::from_secs(480), |context| async move {
        let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
        let leader = cluster.wait_for_leader(&cluster.ids(), NODE_START_TIMEOUT).await?;
        let writer = cluster.admin(leader).await?;
        writer
            .collections()
            .create(&json!({
                "name": COLLECTION,
                "type": "base",
                "fields": [{"name": "n", "type": "number"}, {"name": "body", "type": "text"}]
            }))
            .await?;
        write_records(&writer).await?;
        let last_write_index = writer.last_index();
        eprintln!("{RECORD_COUNT} records written, last index {last_write_index}");

        // Every node applies everything, then snapshots and purges its log.
        for id in cluster.ids() {
            let client = cluster.admin(id).await?;
            client.observe_index(last_write_index);
            let records = all_records(&client, COLLECTION).await?;
            ensure!(records.len() == RECORD_COUNT, "node {id} has {} records", records.len());
            let snapshot_index = client.cluster_snapshot().await
                .with_context(|| format!("snapshot on node {id}"))?;
            eprintln!("node {id}: snapshot at index {snapshot_index}");
            ensure!(
                snapshot_index >= last_write_index,
                "node {id} snapshotted at {snapshot_index}, before the last write {last_write_index}"
            );
        }

        // Wipe a follower that did not bootstrap the cluster (it restarts with --join).
        let victim = cluster
            .ids()
            .into_iter()
            .find(|id| *id != leader && *id != 1)
            .expect("a 3-node cluster has a follower other than node 1");
        eprintln!("wiping node {victim}");
        let log_before = cluster.node(victim).log_text()?.len();
        cluster.node_mut(victim).kill9()?;
        cluster.node_mut(victim).wipe_data()?;
        cluster.forget_token(victim);
        ensure!(cluster.node(victim).spec().join.is_some(), "the victim must rejoin with --join");
        cluster.node_mut(victim).restart()?;
        cluster.node_mut(victim).wait_healthy(NODE_START_TIMEOUT).await?;

        let cluster_ref = &cluster;
        let rejoined = wait_until("the wiped node to answer as a superuser", NODE_START_TIMEOUT, move || async move {
            Ok(cluster_ref.admin(victim).await.ok())
        })
        .await?;
        rejoined.observe_index(last_write_index);
        let rejoined_ref = &rejoined;
        wait_until("the wiped node to hold every record", NODE_START_TIMEOUT, move || async move {
            let records = all_records(rejoined_ref, COLLECTION).await?;
            Ok((records.len() == RECORD_COUNT).then_some(()))
        })
        .await?;
        let expected = all_records(&writer, COLLECTION).await?;
        let got = all_records(&rejoined, COLLECTION).await?;
        ensure!(got == expected, "the rejoined node's records differ from the leader's");

        let log = cluster.node(victim).log_text()?;
        let after_restart = log.get(log_before..).unwrap_or("");
        let installed = after_restart
            .lines()
            .filter(|line| !line.starts_with("===== harness"))
            .map(str::to_ascii_lowercase)
            .any(|line| line.contains("snapshot") && line.contains("install"));
        ensure!(installed, "the rejoined node's log never mentions installing a snapshot");

        // Replication of new entries resumes after the snapshot.
        let all = cluster.ids();
        cluster.wait_for_voters(&all, NODE_START_TIMEOUT).await?;
        let fresh = writer.records(COLLECTION).create(&json!({"n": -1, "body": "after the snapshot"})).await?;
        rejoined.observe_index(writer.last_index());
        let fresh_id = fresh["id"].as_str().context("the new record has an id")?;
        let got = rejoined.records(COLLECTION).get(fresh_id).await?;
        ensure!(got["n"] == json!(-1), "{got:?}");
        Ok(())
    })
    .await;
}

/// `RECORD_COUNT` creates, `CONCURRENT_WRITES` at a time.
async fn write_records(client: &Client) -> anyhow::Result<()> {
    let body = "x".repeat(200);
    for chunk_start in (0..RECORD_COUNT).step_by(CONCURRENT_WRITES) {
        let mut tasks = tokio::task::JoinSet::new();
        for n in chunk_start..(chunk_start + CONCURRENT_WRITES).min(RECORD_COUNT) {
            let client = client.clone();
            let body = body.clone();
            tasks.spawn(async move {
                client
                    .records(COLLECTION)
                    .create(&json!({"n": n, "body": body}))
                    .await
            });
        }
        while let Some(result) = tasks.join_next().await {
            result.context("join a write task")??;
        }
    }
    Ok(())
}
