//! `wait_until`: poll a condition until it holds or a deadline passes.

use std::future::Future;
use std::time::Duration;

use anyhow::bail;
use tokio::time::Instant;

/// Poll `probe` until it returns `Ok(Some(value))`, or fail once `timeout` has passed. An
/// `Err` from the probe counts as "not yet" (nodes restart, elections happen); the last one
/// is reported if the deadline passes.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(50);
    let mut last_error = None;
    let mut attempts: u64 = 0;
    loop {
        attempts += 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining.max(Duration::from_millis(10)), probe()).await {
            Ok(Ok(Some(value))) => return Ok(value),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => last_error = Some(error),
            Err(_) => last_error = Some(anyhow::anyhow!("probe still running at the deadline")),
        }
        if Instant::now() >= deadline {
            match last_error {
                Some(error) => bail!(
                    "timed out after {timeout:?} ({attempts} attempts) waiting for {what}; \
                     last error: {error:#}"
                ),
                None => {
                    bail!("timed out after {timeout:?} ({attempts} attempts) waiting for {what}")
                }
            }
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
        interval = (interval * 2).min(Duration::from_millis(500));
    }
}
