//! A marker file that survives restarts while a join is unfinished.
//!
//! A node that lost its data dir and comes back under the same id is still a voter in the
//! cluster's membership, but it has forgotten its vote and the entries it acknowledged. If it
//! voted before catching up, a candidate missing committed entries could win an election
//! and those entries would be lost. So a node that starts with an empty store withholds its
//! vote, and the marker keeps it withholding across a crash in the middle of the join,
//! until the leader has caught it up and (re)promoted it.

use std::path::{Path, PathBuf};

use crate::error::ConsensusError;

const MARKER_FILE: &str = "join-in-progress";

pub(crate) struct JoinGuard {
    path: PathBuf,
}

impl JoinGuard {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(MARKER_FILE),
        }
    }

    pub fn is_pending(&self) -> bool {
        self.path.exists()
    }

    /// Record durably that a join has begun.
    pub fn begin(&self) -> Result<(), ConsensusError> {
        let storage = |e: std::io::Error| ConsensusError::Storage {
            reason: format!("write {}: {e}", self.path.display()),
        };
        let file = std::fs::File::create(&self.path).map_err(storage)?;
        file.sync_all().map_err(storage)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(storage)?;
        }
        Ok(())
    }

    pub fn finish(&self) -> Result<(), ConsensusError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ConsensusError::Storage {
                reason: format!("remove {}: {e}", self.path.display()),
            }),
        }
    }
}
