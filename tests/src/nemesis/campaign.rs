//! A campaign: many seeds, one after another, summed up as the Markdown tables
//! `tests/RELIABILITY.md` carries.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::faults::FaultKind;
use super::report::RunReport;

/// The tables for a finished campaign; `command` is what reproduces it.
pub fn markdown(reports: &[RunReport], command: &str, machine: &str, date: &str) -> String {
    let mut out = String::new();
    let sum = |pick: fn(&RunReport) -> usize| reports.iter().map(pick).sum::<usize>();
    let commits: Vec<&str> = {
        let mut commits: Vec<&str> = reports
            .iter()
            .map(|report| report.commit.as_str())
            .collect();
        commits.dedup();
        commits
    };
    let _ = writeln!(out, "Command: `{command}`  ");
    let _ = writeln!(
        out,
        "Commit {}, {machine}, {date}; {} seeds of {} s each.\n",
        commits.join(", "),
        reports.len(),
        reports
            .first()
            .map_or(0, |report| report.duration.as_secs())
    );
    let faults: usize = reports.iter().map(|report| report.effects.len()).sum();
    let failed_faults: usize = reports
        .iter()
        .flat_map(|report| &report.effects)
        .filter(|effect| effect.fault.error.is_some())
        .count();
    let checker_max = reports
        .iter()
        .map(|report| report.findings.checker_time)
        .max()
        .unwrap_or_default();
    let unconverged = reports
        .iter()
        .filter(|report| report.converged_at.is_none())
        .count();
    let _ = writeln!(out, "| seeds | faults (not injected) | operations | ok | failed | unknown | resolved by key | violations | lost acknowledged writes | replicas unequal | slowest check |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {faults} ({failed_faults}) | {} | {} | {} | {} | {} | {} | {} | {unconverged} | {} ms |\n",
        reports.len(),
        sum(|report| report.invoked),
        sum(|report| report.ok),
        sum(|report| report.failed),
        sum(|report| report.unknown),
        sum(|report| report.resolved),
        sum(|report| report.findings.violations.len()),
        sum(|report| report.findings.lost_acknowledged),
        checker_max.as_millis()
    );

    let mut by_kind: BTreeMap<FaultKind, Vec<&super::report::FaultEffect>> = BTreeMap::new();
    for effect in reports.iter().flat_map(|report| &report.effects) {
        by_kind.entry(effect.fault.kind).or_default().push(effect);
    }
    let _ = writeln!(
        out,
        "| fault | times | acked ops/s before | during | after | heal to first write p50 | p99 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (kind, effects) in by_kind {
        let mean = |pick: fn(&super::report::FaultEffect) -> Option<f64>| {
            let rates: Vec<f64> = effects.iter().filter_map(|effect| pick(effect)).collect();
            match rates.len() {
                0 => "-".to_owned(),
                count => format!("{:.0}", rates.iter().sum::<f64>() / count as f64),
            }
        };
        let mut heal: Vec<Duration> = effects
            .iter()
            .filter_map(|effect| effect.heal_to_write)
            .collect();
        heal.sort();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            kind.name(),
            effects.len(),
            mean(|effect| Some(effect.ops_before)),
            mean(|effect| Some(effect.ops_during)),
            mean(|effect| effect.ops_after),
            percentile_ms(&heal, 50),
            percentile_ms(&heal, 99)
        );
    }
    let problems: Vec<&RunReport> = reports.iter().filter(|report| !report.is_clean()).collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nSeeds with findings:\n");
        for report in problems {
            let _ = writeln!(out, "```\n{}```", report.text());
        }
    }
    out
}

fn percentile_ms(sorted: &[Duration], percent: usize) -> String {
    if sorted.is_empty() {
        return "-".to_owned();
    }
    let rank = (sorted.len() * percent)
        .div_ceil(100)
        .clamp(1, sorted.len());
    format!("{} ms", sorted[rank - 1].as_millis())
}
