//! Waiting for a server to come up, with a deadline.

use std::time::{Duration, Instant};

use crate::child_process::ChildProcess;

/// Time between two readiness checks.
const POLL_INTERVAL_MS: u64 = 100;

/// Poll `url` with GET until it answers 2xx, `process` dies, or `timeout` passes.
pub async fn wait_http_ok(
    http: &reqwest::Client,
    url: &str,
    process: &mut ChildProcess,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        process.ensure_running()?;
        if let Ok(response) = http.get(url).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{url} not ready within {timeout:?}; end of the server log:\n{}",
                process.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
}

/// Call `check` until it returns `Ok(true)` or `timeout` passes (errors count as "not yet").
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = Some(error),
        }
        if Instant::now() >= deadline {
            match last_error {
                Some(error) => {
                    anyhow::bail!("{what}: not within {timeout:?} (last error: {error:#})")
                }
                None => anyhow::bail!("{what}: not within {timeout:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
}
