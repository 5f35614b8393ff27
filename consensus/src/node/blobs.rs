//! Blobs across the cluster: a node that takes an upload pushes the blob to the voters until
//! a majority of them hold it durably (only then may a write refer to it), and a node that
//! lacks a blob fetches it from a member that holds it.

use std::collections::BTreeSet;

use edgebase_blobs::{BlobId, BlobStore, StoredBlob};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::error::ConsensusError;
use crate::node::node_core::NodeCore;
use crate::node::service::BLOB_BYTES_MAX;
use crate::node::ConsensusNode;
use crate::type_config::{NodeId, NodeInfo};

/// Where a blob is held after [`ConsensusNode::replicate_blob`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobReplication {
    /// Voters known to hold it durably (this node included when it is one).
    pub holders: BTreeSet<NodeId>,
    pub voters: usize,
}

impl ConsensusNode {
    /// This node's blob store (`DATA_DIR/blobs`).
    pub fn blobs(&self) -> &BlobStore {
        &self.core().blobs
    }

    /// Push `blob`, which this node holds, to the other voters at once, and return as soon
    /// as a majority of voters hold it durably; pushes still running then finish in the
    /// background. Fails, naming how many hold it, when no majority can be reached.
    pub async fn replicate_blob(&self, blob: BlobId) -> Result<BlobReplication, ConsensusError> {
        let core = self.inner.core.clone();
        let size_bytes = core
            .blobs
            .size_of(&blob)
            .await
            .map_err(|e| blob_error(format!("read local blob {blob}: {e}")))?
            .ok_or_else(|| blob_error(format!("blob {blob} is not held here")))?;
        let (voters, peers) = {
            let metrics = core.metrics();
            let membership = metrics.membership_config.membership();
            let voters: Vec<NodeId> = membership.voter_ids().collect();
            let peers: Vec<(NodeId, NodeInfo)> = voters
                .iter()
                .filter(|id| **id != core.node_id)
                .filter_map(|id| membership.get_node(id).map(|info| (*id, info.clone())))
                .collect();
            (voters, peers)
        };
        let majority = voters.len() / 2 + 1;
        let mut holders = BTreeSet::new();
        if voters.contains(&core.node_id) {
            holders.insert(core.node_id);
        }
        let mut pushes: FuturesUnordered<_> = peers
            .into_iter()
            .map(|(peer, info)| {
                let core = core.clone();
                // Each push is its own task: it outlives this call once a majority holds the
                // blob, and finishes the copy for the rest.
                let push = tokio::spawn(async move {
                    let outcome =
                        push_one(&core.blobs, &core.transport, peer, &info, blob, size_bytes).await;
                    if let Err(reason) = &outcome {
                        tracing::info!(peer, %blob, reason, "blob push failed");
                    }
                    (peer, outcome.is_ok())
                });
                async move { push.await.unwrap_or((peer, false)) }
            })
            .collect();
        while holders.len() < majority {
            match pushes.next().await {
                Some((peer, true)) => {
                    holders.insert(peer);
                }
                Some((_, false)) => {}
                None => break,
            }
        }
        if holders.len() < majority {
            return Err(ConsensusError::Unavailable {
                reason: format!(
                    "blob {blob} is held by {} of {} voters, short of a majority",
                    holders.len(),
                    voters.len()
                ),
            });
        }
        tracing::debug!(%blob, holders = ?holders, "blob held by a majority of voters");
        Ok(BlobReplication {
            holders,
            voters: voters.len(),
        })
    }

    /// Fetch `blob`, which this node lacks, from a member that holds it (voters first) and
    /// keep the copy. `None` when no reachable member holds it.
    pub async fn fetch_blob(&self, blob: BlobId) -> Result<Option<StoredBlob>, ConsensusError> {
        self.core().fetch_blob(blob).await
    }
}

impl NodeCore {
    /// See [`ConsensusNode::fetch_blob`].
    pub(crate) async fn fetch_blob(
        &self,
        blob: BlobId,
    ) -> Result<Option<StoredBlob>, ConsensusError> {
        let core = self;
        if let Some(size_bytes) = core
            .blobs
            .size_of(&blob)
            .await
            .map_err(|e| blob_error(e.to_string()))?
        {
            return Ok(Some(StoredBlob {
                id: blob,
                size_bytes,
            }));
        }
        let candidates: Vec<(NodeId, NodeInfo)> = {
            let metrics = core.metrics();
            let membership = metrics.membership_config.membership();
            let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
            let mut nodes: Vec<(NodeId, NodeInfo)> = membership
                .nodes()
                .filter(|(id, _)| **id != core.node_id)
                .map(|(id, info)| (*id, info.clone()))
                .collect();
            nodes.sort_by_key(|(id, _)| (!voters.contains(id), *id));
            nodes
        };
        for (peer, info) in candidates {
            let writer = core
                .blobs
                .writer_expecting(blob, BLOB_BYTES_MAX)
                .await
                .map_err(|e| blob_error(e.to_string()))?;
            match core
                .transport
                .fetch_blob(peer, &info.raft_addr, blob, writer, BLOB_BYTES_MAX)
                .await
            {
                Ok(Some(stored)) => {
                    tracing::info!(peer, %blob, size_bytes = stored.size_bytes, "fetched a blob");
                    return Ok(Some(stored));
                }
                Ok(None) => {}
                Err(error) => tracing::info!(peer, %blob, %error, "blob fetch failed"),
            }
        }
        Ok(None)
    }
}

/// Make sure `peer` holds the blob: ask, and push it when it does not.
async fn push_one(
    blobs: &BlobStore,
    transport: &crate::transport::QuicTransport,
    peer: NodeId,
    info: &NodeInfo,
    blob: BlobId,
    size_bytes: u64,
) -> Result<(), String> {
    if transport
        .blob_held(peer, &info.raft_addr, blob)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let (mut file, _) = blobs
        .open_blob(&blob)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("blob {blob} vanished before it was pushed"))?;
    transport
        .push_blob(peer, &info.raft_addr, blob, size_bytes, &mut file)
        .await
        .map_err(|e| e.to_string())
}

fn blob_error(reason: String) -> ConsensusError {
    ConsensusError::Storage { reason }
}
