//! Runs a Node.js script of `tests/conformance/sdk/` (the unmodified PocketBase JS SDK and
//! friends) against one server, with the environment the scripts read, bounded in time;
//! its output is printed, and a failure carries it and the server's log.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cluster::{SUPERUSER_EMAIL, SUPERUSER_PASSWORD};

/// Longest one script run may take.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The directory of the npm packages and the scripts.
pub fn conformance_dir() -> PathBuf {
    crate::package_dir().join("conformance")
}

/// One run of a script.
pub struct NodeScript<'a> {
    /// The file in `tests/conformance/sdk/`.
    pub script: &'a str,
    /// `EDGEBASE_URL`: the server the script talks to.
    pub url: String,
    /// `TARGET_KIND`: `edgebase` or `pocketbase`.
    pub kind: String,
    /// More variables for this script.
    pub env: Vec<(String, String)>,
}

impl NodeScript<'_> {
    /// Run it; `server_log` gives the server's log for a failure's message.
    pub async fn run(&self, server_log: impl FnOnce() -> String) -> anyhow::Result<()> {
        let dir = conformance_dir();
        if !dir.join("node_modules/pocketbase").is_dir() {
            bail!(
                "the pocketbase npm package is not installed: run tests/run-all.sh, or `npm install` in {}",
                dir.display()
            );
        }
        let script = self.script;
        let mut command = tokio::process::Command::new("node");
        command
            // Node 20's EventSource, which the SDK's realtime service needs.
            .arg("--experimental-eventsource")
            .arg(dir.join("sdk").join(script))
            .env("TARGET_KIND", &self.kind)
            .current_dir(&dir)
            .env("EDGEBASE_URL", &self.url)
            .env("SUPERUSER_EMAIL", SUPERUSER_EMAIL)
            .env("SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .context("start node (is Node.js installed?)")?;
        let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
            .await
            .with_context(|| {
                format!(
                    "{script} against {} took longer than {SCRIPT_TIMEOUT:?}",
                    self.kind
                )
            })?
            .context("wait for node")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("--- {script} against {}:\n{stdout}{stderr}", self.kind);
        if !output.status.success() {
            bail!(
                "{script} failed against {} ({}):\n{stdout}{stderr}\nserver log:\n{}",
                self.kind,
                output.status,
                server_log()
            );
        }
        Ok(())
    }
}
