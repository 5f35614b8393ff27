//! Three real nodes: a write sent to a follower is readable everywhere with
//! `X-Edgebase-After`; `kill -9` of the leader elects a new one; writes continue; every
//! acknowledged write is on the survivors and on the killed node after it restarts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use edgebase_client::{Client, ClientError, Consistency};
use edgebase_tests::{
    all_records, run_test, seeded_rng, string_field, wait_until, Cluster, NODE_START_TIMEOUT,
    SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::json;

const COLLECTION: &str = "events";
/// How long writes may keep failing while a new leader is elected.
const ELECTION_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_leader_kill9() {
    run_test(
        "cluster_failover",
        Duration::from_secs(420),
        |context| async move {
            let mut rng = seeded_rng("cluster_failover");
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let leader = cluster
                .wait_for_leader(&cluster.ids(), NODE_START_TIMEOUT)
                .await?;
            let followers: Vec<u64> = cluster
                .ids()
                .into_iter()
                .filter(|id| *id != leader)
                .collect();
            eprintln!("leader is node {leader}, followers {followers:?}");

            // The operator CLI sees the same cluster.
            let cli_status = cluster
                .cli()
                .cluster_status_json(
                    cluster.node(leader).http_addr(),
                    SUPERUSER_EMAIL,
                    SUPERUSER_PASSWORD,
                )
                .await?;
            let cli_members = cli_status["members"].as_array().map(Vec::len);
            ensure!(
                cli_members == Some(3),
                "cluster status --json: {cli_status}"
            );

            let follower = *followers
                .choose(&mut rng)
                .expect("a 3-node cluster has followers");
            let writer = cluster.admin(follower).await?;
            writer
                .collections()
                .create(&json!({
                    "name": COLLECTION,
                    "type": "base",
                    "fields": [{"name": "seq", "type": "number"}, {"name": "note", "type": "text"}]
                }))
                .await
                .context("create the collection through a follower")?;
            let first = writer
                .records(COLLECTION)
                .create(&json!({"seq": 0, "note": "via follower"}))
                .await?;
            let first_id = string_field(&first, "id")?;
            let index = writer.last_index();
            ensure!(
                index > 0,
                "the follower's answer carried no X-Edgebase-Index"
            );
            // Readable on every node at once: the writer's own session, pointed at each node,
            // sends the index of its write as X-Edgebase-After (no waiting in the test).
            for id in cluster.ids() {
                let reader = writer.with_base_url(&cluster.node(id).http_url())?;
                let got = reader
                    .records(COLLECTION)
                    .get(&first_id)
                    .await
                    .with_context(|| {
                        format!("read the follower's write on node {id} after index {index}")
                    })?;
                ensure!(
                    got["note"] == json!("via follower"),
                    "node {id} answered {got:?}"
                );
            }

            // Writes to random nodes; only 2xx answers count as acknowledged.
            let mut acknowledged: BTreeMap<String, i64> = BTreeMap::new();
            acknowledged.insert(first_id, 0);
            let mut seq = 1;
            let mut max_index = index;
            for _ in 0..20 {
                let target = *cluster.ids().choose(&mut rng).expect("nodes exist");
                let client = cluster.admin(target).await?;
                let record = client
                    .records(COLLECTION)
                    .create(&json!({"seq": seq, "note": "before"}))
                    .await?;
                acknowledged.insert(string_field(&record, "id")?, seq);
                max_index = max_index.max(client.last_index());
                seq += 1;
            }

            cluster.node_mut(leader).kill9()?;
            let killed_at = Instant::now();
            eprintln!("killed leader {leader}");
            let survivors = followers.clone();
            let mut failed_attempts = 0;
            let mut retries = 0;
            // Writes start at once, during the election; the election is timed alongside.
            let election = async {
                let new_leader = cluster
                    .wait_for_leader(&survivors, ELECTION_TIMEOUT)
                    .await?;
                anyhow::Ok((new_leader, killed_at.elapsed()))
            };
            let writes = async {
                let mut after_kill = 0;
                while after_kill < 20 {
                    let target = survivors[rng.gen_range(0..survivors.len())];
                    let client = cluster.admin(target).await?;
                    let id = random_id(&mut rng);
                    if let Some(record_id) =
                        write_with_retry(&client, &id, seq, &mut retries).await?
                    {
                        acknowledged.insert(record_id, seq);
                        max_index = max_index.max(client.last_index());
                        after_kill += 1;
                    } else {
                        failed_attempts += 1;
                    }
                    seq += 1;
                    ensure!(
                        failed_attempts < 5,
                        "writes keep failing after the leader was killed"
                    );
                }
                anyhow::Ok(())
            };
            let (election, writes) = tokio::join!(election, writes);
            let (new_leader, election_time) = election?;
            writes?;
            eprintln!(
                "new leader {new_leader} agreed {election_time:?} after the kill; {retries} write \
             attempts retried, {failed_attempts} writes unacknowledged"
            );
            ensure!(
                new_leader != leader,
                "the killed node is still named leader"
            );

            // Every acknowledged write is on every survivor.
            for id in &survivors {
                let client = cluster
                    .admin(*id)
                    .await?
                    .with_consistency(Consistency::Strong);
                check_all_present(&client, &acknowledged)
                    .await
                    .with_context(|| format!("survivor node {id}"))?;
            }

            // The old leader restarts from its data and catches up.
            cluster.forget_token(leader);
            cluster.node_mut(leader).restart()?;
            cluster
                .node_mut(leader)
                .wait_healthy(NODE_START_TIMEOUT)
                .await?;
            let all = cluster.ids();
            cluster.wait_for_voters(&all, NODE_START_TIMEOUT).await?;
            let restarted = cluster.admin(leader).await?;
            restarted.observe_index(max_index);
            let (restarted_ref, acknowledged_ref) = (&restarted, &acknowledged);
            wait_until(
                "the restarted node to hold every acknowledged write",
                NODE_START_TIMEOUT,
                move || async move {
                    Ok(check_all_present(restarted_ref, acknowledged_ref)
                        .await
                        .ok())
                },
            )
            .await?;
            check_all_present(&restarted, &acknowledged).await?;

            // And the cluster still takes writes through the restarted node.
            let record = restarted
                .records(COLLECTION)
                .create(&json!({"seq": seq, "note": "after restart"}))
                .await?;
            ensure!(record["seq"] == json!(seq), "{record:?}");
            Ok(())
        },
    )
    .await;
}

/// Create a record with id `id`, retrying while the cluster has no leader (503, transport
/// errors). `Some(id)` when a 2xx answer acknowledged it, `None` when it gave up.
async fn write_with_retry(
    client: &Client,
    id: &str,
    seq: i64,
    retries: &mut u32,
) -> anyhow::Result<Option<String>> {
    let started = Instant::now();
    loop {
        match client
            .records(COLLECTION)
            .create(&json!({"id": id, "seq": seq, "note": "after"}))
            .await
        {
            Ok(record) => return Ok(Some(string_field(&record, "id")?)),
            Err(error) if error.is_retryable() && started.elapsed() < ELECTION_TIMEOUT => {
                tracing::debug!(%error, "write failed during the election; retrying");
                *retries += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // A retry of a write that did commit finds its id taken: not acknowledged, fine.
            Err(ClientError::Api(envelope)) if envelope.status == 400 => return Ok(None),
            Err(error) if error.is_retryable() => return Ok(None),
            Err(error) => return Err(error).context("write after the leader was killed"),
        }
    }
}

async fn check_all_present(
    client: &Client,
    acknowledged: &BTreeMap<String, i64>,
) -> anyhow::Result<()> {
    let records = all_records(client, COLLECTION).await?;
    let present: BTreeMap<String, i64> = records
        .iter()
        .filter_map(|record| Some((record["id"].as_str()?.to_owned(), record["seq"].as_i64()?)))
        .collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|(id, seq)| present.get(*id) != Some(seq))
        .collect();
    ensure!(
        missing.is_empty(),
        "{} acknowledged writes missing or wrong: {missing:?}",
        missing.len()
    );
    Ok(())
}

fn random_id(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..15)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
