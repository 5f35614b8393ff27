//! Serves peers' RPCs: hands Raft messages to openraft, and runs forwarded writes, read
//! indexes, joins and membership changes when this node is the leader.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::raft::AppendEntriesResponse;

use crate::node::node_core::{
    NodeCore, Route, JOIN_CATCH_UP_TIMEOUT_MS, MEMBERSHIP_CHANGE_TIMEOUT_MS,
};
use crate::transport::{
    blob_transfer_deadline, read_blob_body, ForwardError, JoinRequest, MembershipChange,
    RpcRequest, RpcResponse, RpcService,
};
use edgebase_blobs::BlobId;

/// Blobs received from peers at once.
pub(crate) const BLOB_RECEIVES_MAX: usize = 8;
/// The largest blob a node takes from a peer.
pub const BLOB_BYTES_MAX: u64 = 16 << 30;
use crate::type_config::NodeId;

/// How long a relayed join may take at the leader (catch-up plus promotion).
pub(crate) const JOIN_RPC_TIMEOUT_MS: u64 =
    JOIN_CATCH_UP_TIMEOUT_MS + 2 * MEMBERSHIP_CHANGE_TIMEOUT_MS;

pub(crate) struct NodeService {
    core: Arc<NodeCore>,
}

impl NodeService {
    pub fn new(core: Arc<NodeCore>) -> Self {
        Self { core }
    }
}

impl RpcService for NodeService {
    fn handle(
        &self,
        peer: NodeId,
        request: RpcRequest,
    ) -> impl std::future::Future<Output = RpcResponse> + Send {
        let core = self.core.clone();
        async move { dispatch(&core, peer, request).await }
    }

    fn receive_blob(
        &self,
        peer: NodeId,
        blob: [u8; 32],
        size_bytes: u64,
        body: &mut quinn::RecvStream,
    ) -> impl std::future::Future<Output = RpcResponse> + Send {
        let core = self.core.clone();
        async move { receive_blob(&core, peer, blob, size_bytes, body).await }
    }

    fn open_blob(
        &self,
        blob: [u8; 32],
    ) -> impl std::future::Future<Output = Option<(tokio::fs::File, u64)>> + Send {
        let core = self.core.clone();
        async move {
            core.blobs
                .open_blob(&BlobId::from_digest(blob))
                .await
                .ok()
                .flatten()
        }
    }
}

async fn dispatch(core: &NodeCore, peer: NodeId, request: RpcRequest) -> RpcResponse {
    match request {
        RpcRequest::AppendEntries(req) => {
            let received = Instant::now();
            let answer = core.raft.append_entries(req).await;
            if matches!(&answer, Ok(response) if !matches!(response, AppendEntriesResponse::HigherVote(_)))
            {
                core.leader_contact.record(received);
            }
            RpcResponse::AppendEntries(answer)
        }
        RpcRequest::Vote(_)
            if core
                .votes_withheld
                .load(std::sync::atomic::Ordering::Acquire) =>
        {
            RpcResponse::Refused(format!(
                "node {} is (re)joining and does not vote until it has caught up",
                core.node_id
            ))
        }
        RpcRequest::Vote(req) => RpcResponse::Vote(core.raft.vote(req).await),
        RpcRequest::InstallSnapshot(req) => {
            let received = Instant::now();
            let answer = core.raft.install_snapshot(req).await;
            if answer.is_ok() {
                core.leader_contact.record(received);
            }
            RpcResponse::InstallSnapshot(answer)
        }
        RpcRequest::ClientWrite(command) => {
            RpcResponse::ClientWrite(core.propose_local(command).await)
        }
        RpcRequest::ReadIndex => RpcResponse::ReadIndex(core.read_index_local().await),
        RpcRequest::Join(join) => RpcResponse::Join(handle_join(core, peer, join).await),
        RpcRequest::ChangeMembership {
            requested_by,
            change,
        } => RpcResponse::ChangeMembership(
            handle_change_membership(core, requested_by, &change).await,
        ),
        RpcRequest::NodeStatus => RpcResponse::NodeStatus(core.status()),
        RpcRequest::Describe => RpcResponse::Described(core.describe()),
        RpcRequest::TransferLeader {
            requested_by,
            target,
        } => RpcResponse::TransferLeader(handle_transfer_leader(core, requested_by, target).await),
        RpcRequest::StartElection { leader } => {
            RpcResponse::StartElection(core.start_election_local(leader).await)
        }
        // A copy a peer is about to rely on starts its grace period again, so a collector
        // here does not take it away before the peer's write commits.
        RpcRequest::BlobHas { blob } => {
            let held = core.blobs.touch(&BlobId::from_digest(blob)).await;
            RpcResponse::BlobHeld(matches!(held, Ok(true)))
        }
        RpcRequest::Relay { call } => super::relay::serve_relay(core, peer, call).await,
        // Streamed on their own stream; the server hands them to `receive_blob` and
        // `open_blob` and never here.
        RpcRequest::BlobPush { .. } | RpcRequest::BlobFetch { .. } => {
            RpcResponse::Refused("a blob transfer needs its own stream".into())
        }
    }
}

/// Take a pushed blob into the store: at most `BLOB_RECEIVES_MAX` at once, each bounded in
/// size and time, kept only if the bytes hash to the announced id and are synced.
async fn receive_blob(
    core: &NodeCore,
    peer: NodeId,
    blob: [u8; 32],
    size_bytes: u64,
    body: &mut quinn::RecvStream,
) -> RpcResponse {
    let id = BlobId::from_digest(blob);
    if size_bytes > BLOB_BYTES_MAX {
        return RpcResponse::Refused(format!(
            "blob of {size_bytes} bytes is over the {BLOB_BYTES_MAX} bytes a node takes"
        ));
    }
    let Ok(_permit) = core.blob_receives.acquire().await else {
        return RpcResponse::Refused("shutting down".into());
    };
    let mut writer = match core.blobs.writer_expecting(id, size_bytes).await {
        Ok(writer) => writer,
        Err(error) => return RpcResponse::Refused(error.to_string()),
    };
    let deadline = blob_transfer_deadline(size_bytes);
    let received = tokio::time::timeout(deadline, read_blob_body(body, size_bytes, &mut writer))
        .await
        .unwrap_or_else(|_| Err(format!("blob not received within {deadline:?}")));
    if let Err(reason) = received {
        tracing::info!(peer, blob = %id, reason, "blob push failed");
        return RpcResponse::Refused(reason);
    }
    match writer.finish().await {
        Ok(_) => {
            tracing::debug!(peer, blob = %id, size_bytes, "holding a pushed blob");
            RpcResponse::BlobStored
        }
        Err(error) => {
            tracing::warn!(peer, blob = %id, %error, "blob push not kept");
            RpcResponse::Refused(error.to_string())
        }
    }
}

async fn handle_join(
    core: &NodeCore,
    peer: NodeId,
    request: JoinRequest,
) -> Result<(), ForwardError> {
    if let Some(relay) = request.relayed_by {
        if !core.is_member(relay) {
            return Err(ForwardError::Refused(format!(
                "node {relay} relays a join but is not a member"
            )));
        }
    }
    if request.node_id == core.node_id {
        return Err(ForwardError::Refused(format!(
            "node {} cannot join through itself",
            request.node_id
        )));
    }
    tracing::info!(peer, node = request.node_id, role = ?request.role, "join request");
    let wait = Duration::from_millis(core.election_timeout_max_ms * 2);
    match core.route(wait).await {
        Ok(Route::Local) => core.join_local(&request).await,
        Ok(Route::Remote { id, raft_addr }) if request.relayed_by.is_none() => {
            let relayed = JoinRequest {
                relayed_by: Some(core.node_id),
                ..request
            };
            let timeout = Duration::from_millis(JOIN_RPC_TIMEOUT_MS);
            match core
                .transport
                .call(id, &raft_addr, &RpcRequest::Join(relayed), timeout)
                .await
            {
                Ok(RpcResponse::Join(answer)) => answer,
                Ok(RpcResponse::Refused(reason)) => Err(ForwardError::Refused(reason)),
                Ok(other) => Err(ForwardError::Unavailable(format!(
                    "leader answered a join with {}",
                    other.kind()
                ))),
                // Joining is idempotent, so even a maybe-delivered relay may be asked again.
                Err(error) => Err(ForwardError::Unavailable(format!(
                    "relay join to leader {id}: {error}"
                ))),
            }
        }
        Ok(Route::Remote { .. }) => Err(core.not_leader()),
        Err(error) => Err(ForwardError::Unavailable(error.to_string())),
    }
}

async fn handle_change_membership(
    core: &NodeCore,
    requested_by: NodeId,
    change: &MembershipChange,
) -> Result<(), ForwardError> {
    if !core.is_member(requested_by) {
        return Err(ForwardError::Refused(format!(
            "node {requested_by} is not a member"
        )));
    }
    if core.leader_id() != Some(core.node_id) {
        return Err(core.not_leader());
    }
    tracing::info!(requested_by, ?change, "membership change");
    core.change_membership_local(change).await
}

async fn handle_transfer_leader(
    core: &NodeCore,
    requested_by: NodeId,
    target: NodeId,
) -> Result<(), ForwardError> {
    if !core.is_member(requested_by) {
        return Err(ForwardError::Refused(format!(
            "node {requested_by} is not a member"
        )));
    }
    tracing::info!(requested_by, target, "leadership transfer requested");
    core.transfer_leadership_local(target).await
}
