//! `ResultRow`: one measured run with what was measured (system, setup, placement).

use crate::measurement::Measurement;
use crate::workload::Workload;

/// Which table of the report a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The side-by-side comparison at the fixed connection count.
    Comparison,
    /// The write concurrency sweep (group commit).
    Sweep,
}

/// Where the requests of a run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The only server.
    Single,
    /// Writes and reads at the leader.
    Leader,
    /// Writes and reads at a follower (writes forwarded by it).
    Follower,
}

impl Placement {
    pub fn label(self) -> &'static str {
        match self {
            Placement::Single => "–",
            Placement::Leader => "leader",
            Placement::Follower => "follower",
        }
    }
}

/// The systems the bench compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    EdgebaseNode,
    EdgebaseCluster,
    Pocketbase,
    Etcd,
}

impl System {
    pub fn label(self) -> &'static str {
        match self {
            System::EdgebaseNode => "EdgeBase, 1 node",
            System::EdgebaseCluster => "EdgeBase, 3 nodes",
            System::Pocketbase => "PocketBase",
            System::Etcd => "etcd, 3 members",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResultRow {
    pub section: Section,
    pub system: System,
    pub workload: Workload,
    pub placement: Placement,
    pub connections: usize,
    pub measurement: Measurement,
}
