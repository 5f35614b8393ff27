//! openraft `storage-v2` adapters over the storage engine: [`RaftLogStore`] for the Raft log
//! and [`RaftStateMachineStore`] for the state machine and its snapshot files.

mod codec;
#[cfg(test)]
mod command_golden_bytes;
mod error;
mod log_cache;
mod log_store;
mod snapshot_files;
mod state_machine;

pub use error::StorageAdapterError;
pub use log_cache::LOG_CACHE_BYTES_DEFAULT;
pub use log_store::RaftLogStore;
pub use state_machine::{NodeLink, RaftStateMachineStore};
