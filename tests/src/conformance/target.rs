//! `Target`: a fresh server (PocketBase or EdgeBase) one scenario runs against.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::binary::{edgebase_binary, pocketbase_binary};
use crate::cli::Cli;
use crate::cluster::{SUPERUSER_EMAIL, SUPERUSER_PASSWORD};
use crate::ports::free_addr_pair;
use crate::process::ServerProcess;
use crate::raw::{RawBody, RawClient};

/// How long a fresh server may take to answer `/api/health`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    PocketBase,
    EdgeBase,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            TargetKind::PocketBase => "pocketbase",
            TargetKind::EdgeBase => "edgebase",
        })
    }
}

/// A running server with an empty data dir and one superuser, logged in.
#[derive(Debug)]
pub struct Target {
    pub kind: TargetKind,
    pub label: String,
    pub process: ServerProcess,
    pub client: RawClient,
    pub superuser_token: String,
}

impl Target {
    /// Start `kind` under `root/label` and log in as its superuser.
    pub async fn start(kind: TargetKind, root: &Path, label: &str) -> anyhow::Result<Target> {
        Target::start_with_env(kind, root, label, Vec::new()).await
    }

    /// [`Target::start`] with a `pb_hooks` folder (file name -> source) next to the data
    /// dir, where PocketBase and EdgeBase both look by default.
    pub async fn start_with_hooks(
        kind: TargetKind,
        root: &Path,
        label: &str,
        hooks: &std::collections::BTreeMap<String, String>,
    ) -> anyhow::Result<Target> {
        if !hooks.is_empty() {
            let dir = root.join(label).join("pb_hooks");
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            for (name, source) in hooks {
                std::fs::write(dir.join(name), source)
                    .with_context(|| format!("write the hook file {name}"))?;
            }
        }
        Target::start_with_env(kind, root, label, Vec::new()).await
    }

    /// [`Target::start`] with extra environment variables for the server process.
    pub async fn start_with_env(
        kind: TargetKind,
        root: &Path,
        label: &str,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Target> {
        let dir = root.join(label);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let data_dir = dir.join("data");
        let http_addr = free_addr_pair()?;
        let log_path = dir.join("server.log");
        let mut process = match kind {
            TargetKind::PocketBase => {
                let cli = Cli::with_binary(pocketbase_binary()?);
                cli.superuser_upsert(&data_dir, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
                    .await
                    .context("pocketbase superuser upsert")?;
                let args = vec![
                    "serve".to_owned(),
                    "--http".to_owned(),
                    http_addr.to_string(),
                    "--dir".to_owned(),
                    data_dir.display().to_string(),
                ];
                let mut process = ServerProcess::start(
                    label,
                    cli.binary(),
                    args,
                    env.clone(),
                    http_addr,
                    log_path,
                )?;
                process.wait_healthy(START_TIMEOUT).await?;
                process
            }
            TargetKind::EdgeBase => {
                let cli = Cli::with_binary(edgebase_binary()?);
                let args = vec![
                    "serve".to_owned(),
                    "--dir".to_owned(),
                    data_dir.display().to_string(),
                    "--http".to_owned(),
                    http_addr.to_string(),
                ];
                let mut process = ServerProcess::start(
                    label,
                    cli.binary(),
                    args,
                    env.clone(),
                    http_addr,
                    log_path,
                )?;
                process.wait_healthy(START_TIMEOUT).await?;
                cli.superuser_upsert(&data_dir, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
                    .await
                    .context("edgebase superuser upsert")?;
                process
            }
        };
        let client = RawClient::new(&process.http_url())?;
        let login = client
            .send(
                "POST",
                "/api/collections/_superusers/auth-with-password",
                None,
                RawBody::Json(json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD})),
                &[],
            )
            .await?;
        let superuser_token = login
            .json
            .as_ref()
            .and_then(|body| body.get("token"))
            .and_then(|token| token.as_str())
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "{label}: superuser login answered {}: {}\n{}",
                    login.status,
                    login.text,
                    process.log_tail(30)
                )
            })?;
        if !process.is_running() {
            anyhow::bail!("{label} exited after login\n{}", process.log_tail(30));
        }
        Ok(Target {
            kind,
            label: label.to_owned(),
            process,
            client,
            superuser_token,
        })
    }
}
