//! The openraft type configuration shared by every part of the consensus layer.

use std::fmt;

use edgebase_storage::{Command, EntryResult};
use serde::{Deserialize, Serialize};

/// A member as the cluster knows it: where to reach it and where it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// QUIC address peers dial (`host:port`).
    pub raft_addr: String,
    /// Public HTTP base address of the node (`host:port`).
    pub http_addr: String,
    /// Region label, e.g. `eu`.
    pub region: String,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "raft={} http={} region={}",
            self.raft_addr, self.http_addr, self.region
        )
    }
}

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// EdgeBase's Raft types: commands in, results out, snapshots as files on disk.
    pub TypeConfig:
        D = Command,
        R = EntryResult,
        NodeId = NodeId,
        Node = NodeInfo,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeInfo>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeInfo>;
pub type Snapshot = openraft::storage::Snapshot<TypeConfig>;
