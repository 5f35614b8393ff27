//! `NodePool`: the nodes a multi-node `Client` may talk to, ranked by measured latency.
//!
//! Each node is probed with a bounded `GET /api/health`; requests go to the reachable node
//! with the lowest measured round trip. A node that fails a request is marked unreachable
//! until a later probe answers. A background task re-probes every node on a fixed interval
//! while any client of the pool is alive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use reqwest::Url;

/// Most node URLs one client accepts.
pub const NODES_MAX: usize = 64;

/// Most probes per node per round (`NodeSelection::probe_samples` is clamped to it).
pub const PROBE_SAMPLES_MAX: u32 = 16;

/// Shortest time between two background probe rounds (a smaller interval is raised to it).
pub const PROBE_INTERVAL_MIN_MS: u64 = 50;

/// A latency value meaning "not reachable at the last probe or request".
const UNREACHABLE: u64 = u64::MAX;

/// How a multi-node client measures its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSelection {
    /// Time between two background probe rounds (at least `PROBE_INTERVAL_MIN_MS`).
    pub probe_interval_ms: u64,
    /// Longest one health probe may take; a slower node counts as unreachable.
    pub probe_timeout_ms: u64,
    /// Probes per node per round; the fastest answer is the node's latency (the minimum
    /// filters out scheduling noise, the slowest answers say nothing about distance).
    /// 1..=`PROBE_SAMPLES_MAX`.
    pub probe_samples: u32,
}

impl Default for NodeSelection {
    fn default() -> Self {
        NodeSelection {
            probe_interval_ms: 10_000,
            probe_timeout_ms: 1_000,
            probe_samples: 3,
        }
    }
}

/// One node's last measurement, as `Client::node_latencies` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLatency {
    pub url: String,
    /// The last measured health round trip; `None` when the node is considered unreachable.
    pub latency_us: Option<u64>,
}

#[derive(Debug)]
struct PoolNode {
    url: Url,
    latency_us: AtomicU64,
}

/// The ranked nodes of one multi-node client (shared by its clones).
#[derive(Debug)]
pub(crate) struct NodePool {
    nodes: Vec<PoolNode>,
    probe_http: reqwest::Client,
    selection: NodeSelection,
}

impl NodePool {
    /// A pool over `urls` (already validated, 1..=`NODES_MAX`), every node unmeasured.
    pub(crate) fn new(
        urls: Vec<Url>,
        selection: NodeSelection,
    ) -> Result<NodePool, reqwest::Error> {
        let probe_timeout = Duration::from_millis(selection.probe_timeout_ms.max(1));
        let probe_http = reqwest::Client::builder()
            .timeout(probe_timeout)
            .connect_timeout(probe_timeout)
            .build()?;
        Ok(NodePool {
            nodes: urls
                .into_iter()
                .map(|url| PoolNode {
                    url,
                    latency_us: AtomicU64::new(UNREACHABLE),
                })
                .collect(),
            probe_http,
            selection,
        })
    }

    /// Node URLs in the order requests try them: reachable nodes by measured latency, then
    /// unreachable ones in the order given (they are still tried when nothing else answers).
    pub(crate) fn ranked(&self) -> Vec<Url> {
        let mut order: Vec<(u64, usize)> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(position, node)| (node.latency_us.load(Ordering::Acquire), position))
            .collect();
        order.sort_unstable();
        order
            .into_iter()
            .map(|(_, position)| self.nodes[position].url.clone())
            .collect()
    }

    /// Every node's last measurement, in the order given.
    pub(crate) fn latencies(&self) -> Vec<NodeLatency> {
        self.nodes
            .iter()
            .map(|node| {
                let latency_us = node.latency_us.load(Ordering::Acquire);
                NodeLatency {
                    url: node.url.to_string(),
                    latency_us: (latency_us != UNREACHABLE).then_some(latency_us),
                }
            })
            .collect()
    }

    /// A request to `url` failed in a way that says the node is gone or overloaded: rank it
    /// last until a probe hears from it again.
    pub(crate) fn mark_unreachable(&self, url: &Url) {
        if let Some(node) = self.nodes.iter().find(|node| &node.url == url) {
            node.latency_us.store(UNREACHABLE, Ordering::Release);
            tracing::debug!(%url, "node marked unreachable");
        }
    }

    /// Probe every node concurrently, `probe_samples` times each, and record the results.
    pub(crate) async fn probe_all(self: &Arc<Self>) {
        let mut probes = tokio::task::JoinSet::new();
        for position in 0..self.nodes.len() {
            let pool = Arc::clone(self);
            probes.spawn(async move {
                let node = &pool.nodes[position];
                let measured = pool.probe(&node.url).await;
                node.latency_us
                    .store(measured.unwrap_or(UNREACHABLE), Ordering::Release);
            });
        }
        while probes.join_next().await.is_some() {}
    }

    /// The fastest of `probe_samples` health round trips to `url`, or `None` if none
    /// succeeded.
    async fn probe(&self, url: &Url) -> Option<u64> {
        let mut health = url.clone();
        health
            .path_segments_mut()
            .expect("NodePool only holds URLs that can be a base")
            .pop_if_empty()
            .extend(["api", "health"]);
        let mut best: Option<u64> = None;
        for _ in 0..self.selection.probe_samples.clamp(1, PROBE_SAMPLES_MAX) {
            let began = Instant::now();
            let answered = match self.probe_http.get(health.clone()).send().await {
                // The body is tiny; reading it is part of the round trip, and its size is
                // bounded by the probe's timeout.
                Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
                Ok(_) | Err(_) => false,
            };
            if !answered {
                continue;
            }
            let elapsed_us = u64::try_from(began.elapsed().as_micros()).unwrap_or(UNREACHABLE - 1);
            best = Some(best.map_or(elapsed_us, |current| current.min(elapsed_us)));
        }
        best
    }

    /// Re-probe on `probe_interval_ms` until every client of the pool is dropped.
    pub(crate) fn spawn_reprobe(pool: &Arc<NodePool>) {
        let weak: Weak<NodePool> = Arc::downgrade(pool);
        let interval =
            Duration::from_millis(pool.selection.probe_interval_ms.max(PROBE_INTERVAL_MIN_MS));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(pool) = weak.upgrade() else {
                    return;
                };
                pool.probe_all().await;
            }
        });
    }
}
