//! The Wing-Gong-Lowe search: walk the history's call and return events in time order,
//! linearizing a call when the model accepts it and backtracking when a return is reached
//! whose call could not be linearized before it; Lowe's cache skips any (linearized set,
//! state) pair already explored, which makes the search practical on real histories.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::{Model, Operation};

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Linearizable,
    /// No order of the operations within their intervals satisfies the model; the longest
    /// prefix of operations that could be linearized is named.
    Violation {
        linearized_at_most: usize,
    },
    /// The budget ran out before an answer.
    Unknown,
}

/// An event of the history: the call or the return of operation `op`.
#[derive(Debug, Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
    time: u64,
}

/// A doubly linked list over the events, so linearized operations can be lifted out and put
/// back in O(1).
struct Events {
    events: Vec<Event>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Position of each operation's call and return.
    call_of: Vec<usize>,
    return_of: Vec<usize>,
}

/// Index of the head sentinel (before the first event) and of the end.
const HEAD: usize = 0;

impl Events {
    fn new<I, O>(operations: &[Operation<I, O>]) -> Events {
        let mut events: Vec<Event> = Vec::with_capacity(operations.len() * 2);
        for (op, operation) in operations.iter().enumerate() {
            events.push(Event {
                op,
                is_call: true,
                time: operation.invoked,
            });
            events.push(Event {
                op,
                is_call: false,
                time: operation.completed.unwrap_or(u64::MAX),
            });
        }
        // At equal times calls come first: touching intervals count as concurrent.
        events.sort_by_key(|event| (event.time, !event.is_call, event.op));
        // Slot 0 is the head sentinel; events follow at 1..=n; n + 1 is the end.
        let count = events.len();
        let mut list = Vec::with_capacity(count + 1);
        list.push(Event {
            op: usize::MAX,
            is_call: false,
            time: 0,
        });
        list.extend(events);
        let mut call_of = vec![0; operations.len()];
        let mut return_of = vec![0; operations.len()];
        for (position, event) in list.iter().enumerate().skip(1) {
            if event.is_call {
                call_of[event.op] = position;
            } else {
                return_of[event.op] = position;
            }
        }
        Events {
            next: (1..=count + 1).collect(),
            prev: std::iter::once(0).chain(0..count).collect(),
            events: list,
            call_of,
            return_of,
        }
    }

    fn end(&self) -> usize {
        self.events.len()
    }

    fn unlink(&mut self, at: usize) {
        let (prev, next) = (self.prev[at], self.next[at]);
        self.next[prev] = next;
        if next < self.end() {
            self.prev[next] = prev;
        }
    }

    fn relink(&mut self, at: usize) {
        let (prev, next) = (self.prev[at], self.next[at]);
        self.next[prev] = at;
        if next < self.end() {
            self.prev[next] = at;
        }
    }

    /// Take operation `op`'s call and return out of the list.
    fn lift(&mut self, op: usize) {
        self.unlink(self.call_of[op]);
        self.unlink(self.return_of[op]);
    }

    /// Put them back (the reverse order of `lift`).
    fn unlift(&mut self, op: usize) {
        self.relink(self.return_of[op]);
        self.relink(self.call_of[op]);
    }
}

/// A set of operations as bits.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(size: usize) -> Bits {
        Bits(vec![0; size.div_ceil(64)])
    }
    fn set(&mut self, at: usize) {
        self.0[at / 64] |= 1 << (at % 64);
    }
    fn clear(&mut self, at: usize) {
        self.0[at / 64] &= !(1 << (at % 64));
    }
    fn count(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }
}

/// Whether `operations` (all of one object) are linearizable under `M`, within `budget`.
pub fn check<M: Model>(
    operations: &[Operation<M::Input, M::Output>],
    budget: Duration,
) -> CheckOutcome {
    let started = Instant::now();
    let mut events = Events::new(operations);
    let mut linearized = Bits::new(operations.len());
    let mut tried: HashSet<(Bits, M::State)> = HashSet::new();
    // Each frame: the operation linearized and the state before it.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = M::init();
    let mut most = 0;
    let mut at = events.next[HEAD];
    let mut steps: u64 = 0;
    while events.next[HEAD] != events.end() {
        steps += 1;
        if steps.is_multiple_of(4096) && started.elapsed() > budget {
            return CheckOutcome::Unknown;
        }
        if at == events.end() {
            // Only unlinearized returns can be left before the end; reaching the end means
            // a call was skipped that nothing could take: backtrack.
            match backtrack::<M>(&mut events, &mut linearized, &mut stack, &mut state) {
                Some(next) => at = next,
                None => {
                    return CheckOutcome::Violation {
                        linearized_at_most: most,
                    }
                }
            }
            continue;
        }
        let event = events.events[at];
        if event.is_call {
            let operation = &operations[event.op];
            if let Some(next_state) = M::step(&state, &operation.input, operation.output.as_ref()) {
                let mut with_op = linearized.clone();
                with_op.set(event.op);
                if tried.insert((with_op.clone(), next_state.clone())) {
                    stack.push((event.op, state));
                    state = next_state;
                    linearized = with_op;
                    most = most.max(linearized.count());
                    events.lift(event.op);
                    at = events.next[HEAD];
                    continue;
                }
            }
            at = events.next[at];
        } else {
            match backtrack::<M>(&mut events, &mut linearized, &mut stack, &mut state) {
                Some(next) => at = next,
                None => {
                    return CheckOutcome::Violation {
                        linearized_at_most: most,
                    }
                }
            }
        }
    }
    CheckOutcome::Linearizable
}

/// Undo the last linearized operation; where to continue (just after its call), or `None`
/// when nothing is left to undo.
fn backtrack<M: Model>(
    events: &mut Events,
    linearized: &mut Bits,
    stack: &mut Vec<(usize, M::State)>,
    state: &mut M::State,
) -> Option<usize> {
    let (op, before) = stack.pop()?;
    *state = before;
    linearized.clear(op);
    events.unlift(op);
    Some(events.next[events.call_of[op]])
}
