//! `edgebase-bench messaging`: how fast EdgeBase accepts push messages into its replicated
//! outbox, and how fast the leader delivers them to a push service, on one node and on three.
//!
//! For each system: one user with `push_targets` Web Push subscriptions (real P-256 keys)
//! whose endpoints are a [`PushSink`] in this process. Then, in this order:
//!
//! 1. **Fan-out**: one message to every target (`to.targets`), `fan_out_runs` times; time
//!    from the accept to the message settling (a `GET /api/messages/{id}` every 50 ms) and
//!    to the sink's first and last push.
//! 2. **Many messages**: `messages` messages of one target each, sent by `connections`
//!    senders as fast as the accept allows; time from the first accept until none is left
//!    unsettled (the outbox counted every 50 ms).
//! 3. **Accept load**: `connections` senders post one-target messages for the warm-up and
//!    the measured window; accepted/s and accept latency, and how many pushes the leader
//!    delivered meanwhile. It runs last because it leaves a backlog the node is stopped with.
//!
//! Every phase starts with an outbox where nothing is due; the sink's counts are cleared
//! before each, so its requests can be set beside the deliveries the messages report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt as _;

use crate::connection_tally::{self, ConnectionTally};
use crate::driver::http_client;
use crate::edgebase_cluster::EdgebaseCluster;
use crate::measurement::Measurement;
use crate::messaging_client::{DeliveryCounts, MessagingClient};
use crate::process_cpu::cpu_secs;
use crate::push_sink::{PushSink, SinkTally};
use crate::wait::wait_until;
use crate::workload::{LoadShape, CONNECTIONS_MAX};

pub const EMAIL: &str = "bench@example.com";
pub const PASSWORD: &str = "bench-password-123";
/// Most target ids one message may name (`POST /api/messages` refuses more in `to.targets`).
pub const PUSH_TARGETS_MAX: usize = 1_000;
/// Most messages of the many-messages phase.
pub const MESSAGES_MAX: usize = 100_000;
/// Requests in flight while registering targets and reading messages back.
const SETUP_CONCURRENCY: usize = 16;
/// How often a message's (or the outbox's) state is read while waiting for it to settle.
const SETTLE_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Longest a phase's messages may take to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The systems a messaging run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessagingTarget {
    Edgebase,
    EdgebaseCluster,
}

impl MessagingTarget {
    pub fn label(self) -> &'static str {
        match self {
            MessagingTarget::Edgebase => "EdgeBase, 1 node",
            MessagingTarget::EdgebaseCluster => "EdgeBase, 3 nodes",
        }
    }

    fn nodes(self) -> usize {
        match self {
            MessagingTarget::Edgebase => 1,
            MessagingTarget::EdgebaseCluster => 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MessagingPlan {
    pub targets: Vec<MessagingTarget>,
    pub edgebase_bin: PathBuf,
    /// Push targets registered; the fan-out message names them all.
    pub push_targets: usize,
    pub fan_out_runs: usize,
    /// Messages of the many-messages phase.
    pub messages: usize,
    /// Senders of the many-messages phase and of the accept load, and its window.
    pub shape: LoadShape,
    /// How long the sink waits before answering each push.
    pub sink_delay: Duration,
}

/// What the nodes, the bench and the sink did during a phase.
#[derive(Debug, Clone, Copy)]
pub struct PhaseCost {
    pub sink: SinkTally,
    /// CPU seconds of every node together.
    pub node_cpu_secs: f64,
    /// CPU seconds of the bench's own process (its senders, polls and the push service).
    pub bench_cpu_secs: f64,
    pub wall: Duration,
}

impl PhaseCost {
    /// Cores the nodes kept busy on average.
    pub fn node_cores(&self) -> f64 {
        self.node_cpu_secs / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// Cores the bench kept busy on average.
    pub fn bench_cores(&self) -> f64 {
        self.bench_cpu_secs / self.wall.as_secs_f64().max(f64::EPSILON)
    }
}

/// One message to every target.
#[derive(Debug, Clone)]
pub struct FanOutRun {
    pub accept: Duration,
    /// From the accept's answer: the sink's first and last push, and the poll that saw the
    /// message settled.
    pub first_push: Option<Duration>,
    pub last_push: Option<Duration>,
    pub settled: Duration,
    pub status: String,
    pub counts: DeliveryCounts,
    pub cost: PhaseCost,
}

/// Many one-target messages.
#[derive(Debug, Clone)]
pub struct ManyMessages {
    pub messages: usize,
    /// From the first accept's answer: the last accept's answer, the sink's last push and
    /// the count that found no message unsettled.
    pub accepting: Duration,
    pub last_push: Option<Duration>,
    pub settled: Duration,
    /// Messages whose status is `sent`.
    pub sent_messages: u64,
    pub counts: DeliveryCounts,
    pub cost: PhaseCost,
}

/// The accept load.
#[derive(Debug, Clone)]
pub struct AcceptLoad {
    pub measurement: Measurement,
    /// Pushes the sink answered during the measured window.
    pub pushes_in_window: u64,
    /// Messages left to deliver when the load stopped.
    pub unsettled_after: u64,
    pub cost: PhaseCost,
}

/// Everything measured on one system.
#[derive(Debug, Clone)]
pub struct SystemResult {
    pub target: MessagingTarget,
    pub fan_outs: Vec<FanOutRun>,
    pub many: ManyMessages,
    pub accept: AcceptLoad,
}

pub async fn run(plan: &MessagingPlan) -> anyhow::Result<Vec<SystemResult>> {
    if plan.push_targets == 0 || plan.push_targets > PUSH_TARGETS_MAX {
        anyhow::bail!("--push-targets must be 1..={PUSH_TARGETS_MAX}");
    }
    if plan.messages == 0 || plan.messages > MESSAGES_MAX {
        anyhow::bail!("--messages must be 1..={MESSAGES_MAX}");
    }
    if plan.shape.connections == 0 || plan.shape.connections > CONNECTIONS_MAX {
        anyhow::bail!("--connections must be 1..={CONNECTIONS_MAX}");
    }
    let mut results = Vec::new();
    for &target in &plan.targets {
        eprintln!("{}: starting", target.label());
        let cluster = EdgebaseCluster::start_with_args(
            &plan.edgebase_bin,
            target.nodes(),
            EMAIL,
            PASSWORD,
            &[],
        )
        .await?;
        let result = measure(plan, target, &cluster).await;
        cluster.stop().await;
        results.push(result.with_context(|| target.label())?);
    }
    Ok(results)
}

/// The phases on a started system.
async fn measure(
    plan: &MessagingPlan,
    target: MessagingTarget,
    cluster: &EdgebaseCluster,
) -> anyhow::Result<SystemResult> {
    // The leader accepts and delivers; asking it keeps every read current.
    let url = if target.nodes() > 1 {
        cluster.leader_and_follower().await?.0
    } else {
        cluster.http_urls()[0].clone()
    };
    let pids = cluster.pids();
    let sink = PushSink::start(plan.sink_delay).await?;
    let http = http_client(plan.shape.connections.max(SETUP_CONCURRENCY))?;
    let client = MessagingClient::login(http, &url, EMAIL, PASSWORD).await?;
    client.enable_web_push().await?;
    let user = client.create_user("push-user@example.com").await?;
    eprintln!("  registering {} push targets", plan.push_targets);
    let targets = register_targets(&client, &user, &sink, plan.push_targets).await?;

    let mut fan_outs = Vec::with_capacity(plan.fan_out_runs);
    for run in 1..=plan.fan_out_runs {
        let fan_out = fan_out(&client, &sink, &pids, &targets).await?;
        eprintln!(
            "  fan-out {run}: {} deliveries settled {:.2} s after the accept ({} sink requests)",
            fan_out.counts.sent,
            fan_out.settled.as_secs_f64(),
            fan_out.cost.sink.requests
        );
        fan_outs.push(fan_out);
    }
    let many = many_messages(plan, &client, &sink, &pids, &targets).await?;
    eprintln!(
        "  {} one-target messages: settled {:.2} s after the first accept ({} sink requests)",
        many.messages,
        many.settled.as_secs_f64(),
        many.cost.sink.requests
    );
    let accept = accept_load(plan, &client, &sink, &pids, &targets).await?;
    eprintln!(
        "  accept load: {}; {} pushes in the window, {} messages unsettled at the end",
        accept.measurement.summary(),
        accept.pushes_in_window,
        accept.unsettled_after
    );
    Ok(SystemResult {
        target,
        fan_outs,
        many,
        accept,
    })
}

/// Register `count` Web Push targets of `user` whose endpoints are the sink's.
async fn register_targets(
    client: &MessagingClient,
    user: &str,
    sink: &PushSink,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    futures::stream::iter(0..count)
        .map(|n| {
            let endpoint = sink.endpoint(n);
            async move { client.create_web_push_target(user, &endpoint).await }
        })
        .buffered(SETUP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Wait until no message of the outbox is due or sending.
async fn wait_for_quiet_outbox(client: &MessagingClient) -> anyhow::Result<()> {
    wait_until("the outbox to settle", SETTLE_TIMEOUT, || async {
        Ok(client.unsettled().await? == 0)
    })
    .await
}

/// Where a phase's cost is counted from.
struct PhaseStart {
    at: Instant,
    node_cpu_secs: f64,
    bench_cpu_secs: f64,
}

fn bench_pid() -> [Option<u32>; 1] {
    [Some(std::process::id())]
}

impl PhaseStart {
    fn now(sink: &PushSink, pids: &[Option<u32>]) -> PhaseStart {
        sink.clear();
        PhaseStart {
            at: Instant::now(),
            node_cpu_secs: cpu_secs(pids),
            bench_cpu_secs: cpu_secs(&bench_pid()),
        }
    }

    fn cost(&self, sink: &PushSink, pids: &[Option<u32>]) -> PhaseCost {
        PhaseCost {
            sink: sink.tally(),
            node_cpu_secs: cpu_secs(pids) - self.node_cpu_secs,
            bench_cpu_secs: cpu_secs(&bench_pid()) - self.bench_cpu_secs,
            wall: self.at.elapsed(),
        }
    }
}

async fn fan_out(
    client: &MessagingClient,
    sink: &PushSink,
    pids: &[Option<u32>],
    targets: &[String],
) -> anyhow::Result<FanOutRun> {
    wait_for_quiet_outbox(client).await?;
    let start = PhaseStart::now(sink, pids);
    let id = client.send_push(targets).await?;
    let accepted = Instant::now();
    let deadline = accepted + SETTLE_TIMEOUT;
    let mut poll = tokio::time::interval(SETTLE_POLL_INTERVAL);
    let state = loop {
        poll.tick().await;
        let state = client.message(&id).await?;
        if state.settled() {
            break state;
        }
        if Instant::now() > deadline {
            anyhow::bail!("message {id} not settled within {SETTLE_TIMEOUT:?}: {state:?}");
        }
    };
    let settled = accepted.elapsed();
    let cost = start.cost(sink, pids);
    if !state.error.is_empty() {
        eprintln!("  message {id}: {}", state.error);
    }
    let since_accept = |at: Instant| at.saturating_duration_since(accepted);
    let pushes = sink.answered_between();
    Ok(FanOutRun {
        accept: accepted - start.at,
        first_push: pushes.map(|(first, _)| since_accept(first)),
        last_push: pushes.map(|(_, last)| since_accept(last)),
        settled,
        status: state.status,
        counts: state.counts,
        cost,
    })
}

async fn many_messages(
    plan: &MessagingPlan,
    client: &MessagingClient,
    sink: &PushSink,
    pids: &[Option<u32>],
    targets: &[String],
) -> anyhow::Result<ManyMessages> {
    wait_for_quiet_outbox(client).await?;
    let start = PhaseStart::now(sink, pids);
    let next = Arc::new(AtomicUsize::new(0));
    let answered: Arc<Mutex<Vec<(String, Instant)>>> =
        Arc::new(Mutex::new(Vec::with_capacity(plan.messages)));
    let targets = Arc::new(targets.to_vec());
    let mut senders = Vec::with_capacity(plan.shape.connections);
    for _ in 0..plan.shape.connections {
        let (client, next, answered, targets) = (
            client.clone(),
            Arc::clone(&next),
            Arc::clone(&answered),
            Arc::clone(&targets),
        );
        let count = plan.messages;
        senders.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(());
                }
                let target = targets[n % targets.len()].clone();
                let id = client.send_push(&[target]).await?;
                answered
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((id, Instant::now()));
            }
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let answered = std::mem::take(
        &mut *answered
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    let first = answered
        .iter()
        .map(|(_, at)| *at)
        .min()
        .context("no message accepted")?;
    let last = answered
        .iter()
        .map(|(_, at)| *at)
        .max()
        .context("no message accepted")?;
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut poll = tokio::time::interval(SETTLE_POLL_INTERVAL);
    loop {
        poll.tick().await;
        if client.unsettled().await? == 0 {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("the messages did not settle within {SETTLE_TIMEOUT:?}");
        }
    }
    let settled = first.elapsed();
    let cost = start.cost(sink, pids);
    let states: Vec<_> = futures::stream::iter(&answered)
        .map(|(id, _)| client.message(id))
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    let mut counts = DeliveryCounts::default();
    let mut sent_messages = 0;
    for state in states {
        let state = state?;
        counts.add(state.counts);
        sent_messages += u64::from(state.status == "sent");
    }
    Ok(ManyMessages {
        messages: answered.len(),
        accepting: last - first,
        last_push: sink
            .answered_between()
            .map(|(_, last_push)| last_push.saturating_duration_since(first)),
        settled,
        sent_messages,
        counts,
        cost,
    })
}

async fn accept_load(
    plan: &MessagingPlan,
    client: &MessagingClient,
    sink: &PushSink,
    pids: &[Option<u32>],
    targets: &[String],
) -> anyhow::Result<AcceptLoad> {
    wait_for_quiet_outbox(client).await?;
    let shape = plan.shape;
    let began = Instant::now();
    let warmup_end = began + shape.warmup;
    let end = warmup_end + shape.duration;
    let targets = Arc::new(targets.to_vec());
    let mut workers = Vec::with_capacity(shape.connections);
    for worker in 0..shape.connections {
        let (client, targets) = (client.clone(), Arc::clone(&targets));
        workers.push(tokio::spawn(async move {
            let mut tally = ConnectionTally::default();
            let mut n = worker;
            while Instant::now() < end {
                let target = targets[n % targets.len()].clone();
                n += shape.connections;
                let began = Instant::now();
                let outcome = client.send_push(&[target]).await;
                if began >= warmup_end {
                    tally.record(began, outcome);
                }
            }
            tally
        }));
    }
    tokio::time::sleep_until(warmup_end.into()).await;
    let start = PhaseStart::now(sink, pids);
    tokio::time::sleep_until(end.into()).await;
    let cost = start.cost(sink, pids);
    let measurement = connection_tally::merge(workers, shape.duration.as_secs_f64()).await?;
    let unsettled_after = client.unsettled().await?;
    Ok(AcceptLoad {
        measurement,
        pushes_in_window: cost.sink.requests,
        unsettled_after,
        cost,
    })
}
