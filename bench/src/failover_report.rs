//! The markdown of a failover run, written between its own markers in `bench/RESULTS.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::failover_bench::Trial;

pub const BEGIN_MARKER: &str = "<!-- edgebase-bench failover: begin (generated) -->";
pub const END_MARKER: &str = "<!-- edgebase-bench failover: end -->";

pub struct FailoverReport {
    pub date: String,
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub seed: u64,
    pub trials: Vec<Trial>,
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent)
        .div_ceil(100)
        .clamp(1, sorted.len());
    sorted[rank - 1]
}

impl FailoverReport {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{BEGIN_MARKER}");
        let _ = writeln!(out, "## Failover ({})\n", self.date);
        let _ = writeln!(
            out,
            "Command (from the repository root):\n\n```sh\n{}\n```\n",
            self.command
        );
        let _ = writeln!(
            out,
            "Three nodes on loopback (debug or release as the command says). A client writes \
             records at a follower one after another (a new `Idempotency-Key` each, 10 s \
             timeout, 20 ms pause after a failure); the leader is killed with `kill -9`; the \
             figure is the time from the kill to the answer of the first write sent after it \
             that succeeds. The killed node is restarted and the cluster waited for between \
             trials. Seed {}.\n",
            self.seed
        );
        crate::report::machine_tables(&mut out, &self.machine, &self.versions);
        let mut times: Vec<Duration> = self
            .trials
            .iter()
            .map(|trial| trial.to_first_write)
            .collect();
        times.sort();
        if times.is_empty() {
            let _ = writeln!(out, "\nNo trials ran.\n{END_MARKER}");
            return out;
        }
        let ms = |duration: Duration| format!("{:.0} ms", duration.as_secs_f64() * 1000.0);
        let _ = writeln!(
            out,
            "\n| trials | p50 | p90 | p99 | max |\n|---|---|---|---|---|"
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            times.len(),
            ms(percentile(&times, 50)),
            ms(percentile(&times, 90)),
            ms(percentile(&times, 99)),
            ms(*times.last().expect("not empty"))
        );
        let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
        for why in self.trials.iter().flat_map(|trial| &trial.failures) {
            *failures.entry(why.as_str()).or_default() += 1;
        }
        let failures: Vec<String> = failures
            .iter()
            .map(|(why, count)| format!("{why} x{count}"))
            .collect();
        let _ = writeln!(
            out,
            "\nFailed writes between a kill and the first success, all trials: {}.\n",
            if failures.is_empty() {
                "none".to_owned()
            } else {
                failures.join(", ")
            }
        );
        let _ = writeln!(out, "{END_MARKER}");
        out
    }
}
