//! A rolling restart as an operator or Kubernetes does one, shared by the restart and the
//! upgrade tests: each node in turn gets SIGTERM, exits cleanly, is started again (with the
//! build under test when upgrading) and waited for until `/api/health/ready` says so, while
//! the Rust SDK (given every node) writes and reads back in a loop. It fails if one request
//! fails, if the leader's stop did not hand leadership over, or if an acknowledged write is
//! missing on a node after.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::ClusterStatus;
use edgebase_client::Client;
use serde_json::json;

use crate::{
    all_records, wait_until, Cluster, RawBody, RawClient, NODE_START_TIMEOUT, SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
};

const COLLECTION: &str = "rolling";
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Writes the workload must finish between two steps, so each step happens under load.
const WRITES_PER_STEP: u64 = 20;

/// Whether each node comes back with the binary it ran or the build under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartWith {
    SameBinary,
    BuildUnderTest,
}

/// What a rolling restart saw.
#[derive(Debug, Default)]
pub struct RollingReport {
    /// Writes acknowledged (and read back) over the whole run.
    pub writes: usize,
    /// `GET /api/cluster/status` asked of each node right after it was ready again, in the
    /// order the nodes were restarted.
    pub statuses: Vec<(u64, ClusterStatus)>,
}

type Shared<T> = Arc<Mutex<T>>;

fn lock<T>(shared: &Shared<T>) -> std::sync::MutexGuard<'_, T> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Restart every node of `cluster` once, in id order, under a write-and-read-back load.
pub async fn rolling_restart(
    cluster: &mut Cluster,
    restart_with: RestartWith,
) -> anyhow::Result<RollingReport> {
    let ids = cluster.ids();
    cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
    let admin = cluster.admin(ids[0]).await?;
    admin
        .collections()
        .create(&json!({
            "name": COLLECTION, "type": "base",
            "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "n", "type": "number", "required": true}]
        }))
        .await
        .context("create the collection")?;

    let urls: Vec<String> = ids.iter().map(|id| cluster.node(*id).http_url()).collect();
    let url_refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let client = Client::with_nodes(&url_refs).await.context("SDK client")?;
    client
        .superuser_login(SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        .await
        .context("SDK login")?;

    let failures: Shared<Vec<String>> = Arc::default();
    let acknowledged: Shared<Vec<(u64, String)>> = Arc::default();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workload = tokio::spawn(write_and_read_back(
        client.clone(),
        Arc::clone(&failures),
        Arc::clone(&acknowledged),
        Arc::clone(&done),
        Arc::clone(&stop),
    ));
    let progressed = |after: u64| {
        let done = Arc::clone(&done);
        async move {
            wait_until("the workload to go on", READY_TIMEOUT, || {
                let now = done.load(Ordering::Relaxed);
                async move { Ok((now >= after + WRITES_PER_STEP).then_some(())) }
            })
            .await
        }
    };
    progressed(0).await?;

    let mut report = RollingReport::default();
    let mut handed_off = false;
    for id in &ids {
        let leader_before = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let status = cluster.node_mut(*id).terminate(STOP_TIMEOUT).await?;
        ensure!(
            status.success(),
            "node {id} exited with {status} after SIGTERM"
        );
        if *id == leader_before {
            // A graceful stop hands leadership over in the log.
            handed_off = cluster
                .node(*id)
                .log_text()?
                .contains("leadership handed off");
        }
        progressed(done.load(Ordering::Relaxed)).await?;
        if restart_with == RestartWith::BuildUnderTest {
            cluster.node_mut(*id).set_binary(None)?;
        }
        cluster.node_mut(*id).restart()?;
        cluster.forget_token(*id);
        cluster
            .node_mut(*id)
            .wait_healthy(NODE_START_TIMEOUT)
            .await?;
        wait_ready(&cluster.node(*id).http_url(), *id).await?;
        progressed(done.load(Ordering::Relaxed)).await?;
        report
            .statuses
            .push((*id, every_member_answering(cluster, *id).await?));
    }
    stop.store(true, Ordering::Relaxed);
    workload.await.context("the workload task")?;
    let failures = lock(&failures).clone();
    ensure!(
        failures.is_empty(),
        "requests failed during the rolling restart: {failures:#?}"
    );
    ensure!(handed_off, "the leader's stop did not hand leadership over");

    let acknowledged = lock(&acknowledged).clone();
    let last_index = client.last_index();
    for id in &ids {
        let node_client = cluster.admin(*id).await?;
        node_client.observe_index(last_index);
        let records = all_records(&node_client, COLLECTION).await?;
        let present: HashSet<String> = records
            .iter()
            .filter_map(|record| record.get("id")?.as_str().map(str::to_owned))
            .collect();
        for (n, record_id) in &acknowledged {
            ensure!(
                present.contains(record_id),
                "write {n} ({record_id}) missing on node {id}"
            );
        }
    }
    report.writes = acknowledged.len();
    tracing::info!(
        writes = report.writes,
        "no request failed across the rolling restart"
    );
    Ok(report)
}

/// Write, then read back, one after the other, until told to stop.
async fn write_and_read_back(
    client: Client,
    failures: Shared<Vec<String>>,
    acknowledged: Shared<Vec<(u64, String)>>,
    done: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let records = client.records(COLLECTION);
        match records.create(&json!({"n": n})).await {
            Ok(record) => {
                let id = record
                    .get("id")
                    .and_then(|id| id.as_str())
                    .unwrap_or_default()
                    .to_owned();
                lock(&acknowledged).push((n, id.clone()));
                if let Err(error) = records.get(&id).await {
                    lock(&failures).push(format!("read back {n}: {error}"));
                }
            }
            Err(error) => lock(&failures).push(format!("write {n}: {error}")),
        }
        done.store(n, Ordering::Relaxed);
    }
}

/// Node `id`'s cluster status once every member answers its probe.
async fn every_member_answering(cluster: &Cluster, id: u64) -> anyhow::Result<ClusterStatus> {
    wait_until(
        &format!("every member to answer node {id}'s status probe"),
        READY_TIMEOUT,
        || async move {
            let status = cluster.status(id).await?;
            Ok(status
                .members
                .iter()
                .all(|member| member.reachable)
                .then_some(status))
        },
    )
    .await
}

async fn wait_ready(url: &str, id: u64) -> anyhow::Result<()> {
    let probe = RawClient::new(url)?;
    wait_until(&format!("node {id} ready"), READY_TIMEOUT, || {
        let probe = probe.clone();
        async move {
            let answer = probe
                .send("GET", "/api/health/ready", None, RawBody::None, &[])
                .await?;
            Ok((answer.status == 200).then_some(()))
        }
    })
    .await
}
