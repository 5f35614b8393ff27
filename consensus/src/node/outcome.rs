//! What a successful write returns.

use edgebase_storage::CommandResult;

/// A write that was committed and applied on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Log index of the entry; a read at this node after the write sees applied index >= it.
    pub index: u64,
    /// What applying the command did (applied, or deterministically rejected).
    pub result: CommandResult,
}
