//! One record as EdgeBase's API lets clients use it in the nemesis suite: created with a
//! client-chosen id (and a value no other write uses), read, updated with `If-Match` naming
//! the version that held a value the client read, deleted. Values are unique per write, so a
//! value names a version.

use super::Model;

/// What a client asked of the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordInput {
    Create {
        value: String,
    },
    /// A read that must be linearizable (`strong`).
    Read,
    /// Write `value` if the record still holds `expected` (`If-Match`).
    Update {
        expected: String,
        value: String,
    },
    Delete,
}

/// What the API answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutput {
    Created,
    /// The create found the record there (400, `id` not unique).
    Exists,
    Read(Option<String>),
    Updated,
    /// 412: the record holds another value.
    Stale,
    /// 404.
    Missing,
    Deleted,
}

/// The record's value; `None` while it does not exist.
pub type RecordState = Option<String>;

/// The sequential specification of one record.
pub struct RecordModel;

impl Model for RecordModel {
    type State = RecordState;
    type Input = RecordInput;
    type Output = RecordOutput;

    fn init() -> RecordState {
        None
    }

    fn step(
        state: &RecordState,
        input: &RecordInput,
        output: Option<&RecordOutput>,
    ) -> Option<RecordState> {
        use RecordOutput as Out;
        match input {
            RecordInput::Create { value } => match (state, output) {
                (None, Some(Out::Created) | None) => Some(Some(value.clone())),
                (Some(_), Some(Out::Exists) | None) => Some(state.clone()),
                _ => None,
            },
            RecordInput::Read => match output {
                Some(Out::Read(seen)) => (seen == state).then(|| state.clone()),
                None => Some(state.clone()),
                Some(_) => None,
            },
            RecordInput::Update { expected, value } => match (state, output) {
                (Some(current), Some(Out::Updated) | None) if current == expected => {
                    Some(Some(value.clone()))
                }
                (Some(current), Some(Out::Stale) | None) if current != expected => {
                    Some(state.clone())
                }
                (None, Some(Out::Missing) | None) => Some(None),
                _ => None,
            },
            RecordInput::Delete => match (state, output) {
                (Some(_), Some(Out::Deleted) | None) => Some(None),
                (None, Some(Out::Missing) | None) => Some(None),
                _ => None,
            },
        }
    }
}
