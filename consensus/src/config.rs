//! Settings of one consensus node, and the openraft `Config` derived from them.

use std::net::SocketAddr;
use std::path::PathBuf;

use openraft::{Config, SnapshotPolicy};

use crate::error::ConsensusError;
use crate::tls::TlsPaths;
use crate::type_config::{NodeId, NodeInfo};

/// Snapshot chunks sent to followers are at most this big (openraft's chunked transfer).
pub const SNAPSHOT_CHUNK_BYTES: u64 = 1024 * 1024;
/// How long one snapshot chunk RPC (including installing the last one) may take.
pub const INSTALL_SNAPSHOT_TIMEOUT_MS: u64 = 10_000;
/// Entries per append-entries RPC; the transport also splits batches over its frame limit.
pub const MAX_PAYLOAD_ENTRIES: u64 = 300;

/// Everything a [`crate::ConsensusNode`] needs besides its opened store.
#[derive(Debug, Clone)]
pub struct ConsensusConfig {
    pub node_id: NodeId,
    /// The store is already opened by the caller; snapshots go in `data_dir/snapshots`.
    pub data_dir: PathBuf,
    /// Where the QUIC endpoint listens (port 0 picks a free port).
    pub listen_raft_addr: SocketAddr,
    /// What peers are told about this node. A `raft_addr` that is empty or has port 0 is
    /// filled in from the bound endpoint.
    pub info: NodeInfo,
    pub tls: TlsPaths,
    /// How often the leader sends heartbeats (also openraft's timeout for one).
    pub heartbeat_interval_ms: u64,
    /// A follower that hears nothing from a known leader for openraft's leader lease
    /// (`election_timeout_max_ms`) plus a random election timeout in `[min, max)` starts an
    /// election: with the defaults, 1.5 to 2 s after the leader dies. The lease also bounds
    /// how long a silent leader is still forwarded to (`NodeCore::route`).
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many logs since the last one.
    pub snapshot_threshold_logs: u64,
    /// Logs kept behind a snapshot for followers that lag a little.
    pub max_in_snapshot_log_to_keep: u64,
    /// Regions the leader should be in, most preferred first; empty: no preference. A leader
    /// elsewhere hands over to a reachable, caught-up voter in one of them.
    pub leader_regions: Vec<String>,
    /// How often a leader checks whether it should hand over to a preferred region.
    pub leader_placement_check_ms: u64,
}

impl ConsensusConfig {
    /// A config with the default timings.
    pub fn new(
        node_id: NodeId,
        data_dir: PathBuf,
        listen_raft_addr: SocketAddr,
        info: NodeInfo,
        tls: TlsPaths,
    ) -> Self {
        Self {
            node_id,
            data_dir,
            listen_raft_addr,
            info,
            tls,
            heartbeat_interval_ms: 250,
            election_timeout_min_ms: 500,
            election_timeout_max_ms: 1000,
            snapshot_threshold_logs: 5000,
            max_in_snapshot_log_to_keep: 1000,
            leader_regions: Vec::new(),
            leader_placement_check_ms: 3_000,
        }
    }

    /// Where file contents are kept, by hash.
    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    /// Where snapshots are written.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.data_dir.join("snapshots")
    }

    /// The openraft config, validated.
    pub fn raft_config(&self) -> Result<Config, ConsensusError> {
        let config = Config {
            cluster_name: "edgebase".to_string(),
            heartbeat_interval: self.heartbeat_interval_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            install_snapshot_timeout: INSTALL_SNAPSHOT_TIMEOUT_MS,
            max_payload_entries: MAX_PAYLOAD_ENTRIES,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_threshold_logs),
            snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES,
            max_in_snapshot_log_to_keep: self.max_in_snapshot_log_to_keep,
            ..Config::default()
        };
        config.validate().map_err(|e| ConsensusError::Config {
            reason: e.to_string(),
        })
    }
}
