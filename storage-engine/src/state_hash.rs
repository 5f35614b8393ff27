//! A digest of the whole replicated state, as etcd's `HashKV` gives one: two replicas at the
//! same applied index must give the same hash, so an operator (or the nemesis suite) can see
//! that no replica diverged. Read from one consistent view, like a snapshot.

use sha2::{Digest, Sha256};

use crate::codec::decode_u64;
use crate::keys;
use crate::kv::ScanStep;
use crate::state_machine::StateMachine;
use crate::StorageError;

/// The digest of the state at one applied index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateHash {
    /// The last log index the state includes (0 before any entry).
    pub applied_index: u64,
    /// Number of keys hashed.
    pub keys: u64,
    /// SHA-256 over every key and value in key order, each length-prefixed.
    pub sha256: [u8; 32],
}

impl StateHash {
    pub fn hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

impl StateMachine {
    /// Hash every key of the state machine (what a snapshot carries) from one view.
    pub fn state_hash(&self) -> Result<StateHash, StorageError> {
        let view = self.backend.view()?;
        let applied_index = match view.get(&keys::applied_index())? {
            Some(bytes) => decode_u64(&bytes, "applied index")?,
            None => 0,
        };
        let mut hasher = Sha256::new();
        let mut keys: u64 = 0;
        view.scan_prefix(&[], &mut |key, value| {
            hasher.update((key.len() as u64).to_le_bytes());
            hasher.update(key);
            hasher.update((value.len() as u64).to_le_bytes());
            hasher.update(value);
            keys += 1;
            Ok(ScanStep::Continue)
        })?;
        Ok(StateHash {
            applied_index,
            keys,
            sha256: hasher.finalize().into(),
        })
    }
}
