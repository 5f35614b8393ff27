//! `ChildProcess`: a server process started by the bench, killed when it is dropped (on
//! success, on error, on Ctrl-C and on panic), with its output in a log file.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;

/// Bytes of a log file shown when a process fails.
const LOG_TAIL_BYTES: u64 = 4 * 1024;

/// A running server process.
pub struct ChildProcess {
    name: String,
    child: tokio::process::Child,
    log_path: PathBuf,
}

impl ChildProcess {
    /// Start `program args...` with stdout and stderr appended to `log_path`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log_path: &Path,
    ) -> anyhow::Result<ChildProcess> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("open log {}", log_path.display()))?;
        let log_for_stderr = log.try_clone().context("duplicate log handle")?;
        let child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {name} ({})", program.display()))?;
        Ok(ChildProcess {
            name: name.to_owned(),
            child,
            log_path: log_path.to_owned(),
        })
    }

    /// An error if the process has exited, with the end of its log.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait().context("poll child")? {
            anyhow::bail!(
                "{} exited ({status}); end of its log:\n{}",
                self.name,
                self.log_tail()
            );
        }
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last few KiB of the process's log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }

    /// SIGKILL (tokio's `kill`) and wait for the exit.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("kill -9 {}", self.name))
    }

    /// Kill the process and wait for it to exit.
    pub async fn stop(mut self) {
        if let Err(error) = self.child.kill().await {
            eprintln!("stop {}: {error}", self.name);
        }
    }
}

/// The last `LOG_TAIL_BYTES` of a file, lossily decoded.
pub fn log_tail(path: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let length = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES)));
    let mut bytes = Vec::new();
    let _ = file.take(LOG_TAIL_BYTES).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Run `program args...` to completion; an error with its output if it fails.
pub async fn run_to_completion(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("run {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        anyhow::bail!(
            "{} {} failed ({}): {}{}",
            program.display(),
            args.join(" "),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}
