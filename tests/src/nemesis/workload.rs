//! The nemesis clients: each runs seeded operations against its node until the run ends,
//! moving to the next node when an answer does not come, and records every operation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::client::{NodeClient, Planned};
use super::history::{Entry, Outcome, ReadLevel, Request};
use crate::linearizability::{RecordInput, RecordOutput};

/// The shape of the workload.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    pub clients: u64,
    /// Contended records (linearizability is checked per record).
    pub records: usize,
    /// Longest pause between one client's operations (uniform from zero).
    pub think_time_max: Duration,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            clients: 6,
            records: 6,
            think_time_max: Duration::from_millis(25),
        }
    }
}

/// A client's view: the last value and version it saw of each record, the highest log
/// index any answer told it (its session).
pub struct ClientTask {
    pub id: u64,
    nodes: Vec<NodeClient>,
    home: usize,
    rng: StdRng,
    records: usize,
    think_time_max: Duration,
    started: Instant,
    known: HashMap<usize, (String, u64)>,
    last_index: u64,
    sequence: u64,
    run_tag: String,
}

impl ClientTask {
    pub fn new(
        id: u64,
        nodes: Vec<NodeClient>,
        seed: u64,
        config: &WorkloadConfig,
        started: Instant,
        run_tag: &str,
    ) -> ClientTask {
        let home = (id as usize) % nodes.len();
        ClientTask {
            id,
            nodes,
            home,
            rng: StdRng::seed_from_u64(seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            records: config.records,
            think_time_max: config.think_time_max,
            started,
            known: HashMap::new(),
            last_index: 0,
            sequence: 0,
            run_tag: run_tag.to_owned(),
        }
    }

    fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// Run operations until `until`; the history of this client.
    pub async fn run(mut self, until: Instant) -> Vec<Entry> {
        let mut entries = Vec::new();
        while Instant::now() < until {
            let planned = self.plan();
            let node = self.nodes[self.home].clone();
            let invoked_us = self.now_us();
            let outcome = node.perform(&planned).await;
            let completed_us = self.now_us();
            self.learn(&planned, &outcome);
            if matches!(outcome, Outcome::Unknown(_)) {
                // As an SDK would: try the next node from now on.
                self.home = (self.home + 1) % self.nodes.len();
            }
            entries.push(Entry {
                client: self.id,
                node: node.node.clone(),
                completed_us: matches!(outcome, Outcome::Ok(_) | Outcome::Failed(_))
                    .then_some(completed_us),
                request: planned.request,
                invoked_us,
                outcome,
                idempotency_key: planned.idempotency_key,
                resolved: false,
                after: planned.after,
                if_match: planned.if_match,
            });
            let pause_us = self
                .rng
                .gen_range(0..=self.think_time_max.as_micros() as u64);
            tokio::time::sleep(Duration::from_micros(pause_us)).await;
        }
        entries
    }

    fn next_value(&mut self) -> String {
        self.sequence += 1;
        format!("c{}-{}", self.id, self.sequence)
    }

    fn key(&self) -> String {
        format!("{}-c{}-{}", self.run_tag, self.id, self.sequence)
    }

    fn plan(&mut self) -> Planned {
        let record = self.rng.gen_range(0..self.records);
        let roll = self.rng.gen_range(0..100);
        let read = |level| Request::Record {
            record,
            input: RecordInput::Read,
            level,
        };
        let mut planned = Planned {
            request: read(ReadLevel::Strong),
            idempotency_key: None,
            after: None,
            if_match: None,
        };
        match roll {
            0..10 => {
                let value = self.next_value();
                planned.request = Request::Record {
                    record,
                    input: RecordInput::Create { value },
                    level: ReadLevel::Strong,
                };
                planned.idempotency_key = Some(self.key());
            }
            10..35 => {}
            35..60 => {
                if let Some((expected, version)) = self.known.get(&record).cloned() {
                    let value = self.next_value();
                    planned.request = Request::Record {
                        record,
                        input: RecordInput::Update { expected, value },
                        level: ReadLevel::Strong,
                    };
                    planned.if_match = Some(version);
                    planned.idempotency_key = Some(self.key());
                }
            }
            60..68 => {
                self.sequence += 1;
                planned.request = Request::Record {
                    record,
                    input: RecordInput::Delete,
                    level: ReadLevel::Strong,
                };
                planned.idempotency_key = Some(self.key());
            }
            68..76 => {
                planned.request = read(ReadLevel::Session);
                planned.after = Some(self.last_index);
            }
            76..82 => planned.request = read(ReadLevel::Local),
            82..86 => planned.request = read(ReadLevel::Bounded),
            _ => {
                let rows = if self.rng.gen_range(0..3) == 0 { 2 } else { 1 };
                let ids = (0..rows)
                    .map(|_| {
                        self.sequence += 1;
                        ledger_id(self.id, self.sequence)
                    })
                    .collect();
                planned.request = Request::Ledger { ids };
                planned.idempotency_key = Some(self.key());
            }
        }
        planned
    }

    /// Remember what an answer told: the record's value and version, the session index.
    fn learn(&mut self, planned: &Planned, outcome: &Outcome) {
        let Outcome::Ok(answer) = outcome else {
            if let Request::Record { record, input, .. } = &planned.request {
                if !matches!(input, RecordInput::Read) {
                    // Unknown or refused: what this client knew may be gone.
                    self.known.remove(record);
                }
            }
            return;
        };
        if let Some(index) = answer.index {
            self.last_index = self.last_index.max(index);
        }
        let Request::Record { record, input, .. } = &planned.request else {
            return;
        };
        let written = match (input, &answer.output) {
            (RecordInput::Create { value }, RecordOutput::Created)
            | (RecordInput::Update { value, .. }, RecordOutput::Updated) => Some(value.clone()),
            (RecordInput::Read, RecordOutput::Read(Some(value))) => Some(value.clone()),
            _ => None,
        };
        match (written, answer.version) {
            (Some(value), Some(version)) => {
                self.known.insert(*record, (value, version));
            }
            _ => {
                self.known.remove(record);
            }
        }
    }
}

/// A ledger row's id: 15 characters of `[a-z0-9]`, unique per client and sequence.
pub fn ledger_id(client: u64, sequence: u64) -> String {
    format!("l{:03}{:011}", client % 1000, sequence % 100_000_000_000)
}
