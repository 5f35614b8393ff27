//! The judgements on a finished history: linearizability per record (strong reads and every
//! write), the session and local read rules, and the ledger's acknowledged rows.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::history::{record_operations, Entry, Outcome, ReadLevel, Request};
use crate::linearizability::{check, CheckOutcome, RecordInput, RecordModel, RecordOutput};

/// What the checks found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub violations: Vec<String>,
    /// Acknowledged ledger rows missing on some node, and records whose final value lost an
    /// acknowledged write.
    pub lost_acknowledged: usize,
    /// Records the checker could not decide within its budget.
    pub undecided: Vec<usize>,
    pub checker_time: Duration,
}

/// Check each record's operations (the final strong reads included). A record whose history
/// is linearizable without its final reads but not with them lost an acknowledged write.
pub fn check_records(
    entries: &[Entry],
    finals: &[Entry],
    records: usize,
    budget: Duration,
    findings: &mut Findings,
) {
    let started = Instant::now();
    let mut all: Vec<Entry> = entries.to_vec();
    all.extend(finals.iter().cloned());
    for record in 0..records {
        let operations = record_operations(&all, record);
        match check::<RecordModel>(&operations, budget) {
            CheckOutcome::Linearizable => {}
            CheckOutcome::Unknown => findings.undecided.push(record),
            CheckOutcome::Violation { linearized_at_most } => {
                let without_finals = record_operations(entries, record);
                let lost =
                    check::<RecordModel>(&without_finals, budget) == CheckOutcome::Linearizable;
                if lost {
                    findings.lost_acknowledged += 1;
                    findings.violations.push(format!(
                        "record {record}: the final reads contradict acknowledged writes (a lost write)"
                    ));
                } else {
                    findings.violations.push(format!(
                        "record {record}: not linearizable ({} operations, at most {linearized_at_most} linearized)",
                        operations.len()
                    ));
                }
            }
        }
    }
    findings.checker_time += started.elapsed();
}

/// Session reads never go back: a session read answers at an index no lower than the one it
/// asked for, and never shows a record at a version older than one its client already saw.
/// Local and bounded reads only show values some write wrote.
pub fn check_reads(entries: &[Entry], findings: &mut Findings) {
    let mut written: HashMap<usize, HashSet<&str>> = HashMap::new();
    for entry in entries {
        if let Request::Record {
            record,
            input: RecordInput::Create { value } | RecordInput::Update { value, .. },
            ..
        } = &entry.request
        {
            written.entry(*record).or_default().insert(value);
        }
    }
    let mut by_client: BTreeMap<u64, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        by_client.entry(entry.client).or_default().push(entry);
    }
    for (client, ops) in by_client {
        let mut seen_version: HashMap<usize, u64> = HashMap::new();
        for entry in ops {
            let (
                Request::Record {
                    record,
                    input,
                    level,
                },
                Outcome::Ok(answer),
            ) = (&entry.request, &entry.outcome)
            else {
                continue;
            };
            if let RecordOutput::Read(Some(value)) = &answer.output {
                let known = written
                    .get(record)
                    .is_some_and(|values| values.contains(value.as_str()));
                if !known {
                    findings.violations.push(format!(
                        "client {client}: a {level:?} read of record {record} at {} returned {value:?}, which no write wrote",
                        entry.node
                    ));
                }
            }
            if *level == ReadLevel::Session && matches!(input, RecordInput::Read) {
                if let (Some(after), Some(index)) = (entry.after, answer.index) {
                    if index < after {
                        findings.violations.push(format!(
                            "client {client}: a session read at {} asked for index {after} and answered at {index}",
                            entry.node
                        ));
                    }
                }
                if let (Some(version), Some(seen)) = (answer.version, seen_version.get(record)) {
                    if version < *seen {
                        findings.violations.push(format!(
                            "client {client}: a session read of record {record} at {} went back from version {seen} to {version}",
                            entry.node
                        ));
                    }
                }
            }
            // A resolved write's answer came at the end of the run, out of this client's
            // order: it says nothing about what the client had seen by its next operation.
            if let (Some(version), false) = (answer.version, entry.resolved) {
                let seen = seen_version.entry(*record).or_default();
                *seen = (*seen).max(version);
            }
        }
    }
}

/// Every acknowledged ledger row is on every node; no batch is partly there; no refused
/// write is there. `present` is each node's set of ledger ids.
pub fn check_ledger(
    entries: &[Entry],
    present: &BTreeMap<String, BTreeSet<String>>,
    findings: &mut Findings,
) {
    for entry in entries {
        let Request::Ledger { ids } = &entry.request else {
            continue;
        };
        for (node, rows) in present {
            let there = ids.iter().filter(|id| rows.contains(*id)).count();
            match &entry.outcome {
                Outcome::Ok(_) if there < ids.len() => {
                    findings.lost_acknowledged += ids.len() - there;
                    findings.violations.push(format!(
                        "ledger {ids:?}: acknowledged at {}, {} of {} rows missing on {node}",
                        entry.node,
                        ids.len() - there,
                        ids.len()
                    ));
                }
                Outcome::Failed(why) if there > 0 => findings.violations.push(format!(
                    "ledger {ids:?}: refused ({why}) yet {there} rows are on {node}"
                )),
                Outcome::Unknown(_) if there != 0 && there != ids.len() => {
                    findings.violations.push(format!(
                        "ledger batch {ids:?}: {there} of {} rows on {node} (not atomic)",
                        ids.len()
                    ))
                }
                _ => {}
            }
        }
    }
}
