//! openraft's `RaftNetworkFactory` / `RaftNetwork` over the QUIC transport, mapping transport
//! failures to openraft's `Unreachable` (back off), `NetworkError` (retry), `Timeout` and
//! `PayloadTooLarge` (split the batch).

use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, Timeout,
    Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use crate::transport::{QuicTransport, RpcRequest, RpcResponse, TransportError};
use crate::type_config::{NodeId, NodeInfo, TypeConfig};

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>>;

/// Creates a [`PeerNetwork`] per replication target; all share one [`QuicTransport`].
#[derive(Debug, Clone)]
pub struct RaftNetworkClients {
    local_id: NodeId,
    transport: QuicTransport,
}

impl RaftNetworkClients {
    pub fn new(local_id: NodeId, transport: QuicTransport) -> Self {
        Self {
            local_id,
            transport,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for RaftNetworkClients {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> Self::Network {
        PeerNetwork {
            local_id: self.local_id,
            target,
            node: node.clone(),
            transport: self.transport.clone(),
        }
    }
}

/// openraft's client for one peer.
#[derive(Debug)]
pub struct PeerNetwork {
    local_id: NodeId,
    target: NodeId,
    node: NodeInfo,
    transport: QuicTransport,
}

impl PeerNetwork {
    async fn send<E: std::error::Error + 'static>(
        &self,
        action: RPCTypes,
        request: RpcRequest,
        timeout: Duration,
    ) -> Result<RpcResponse, RPCError<NodeId, NodeInfo, RaftError<NodeId, E>>> {
        let entries = match &request {
            RpcRequest::AppendEntries(req) => req.entries.len() as u64,
            _ => 0,
        };
        let result = self
            .transport
            .call(self.target, &self.node.raft_addr, &request, timeout)
            .await;
        match result {
            Ok(RpcResponse::Refused(reason)) => {
                tracing::warn!(target = self.target, %reason, "peer refused raft RPC");
                Err(RPCError::Unreachable(Unreachable::new(
                    &TransportError::Handshake {
                        peer: self.node.raft_addr.clone(),
                        reason,
                    },
                )))
            }
            Ok(response) => Ok(response),
            Err(error) => Err(self.map_error(action, error, entries, timeout)),
        }
    }

    fn map_error<E: std::error::Error + 'static>(
        &self,
        action: RPCTypes,
        error: TransportError,
        entries: u64,
        timeout: Duration,
    ) -> RPCError<NodeId, NodeInfo, RaftError<NodeId, E>> {
        match &error {
            TransportError::FrameTooLarge { .. } if action == RPCTypes::AppendEntries => {
                RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint((entries / 2).max(1)))
            }
            TransportError::Timeout { .. } => RPCError::Timeout(Timeout {
                action,
                id: self.local_id,
                target: self.target,
                timeout,
            }),
            TransportError::Unreachable { .. }
            | TransportError::Handshake { .. }
            | TransportError::BadAddress { .. }
            | TransportError::Endpoint(_) => RPCError::Unreachable(Unreachable::new(&error)),
            TransportError::Lost { .. }
            | TransportError::FrameTooLarge { .. }
            | TransportError::Encode(_)
            | TransportError::Decode(_)
            | TransportError::PeerTooOld { .. } => RPCError::Network(NetworkError::new(&error)),
        }
    }

    fn remote<E: std::error::Error + 'static>(
        &self,
        error: RaftError<NodeId, E>,
    ) -> RPCError<NodeId, NodeInfo, RaftError<NodeId, E>> {
        RPCError::RemoteError(RemoteError::new_with_node(
            self.target,
            self.node.clone(),
            error,
        ))
    }

    fn unexpected<E: std::error::Error + 'static>(
        &self,
        response: &RpcResponse,
    ) -> RPCError<NodeId, NodeInfo, RaftError<NodeId, E>> {
        RPCError::Network(NetworkError::new(&TransportError::Decode(format!(
            "unexpected {} answer from node {}",
            response.kind(),
            self.target
        ))))
    }
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        let response = self
            .send(
                RPCTypes::AppendEntries,
                RpcRequest::AppendEntries(rpc),
                option.hard_ttl(),
            )
            .await?;
        match response {
            RpcResponse::AppendEntries(Ok(answer)) => Ok(answer),
            RpcResponse::AppendEntries(Err(error)) => Err(self.remote(error)),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let response = self
            .send(
                RPCTypes::InstallSnapshot,
                RpcRequest::InstallSnapshot(rpc),
                option.hard_ttl(),
            )
            .await?;
        match response {
            RpcResponse::InstallSnapshot(Ok(answer)) => Ok(answer),
            RpcResponse::InstallSnapshot(Err(error)) => Err(self.remote(error)),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        let response = self
            .send(RPCTypes::Vote, RpcRequest::Vote(rpc), option.hard_ttl())
            .await?;
        match response {
            RpcResponse::Vote(Ok(answer)) => Ok(answer),
            RpcResponse::Vote(Err(error)) => Err(self.remote(error)),
            other => Err(self.unexpected(&other)),
        }
    }
}
