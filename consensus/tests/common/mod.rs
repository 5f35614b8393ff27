//! Helpers for in-process cluster tests: certificates in temp dirs, nodes on loopback with
//! ephemeral ports, and bounded waits.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use edgebase_consensus::{
    generate_ca, generate_node_cert, ConsensusConfig, ConsensusNode, NodeId, NodeInfo, TlsPaths,
};
use edgebase_storage::{Command, StateMachine, Store};

/// Every test body runs under this bound.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// Log to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A cluster CA in a directory.
pub struct Ca {
    pub dir: PathBuf,
}

impl Ca {
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        generate_ca(dir).context("generate CA")?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Issue a certificate for `node_id` into `out_dir`.
    pub fn issue(&self, node_id: NodeId, out_dir: &Path) -> anyhow::Result<TlsPaths> {
        generate_node_cert(&self.dir, node_id, &["127.0.0.1".to_string()], out_dir)
            .with_context(|| format!("issue certificate for node {node_id}"))?;
        Ok(TlsPaths::in_dir(out_dir))
    }
}

/// One running node and a handle on its state machine for reads.
pub struct TestNode {
    pub node: ConsensusNode,
    pub state: StateMachine,
    pub data_dir: PathBuf,
}

/// Start node `node_id` with data under `root/node{id}` and a certificate from `ca`.
pub async fn start_node(root: &Path, ca: &Ca, node_id: NodeId) -> anyhow::Result<TestNode> {
    let data_dir = root.join(format!("node{node_id}"));
    let tls = ca.issue(node_id, &data_dir.join("certs"))?;
    start_node_with_tls(&data_dir, node_id, tls).await
}

pub async fn start_node_with_tls(
    data_dir: &Path,
    node_id: NodeId,
    tls: TlsPaths,
) -> anyhow::Result<TestNode> {
    let listen = "127.0.0.1:0".parse().context("listen address")?;
    start_node_on(data_dir, node_id, tls, listen).await
}

/// Start (or restart) node `node_id` listening on `listen`. Opening the store is retried
/// for a few seconds, since a node that was just shut down may still be releasing it.
pub async fn start_node_on(
    data_dir: &Path,
    node_id: NodeId,
    tls: TlsPaths,
    listen: SocketAddr,
) -> anyhow::Result<TestNode> {
    start_node_configured(data_dir, node_id, tls, listen, |_| {}).await
}

/// Start (or restart) node `node_id` on `listen` with test timings, then `configure` applied
/// to its config (region, leader placement).
pub async fn start_node_configured(
    data_dir: &Path,
    node_id: NodeId,
    tls: TlsPaths,
    listen: SocketAddr,
    configure: impl FnOnce(&mut ConsensusConfig),
) -> anyhow::Result<TestNode> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let store = loop {
        match Store::open(&data_dir.join("db")) {
            Ok(store) => break store,
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::info!(%error, "store not released yet, retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error).context("open store"),
        }
    };
    let state = store.state();
    let info = NodeInfo {
        raft_addr: listen.to_string(),
        http_addr: String::new(),
        region: "test".to_string(),
    };
    let mut config = ConsensusConfig::new(node_id, data_dir.to_path_buf(), listen, info, tls);
    config.heartbeat_interval_ms = 150;
    config.election_timeout_min_ms = 750;
    config.election_timeout_max_ms = 1500;
    configure(&mut config);
    let node = ConsensusNode::start(config, store)
        .await
        .with_context(|| format!("start node {node_id}"))?;
    Ok(TestNode {
        node,
        state,
        data_dir: data_dir.to_path_buf(),
    })
}

pub fn put_setting(key: &str, value: &str) -> Command {
    Command::PutSetting {
        key: key.to_string(),
        value_json: format!("\"{value}\""),
    }
}

/// Poll `check` every 20 ms until it returns true or `within` passes.
pub async fn wait_until(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Node 1 initialises a cluster; nodes 2 and 3 join it as voters through node 1.
pub async fn three_voters(root: &Path, ca: &Ca) -> anyhow::Result<(TestNode, TestNode, TestNode)> {
    let n1 = start_node(root, ca, 1).await?;
    n1.node.initialize_single().await?;
    let seed = n1.node.info().raft_addr.clone();
    let n2 = start_node(root, ca, 2).await?;
    n2.node
        .join(&seed, edgebase_consensus::JoinRole::Voter)
        .await?;
    let n3 = start_node(root, ca, 3).await?;
    n3.node
        .join(&seed, edgebase_consensus::JoinRole::Voter)
        .await?;
    Ok((n1, n2, n3))
}

/// Run a test scenario with tracing set up and the suite's overall timeout.
pub async fn bounded(
    scenario: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    init_tracing();
    tokio::time::timeout(TEST_TIMEOUT, scenario)
        .await
        .map_err(|_| anyhow::anyhow!("test timed out after {TEST_TIMEOUT:?}"))?
}
