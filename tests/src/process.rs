//! `ServerProcess`: a long-running server child with its output in a log file; killed on drop.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::wait::wait_until;

/// Bytes read from the end of a log for `log_tail`.
const LOG_TAIL_BYTES_MAX: u64 = 64 * 1024;

/// One server process (EdgeBase or PocketBase) serving HTTP on `http_addr`.
#[derive(Debug)]
pub struct ServerProcess {
    name: String,
    binary: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    http_addr: SocketAddr,
    log_path: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl ServerProcess {
    /// Start `binary args...`; stdout and stderr are appended to `log_path`.
    pub fn start(
        name: &str,
        binary: &Path,
        args: Vec<String>,
        env: Vec<(String, String)>,
        http_addr: SocketAddr,
        log_path: PathBuf,
    ) -> anyhow::Result<ServerProcess> {
        let mut process = ServerProcess {
            name: name.to_owned(),
            binary: binary.to_owned(),
            args,
            env,
            http_addr,
            log_path,
            child: None,
            starts: 0,
        };
        process.spawn()?;
        Ok(process)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Replace the executable the next `restart` runs (an upgrade in place).
    pub fn set_binary(&mut self, binary: &Path) {
        self.binary = binary.to_owned();
    }

    /// Replace the arguments used by the next `restart`.
    pub fn set_args(&mut self, args: Vec<String>) {
        self.args = args;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the child has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The exit status if the child has exited (`None` while running or never started).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("{} is already running", self.name);
        }
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("open log {}", self.log_path.display()))?;
        writeln!(
            log,
            "===== harness: start #{} of {}: {} {}",
            self.starts,
            self.name,
            self.binary.display(),
            self.args.join(" ")
        )
        .context("write to the log")?;
        let stderr = log.try_clone().context("clone the log handle")?;
        let mut command = Command::new(&self.binary);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr));
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        command.env("NO_COLOR", "1");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        // SAFETY: the closure runs in the forked child before exec and only calls prctl,
        // which is async-signal-safe. It makes the kernel kill the server if the test
        // process dies without running destructors, so no orphan keeps its ports.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("spawn {} ({})", self.name, self.binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Wait until `GET /api/health` answers 200; fail early if the process exits.
    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let url = format!("{}/api/health", self.http_url());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .context("build an HTTP client")?;
        let name = self.name.clone();
        let this = &mut *self;
        wait_until(&format!("{name} to be healthy"), timeout, || {
            let exited = this.exit_status();
            let request = http.get(&url).send();
            let name = name.clone();
            async move {
                if let Some(status) = exited {
                    return Err(anyhow::anyhow!("{name} exited with {status}"));
                }
                match request.await {
                    Ok(response) if response.status().is_success() => Ok(Some(())),
                    Ok(response) => Err(anyhow::anyhow!("health answered {}", response.status())),
                    Err(error) => Err(error.into()),
                }
            }
        })
        .await
        .map_err(|error| {
            let exited = self.exit_status();
            match exited {
                Some(status) => anyhow::anyhow!(
                    "{} exited with {status} before it was healthy\n{}",
                    self.name,
                    self.log_tail(40)
                ),
                None => error.context(self.log_tail(40)),
            }
        })
    }

    /// SIGKILL and reap: the process gets no chance to flush or say goodbye.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                child
                    .kill()
                    .with_context(|| format!("kill {}", self.name))?;
            }
            child
                .wait()
                .with_context(|| format!("reap {}", self.name))?;
            self.note("killed with SIGKILL");
        }
        Ok(())
    }

    /// SIGTERM, then wait for the exit (SIGKILL if it takes longer than `timeout`).
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let Some(pid) = self.pid() else {
            bail!("{} is not running", self.name);
        };
        let pid = libc::pid_t::try_from(pid).context("pid fits pid_t")?;
        // SAFETY: kill(2) with a pid of our own unreaped child; no memory is shared.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("SIGTERM {}: {}", self.name, std::io::Error::last_os_error());
        }
        let name = self.name.clone();
        let this = &mut *self;
        let waited = wait_until(&format!("{name} to exit after SIGTERM"), timeout, || {
            let status = this.exit_status();
            async move { Ok(status) }
        })
        .await;
        match waited {
            Ok(status) => {
                self.child = None;
                self.note(&format!("exited after SIGTERM with {status}"));
                Ok(status)
            }
            Err(error) => {
                self.kill9()?;
                Err(error)
            }
        }
    }

    /// SIGSTOP: the process stops running (timers, Raft, HTTP) while the kernel still queues
    /// what peers and clients send it; `resume` lets it go on. Dropping a paused process
    /// still kills it (SIGKILL needs no cooperation).
    pub fn pause(&mut self) -> anyhow::Result<()> {
        self.signal(libc::SIGSTOP, "SIGSTOP")?;
        self.note("paused with SIGSTOP");
        Ok(())
    }

    /// SIGCONT after `pause`.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.signal(libc::SIGCONT, "SIGCONT")?;
        self.note("resumed with SIGCONT");
        Ok(())
    }

    fn signal(&mut self, signal: libc::c_int, name: &str) -> anyhow::Result<()> {
        if !self.is_running() {
            bail!("{} is not running", self.name);
        }
        let pid = self.pid().context("a running process has a pid")?;
        let pid = libc::pid_t::try_from(pid).context("pid fits pid_t")?;
        // SAFETY: kill(2) with a pid of our own unreaped child; no memory is shared.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("{name} {}: {}", self.name, std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Start again with the same binary, arguments and log (it must have stopped).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("{} is still running; stop it before restart", self.name);
        }
        self.child = None;
        self.spawn()
    }

    /// The last `lines` lines of the log, headed by its path.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }

    fn note(&self, message: &str) {
        if let Ok(mut log) = OpenOptions::new().append(true).open(&self.log_path) {
            // A note that cannot be written only makes the log less helpful.
            let _ = writeln!(log, "===== harness: {} {message}", self.name);
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Best effort: the process may already be gone.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The last `lines` lines of a log file (reading at most its last 64 KiB).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    let read = File::open(path).and_then(|mut file| {
        let length = file.metadata()?.len();
        file.seek(SeekFrom::Start(length.saturating_sub(LOG_TAIL_BYTES_MAX)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(())
    });
    if let Err(error) = read {
        return format!("----- {} (unreadable: {error})", path.display());
    }
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    format!(
        "----- last {} lines of {}\n{}",
        all.len() - start,
        path.display(),
        all[start..].join("\n")
    )
}
