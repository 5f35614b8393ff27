//! `run_list_load`: time one `ListQuery` against one server: a fixed number of connections,
//! each one request at a time, for a warm-up and then a measured window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::connection_tally::{self, ConnectionTally};
use crate::items_client::ItemsClient;
use crate::list_query::ListQuery;
use crate::measurement::Measurement;
use crate::workload::CONNECTIONS_MAX;

/// How wide and how long one list run is.
#[derive(Debug, Clone, Copy)]
pub struct ListShape {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Run `query` with `shape`; connection `k` draws its parameters from seed `seed + k`.
pub async fn run_list_load(
    client: Arc<ItemsClient>,
    query: ListQuery,
    shape: ListShape,
    seed: u64,
) -> anyhow::Result<Measurement> {
    if shape.connections == 0 || shape.connections > CONNECTIONS_MAX {
        anyhow::bail!("connections must be 1..={CONNECTIONS_MAX}");
    }
    let warmup_end = Instant::now() + shape.warmup;
    let end = warmup_end + shape.duration;
    let mut workers = Vec::with_capacity(shape.connections);
    for worker in 0..shape.connections {
        let client = Arc::clone(&client);
        let worker_seed = seed.wrapping_add(worker as u64);
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker_seed);
            let mut tally = ConnectionTally::default();
            while Instant::now() < end {
                let params = query.params(&mut rng);
                let began = Instant::now();
                let outcome = client.list(&params).await;
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
