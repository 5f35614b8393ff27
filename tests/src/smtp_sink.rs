//! A real SMTP server for tests: the `aiosmtpd` sink in `tests/smtp/sink.py`, started by
//! the test, writing each mail it receives as a JSON file (`from`, `to`, `subject`, bodies).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{ensure, Context};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{free_addr, wait_until};

/// How long a mail may take to arrive at the sink.
pub const MAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// The SMTP sink process; killed when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    /// Start the sink, writing each mail as JSON under `root/mail`.
    pub async fn start(root: &Path) -> anyhow::Result<SmtpSink> {
        let port = free_addr()?.port();
        let dir = root.join("mail");
        let script = crate::package_dir().join("smtp/sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("start the SMTP sink (python3 with aiosmtpd, see tests/run-all.sh)")?;
        let stdout = child.stdout.take().context("sink stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .context("the SMTP sink did not start in time")?
            .context("read the SMTP sink's first line")?;
        ensure!(
            ready.as_deref() == Some("ready"),
            "SMTP sink said {ready:?}"
        );
        Ok(SmtpSink { child, port, dir })
    }

    /// Every mail received so far, in arrival order.
    pub fn mails(&self) -> anyhow::Result<Vec<Value>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .with_context(|| format!("read {}", self.dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(name)
                    .with_context(|| format!("read {}", name.display()))?;
                serde_json::from_str(&text).with_context(|| format!("parse {}", name.display()))
            })
            .collect()
    }

    /// Every mail to `address` so far, in arrival order.
    pub fn mails_to(&self, address: &str) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .mails()?
            .into_iter()
            .filter(|mail| {
                mail["to"]
                    .as_array()
                    .is_some_and(|to| to.iter().any(|a| a == address))
            })
            .collect())
    }

    /// Wait for mail number `count` (1-based) to `address` and return it.
    pub async fn wait_mail(&self, address: &str, count: usize) -> anyhow::Result<Value> {
        wait_until(
            &format!("mail {count} to {address}"),
            MAIL_TIMEOUT,
            || async { Ok(self.mails_to(address)?.into_iter().nth(count - 1)) },
        )
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Err(error) = self.child.start_kill() {
            eprintln!("stop the SMTP sink: {error}");
        }
    }
}
