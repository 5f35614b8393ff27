//! Batched proposals: the leader packs writes that arrive together into one log entry (a
//! [`Command::Group`]), so they share one append, one fsync, one replication round and one
//! apply. Nothing waits to fill a batch: with no entry in flight a write is proposed at once;
//! writes arriving while one is in flight form the next ([`PROPOSALS_IN_FLIGHT`]).
//! Each write keeps its own conditions and gets its own result; one rejected write rejects
//! nothing else. Two writes of one record never share an entry (their answers would name one
//! version for two contents): the later one waits for the next.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use edgebase_storage::{Command, EntryResult};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::transport::{ForwardError, WriteReply};
use crate::type_config::Raft;

/// Entries proposed and not yet applied at once; later writes queue for the next entry. One
/// gave the most throughput at 16 to 256 connections on one and three nodes (2 and 4 measured
/// lower, `bench/RESULTS.md`): the fewer entries in flight, the more writes each one carries.
pub(crate) const PROPOSALS_IN_FLIGHT: usize = 1;
/// Most writes in one entry.
pub(crate) const GROUP_COMMANDS_MAX: usize = 256;
/// Most encoded bytes of the writes in one entry; a larger write goes alone.
pub(crate) const GROUP_BYTES_MAX: usize = 1 << 20;
/// Most creation positions in one entry (apply numbers creates `index << 16 | position`).
const GROUP_POSITIONS_MAX: u64 = 1 << 16;
/// Writes waiting for an entry; further ones wait to be queued.
const QUEUE_MAX: usize = 4_096;

/// How a proposal ended, for everyone in its entry.
type Answer = Result<WriteReply, ForwardError>;

/// One write waiting for an entry.
struct Pending {
    command: Command,
    bytes: usize,
    positions: u64,
    reply: oneshot::Sender<Answer>,
}

/// What this node has proposed as leader since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProposalStats {
    /// Log entries proposed for writes.
    pub entries: u64,
    /// Writes in them.
    pub writes: u64,
    /// The most writes one entry held.
    pub largest_entry: u64,
}

#[derive(Default)]
struct Counters {
    entries: AtomicU64,
    writes: AtomicU64,
    largest_entry: AtomicU64,
}

impl Counters {
    fn count(&self, writes: usize) {
        metrics::histogram!("edgebase_proposal_entry_writes").record(writes as f64);
        let writes = writes as u64;
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
        self.largest_entry.fetch_max(writes, Ordering::Relaxed);
    }
}

/// Where writes to propose go. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Proposals {
    queue: mpsc::Sender<Pending>,
    counters: Arc<Counters>,
}

impl Proposals {
    /// Start the task that proposes through `raft`; it ends when every handle is dropped.
    pub(crate) fn start(raft: Raft) -> (Proposals, tokio::task::JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(QUEUE_MAX);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(raft, receiver, counters.clone()));
        (Proposals { queue, counters }, task)
    }

    pub(crate) fn stats(&self) -> ProposalStats {
        ProposalStats {
            entries: self.counters.entries.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            largest_entry: self.counters.largest_entry.load(Ordering::Relaxed),
        }
    }

    /// Propose `command` (`bytes` long, encoded) in the next entry and wait for its result.
    /// A write whose caller stops waiting is still proposed.
    pub(crate) async fn propose(&self, command: Command, bytes: usize) -> Answer {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            positions: command.positions(),
            command,
            bytes,
            reply,
        };
        if self.queue.send(pending).await.is_err() {
            return Err(ForwardError::Unavailable(
                "the node is shutting down".to_owned(),
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(ForwardError::OutcomeUnknown(
                "the proposal was dropped before its result came".to_owned(),
            ))
        })
    }
}

async fn run(raft: Raft, mut queue: mpsc::Receiver<Pending>, counters: Arc<Counters>) {
    let in_flight = Arc::new(Semaphore::new(PROPOSALS_IN_FLIGHT));
    // Writes taken from the queue that could not join the entry they were taken for.
    let mut deferred: VecDeque<Pending> = VecDeque::new();
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let first = match deferred.pop_front() {
            Some(first) => first,
            None => match queue.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let group = gather(first, &mut deferred, &mut queue);
        counters.count(group.len());
        tokio::spawn(propose_group(raft.clone(), group, permit));
    }
}

/// `first` and what else is waiting, up to an entry's bounds; a write of a record already in
/// the entry, or one past a bound, waits in `deferred` for the next.
fn gather(
    first: Pending,
    deferred: &mut VecDeque<Pending>,
    queue: &mut mpsc::Receiver<Pending>,
) -> Vec<Pending> {
    let alone = |pending: &Pending| matches!(pending.command, Command::RestoreState { .. });
    if alone(&first) {
        // A restore replaces the whole state: it is an entry of its own.
        return vec![first];
    }
    let mut records: HashSet<(String, String)> = first.command.records_put().collect();
    let mut bytes = first.bytes;
    let mut positions = first.positions;
    let mut group = vec![first];
    let mut skipped = VecDeque::new();
    while group.len() < GROUP_COMMANDS_MAX {
        let Some(next) = deferred.pop_front().or_else(|| queue.try_recv().ok()) else {
            break;
        };
        let fits = !alone(&next)
            && bytes + next.bytes <= GROUP_BYTES_MAX
            && positions + next.positions <= GROUP_POSITIONS_MAX
            && next
                .command
                .records_put()
                .all(|record| !records.contains(&record));
        if !fits {
            skipped.push_back(next);
            // Whatever is left is for the next entry; keep the order they came in.
            if skipped.len() >= GROUP_COMMANDS_MAX {
                break;
            }
            continue;
        }
        records.extend(next.command.records_put());
        bytes += next.bytes;
        positions += next.positions;
        group.push(next);
    }
    skipped.append(deferred);
    *deferred = skipped;
    group
}

async fn propose_group(raft: Raft, mut group: Vec<Pending>, permit: OwnedSemaphorePermit) {
    let _permit = permit;
    if group.len() == 1 {
        let pending = group.pop().expect("one write");
        let answer = match raft.client_write(pending.command).await {
            Ok(response) => match response.data {
                EntryResult::One(result) => Ok(WriteReply {
                    index: response.log_id.index,
                    result,
                    entry: Some(response.log_id),
                }),
                EntryResult::Each(_) => Err(mismatch()),
            },
            Err(error) => Err(super::node_core::map_client_write_error(error)),
        };
        let _ = pending.reply.send(answer);
        return;
    }
    tracing::trace!(writes = group.len(), "proposing a group of writes");
    let (commands, replies): (Vec<Command>, Vec<oneshot::Sender<Answer>>) = group
        .into_iter()
        .map(|pending| (pending.command, pending.reply))
        .unzip();
    let count = commands.len();
    match raft.client_write(Command::Group(commands)).await {
        Ok(response) => match response.data {
            EntryResult::Each(results) if results.len() == count => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(WriteReply {
                        index: response.log_id.index,
                        result,
                        entry: Some(response.log_id),
                    }));
                }
            }
            _ => {
                for reply in replies {
                    let _ = reply.send(Err(mismatch()));
                }
            }
        },
        Err(error) => {
            let error = super::node_core::map_client_write_error(error);
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

/// An entry's result not shaped like its command: applied, but what it did is unknown.
fn mismatch() -> ForwardError {
    ForwardError::OutcomeUnknown("the entry's result does not match its commands".to_owned())
}
