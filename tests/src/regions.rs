//! `Regions`: drives `deploy/regions/regions.sh`, an EdgeBase cluster across simulated regions
//! (one network namespace per node, delay between regions), and always tears it down.
//!
//! The test process reaches the nodes directly over HTTP: `regions.sh up` gives the root
//! namespace an address on the nodes' private /24 (device `eb-host`), with no delay to any
//! node, so the test plays a client standing next to whichever node it talks to.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::binary::edgebase_binary;
use crate::cli::{Cli, CommandOutput};

/// Whether a node votes or only replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionRole {
    Voter,
    Learner,
}

/// One node of the topology, as `regions.sh nodes` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionNode {
    pub name: String,
    pub id: u64,
    pub region: String,
    pub role: RegionRole,
    pub address: String,
}

impl RegionNode {
    pub fn http_url(&self) -> String {
        format!("http://{}:{}", self.address, Regions::HTTP_PORT)
    }
}

/// A running harness. Dropping it runs `regions.sh down --keep-logs` (node logs stay under
/// the state dir so a failing test can print them; everything else is removed).
#[derive(Debug)]
pub struct Regions {
    script: Cli,
    state_dir: PathBuf,
    edgebase: PathBuf,
    nodes: Vec<RegionNode>,
    /// Added to every `serve` the script starts (`EB_NODE_ARGS`).
    node_args: Vec<String>,
    is_down: bool,
}

impl Regions {
    /// The HTTP port every node listens on inside its namespace.
    pub const HTTP_PORT: u16 = 8090;

    /// `deploy/regions/regions.sh` of this checkout.
    pub fn script_path() -> PathBuf {
        crate::package_dir()
            .join("..")
            .join("deploy")
            .join("regions")
            .join("regions.sh")
    }

    /// Why the harness cannot run here (not root, or `ip netns` missing), if it cannot.
    pub fn unavailable_reason() -> Option<String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            return Some(format!(
                "not root (euid {euid}); network namespaces need root"
            ));
        }
        match Command::new("ip")
            .args(["netns", "list"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => None,
            Ok(status) => Some(format!("`ip netns list` failed ({status})")),
            Err(error) => Some(format!("`ip netns` is unavailable: {error}")),
        }
    }

    /// `regions.sh up [--nodes SPEC]` with state under `state_dir`, then read the topology.
    pub async fn up(state_dir: &Path, nodes_spec: Option<&str>) -> anyhow::Result<Regions> {
        let mut regions = Regions {
            script: Cli::with_binary(Self::script_path()),
            state_dir: state_dir.to_owned(),
            edgebase: edgebase_binary()?,
            nodes: Vec::new(),
            node_args: Vec::new(),
            is_down: false,
        };
        let mut args = vec!["up".to_owned()];
        if let Some(spec) = nodes_spec {
            args.extend(["--nodes".to_owned(), spec.to_owned()]);
        }
        regions.run(&args).await.context("regions.sh up")?;
        let topology = regions.run(&["nodes"]).await?.stdout;
        regions.nodes = parse_topology(&topology)?;
        Ok(regions)
    }

    /// Arguments every node started from now on gets (no spaces inside one argument).
    pub fn set_node_args(&mut self, args: &[&str]) {
        self.node_args = args.iter().map(|arg| (*arg).to_owned()).collect();
    }

    /// `regions.sh start`: certificates, every node, and a wait until all are members.
    pub async fn start(&self) -> anyhow::Result<CommandOutput> {
        self.run(&["start"]).await.context("regions.sh start")
    }

    /// `regions.sh partition NODE|REGION`.
    pub async fn partition(&self, target: &str) -> anyhow::Result<()> {
        self.run(&["partition", target]).await.map(|_| ())
    }

    /// `regions.sh heal`.
    pub async fn heal(&self) -> anyhow::Result<()> {
        self.run(&["heal"]).await.map(|_| ())
    }

    /// `regions.sh cut A B [--one-way]`: drop packets between two nodes or regions (from
    /// `from` to `to` only, when one way).
    pub async fn cut(&self, from: &str, to: &str, one_way: bool) -> anyhow::Result<()> {
        let mut args = vec!["cut", from, to];
        if one_way {
            args.push("--one-way");
        }
        self.run(&args).await.map(|_| ())
    }

    /// `regions.sh loss PCT`: node-to-node loss until `heal`.
    pub async fn set_loss(&self, percent: f64) -> anyhow::Result<()> {
        self.run(&["loss".to_owned(), percent.to_string()])
            .await
            .map(|_| ())
    }

    /// `regions.sh delay US`: extra one-way delay on node-to-node packets until `heal`.
    pub async fn set_extra_delay(&self, delay: std::time::Duration) -> anyhow::Result<()> {
        self.run(&["delay".to_owned(), delay.as_micros().to_string()])
            .await
            .map(|_| ())
    }

    /// `regions.sh kill NODE SIGNAL` (`KILL` waits until the process is gone).
    pub async fn signal(&self, node: &str, signal: &str) -> anyhow::Result<()> {
        self.run(&["kill", node, signal]).await.map(|_| ())
    }

    /// `regions.sh restart NODE [--learner] [--join NODE]`: start a stopped node again and
    /// wait until it answers health; `join` makes a wiped node join through that member.
    pub async fn restart(
        &self,
        node: &str,
        as_learner: bool,
        join: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut args = vec!["restart", node];
        if as_learner {
            args.push("--learner");
        }
        if let Some(join) = join {
            args.extend(["--join", join]);
        }
        self.run(&args).await.map(|_| ())
    }

    /// `regions.sh wipe NODE`: delete a stopped node's data dir.
    pub async fn wipe(&self, node: &str) -> anyhow::Result<()> {
        self.run(&["wipe", node]).await.map(|_| ())
    }

    /// The node's log file.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.state_dir.join("nodes").join(name).join("node.log")
    }

    /// `regions.sh exec NODE CMD...`: run a command inside a node's namespace.
    pub async fn exec(&self, node: &str, command: &[&str]) -> anyhow::Result<CommandOutput> {
        let mut args = vec!["exec", node];
        args.extend_from_slice(command);
        self.run(&args).await
    }

    /// The configured round trip between two regions, in milliseconds.
    pub async fn rtt_ms(&self, first: &str, second: &str) -> anyhow::Result<u64> {
        let output = self.run(&["rtt", first, second]).await?;
        output
            .stdout
            .trim()
            .parse()
            .with_context(|| format!("parse `regions.sh rtt` output {:?}", output.stdout))
    }

    pub fn nodes(&self) -> &[RegionNode] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> anyhow::Result<&RegionNode> {
        self.nodes
            .iter()
            .find(|node| node.name == name)
            .with_context(|| format!("no node {name} in the topology"))
    }

    /// The data dir of a node (for `superuser upsert --dir`).
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.state_dir.join("nodes").join(name).join("data")
    }

    /// The `edgebase` binary the nodes run.
    pub fn edgebase(&self) -> &Path {
        &self.edgebase
    }

    /// `regions.sh down --keep-logs`, reporting failure (Drop does the same, quietly).
    pub async fn down(mut self) -> anyhow::Result<()> {
        self.is_down = true;
        self.run(&["down", "--keep-logs"]).await.map(|_| ())
    }

    /// Run the script with `args`, with the state dir and binary in its environment.
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> anyhow::Result<CommandOutput> {
        let args: Vec<OsString> = args.iter().map(|arg| arg.as_ref().into()).collect();
        let state_dir = self.state_dir.display().to_string();
        let edgebase = self.edgebase.display().to_string();
        let node_args = self.node_args.join(" ");
        self.script
            .run_with_env(
                args,
                &[
                    ("EB_REGIONS_DIR", state_dir.as_str()),
                    ("EDGEBASE_BIN", edgebase.as_str()),
                    ("EB_NODE_ARGS", node_args.as_str()),
                ],
            )
            .await
    }
}

impl Drop for Regions {
    fn drop(&mut self) {
        if self.is_down {
            return;
        }
        let outcome = Command::new(Self::script_path())
            .args(["down", "--keep-logs"])
            .env("EB_REGIONS_DIR", &self.state_dir)
            .stdin(Stdio::null())
            .output();
        match outcome {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "regions.sh down failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => eprintln!("could not run regions.sh down: {error}"),
        }
    }
}

/// Lines `NAME ID REGION ROLE ADDRESS`.
fn parse_topology(text: &str) -> anyhow::Result<Vec<RegionNode>> {
    let mut nodes = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, id, region, role, address] = fields[..] else {
            bail!("topology line {line:?} does not have five fields");
        };
        let role = match role {
            "voter" => RegionRole::Voter,
            "learner" => RegionRole::Learner,
            other => bail!("unknown role {other:?} in {line:?}"),
        };
        nodes.push(RegionNode {
            name: name.to_owned(),
            id: id.parse().with_context(|| format!("node id in {line:?}"))?,
            region: region.to_owned(),
            role,
            address: address.to_owned(),
        });
    }
    if nodes.is_empty() {
        bail!("empty topology");
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::{parse_topology, RegionRole};

    #[test]
    fn topology_lines() {
        let nodes = parse_topology("n1 1 eu voter 10.250.77.1\nn4 4 ap learner 10.250.77.4\n")
            .expect("valid topology");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].role, RegionRole::Learner);
        assert_eq!(nodes[1].http_url(), "http://10.250.77.4:8090");
        for bad in [
            "",
            "n1 1 eu voter",
            "n1 x eu voter 10.0.0.1",
            "n1 1 eu boss 10.0.0.1",
        ] {
            assert!(parse_topology(bad).is_err(), "{bad:?}");
        }
    }
}
