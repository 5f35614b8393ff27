//! `Workload`: what each connection does in a load run, and the run itself (fixed
//! connections, warm-up, measured window, one histogram per connection merged at the end).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;

use crate::connection_tally::{self, ConnectionTally};
use crate::driver::Driver;
use crate::measurement::Measurement;

/// Most connections one run opens.
pub const CONNECTIONS_MAX: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Create records (etcd: put a new key).
    Create,
    /// Get records by id (etcd: serializable range of one key), created up front.
    Get,
    /// 90% gets, 10% creates.
    Mixed,
}

impl Workload {
    pub fn label(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Get => "get by id",
            Workload::Mixed => "mixed 90/10",
        }
    }

    /// Whether the run needs records created before it starts.
    pub fn needs_preload(self) -> bool {
        !matches!(self, Workload::Create)
    }
}

/// How long and how wide one run is.
#[derive(Debug, Clone, Copy)]
pub struct LoadShape {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Run `workload` against `driver`: every connection issues one request at a time for the
/// warm-up and then the measured window; only requests started in the window are counted.
/// `ids` are the preloaded record ids (or keys) reads pick from; must be non-empty for
/// workloads that read.
pub async fn run_load(
    driver: Arc<Driver>,
    workload: Workload,
    ids: Arc<Vec<String>>,
    shape: LoadShape,
) -> anyhow::Result<Measurement> {
    if shape.connections == 0 || shape.connections > CONNECTIONS_MAX {
        anyhow::bail!("connections must be 1..={CONNECTIONS_MAX}");
    }
    if workload.needs_preload() && ids.is_empty() {
        anyhow::bail!("{} needs preloaded records", workload.label());
    }
    let start = Instant::now();
    let warmup_end = start + shape.warmup;
    let end = warmup_end + shape.duration;
    let mut workers = Vec::with_capacity(shape.connections);
    for worker in 0..shape.connections {
        let (driver, ids) = (Arc::clone(&driver), Arc::clone(&ids));
        workers.push(tokio::spawn(async move {
            let mut tally = ConnectionTally::default();
            let mut n = 0usize;
            // Spread connections over the preloaded ids so they do not read in lockstep.
            let offset = worker.wrapping_mul(7919);
            while Instant::now() < end {
                n += 1;
                let name = format!("w{worker}-{n}");
                let began = Instant::now();
                let outcome = match workload {
                    Workload::Create => driver.write(&name).await.map(|_| ()),
                    Workload::Get => driver.read(&ids[(offset + n) % ids.len()]).await,
                    Workload::Mixed if n.is_multiple_of(10) => {
                        driver.write(&name).await.map(|_| ())
                    }
                    Workload::Mixed => driver.read(&ids[(offset + n) % ids.len()]).await,
                };
                if began < warmup_end {
                    continue;
                }
                tally.record(began, outcome);
            }
            tally
        }));
    }
    connection_tally::merge(workers, shape.duration.as_secs_f64()).await
}

/// Create `count` records (keys) through `driver` with `parallelism` concurrent requests.
pub async fn preload(
    driver: Arc<Driver>,
    count: usize,
    parallelism: usize,
) -> anyhow::Result<Vec<String>> {
    let parallelism = parallelism.clamp(1, CONNECTIONS_MAX);
    let mut tasks = Vec::with_capacity(parallelism);
    for task in 0..parallelism {
        let driver = Arc::clone(&driver);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in (task..count).step_by(parallelism) {
                ids.push(driver.write(&format!("preload-{n}")).await?);
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::with_capacity(count);
    for task in tasks {
        ids.extend(task.await??);
    }
    Ok(ids)
}
