//! What one nemesis run reports: the seed and commit to replay it, the faults, the counts of
//! operations by outcome, what the checks found, and throughput around each fault.

use std::fmt::Write as _;
use std::time::Duration;

use super::checks::Findings;
use super::faults::FaultRecord;
use super::history::{Entry, Outcome};

/// Seconds before and after a fault over which throughput is measured.
const WINDOW_US: u64 = 2_000_000;

#[derive(Debug, Clone)]
pub struct FaultEffect {
    pub fault: FaultRecord,
    /// Acknowledged operations per second in the window before, during, and after.
    pub ops_before: f64,
    pub ops_during: f64,
    /// `None` when the clients stopped before the window after the heal ended.
    pub ops_after: Option<f64>,
    /// From heal to the first write acknowledged after it.
    pub heal_to_write: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub seed: u64,
    pub commit: String,
    pub planted_bug: bool,
    pub duration: Duration,
    pub invoked: usize,
    pub ok: usize,
    pub failed: usize,
    /// Operations whose first answer did not come (timeouts, connections lost, 5xx).
    pub unknown: usize,
    /// Of those, writes a retry with the same idempotency key settled.
    pub resolved: usize,
    /// Why some operations failed (the first few distinct reasons).
    pub failure_samples: Vec<String>,
    pub findings: Findings,
    pub effects: Vec<FaultEffect>,
    /// Replicas' state hashes were equal at one applied index (and which).
    pub converged_at: Option<u64>,
}

impl RunReport {
    pub fn new(
        seed: u64,
        planted_bug: bool,
        duration: Duration,
        entries: &[Entry],
        faults: &[FaultRecord],
        findings: Findings,
        converged_at: Option<u64>,
    ) -> RunReport {
        let count = |pick: fn(&Entry) -> bool| entries.iter().filter(|entry| pick(entry)).count();
        RunReport {
            seed,
            commit: commit(),
            planted_bug,
            duration,
            invoked: entries.len(),
            ok: count(|entry| matches!(entry.outcome, Outcome::Ok(_))),
            failed: count(|entry| matches!(entry.outcome, Outcome::Failed(_))),
            unknown: count(|entry| entry.resolved || matches!(entry.outcome, Outcome::Unknown(_))),
            resolved: count(|entry| entry.resolved),
            failure_samples: failure_samples(entries),
            findings,
            effects: faults.iter().map(|fault| effect(fault, entries)).collect(),
            converged_at,
        }
    }

    pub fn is_clean(&self) -> bool {
        self.findings.violations.is_empty()
            && self.findings.lost_acknowledged == 0
            && self.converged_at.is_some()
    }

    /// The whole report, for a person.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "nemesis seed {} (replay: EDGEBASE_NEMESIS_SEED={}), commit {}, {} s{}",
            self.seed,
            self.seed,
            self.commit,
            self.duration.as_secs(),
            if self.planted_bug {
                ", PLANTED BUG"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "operations: {} invoked, {} ok, {} failed, {} unknown, {} resolved by their idempotency keys",
            self.invoked, self.ok, self.failed, self.unknown, self.resolved
        );
        let _ = writeln!(
            out,
            "checks: {} violations, {} lost acknowledged writes, {} records undecided, checker {} ms, replicas {}",
            self.findings.violations.len(),
            self.findings.lost_acknowledged,
            self.findings.undecided.len(),
            self.findings.checker_time.as_millis(),
            match self.converged_at {
                Some(index) => format!("equal at index {index}"),
                None => "NOT converged".to_owned(),
            }
        );
        for sample in &self.failure_samples {
            let _ = writeln!(out, "  failed: {sample}");
        }
        for violation in self.findings.violations.iter().take(20) {
            let _ = writeln!(out, "  violation: {violation}");
        }
        let _ = writeln!(
            out,
            "{:<32} {:<28} {:>8} {:>8} {:>8} {:>10} {:>8}",
            "fault", "on", "before/s", "during/s", "after/s", "to write", "held s"
        );
        for effect in &self.effects {
            let fault = &effect.fault;
            let on = match &fault.error {
                Some(error) => format!("FAILED: {error}"),
                None => fault.detail.clone(),
            };
            let _ = writeln!(
                out,
                "{:<32} {:<28} {:>8.1} {:>8.1} {:>8} {:>10} {:>8.1}",
                fault.kind.name(),
                on,
                effect.ops_before,
                effect.ops_during,
                effect
                    .ops_after
                    .map_or("-".to_owned(), |rate| format!("{rate:.1}")),
                effect
                    .heal_to_write
                    .map_or("-".to_owned(), |time| format!("{} ms", time.as_millis())),
                (fault.healed_us - fault.started_us) as f64 / 1e6
            );
        }
        out
    }
}

/// Up to five distinct reasons operations failed or stayed unknown.
fn failure_samples(entries: &[Entry]) -> Vec<String> {
    let mut samples: Vec<String> = Vec::new();
    for entry in entries {
        let reason = match &entry.outcome {
            Outcome::Failed(why) => format!("refused at {}: {why}", entry.node),
            Outcome::Unknown(why) => format!("unknown at {}: {why}", entry.node),
            Outcome::Ok(_) => continue,
        };
        if samples.len() < 5 && !samples.contains(&reason) {
            samples.push(reason);
        }
    }
    samples
}

fn effect(fault: &FaultRecord, entries: &[Entry]) -> FaultEffect {
    // The last answer the clients had before they stopped (resolutions came after).
    let clients_stopped_us = entries
        .iter()
        .filter(|entry| !entry.resolved)
        .filter_map(|entry| entry.completed_us)
        .max()
        .unwrap_or_default();
    let acked_in = |from: u64, to: u64| {
        entries
            .iter()
            .filter(|entry| matches!(entry.outcome, Outcome::Ok(_)) && !entry.resolved)
            .filter_map(|entry| entry.completed_us)
            .filter(|completed| (from..to).contains(completed))
            .count() as f64
    };
    let rate = |from: u64, to: u64| {
        if to <= from {
            0.0
        } else {
            acked_in(from, to) / ((to - from) as f64 / 1e6)
        }
    };
    let heal_to_write = entries
        .iter()
        .filter(|entry| {
            entry.is_write() && matches!(entry.outcome, Outcome::Ok(_)) && !entry.resolved
        })
        .filter_map(|entry| entry.completed_us)
        .filter(|completed| *completed >= fault.healed_us)
        .min()
        .map(|completed| Duration::from_micros(completed - fault.healed_us));
    FaultEffect {
        fault: fault.clone(),
        ops_before: rate(fault.started_us.saturating_sub(WINDOW_US), fault.started_us),
        ops_during: rate(fault.started_us, fault.healed_us),
        ops_after: (fault.healed_us + WINDOW_US <= clients_stopped_us)
            .then(|| rate(fault.healed_us, fault.healed_us + WINDOW_US)),
        heal_to_write,
    }
}

/// The commit under test (`git rev-parse --short HEAD` when the process first asks: a
/// campaign's binaries do not change under it, its checkout may), or "unknown".
fn commit() -> String {
    static COMMIT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COMMIT.get_or_init(head_commit).clone()
}

fn head_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(crate::package_dir())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}
