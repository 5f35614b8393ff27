//! `run_test`: a test body with an overall timeout, its own temp dir, and node logs printed
//! (and the dir kept) when it fails.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::log_tail;

/// The logs the harness writes (a data dir's own `*.log` files, RocksDB's WAL among them,
/// are not for reading).
const HARNESS_LOG_NAMES: &[&str] = &["node.log", "server.log"];

/// Lines of each log printed when a test fails.
const FAILURE_LOG_LINES: usize = 80;

/// What a test body gets: a directory for its nodes' data, certificates and logs.
#[derive(Debug, Clone)]
pub struct TestContext {
    pub name: String,
    pub root: PathBuf,
}

impl TestContext {
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Run `body` on the tokio runtime with an overall `timeout`. Processes the body started are
/// killed when it ends, fails, panics or times out (their handles are dropped). On failure
/// the tails of every node's and server's log under the test dir are printed and the dir
/// is kept.
pub async fn run_test<F, Fut>(name: &str, timeout: Duration, body: F)
where
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let dir = tempfile::Builder::new()
        .prefix(&format!("edgebase-{name}-"))
        .tempdir()
        .expect("create the test's temp dir");
    let context = TestContext {
        name: name.to_owned(),
        root: dir.path().to_owned(),
    };
    let task = tokio::spawn(body(context));
    let abort = task.abort_handle();
    let failure = match tokio::time::timeout(timeout, task).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(error))) => Some(format!("{error:#}")),
        Ok(Err(join_error)) if join_error.is_panic() => {
            let panic = join_error.into_panic();
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_else(|| "non-string panic".to_owned());
            Some(format!("panicked: {message}"))
        }
        Ok(Err(join_error)) => Some(format!("task failed: {join_error}")),
        Err(_) => {
            abort.abort();
            // Give the aborted task's destructors (which kill processes) a moment to run.
            tokio::task::yield_now().await;
            Some(format!("timed out after {timeout:?}"))
        }
    };
    let Some(failure) = failure else {
        return;
    };
    let mut logs = Vec::new();
    collect_logs(dir.path(), &mut logs);
    logs.sort();
    for log in &logs {
        eprintln!("{}", log_tail(log, FAILURE_LOG_LINES));
    }
    let kept = dir.keep();
    panic!(
        "test {name} failed: {failure}\n(test dir kept at {})",
        kept.display()
    );
}

fn collect_logs(dir: &Path, logs: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_logs(&path, logs);
        } else if path
            .file_name()
            .is_some_and(|name| HARNESS_LOG_NAMES.iter().any(|log| name == *log))
        {
            logs.push(path);
        }
    }
}
