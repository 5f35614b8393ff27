//! `EdgebaseCluster`: one or three `edgebase` nodes started by the bench in a temporary
//! directory (three: a cluster CA, node certificates and `--join`), killed on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use edgebase_client::wire::MemberRole;

use crate::child_process::{run_to_completion, ChildProcess};
use crate::ports::free_port;
use crate::wait::{wait_http_ok, wait_until};

/// How long a node may take to answer its health check, or a joiner to become a voter.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct EdgebaseCluster {
    // Processes before the directory: fields drop in order, so they die before it is removed.
    nodes: Vec<ChildProcess>,
    /// How each node was started (`restart_node` starts it the same way).
    binary: PathBuf,
    node_args: Vec<Vec<String>>,
    node_logs: Vec<PathBuf>,
    http_urls: Vec<String>,
    admin: edgebase_client::Client,
    _root: tempfile::TempDir,
}

impl EdgebaseCluster {
    /// Start `size` nodes (1 or more) of `binary` with superuser `email`/`password`.
    pub async fn start(
        binary: &Path,
        size: usize,
        email: &str,
        password: &str,
    ) -> anyhow::Result<EdgebaseCluster> {
        EdgebaseCluster::start_with_args(binary, size, email, password, &[]).await
    }

    /// [`Self::start`], with `extra_args` added to every node's `serve`.
    pub async fn start_with_args(
        binary: &Path,
        size: usize,
        email: &str,
        password: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<EdgebaseCluster> {
        let root = tempfile::Builder::new()
            .prefix("edgebase-bench-")
            .tempdir()
            .context("make a temporary directory")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let ca_dir = root.path().join("ca");
        if size > 1 {
            run_to_completion(binary, &["certs", "ca", "--out", &path_arg(&ca_dir)]).await?;
        }
        let mut nodes = Vec::with_capacity(size);
        let mut node_args = Vec::with_capacity(size);
        let mut node_logs = Vec::with_capacity(size);
        let mut http_urls = Vec::with_capacity(size);
        let mut first_raft = None;
        let mut admin = None;
        for node_id in 1..=size {
            let node_dir = root.path().join(format!("node{node_id}"));
            std::fs::create_dir_all(&node_dir).context("make node directory")?;
            let data_dir = node_dir.join("data");
            let (http_port, raft_port) = (free_port()?, free_port()?);
            let mut args = vec![
                "serve".to_owned(),
                "--dir".to_owned(),
                path_arg(&data_dir),
                "--http".to_owned(),
                format!("127.0.0.1:{http_port}"),
                "--raft".to_owned(),
                format!("127.0.0.1:{raft_port}"),
                "--region".to_owned(),
                "bench".to_owned(),
            ];
            args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
            if size > 1 {
                let certs_dir = node_dir.join("certs");
                let node_id_text = node_id.to_string();
                run_to_completion(
                    binary,
                    &[
                        "certs",
                        "node",
                        "--ca",
                        &path_arg(&ca_dir),
                        "--node-id",
                        &node_id_text,
                        "--host",
                        "127.0.0.1",
                        "--out",
                        &path_arg(&certs_dir),
                    ],
                )
                .await?;
                args.extend(["--certs".to_owned(), path_arg(&certs_dir)]);
            }
            if let Some(join) = &first_raft {
                args.extend(["--join".to_owned(), format!("127.0.0.1:{join}")]);
            }
            let mut node = ChildProcess::spawn(
                &format!("edgebase node {node_id}"),
                binary,
                &args,
                &node_dir.join("node.log"),
            )?;
            let url = format!("http://127.0.0.1:{http_port}");
            wait_http_ok(
                &http,
                &format!("{url}/api/health"),
                &mut node,
                START_TIMEOUT,
            )
            .await?;
            nodes.push(node);
            node_args.push(args);
            node_logs.push(node_dir.join("node.log"));
            http_urls.push(url.clone());
            if node_id == 1 {
                first_raft = Some(raft_port);
                run_to_completion(
                    binary,
                    &[
                        "superuser",
                        "upsert",
                        email,
                        password,
                        "--dir",
                        &path_arg(&data_dir),
                    ],
                )
                .await?;
                let client = edgebase_client::Client::new(&url)?;
                client
                    .superuser_login(email, password)
                    .await
                    .context("superuser login on node 1")?;
                admin = Some(client);
            }
            let client = admin.as_ref().expect("node 1 made the admin client");
            wait_until(
                &format!("node {node_id} to be a voter"),
                START_TIMEOUT,
                || async move {
                    let status = client.cluster_status().await?;
                    let voters = status
                        .members
                        .iter()
                        .filter(|member| member.role == MemberRole::Voter && member.reachable)
                        .count();
                    Ok(voters == node_id && status.leader_id.is_some())
                },
            )
            .await?;
        }
        Ok(EdgebaseCluster {
            nodes,
            binary: binary.to_owned(),
            node_args,
            node_logs,
            http_urls,
            admin: admin.context("a cluster needs at least one node")?,
            _root: root,
        })
    }

    /// HTTP base URL of every node, node 1 first.
    pub fn http_urls(&self) -> &[String] {
        &self.http_urls
    }

    /// Process id of every node, node 1 first.
    pub fn pids(&self) -> Vec<Option<u32>> {
        self.nodes.iter().map(ChildProcess::pid).collect()
    }

    /// The HTTP URLs of the current leader and of one follower.
    pub async fn leader_and_follower(&self) -> anyhow::Result<(String, String)> {
        let status = self.admin.cluster_status().await?;
        let leader_id = status.leader_id.context("no leader")?;
        let index = |id: u64| usize::try_from(id).ok().and_then(|id| id.checked_sub(1));
        let leader = index(leader_id)
            .and_then(|position| self.http_urls.get(position))
            .context("leader id outside the started nodes")?;
        let follower = self
            .http_urls
            .iter()
            .find(|url| *url != leader)
            .context("a single node has no follower")?;
        Ok((leader.clone(), follower.clone()))
    }

    /// The superuser client of node 1.
    pub fn admin(&self) -> &edgebase_client::Client {
        &self.admin
    }

    /// `kill -9` node `index` (0-based) and wait until it is gone.
    pub async fn kill_node(&mut self, index: usize) -> anyhow::Result<()> {
        self.nodes[index].kill9().await
    }

    /// Start node `index` again with its data dir and flags; waits for its health check.
    pub async fn restart_node(&mut self, index: usize) -> anyhow::Result<()> {
        let mut node = ChildProcess::spawn(
            &format!("edgebase node {}", index + 1),
            &self.binary,
            &self.node_args[index],
            &self.node_logs[index],
        )?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let url = &self.http_urls[index];
        wait_http_ok(
            &http,
            &format!("{url}/api/health"),
            &mut node,
            START_TIMEOUT,
        )
        .await?;
        self.nodes[index] = node;
        Ok(())
    }

    /// Kill every node and remove the directory.
    pub async fn stop(self) {
        for node in self.nodes {
            node.stop().await;
        }
    }
}

pub fn path_arg(path: &Path) -> String {
    PathBuf::from(path).display().to_string()
}
