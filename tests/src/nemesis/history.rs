//! What the nemesis clients did: every operation with its invocation and completion times
//! (microseconds since the run started), what it asked and what came back.

use crate::linearizability::{Operation, RecordInput, RecordOutput};

/// How a read asked for freshness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadLevel {
    /// `X-Edgebase-Consistency: strong`: must be linearizable.
    Strong,
    /// `X-Edgebase-After` = the client's last seen index: must not go back.
    Session,
    /// This node's state as it is: must hold a value some write wrote.
    Local,
    /// `X-Edgebase-Max-Staleness-Ms`: like local, but fresh within the bound.
    Bounded,
}

/// What one operation asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// One of the few contended records: checked for linearizability (reads at `strong`),
    /// or by the session and local rules (other reads).
    Record {
        record: usize,
        input: RecordInput,
        level: ReadLevel,
    },
    /// An insert-only row of the ledger (one or two in a batch): each acknowledged one must
    /// be on every node at the end, a batch's rows all or none.
    Ledger { ids: Vec<String> },
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A definite answer.
    Ok(Answer),
    /// A definite refusal that changed nothing (and is not part of the record model).
    Failed(String),
    /// No definite answer (timeout, connection lost, 5xx): it may or may not have applied.
    Unknown(String),
}

/// A definite answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// For record operations, the model's output; ledger writes answer `Created`.
    pub output: RecordOutput,
    /// The record's version (`ETag`) when the answer carried one.
    pub version: Option<u64>,
    /// `X-Edgebase-Index` of the answer.
    pub index: Option<u64>,
}

/// One operation of the history.
#[derive(Debug, Clone)]
pub struct Entry {
    pub client: u64,
    /// The node the client sent it to.
    pub node: String,
    pub request: Request,
    pub invoked_us: u64,
    /// When the definite answer came (after a retry with the same idempotency key, when
    /// the first attempt's outcome was unknown).
    pub completed_us: Option<u64>,
    pub outcome: Outcome,
    /// The write's `Idempotency-Key` (writes only).
    pub idempotency_key: Option<String>,
    /// Whether the answer came from a retry that resolved an unknown outcome.
    pub resolved: bool,
    /// For session reads: the `X-Edgebase-After` it sent.
    pub after: Option<u64>,
    /// For conditional updates: the `If-Match` version it sent (a retry sends it again).
    pub if_match: Option<u64>,
}

impl Entry {
    pub fn is_write(&self) -> bool {
        match &self.request {
            Request::Record { input, .. } => !matches!(input, RecordInput::Read),
            Request::Ledger { .. } => true,
        }
    }

    pub fn answer(&self) -> Option<&Answer> {
        match &self.outcome {
            Outcome::Ok(answer) => Some(answer),
            _ => None,
        }
    }
}

/// The operations on record `record` that the linearizability check judges: writes (an
/// unknown one with no output and no completion) and strong reads that answered.
pub fn record_operations(
    entries: &[Entry],
    record: usize,
) -> Vec<Operation<RecordInput, RecordOutput>> {
    entries
        .iter()
        .filter_map(|entry| {
            let Request::Record {
                record: target,
                input,
                level,
            } = &entry.request
            else {
                return None;
            };
            if *target != record {
                return None;
            }
            let is_read = matches!(input, RecordInput::Read);
            if is_read && *level != ReadLevel::Strong {
                return None;
            }
            let (output, completed) = match &entry.outcome {
                Outcome::Ok(answer) => (Some(answer.output.clone()), entry.completed_us),
                // A refusal that changed nothing (or a read with no answer) says nothing.
                Outcome::Failed(_) => return None,
                Outcome::Unknown(_) if is_read => return None,
                Outcome::Unknown(_) => (None, None),
            };
            Some(Operation {
                client: entry.client,
                input: input.clone(),
                output,
                invoked: entry.invoked_us,
                completed,
            })
        })
        .collect()
}
