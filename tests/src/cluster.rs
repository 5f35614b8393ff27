//! `Cluster`: several `edgebase` nodes on loopback with certificates from one CA.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use edgebase_client::wire::{ClusterStatus, MemberRole};
use edgebase_client::{Client, ClientError};

use crate::cli::Cli;
use crate::node::{Node, NodeSpec};
use crate::ports::free_addr;
use crate::wait::wait_until;

/// The superuser every harness-started node gets.
pub const SUPERUSER_EMAIL: &str = "admin@edgebase.test";
pub const SUPERUSER_PASSWORD: &str = "harness-password-123";

/// The harness superuser for the CLI, as the environment variables it reads.
pub fn superuser_env() -> [(&'static str, &'static str); 2] {
    [
        ("EDGEBASE_SUPERUSER_EMAIL", SUPERUSER_EMAIL),
        ("EDGEBASE_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD),
    ]
}

/// How long one node may take to start, join, or show up in the membership.
pub const NODE_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Options for `Cluster::start`.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    root: PathBuf,
    size: u64,
    extra_args: Vec<String>,
    advertise_names: bool,
    binary: Option<PathBuf>,
}

impl ClusterBuilder {
    /// Number of voters (ids 1..=size).
    pub fn size(mut self, size: u64) -> Self {
        self.size = size;
        self
    }

    /// Arguments added to every node's `serve` (e.g. `--snapshot-threshold 50`).
    pub fn extra_args(mut self, args: &[&str]) -> Self {
        self.extra_args = args.iter().map(|arg| (*arg).to_owned()).collect();
        self
    }

    /// Each node advertises its Raft address by name (`--advertise-raft localhost:PORT`)
    /// instead of by IP, so peers resolve it at each connect.
    pub fn advertise_names(mut self) -> Self {
        self.advertise_names = true;
        self
    }

    /// Run every node with `binary` (an earlier release, say) instead of the build under
    /// test. Certificates are still made by the build under test.
    pub fn binary(mut self, binary: &Path) -> Self {
        self.binary = Some(binary.to_owned());
        self
    }

    /// Make certificates, start node 1 (it initialises the cluster), add a superuser, then
    /// start the others with `--join` one by one, each waited for until it is a voter.
    pub async fn start(self) -> anyhow::Result<Cluster> {
        if self.size == 0 {
            bail!("a cluster needs at least one node");
        }
        let cli = Cli::edgebase()?;
        let ca_dir = self.root.join("ca");
        cli.certs_ca(&ca_dir).await.context("make the cluster CA")?;
        let mut cluster = Cluster {
            root: self.root.clone(),
            ca_dir,
            nodes: Vec::new(),
            cli,
            tokens: Mutex::new(HashMap::new()),
        };
        for node_id in 1..=self.size {
            let join = cluster.nodes.first().and_then(Node::raft_addr);
            let mut spec = cluster.node_spec(node_id, join, &self.extra_args).await?;
            spec.binary = self.binary.clone();
            if let (true, Some(raft)) = (self.advertise_names, spec.raft_addr) {
                spec.extra_args.push("--advertise-raft".into());
                spec.extra_args.push(format!("localhost:{}", raft.port()));
            }
            let mut node = Node::start(spec)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            cluster.nodes.push(node);
            if node_id == 1 {
                let data_dir = cluster.nodes[0].data_dir().to_owned();
                cluster
                    .cli
                    .superuser_upsert(&data_dir, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
                    .await
                    .context("add the superuser on node 1")?;
            }
            let members: Vec<u64> = (1..=node_id).collect();
            cluster
                .wait_for_voters(&members, NODE_START_TIMEOUT)
                .await
                .with_context(|| format!("node {node_id} to join as a voter"))?;
        }
        Ok(cluster)
    }
}

/// Nodes with ids 1..=n, each under `root/node<id>/` with `certs/`, `data/` and `node.log`.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    ca_dir: PathBuf,
    nodes: Vec<Node>,
    cli: Cli,
    /// Superuser token per node id (a fresh session per call, so no stale read index).
    tokens: Mutex<HashMap<u64, String>>,
}

impl Cluster {
    pub fn builder(root: &Path) -> ClusterBuilder {
        ClusterBuilder {
            root: root.to_owned(),
            size: 3,
            extra_args: Vec::new(),
            advertise_names: false,
            binary: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn ca_dir(&self) -> &Path {
        &self.ca_dir
    }

    pub fn cli(&self) -> &Cli {
        &self.cli
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(Node::id).collect()
    }

    /// Node `id`'s own `pb_hooks` folder (next to its data dir, where it looks by default),
    /// created if need be.
    pub fn own_hooks_folder(&self, id: u64) -> anyhow::Result<std::path::PathBuf> {
        let folder = self
            .node(id)
            .data_dir()
            .parent()
            .context("a node's dir")?
            .join("pb_hooks");
        std::fs::create_dir_all(&folder).with_context(|| format!("create {}", folder.display()))?;
        Ok(folder)
    }

    pub fn node(&self, id: u64) -> &Node {
        self.nodes
            .iter()
            .find(|node| node.id() == id)
            .expect("tests only ask for node ids they started")
    }

    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|node| node.id() == id)
            .expect("tests only ask for node ids they started")
    }

    async fn node_spec(
        &self,
        node_id: u64,
        join: Option<std::net::SocketAddr>,
        extra_args: &[String],
    ) -> anyhow::Result<NodeSpec> {
        let name = format!("node{node_id}");
        let mut spec = NodeSpec::single(&self.root, &name)?;
        let certs_dir = self.root.join(&name).join("certs");
        self.cli
            .certs_node(&self.ca_dir, node_id, &certs_dir)
            .await
            .with_context(|| format!("make the certificate of node {node_id}"))?;
        spec.node_id = Some(node_id);
        spec.raft_addr = Some(free_addr()?);
        spec.certs_dir = Some(certs_dir);
        spec.region = Some(format!("region-{node_id}"));
        spec.join = join;
        spec.extra_args = extra_args.to_vec();
        Ok(spec)
    }

    /// A client of node `id` logged in as the superuser, with a fresh session.
    pub async fn admin(&self, id: u64) -> anyhow::Result<Client> {
        let client = self.node(id).client()?;
        let cached = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&id)
            .cloned();
        match cached {
            Some(token) => client.set_token(token),
            None => {
                let auth = client
                    .superuser_login(SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
                    .await
                    .with_context(|| format!("superuser login on node {id}"))?;
                self.tokens
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(id, auth.token);
            }
        }
        Ok(client)
    }

    /// For each node, in id order: a raw HTTP client for it and a superuser token from it.
    pub async fn raw_admins(&self) -> anyhow::Result<Vec<(crate::RawClient, String)>> {
        let mut admins = Vec::new();
        for id in self.ids() {
            let token = self.admin(id).await?.token().context("superuser token")?;
            admins.push((crate::RawClient::new(&self.node(id).http_url())?, token));
        }
        Ok(admins)
    }

    /// `GET /api/cluster/status` on node `id`.
    pub async fn status(&self, id: u64) -> anyhow::Result<ClusterStatus> {
        let client = self.admin(id).await?;
        match client.cluster_status().await {
            Ok(status) => Ok(status),
            Err(error) => {
                if matches!(error, ClientError::Api(ref envelope) if envelope.status == 401) {
                    self.forget_token(id);
                }
                Err(error).with_context(|| format!("cluster status on node {id}"))
            }
        }
    }

    /// Forget node `id`'s cached token (after a restart or a 401).
    pub fn forget_token(&self, id: u64) {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&id);
    }

    /// Wait until every node in `ids` reports exactly `ids` as voters and they agree on a
    /// leader among them.
    pub async fn wait_for_voters(&self, ids: &[u64], timeout: Duration) -> anyhow::Result<u64> {
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        let wanted = &wanted;
        wait_until(
            &format!("voters {wanted:?} with one leader"),
            timeout,
            move || async move {
                let mut leaders = Vec::new();
                for id in wanted {
                    let status = self.status(*id).await?;
                    let mut voters: Vec<u64> = status
                        .members
                        .iter()
                        .filter(|member| member.role == MemberRole::Voter)
                        .map(|member| member.id)
                        .collect();
                    voters.sort_unstable();
                    if &voters != wanted {
                        return Err(anyhow::anyhow!("node {id} reports voters {voters:?}"));
                    }
                    leaders.push(status.leader_id);
                }
                Ok(agreed_leader(&leaders, wanted))
            },
        )
        .await
    }

    /// Wait until every node in `ids` names the same leader, itself one of `ids`.
    pub async fn wait_for_leader(&self, ids: &[u64], timeout: Duration) -> anyhow::Result<u64> {
        wait_until(
            &format!("one leader among {ids:?}"),
            timeout,
            move || async move {
                let mut leaders = Vec::new();
                for id in ids {
                    leaders.push(self.status(*id).await?.leader_id);
                }
                Ok(agreed_leader(&leaders, ids))
            },
        )
        .await
    }

    /// Log tails of every node, for failure messages.
    pub fn log_tails(&self, lines: usize) -> String {
        self.nodes
            .iter()
            .map(|node| node.log_tail(lines))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The leader all reports agree on, if they agree and it is one of `ids`.
fn agreed_leader(leaders: &[Option<u64>], ids: &[u64]) -> Option<u64> {
    let first = (*leaders.first()?)?;
    let all_agree = leaders.iter().all(|leader| *leader == Some(first));
    (all_agree && ids.contains(&first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::agreed_leader;

    #[test]
    fn leader_agreement() {
        let ids = [1, 2, 3];
        let cases: &[(&[Option<u64>], Option<u64>)] = &[
            (&[Some(1), Some(1), Some(1)], Some(1)),
            (&[Some(1), Some(2), Some(1)], None),
            (&[Some(1), None, Some(1)], None),
            (&[Some(4), Some(4), Some(4)], None),
            (&[], None),
        ];
        for (leaders, expected) in cases {
            assert_eq!(agreed_leader(leaders, &ids), *expected, "{leaders:?}");
        }
    }
}
