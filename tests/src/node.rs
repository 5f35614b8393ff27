//! `Node`: one `edgebase serve` process with its data dir, ports, certificates and log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::{bail, Context};
use edgebase_client::{Client, ClientOptions};

use crate::binary::edgebase_binary;
use crate::ports::free_addr_pair;
use crate::process::ServerProcess;

/// How to start one node; `Node::restart` reuses it.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub name: String,
    /// The id in the node's certificate (multi-node), if any.
    pub node_id: Option<u64>,
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub raft_addr: Option<SocketAddr>,
    pub certs_dir: Option<PathBuf>,
    pub join: Option<SocketAddr>,
    pub learner: bool,
    pub region: Option<String>,
    pub extra_args: Vec<String>,
    pub log_path: PathBuf,
    /// The `edgebase` executable to run; `None`: the build under test.
    pub binary: Option<PathBuf>,
}

impl NodeSpec {
    /// A single node with no cluster flags: `serve --dir ROOT/NAME/data --http FREE_PORT`.
    pub fn single(root: &Path, name: &str) -> anyhow::Result<NodeSpec> {
        let node_root = root.join(name);
        std::fs::create_dir_all(&node_root)
            .with_context(|| format!("create {}", node_root.display()))?;
        Ok(NodeSpec {
            name: name.to_owned(),
            node_id: None,
            data_dir: node_root.join("data"),
            http_addr: free_addr_pair()?,
            raft_addr: None,
            certs_dir: None,
            join: None,
            learner: false,
            region: None,
            extra_args: Vec::new(),
            log_path: node_root.join("node.log"),
            binary: None,
        })
    }

    /// The `serve` command line.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "serve".to_owned(),
            "--dir".to_owned(),
            self.data_dir.display().to_string(),
            "--http".to_owned(),
            self.http_addr.to_string(),
        ];
        if let Some(raft) = self.raft_addr {
            args.extend(["--raft".to_owned(), raft.to_string()]);
        }
        if let Some(region) = &self.region {
            args.extend(["--region".to_owned(), region.clone()]);
        }
        if let Some(certs) = &self.certs_dir {
            args.extend(["--certs".to_owned(), certs.display().to_string()]);
        }
        if let Some(join) = self.join {
            args.extend(["--join".to_owned(), join.to_string()]);
        }
        if self.learner {
            args.push("--learner".to_owned());
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// A running (or stopped) EdgeBase node. Dropping it kills the process.
#[derive(Debug)]
pub struct Node {
    spec: NodeSpec,
    process: ServerProcess,
}

impl Node {
    pub fn start(spec: NodeSpec) -> anyhow::Result<Node> {
        let binary = match &spec.binary {
            Some(binary) => binary.clone(),
            None => edgebase_binary()?,
        };
        let process = ServerProcess::start(
            &spec.name,
            &binary,
            spec.args(),
            Vec::new(),
            spec.http_addr,
            spec.log_path.clone(),
        )?;
        Ok(Node { spec, process })
    }

    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The certificate's node id; panics for a node started without one (a test bug).
    pub fn id(&self) -> u64 {
        self.spec
            .node_id
            .expect("Node::id is only asked of cluster nodes, which have a node id")
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.spec.http_addr
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.spec.http_addr)
    }

    pub fn raft_addr(&self) -> Option<SocketAddr> {
        self.spec.raft_addr
    }

    pub fn data_dir(&self) -> &Path {
        &self.spec.data_dir
    }

    /// A fresh SDK client (no token, no session) for this node, with requests bounded to
    /// 15 s so a test notices a hung node well before its own timeout.
    pub fn client(&self) -> anyhow::Result<Client> {
        let options = ClientOptions {
            request_timeout_ms: 15_000,
            ..ClientOptions::default()
        };
        Client::with_options(&self.http_url(), options).context("build a client")
    }

    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.process.wait_healthy(timeout).await
    }

    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.process.exit_status()
    }

    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.process.kill9()
    }

    /// SIGSTOP: the node stops (it neither serves nor takes part in Raft) until `resume`.
    pub fn pause(&mut self) -> anyhow::Result<()> {
        self.process.pause()
    }

    /// SIGCONT after `pause`.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.process.resume()
    }

    /// Graceful stop: SIGTERM and wait.
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        self.process.terminate(timeout).await
    }

    /// Start again with the same data dir and arguments.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process.set_args(self.spec.args());
        self.process.restart()
    }

    /// Run `binary` (`None`: the build under test) from the next restart on, with the same
    /// data dir and arguments: a node upgraded (or downgraded) in place.
    pub fn set_binary(&mut self, binary: Option<PathBuf>) -> anyhow::Result<()> {
        let path = match &binary {
            Some(binary) => binary.clone(),
            None => edgebase_binary()?,
        };
        self.process.set_binary(&path);
        self.spec.binary = binary;
        Ok(())
    }

    /// Change `--join` for the next restart.
    pub fn set_join(&mut self, join: Option<SocketAddr>) {
        self.spec.join = join;
    }

    /// Delete the data dir (certificates live elsewhere and stay); the node must be stopped.
    pub fn wipe_data(&mut self) -> anyhow::Result<()> {
        if self.process.is_running() {
            bail!(
                "{} is running; stop it before wiping its data",
                self.spec.name
            );
        }
        match std::fs::remove_dir_all(&self.spec.data_dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => {
                Err(error).with_context(|| format!("wipe {}", self.spec.data_dir.display()))
            }
        }
    }

    /// The process id of the running process, if it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    /// The whole log so far (for grepping in assertions).
    pub fn log_text(&self) -> anyhow::Result<String> {
        let bytes = std::fs::read(self.process.log_path())
            .with_context(|| format!("read {}", self.process.log_path().display()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
