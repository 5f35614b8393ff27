//! `Measurement`: what one load run reports (throughput and latency percentiles).

use hdrhistogram::Histogram;

/// Latencies in microseconds, 1 µs to 60 s, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds are valid")
}

/// The result of one measured run.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Successful requests finished in the measured window.
    pub requests: u64,
    /// Failed requests started in the measured window.
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    pub duration_secs: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
}

impl Measurement {
    pub fn from_histogram(
        histogram: &Histogram<u64>,
        errors: u64,
        first_error: Option<String>,
        duration_secs: f64,
    ) -> Measurement {
        Measurement {
            requests: histogram.len(),
            errors,
            first_error,
            duration_secs,
            p50_us: histogram.value_at_quantile(0.5),
            p90_us: histogram.value_at_quantile(0.9),
            p99_us: histogram.value_at_quantile(0.99),
            p999_us: histogram.value_at_quantile(0.999),
        }
    }

    /// Successful requests per second.
    pub fn throughput_per_sec(&self) -> f64 {
        if self.duration_secs > 0.0 {
            self.requests as f64 / self.duration_secs
        } else {
            0.0
        }
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        format!(
            "requests={} errors={} throughput={:.0}/s p50={} p90={} p99={} p99.9={}",
            self.requests,
            self.errors,
            self.throughput_per_sec(),
            format_ms(self.p50_us),
            format_ms(self.p90_us),
            format_ms(self.p99_us),
            format_ms(self.p999_us)
        )
    }
}

/// Microseconds as milliseconds with two decimals, e.g. `1.25 ms`.
pub fn format_ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}
