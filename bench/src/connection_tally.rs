//! `ConnectionTally`: what one load connection saw (latencies of successful requests, failed
//! requests, the first error), and the merge of every connection's tally into a
//! `Measurement`.

use std::time::Instant;

use hdrhistogram::Histogram;
use tokio::task::JoinHandle;

use crate::measurement::{latency_histogram, Measurement};

pub struct ConnectionTally {
    histogram: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Default for ConnectionTally {
    fn default() -> Self {
        ConnectionTally {
            histogram: latency_histogram(),
            errors: 0,
            first_error: None,
        }
    }
}

impl ConnectionTally {
    /// Count one request that began at `began`: its latency if it succeeded, else an error.
    pub fn record<T, E: std::fmt::Display>(&mut self, began: Instant, outcome: Result<T, E>) {
        match outcome {
            Ok(_) => self
                .histogram
                .saturating_record(u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)),
            Err(error) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
}

/// Wait for every connection and merge their tallies over a window of `duration_secs`.
pub async fn merge(
    connections: Vec<JoinHandle<ConnectionTally>>,
    duration_secs: f64,
) -> anyhow::Result<Measurement> {
    let mut total = latency_histogram();
    let mut errors = 0;
    let mut first_error = None;
    for connection in connections {
        let tally = connection.await?;
        total.add(tally.histogram)?;
        errors += tally.errors;
        if first_error.is_none() {
            first_error = tally.first_error;
        }
    }
    Ok(Measurement::from_histogram(
        &total,
        errors,
        first_error,
        duration_secs,
    ))
}
