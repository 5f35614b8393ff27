//! `edgebase-bench realtime`: what realtime costs and how fast it delivers, on three EdgeBase
//! nodes, on one, and on PocketBase 0.40.6, one after the other on this machine.
//!
//! For each system: the memory of idle streams (the servers' resident memory before and
//! after opening `idle` streams that subscribe to nothing, per stream), then for each
//! subscriber count, that many streams spread over the nodes, all subscribed to one
//! collection (list rule open), while one writer creates records through node 1 at a steady
//! rate: each event's delivery latency from the write's answer (and from its request) to
//! its receipt, and how many of the expected events arrived.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::edgebase_cluster::EdgebaseCluster;
use crate::measurement::latency_histogram;
use crate::pocketbase_server::PocketbaseServer;
use crate::sse_subscriber::{self, OpenStream};

pub const EMAIL: &str = "bench@example.com";
pub const PASSWORD: &str = "bench-password-123";
const COLLECTION: &str = "rt_bench";
/// Streams opened or subscribed at once.
const SETUP_CONCURRENCY: usize = 64;
/// How long the last events may take to arrive after the last write.
const DRAIN_WAIT: Duration = Duration::from_secs(30);

/// The systems a realtime run compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RealtimeTarget {
    EdgebaseCluster,
    Edgebase,
    Pocketbase,
}

impl RealtimeTarget {
    pub fn label(self) -> &'static str {
        match self {
            RealtimeTarget::EdgebaseCluster => "EdgeBase, 3 nodes",
            RealtimeTarget::Edgebase => "EdgeBase, 1 node",
            RealtimeTarget::Pocketbase => "PocketBase 0.40.6",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RealtimePlan {
    pub targets: Vec<RealtimeTarget>,
    pub edgebase_bin: PathBuf,
    pub pocketbase_bin: PathBuf,
    pub idle: usize,
    pub subscribers: Vec<usize>,
    pub writes_per_sec: u64,
    pub duration: Duration,
}

/// Idle streams' memory on one system.
#[derive(Debug, Clone)]
pub struct IdleResult {
    pub target: RealtimeTarget,
    pub streams: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
}

/// One fan-out run.
#[derive(Debug, Clone)]
pub struct FanOutResult {
    pub target: RealtimeTarget,
    pub subscribers: usize,
    pub writes: u64,
    pub expected: u64,
    pub delivered: u64,
    /// Events that arrived before their write's answer (counted as 0 µs from the answer).
    pub before_answer: u64,
    pub from_answer: Percentiles,
    pub from_request: Percentiles,
    pub write_p50_us: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50_us: histogram.value_at_quantile(0.5),
            p99_us: histogram.value_at_quantile(0.99),
            max_us: histogram.max(),
        }
    }
}

/// The servers of one system, stopped when dropped.
enum Servers {
    Edgebase(EdgebaseCluster),
    Pocketbase(PocketbaseServer),
}

impl Servers {
    async fn start(plan: &RealtimePlan, target: RealtimeTarget) -> anyhow::Result<Servers> {
        // Room for every stream of the largest run on one node, and the bench's own.
        let connections = (plan
            .idle
            .max(plan.subscribers.iter().copied().max().unwrap_or(0))
            + 1_000)
            .to_string();
        let args = [
            "--http-connections-max",
            connections.as_str(),
            "--realtime-clients-max",
            connections.as_str(),
        ];
        Ok(match target {
            RealtimeTarget::EdgebaseCluster | RealtimeTarget::Edgebase => {
                let size = if target == RealtimeTarget::Edgebase {
                    1
                } else {
                    3
                };
                Servers::Edgebase(
                    EdgebaseCluster::start_with_args(
                        &plan.edgebase_bin,
                        size,
                        EMAIL,
                        PASSWORD,
                        &args,
                    )
                    .await?,
                )
            }
            RealtimeTarget::Pocketbase => Servers::Pocketbase(
                PocketbaseServer::start(&plan.pocketbase_bin, EMAIL, PASSWORD).await?,
            ),
        })
    }

    fn urls(&self) -> Vec<String> {
        match self {
            Servers::Edgebase(cluster) => cluster.http_urls().to_vec(),
            Servers::Pocketbase(server) => vec![server.url().to_string()],
        }
    }

    /// Resident memory of every server process together.
    fn rss_kib(&self) -> u64 {
        let pids = match self {
            Servers::Edgebase(cluster) => cluster.pids(),
            Servers::Pocketbase(server) => vec![server.pid()],
        };
        pids.into_iter().flatten().map(rss_kib_of).sum()
    }

    async fn stop(self) {
        match self {
            Servers::Edgebase(cluster) => cluster.stop().await,
            Servers::Pocketbase(server) => server.stop().await,
        }
    }
}

/// `VmRSS` of a process, in KiB (0 when unreadable).
fn rss_kib_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Raise this process's open-file limit to its hard limit: the bench holds every stream.
pub fn raise_file_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

pub async fn run(plan: &RealtimePlan) -> anyhow::Result<(Vec<IdleResult>, Vec<FanOutResult>)> {
    raise_file_limit();
    let mut idle = Vec::new();
    let mut fan_outs = Vec::new();
    for &target in &plan.targets {
        eprintln!("== {}", target.label());
        let servers = Servers::start(plan, target).await?;
        let result = run_target(plan, target, &servers).await;
        servers.stop().await;
        let (idle_result, runs) = result?;
        idle.push(idle_result);
        fan_outs.extend(runs);
    }
    Ok((idle, fan_outs))
}

async fn run_target(
    plan: &RealtimePlan,
    target: RealtimeTarget,
    servers: &Servers,
) -> anyhow::Result<(IdleResult, Vec<FanOutResult>)> {
    let urls = servers.urls();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(SETUP_CONCURRENCY)
        .build()?;
    let token = superuser_token(&http, &urls[0]).await?;
    let created = http
        .post(format!("{}/api/collections", urls[0]))
        .header("Authorization", &token)
        .json(&json!({
            "name": COLLECTION, "type": "base", "listRule": "", "viewRule": "",
            "fields": [{"name": "n", "type": "number"}]
        }))
        .send()
        .await?;
    anyhow::ensure!(
        created.status().is_success(),
        "create collection: {}",
        created.text().await?
    );

    let rss_before_kib = servers.rss_kib();
    let streams = open_streams(&urls, plan.idle).await?;
    // Let the servers settle what they allocated for the new streams.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = IdleResult {
        target,
        streams: streams.len(),
        rss_before_kib,
        rss_after_kib: servers.rss_kib(),
    };
    eprintln!(
        "   {} idle streams: {} KiB -> {} KiB",
        idle.streams, idle.rss_before_kib, idle.rss_after_kib
    );
    drop(streams);

    let mut runs = Vec::new();
    for &subscribers in &plan.subscribers {
        let run = fan_out(plan, target, &urls, &http, &token, subscribers).await?;
        eprintln!(
            "   {subscribers} subscribers: {}/{} events, p50 {} µs, p99 {} µs from the answer",
            run.delivered, run.expected, run.from_answer.p50_us, run.from_answer.p99_us
        );
        runs.push(run);
    }
    Ok((idle, runs))
}

async fn superuser_token(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = http
        .post(format!(
            "{url}/api/collections/_superusers/auth-with-password"
        ))
        .json(&json!({"identity": EMAIL, "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["token"]
        .as_str()
        .context("superuser token")?
        .to_string())
}

/// `count` streams, spread over `urls` in turn.
async fn open_streams(urls: &[String], count: usize) -> anyhow::Result<Vec<OpenStream>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(0..count)
        .map(|n| sse_subscriber::open(&urls[n % urls.len()]))
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// What the writer and the subscribers share: when each write was sent and answered
/// (µs since `start`, 0 until then), and the latencies seen.
struct Clock {
    start: Instant,
    sent_us: Vec<AtomicU64>,
    answered_us: Vec<AtomicU64>,
    from_answer: Mutex<Histogram<u64>>,
    from_request: Mutex<Histogram<u64>>,
    delivered: AtomicU64,
    before_answer: AtomicU64,
}

impl Clock {
    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn received(&self, n: usize) {
        let now = self.now_us();
        let (Some(sent), Some(answered)) = (self.sent_us.get(n), self.answered_us.get(n)) else {
            return;
        };
        let (sent, answered) = (
            sent.load(Ordering::Acquire),
            answered.load(Ordering::Acquire),
        );
        self.delivered.fetch_add(1, Ordering::Relaxed);
        fn lock(histogram: &Mutex<Histogram<u64>>) -> std::sync::MutexGuard<'_, Histogram<u64>> {
            histogram
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
        if sent > 0 {
            let _ = lock(&self.from_request).record(now.saturating_sub(sent).max(1));
        }
        if answered == 0 || answered > now {
            self.before_answer.fetch_add(1, Ordering::Relaxed);
            let _ = lock(&self.from_answer).record(1);
        } else {
            let _ = lock(&self.from_answer).record((now - answered).max(1));
        }
    }
}

async fn fan_out(
    plan: &RealtimePlan,
    target: RealtimeTarget,
    urls: &[String],
    http: &reqwest::Client,
    token: &str,
    subscribers: usize,
) -> anyhow::Result<FanOutResult> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let writes = plan.writes_per_sec * plan.duration.as_secs().max(1);
    let total = usize::try_from(writes).context("writes")?;
    let clock = Arc::new(Clock {
        start: Instant::now(),
        sent_us: (0..total).map(|_| AtomicU64::new(0)).collect(),
        answered_us: (0..total).map(|_| AtomicU64::new(0)).collect(),
        from_answer: Mutex::new(latency_histogram()),
        from_request: Mutex::new(latency_histogram()),
        delivered: AtomicU64::new(0),
        before_answer: AtomicU64::new(0),
    });
    let streams = open_streams(urls, subscribers).await?;
    let subscribed: Vec<OpenStream> = stream::iter(streams.into_iter().enumerate())
        .map(|(n, stream)| {
            let url = urls[n % urls.len()].clone();
            async move {
                let answer = http
                    .post(format!("{url}/api/realtime"))
                    .json(&json!({"clientId": stream.client_id, "subscriptions": [format!("{COLLECTION}/*")]}))
                    .send()
                    .await?;
                anyhow::ensure!(answer.status().as_u16() == 204, "subscribe: {}", answer.status());
                anyhow::Ok(stream)
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_collect()
        .await?;
    let readers: Vec<tokio::task::JoinHandle<()>> = subscribed
        .into_iter()
        .map(|mut stream| {
            let clock = Arc::clone(&clock);
            tokio::spawn(async move {
                while let Ok(Some(data)) = stream.next_event().await {
                    if let Some(n) = record_number(&data) {
                        clock.received(n);
                    }
                }
            })
        })
        .collect();

    let mut write_latency = latency_histogram();
    let interval = Duration::from_secs(1) / u32::try_from(plan.writes_per_sec.max(1)).unwrap_or(1);
    let mut ticker = tokio::time::interval(interval);
    for n in 0..total {
        ticker.tick().await;
        let sent = clock.now_us();
        clock.sent_us[n].store(sent, Ordering::Release);
        let answer = http
            .post(format!("{}/api/collections/{COLLECTION}/records", urls[0]))
            .header("Authorization", token)
            .json(&json!({"n": n}))
            .send()
            .await?;
        let answered = clock.now_us();
        anyhow::ensure!(
            answer.status().is_success(),
            "write {n}: {}",
            answer.status()
        );
        clock.answered_us[n].store(answered, Ordering::Release);
        let _ = write_latency.record(answered.saturating_sub(sent).max(1));
    }
    let expected = writes * subscribers as u64;
    let deadline = Instant::now() + DRAIN_WAIT;
    while clock.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reader in readers {
        reader.abort();
    }
    let lock = |histogram: &Mutex<Histogram<u64>>| {
        histogram
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    };
    Ok(FanOutResult {
        target,
        subscribers,
        writes,
        expected,
        delivered: clock.delivered.load(Ordering::Relaxed),
        before_answer: clock.before_answer.load(Ordering::Relaxed),
        from_answer: Percentiles::of(&lock(&clock.from_answer)),
        from_request: Percentiles::of(&lock(&clock.from_request)),
        write_p50_us: write_latency.value_at_quantile(0.5),
    })
}

/// The `n` of an event's record: `"n":123` in its data.
fn record_number(data: &str) -> Option<usize> {
    let at = data.find("\"n\":")? + 4;
    let digits: String = data[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
