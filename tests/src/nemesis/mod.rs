//! The nemesis suite: clients run seeded operations on a real cluster (three voters and a
//! learner in the region harness's namespaces) while a seeded schedule kills, pauses,
//! partitions, slows and reconfigures it; then every unknown write is resolved through its
//! idempotency key, the replicas are compared by state hash, and the history is judged
//! (`checks.rs`). `run` does one seed; `tests/tests/nemesis.rs` runs the CI smoke and the
//! planted-bug self-test, `src/bin/nemesis.rs` the long campaign.

mod campaign;
mod checks;
mod client;
mod cluster;
mod faults;
mod history;
mod report;
mod workload;

pub use campaign::markdown as campaign_markdown;
pub use faults::{FaultKind, ScheduleConfig};
pub use report::RunReport;
pub use workload::WorkloadConfig;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

use checks::Findings;
use client::{NodeClient, Planned, LEDGER_COLLECTION};
use cluster::NemesisCluster;
use history::{Entry, Outcome, ReadLevel, Request};
use workload::ClientTask;

use crate::linearizability::RecordInput;
use crate::wait::wait_until;

/// One run's settings.
#[derive(Debug, Clone)]
pub struct NemesisConfig {
    pub seed: u64,
    /// How long the clients run (faults stop a hold before the end).
    pub duration: Duration,
    pub workload: WorkloadConfig,
    pub schedule: ScheduleConfig,
    /// Start the nodes with strong reads skipping the read index: the run must then report
    /// violations (the checker's self-test).
    pub planted_bug: bool,
    /// Most time the checker may spend on one record.
    pub checker_budget: Duration,
}

impl NemesisConfig {
    pub fn new(seed: u64, duration: Duration) -> NemesisConfig {
        NemesisConfig {
            seed,
            duration,
            workload: WorkloadConfig::default(),
            schedule: ScheduleConfig::default(),
            planted_bug: false,
            checker_budget: Duration::from_secs(60),
        }
    }
}

/// How long a client waits for an answer before calling the outcome unknown.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts to resolve one unknown write after the faults are healed.
const RESOLVE_ATTEMPTS: usize = 8;
/// How long the replicas may take to reach the same applied index after the run.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(90);
/// The ledger is read back in pages of this many rows.
const LEDGER_PAGE_ROWS: usize = 500;

/// The history of a run, one operation per line, beside the nodes' logs.
pub const HISTORY_FILE: &str = "history.txt";

/// Write every operation (in client order, then the final reads) for a person to read.
fn write_history(path: &Path, entries: &[Entry], finals: &[Entry]) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut text = String::new();
    for entry in entries.iter().chain(finals) {
        let _ = writeln!(
            text,
            "client {} at {} [{} .. {}] {:?} -> {:?}{}{}",
            entry.client,
            entry.node,
            entry.invoked_us,
            entry
                .completed_us
                .map_or("?".to_owned(), |completed| completed.to_string()),
            entry.request,
            entry.outcome,
            entry
                .if_match
                .map_or(String::new(), |version| format!(" if-match {version}")),
            if entry.resolved { " (resolved)" } else { "" }
        );
    }
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

/// Run one seed in `state_dir` (the region harness's state: node data and logs).
pub async fn run(config: &NemesisConfig, state_dir: &Path) -> anyhow::Result<RunReport> {
    let cluster = NemesisCluster::start(state_dir, config.planted_bug).await?;
    let outcome = run_on(&cluster, config, state_dir).await;
    if outcome.is_ok() {
        cluster.regions.down().await?;
    }
    outcome
}

async fn run_on(
    cluster: &NemesisCluster,
    config: &NemesisConfig,
    state_dir: &Path,
) -> anyhow::Result<RunReport> {
    let nodes: Vec<NodeClient> = cluster
        .names()
        .iter()
        .map(|name| NodeClient::new(name, &cluster.url(name)?, REQUEST_TIMEOUT))
        .collect::<anyhow::Result<_>>()?;
    let run_tag = format!("s{}", config.seed);
    let started = Instant::now();
    let until = started + config.duration;
    let tasks: Vec<_> = (0..config.workload.clients)
        .map(|id| {
            let task = ClientTask::new(
                id,
                nodes.clone(),
                config.seed,
                &config.workload,
                started,
                &run_tag,
            );
            tokio::spawn(task.run(until))
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let faults = faults::run_schedule(cluster, &mut rng, &config.schedule, started, until).await?;
    let mut entries = Vec::new();
    for task in tasks {
        entries.extend(task.await.context("a nemesis client panicked")?);
    }
    entries.sort_by_key(|entry| (entry.client, entry.invoked_us));
    resolve_unknowns(&nodes, &mut entries, started).await;
    let converged_at = converge(cluster).await?;
    let finals = final_reads(cluster, &nodes, config.workload.records, started).await?;
    let mut findings = Findings::default();
    if converged_at.is_none() {
        findings
            .violations
            .push("the replicas did not reach equal state hashes".to_owned());
    }
    checks::check_records(
        &entries,
        &finals,
        config.workload.records,
        config.checker_budget,
        &mut findings,
    );
    checks::check_reads(&entries, &mut findings);
    let present = ledger_rows(&nodes).await?;
    checks::check_ledger(&entries, &present, &mut findings);
    write_history(&state_dir.join(HISTORY_FILE), &entries, &finals)?;
    Ok(RunReport::new(
        config.seed,
        config.planted_bug,
        config.duration,
        &entries,
        &faults,
        findings,
        converged_at.map(|(index, _)| index),
    ))
}

/// Retry every write whose outcome is unknown with its idempotency key, at each node in
/// turn, until one answers definitely: the first answer is replayed if it applied, else
/// the write applies now (within its widened interval) or is refused.
async fn resolve_unknowns(nodes: &[NodeClient], entries: &mut [Entry], started: Instant) {
    for entry in entries.iter_mut() {
        if !matches!(entry.outcome, Outcome::Unknown(_)) || entry.idempotency_key.is_none() {
            continue;
        }
        let planned = Planned {
            request: entry.request.clone(),
            idempotency_key: entry.idempotency_key.clone(),
            after: None,
            if_match: entry.if_match,
        };
        for attempt in 0..RESOLVE_ATTEMPTS {
            let node = &nodes[(entry.client as usize + attempt) % nodes.len()];
            let outcome = node.perform(&planned).await;
            if matches!(outcome, Outcome::Unknown(_)) {
                continue;
            }
            entry.outcome = outcome;
            entry.completed_us = Some(started.elapsed().as_micros() as u64);
            entry.resolved = true;
            break;
        }
    }
}

/// Wait until every node reports the same applied index and state hash; `None` when they
/// do not within the deadline, or when two nodes at one index disagree.
async fn converge(cluster: &NemesisCluster) -> anyhow::Result<Option<(u64, String)>> {
    let names = cluster.names();
    let agreed = wait_until("replicas at one index", CONVERGE_TIMEOUT, || async {
        let mut hashes = BTreeSet::new();
        for name in &names {
            hashes.insert(cluster.state_hash(name).await?);
        }
        let indexes: BTreeSet<u64> = hashes.iter().map(|(index, _)| *index).collect();
        if indexes.len() > 1 {
            return Ok(None);
        }
        // One index: every hash must be the same.
        Ok(Some(hashes))
    })
    .await;
    match agreed {
        Ok(hashes) if hashes.len() == 1 => Ok(hashes.into_iter().next()),
        Ok(hashes) => {
            tracing::error!(?hashes, "replicas at one index with different state hashes");
            Ok(None)
        }
        Err(error) => {
            tracing::error!("{error:#}");
            Ok(None)
        }
    }
}

/// A strong read of every record at the leader, after everything: the history's last word.
async fn final_reads(
    cluster: &NemesisCluster,
    nodes: &[NodeClient],
    records: usize,
    started: Instant,
) -> anyhow::Result<Vec<Entry>> {
    let leader = cluster
        .leader(&cluster.names(), Duration::from_secs(30))
        .await?;
    let node = nodes
        .iter()
        .find(|node| node.node == leader)
        .context("the leader's client")?;
    let mut finals = Vec::new();
    for record in 0..records {
        let request = Request::Record {
            record,
            input: RecordInput::Read,
            level: ReadLevel::Strong,
        };
        let planned = Planned {
            request: request.clone(),
            idempotency_key: None,
            after: None,
            if_match: None,
        };
        let invoked_us = started.elapsed().as_micros() as u64;
        let outcome = node.perform(&planned).await;
        if !matches!(outcome, Outcome::Ok(_)) {
            anyhow::bail!("the final read of record {record} at {leader}: {outcome:?}");
        }
        finals.push(Entry {
            client: u64::MAX,
            node: leader.clone(),
            request,
            invoked_us,
            completed_us: Some(started.elapsed().as_micros() as u64),
            outcome,
            idempotency_key: None,
            resolved: false,
            after: None,
            if_match: None,
        });
    }
    Ok(finals)
}

/// Every node's ledger ids, read from its own state (the replicas have converged).
async fn ledger_rows(nodes: &[NodeClient]) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut present = BTreeMap::new();
    for node in nodes {
        let mut ids = BTreeSet::new();
        for page in 1.. {
            let path = format!(
                "/api/collections/{LEDGER_COLLECTION}/records?page={page}&perPage={LEDGER_PAGE_ROWS}&fields=id&sort=id&skipTotal=1"
            );
            let response = node.get(&path, &[]).await?;
            anyhow::ensure!(
                response.status == 200,
                "list the ledger at {}: {} {}",
                node.node,
                response.status,
                response.text
            );
            let items = response
                .json
                .as_ref()
                .and_then(|json| json.get("items"))
                .and_then(Value::as_array)
                .context("ledger page without items")?;
            for item in items {
                if let Some(id) = item.get("id").and_then(Value::as_str) {
                    ids.insert(id.to_owned());
                }
            }
            if items.len() < LEDGER_PAGE_ROWS {
                break;
            }
        }
        present.insert(node.node.clone(), ids);
    }
    Ok(present)
}
