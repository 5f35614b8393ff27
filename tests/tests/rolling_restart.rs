//! A rolling restart of a three-node cluster, as an operator or Kubernetes does one: each
//! node in turn gets SIGTERM, exits cleanly, is started again and waited for until
//! `/api/health/ready` says so, while the Rust SDK (given every node) writes and reads back
//! in a loop. Not one request fails, the leader's stop hands leadership over instead of
//! leaving the cluster to time out, and every acknowledged write is on every node after.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::Client;
use edgebase_tests::{
    all_records, run_test, wait_until, Cluster, RawBody, RawClient, NODE_START_TIMEOUT,
    SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
use serde_json::json;

const COLLECTION: &str = "rolling";
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const READY_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_fails_no_request() {
    run_test(
        "rolling_restart",
        Duration::from_secs(600),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
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

            // Write, then read back, one after the other, until told to stop.
            let failures: Arc<Mutex<Vec<String>>> = Arc::default();
            let acknowledged: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
            let done = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let workload = {
                let (client, failures, acknowledged, done, stop) = (
                    client.clone(),
                    Arc::clone(&failures),
                    Arc::clone(&acknowledged),
                    Arc::clone(&done),
                    Arc::clone(&stop),
                );
                tokio::spawn(async move {
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
                                acknowledged
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .push((n, id.clone()));
                                if let Err(error) = records.get(&id).await {
                                    failures
                                        .lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .push(format!("read back {n}: {error}"));
                                }
                            }
                            Err(error) => failures
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(format!("write {n}: {error}")),
                        }
                        done.store(n, Ordering::Relaxed);
                    }
                })
            };
            let progressed = |after: u64| {
                let done = Arc::clone(&done);
                async move {
                    wait_until("the workload to go on", READY_TIMEOUT, || {
                        let now = done.load(Ordering::Relaxed);
                        async move { Ok((now >= after + 20).then_some(())) }
                    })
                    .await
                }
            };
            progressed(0).await?;

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
                let at_stop = done.load(Ordering::Relaxed);
                progressed(at_stop).await?;
                cluster.node_mut(*id).restart()?;
                cluster
                    .node_mut(*id)
                    .wait_healthy(NODE_START_TIMEOUT)
                    .await?;
                let probe = RawClient::new(&cluster.node(*id).http_url())?;
                wait_until(&format!("node {id} ready"), READY_TIMEOUT, || {
                    let probe = probe.clone();
                    async move {
                        let answer = probe
                            .send("GET", "/api/health/ready", None, RawBody::None, &[])
                            .await?;
                        Ok((answer.status == 200).then_some(()))
                    }
                })
                .await?;
                let at_ready = done.load(Ordering::Relaxed);
                progressed(at_ready).await?;
            }
            stop.store(true, Ordering::Relaxed);
            workload.await.context("the workload task")?;
            let failures = failures.lock().unwrap_or_else(|p| p.into_inner()).clone();
            ensure!(
                failures.is_empty(),
                "requests failed during the rolling restart: {failures:#?}"
            );
            ensure!(handed_off, "the leader's stop did not hand leadership over");

            let acknowledged = acknowledged
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let last_index = client.last_index();
            for id in &ids {
                let node_client = cluster.admin(*id).await?;
                node_client.observe_index(last_index);
                let records = all_records(&node_client, COLLECTION).await?;
                let present: std::collections::HashSet<String> = records
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
            tracing::info!(
                writes = acknowledged.len(),
                "no request failed across the rolling restart"
            );
            Ok(())
        },
    )
    .await;
}
