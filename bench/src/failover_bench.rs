//! Failover: three nodes; a client writes at a follower without pause while the leader is
//! killed (`kill -9`); the time from the kill to the first write invoked after it that
//! succeeds. The killed node is restarted and the cluster waited for between trials.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use edgebase_client::wire::MemberRole;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::edgebase_cluster::EdgebaseCluster;
use crate::wait::wait_until;

const EMAIL: &str = "bench@edgebase.test";
const PASSWORD: &str = "bench-password-123";
const COLLECTION: &str = "failover";
/// Longest one write may take before the client gives up on it and sends the next.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a trial may wait for a successful write after the kill.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the cluster may take to be whole again after a restart.
const HEAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause after a failed write (so a refusing node is not spun on).
const RETRY_PAUSE: Duration = Duration::from_millis(20);

pub struct FailoverPlan {
    pub edgebase_bin: std::path::PathBuf,
    pub trials: usize,
    pub seed: u64,
}

/// One trial: from the kill to the first success, and what the client saw meanwhile.
#[derive(Debug, Clone)]
pub struct Trial {
    pub to_first_write: Duration,
    /// Writes that failed between the kill and the first success, by answer.
    pub failures: Vec<String>,
}

/// One write the client sent.
struct Sent {
    invoked: Instant,
    completed: Instant,
    outcome: Result<(), String>,
}

pub async fn run(plan: &FailoverPlan) -> anyhow::Result<Vec<Trial>> {
    let mut cluster = EdgebaseCluster::start(&plan.edgebase_bin, 3, EMAIL, PASSWORD).await?;
    cluster
        .admin()
        .collections()
        .create(&json!({ "name": COLLECTION, "type": "base", "createRule": "", "fields": [] }))
        .await
        .context("create the collection")?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut trials = Vec::with_capacity(plan.trials);
    for trial in 0..plan.trials {
        let leader = whole_cluster(&cluster).await?;
        let follower = (leader + 1 + rng.gen_range(0..2)) % 3;
        let url = cluster.http_urls()[follower].clone();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn(write_until_stopped(url, sent.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..800))).await;
        let killed_at = Instant::now();
        cluster.kill_node(leader).await?;
        let result = first_success_after(&sent, killed_at).await;
        stop.store(true, Ordering::Relaxed);
        writer.await.context("the writer task")?;
        let measured = result.with_context(|| format!("trial {trial}"))?;
        eprintln!(
            "trial {trial}: leader node {} killed, first write at node {} {} ms later ({} failed meanwhile)",
            leader + 1,
            follower + 1,
            measured.to_first_write.as_millis(),
            measured.failures.len()
        );
        trials.push(measured);
        cluster.restart_node(leader).await?;
    }
    cluster.stop().await;
    Ok(trials)
}

/// Wait until all three nodes are reachable voters with one leader; its index (0-based).
async fn whole_cluster(cluster: &EdgebaseCluster) -> anyhow::Result<usize> {
    let leader = Arc::new(Mutex::new(None));
    let found = leader.clone();
    wait_until("three reachable voters and a leader", HEAL_TIMEOUT, || {
        let found = found.clone();
        async move {
            for url in cluster.http_urls() {
                let Ok(client) = cluster.admin().with_base_url(url) else {
                    continue;
                };
                let Ok(status) = client.cluster_status().await else {
                    continue;
                };
                let voters = status
                    .members
                    .iter()
                    .filter(|member| member.role == MemberRole::Voter && member.reachable)
                    .count();
                if let (3, Some(id)) = (voters, status.leader_id) {
                    *found.lock().expect("not poisoned") = Some(id as usize - 1);
                    return Ok(true);
                }
            }
            Ok(false)
        }
    })
    .await?;
    let index = leader.lock().expect("not poisoned").context("a leader")?;
    Ok(index)
}

async fn write_until_stopped(url: String, sent: Arc<Mutex<Vec<Sent>>>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder()
        .timeout(WRITE_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let endpoint = format!("{url}/api/collections/{COLLECTION}/records");
    let mut sequence: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        sequence += 1;
        let invoked = Instant::now();
        let outcome = match http
            .post(&endpoint)
            .header(
                "Idempotency-Key",
                format!("failover-{sequence}-{}", rand::random::<u64>()),
            )
            .json(&json!({}))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("{}", response.status().as_u16())),
            Err(error) if error.is_timeout() => Err("timeout".to_owned()),
            Err(_) => Err("connection error".to_owned()),
        };
        let failed = outcome.is_err();
        sent.lock().expect("not poisoned").push(Sent {
            invoked,
            completed: Instant::now(),
            outcome,
        });
        if failed {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

async fn first_success_after(sent: &Mutex<Vec<Sent>>, killed_at: Instant) -> anyhow::Result<Trial> {
    let deadline = killed_at + TRIAL_TIMEOUT;
    loop {
        {
            let sent = sent.lock().expect("not poisoned");
            let after_kill = sent.iter().filter(|write| write.invoked >= killed_at);
            let mut failures = Vec::new();
            for write in after_kill {
                match &write.outcome {
                    Ok(()) => {
                        return Ok(Trial {
                            to_first_write: write.completed - killed_at,
                            failures,
                        })
                    }
                    Err(why) => failures.push(why.clone()),
                }
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no write succeeded within {TRIAL_TIMEOUT:?} of the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
