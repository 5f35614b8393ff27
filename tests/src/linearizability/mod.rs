//! A linearizability checker for recorded histories: the Wing-Gong-Lowe search (the
//! algorithm Porcupine implements) over one object's operations, with Lowe's cache of
//! (operations linearized, state) pairs already tried, under a time budget. Histories of many
//! records are checked record by record (linearizability is compositional over objects).
//! `register.rs` is the model of one record under EdgeBase's API; the checker is cross-checked
//! against stateright's `LinearizabilityTester` on random histories and shown to catch
//! planted violations (`tests/tests/linearizability_checker.rs`).

mod register;
mod wgl;

pub use register::{RecordInput, RecordModel, RecordOutput, RecordState};
pub use wgl::{check, CheckOutcome};

use std::hash::Hash;

/// A sequential specification: what one operation does to the object's state.
pub trait Model {
    type State: Clone + Eq + Hash + std::fmt::Debug;
    type Input: std::fmt::Debug;
    type Output: std::fmt::Debug;

    fn init() -> Self::State;

    /// The state after `input` applies to `state` and answers `output`, or `None` when the
    /// object could not have answered that. An unknown output (`None`: the client never
    /// learned it) takes the step the state dictates; an operation that may never have
    /// happened is linearized last, where nothing can observe it.
    fn step(
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;
}

/// One operation of a history: who invoked it, when it was invoked and completed (in any
/// monotonic unit; `None`: never known to complete), what it asked and answered.
#[derive(Debug, Clone)]
pub struct Operation<I, O> {
    pub client: u64,
    pub input: I,
    pub output: Option<O>,
    pub invoked: u64,
    pub completed: Option<u64>,
}
