//! `Cli`: one-shot `edgebase` (or `pocketbase`) subcommands with a timeout.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::binary::edgebase_binary;

/// Longest a one-shot command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The output of a command that exited successfully.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub stdout: String,
    pub stderr: String,
}

/// Runs the operator commands of one executable.
#[derive(Debug, Clone)]
pub struct Cli {
    binary: PathBuf,
}

impl Cli {
    /// The `edgebase` binary found by `edgebase_binary`.
    pub fn edgebase() -> anyhow::Result<Cli> {
        Ok(Cli {
            binary: edgebase_binary()?,
        })
    }

    pub fn with_binary(binary: PathBuf) -> Cli {
        Cli { binary }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Run with `args`; fail (with both outputs) unless it exits 0 within `COMMAND_TIMEOUT`.
    pub async fn run<I, S>(&self, args: I) -> anyhow::Result<CommandOutput>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_env(args, &[]).await
    }

    pub async fn run_with_env<I, S>(
        &self,
        args: I,
        env: &[(&str, &str)],
    ) -> anyhow::Result<CommandOutput>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args
            .into_iter()
            .map(|arg| arg.as_ref().to_os_string())
            .collect();
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let shown = format!("{} {:?}", self.binary.display(), args);
        let child = command.spawn().with_context(|| format!("spawn {shown}"))?;
        let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
            .await
            .with_context(|| format!("{shown} still running after {COMMAND_TIMEOUT:?}"))?
            .with_context(|| format!("wait for {shown}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            bail!(
                "{shown} failed with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                output.status
            );
        }
        Ok(CommandOutput { stdout, stderr })
    }

    /// `edgebase certs ca --out DIR`.
    pub async fn certs_ca(&self, out: &Path) -> anyhow::Result<()> {
        self.run([
            OsStr::new("certs"),
            OsStr::new("ca"),
            OsStr::new("--out"),
            out.as_os_str(),
        ])
        .await
        .map(|_| ())
    }

    /// `edgebase certs node --ca DIR --node-id N --out DIR --host 127.0.0.1`.
    pub async fn certs_node(&self, ca: &Path, node_id: u64, out: &Path) -> anyhow::Result<()> {
        let node_id = node_id.to_string();
        self.run([
            OsStr::new("certs"),
            OsStr::new("node"),
            OsStr::new("--ca"),
            ca.as_os_str(),
            OsStr::new("--node-id"),
            OsStr::new(&node_id),
            OsStr::new("--out"),
            out.as_os_str(),
            OsStr::new("--host"),
            OsStr::new("127.0.0.1"),
        ])
        .await
        .map(|_| ())
    }

    /// `superuser upsert EMAIL PASSWORD --dir DIR` (the same words for PocketBase).
    pub async fn superuser_upsert(
        &self,
        dir: &Path,
        email: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        self.run([
            OsStr::new("superuser"),
            OsStr::new("upsert"),
            OsStr::new(email),
            OsStr::new(password),
            OsStr::new("--dir"),
            dir.as_os_str(),
        ])
        .await
        .map(|_| ())
    }

    /// `edgebase hooks deploy --node URL FOLDER` as the harness superuser; what it said.
    pub async fn deploy_hooks(
        &self,
        node_url: &str,
        folder: &std::path::Path,
    ) -> anyhow::Result<CommandOutput> {
        let folder = folder.to_str().context("a hooks folder's path")?;
        self.run_with_env(
            ["hooks", "deploy", "--node", node_url, folder],
            &crate::superuser_env(),
        )
        .await
    }

    /// `edgebase cluster status --node URL --json`, authenticated through the environment.
    pub async fn cluster_status_json(
        &self,
        http_addr: SocketAddr,
        email: &str,
        password: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let node = format!("http://{http_addr}");
        let output = self
            .run_with_env(
                ["cluster", "status", "--node", node.as_str(), "--json"],
                &[
                    ("EDGEBASE_SUPERUSER_EMAIL", email),
                    ("EDGEBASE_SUPERUSER_PASSWORD", password),
                ],
            )
            .await?;
        serde_json::from_str(output.stdout.trim())
            .with_context(|| format!("parse `cluster status --json` output {:?}", output.stdout))
    }
}
