//! Which peer protocol two nodes speak, so nodes of two adjacent releases can run in one
//! cluster during a rolling upgrade.
//!
//! The version is agreed per QUIC connection by ALPN: a node offers and accepts
//! `edgebase-raft/N` for every N from [`OLDEST_WIRE_VERSION`] to [`WIRE_VERSION`], newest
//! first, and TLS picks the newest both know. What a version allows:
//!
//! - Peer messages never change shape. A release that needs a new message or answer adds an
//!   `RpcRequest`/`RpcResponse` variant at the end and bumps [`WIRE_VERSION`]; a request is
//!   sent only on a connection agreed at its version or later
//!   (`RpcRequest::wire_version`), and a server refuses one sent on an older connection.
//! - Log entries are read by every member, whatever it runs, so a command added in a release
//!   (`Command::wire_version` in the storage engine) is proposed only once every member is
//!   known to speak that version ([`cluster_wire_version`]): during an upgrade the leader
//!   refuses it with a clear error, and after the last node is upgraded it is accepted.
//!
//! Version history:
//! 1. Up to commit 521ae03 (package 0.1.0).
//! 2. Package 0.2.0: nodes describe themselves (`RpcRequest::Describe`: status, package
//!    version, wire version) so cluster status shows each member's release; the hooks'
//!    outbox commands (`Command::PutOutbox`, `Command::DeleteOutbox`).
//!
//! A member's version is what its open connection agreed, else what it was last seen
//! speaking since this node started (a member that is down does not stop new commands); a
//! member not seen at all since this node started is not assumed upgraded.

use crate::type_config::NodeId;

/// The peer protocol this binary speaks natively.
pub const WIRE_VERSION: u16 = 2;

/// The oldest peer protocol this binary still speaks (the previous release's).
pub const OLDEST_WIRE_VERSION: u16 = 1;

const ALPN_PREFIX: &str = "edgebase-raft/";

/// The ALPN protocol name of `version`.
pub fn alpn(version: u16) -> Vec<u8> {
    format!("{ALPN_PREFIX}{version}").into_bytes()
}

/// Every protocol this binary offers and accepts, newest (preferred) first.
pub fn supported_alpns() -> Vec<Vec<u8>> {
    (OLDEST_WIRE_VERSION..=WIRE_VERSION)
        .rev()
        .map(alpn)
        .collect()
}

/// The version an ALPN protocol name stands for, if it is one of ours.
pub fn version_of_alpn(protocol: &[u8]) -> Option<u16> {
    std::str::from_utf8(protocol)
        .ok()?
        .strip_prefix(ALPN_PREFIX)?
        .parse()
        .ok()
}

/// The version agreed on `connection` (the handshake is complete by the time a connection
/// exists). A connection without ALPN data is taken as the oldest version.
pub fn negotiated(connection: &quinn::Connection) -> u16 {
    connection
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol)
        .and_then(|protocol| version_of_alpn(&protocol))
        .unwrap_or(OLDEST_WIRE_VERSION)
}

/// The version every member speaks, given the version each is known to speak: the lowest,
/// or `Err` naming a member whose version is not known (no open connection to it), since a
/// command only some members can read must not be proposed on a guess.
pub fn cluster_wire_version(
    self_id: NodeId,
    members: impl IntoIterator<Item = NodeId>,
    known: &[(NodeId, u16)],
) -> Result<u16, NodeId> {
    let mut lowest = WIRE_VERSION;
    for member in members {
        if member == self_id {
            continue;
        }
        let version = known
            .iter()
            .find(|(id, _)| *id == member)
            .map(|(_, version)| *version)
            .ok_or(member)?;
        lowest = lowest.min(version);
    }
    Ok(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_names_round_trip_newest_first() {
        let names = supported_alpns();
        assert_eq!(names.first(), Some(&b"edgebase-raft/2".to_vec()));
        assert_eq!(names.last(), Some(&b"edgebase-raft/1".to_vec()));
        for name in &names {
            let version = version_of_alpn(name).expect("ours");
            assert_eq!(alpn(version), *name);
        }
        assert_eq!(version_of_alpn(b"h3"), None);
        assert_eq!(version_of_alpn(b"edgebase-raft/x"), None);
    }

    #[test]
    fn the_cluster_speaks_what_its_oldest_member_speaks() {
        assert_eq!(cluster_wire_version(1, [1], &[]), Ok(WIRE_VERSION));
        assert_eq!(cluster_wire_version(1, [1, 2, 3], &[(2, 2), (3, 2)]), Ok(2));
        assert_eq!(cluster_wire_version(1, [1, 2, 3], &[(2, 2), (3, 1)]), Ok(1));
        // A member with no connection is not assumed to be upgraded.
        assert_eq!(cluster_wire_version(1, [1, 2, 3], &[(2, 2)]), Err(3));
        // Connections to non-members do not count.
        assert_eq!(cluster_wire_version(1, [1, 2], &[(2, 2), (9, 1)]), Ok(2));
    }
}
