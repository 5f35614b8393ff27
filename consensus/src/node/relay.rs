//! Relayed calls: a request the layer above consensus sends to one named member (a realtime
//! subscription for the node that holds a client's stream, an OAuth2 redirect for the node
//! that holds the login's stream). Consensus carries the bytes over the members' mutual-TLS
//! QUIC connections and knows nothing of what they mean; the receiving node hands them to
//! the [`RelayHandler`] it was given and sends back what that answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::error::ConsensusError;
use crate::node::node_core::NodeCore;
use crate::node::ConsensusNode;
use crate::transport::{RpcRequest, RpcResponse};
use crate::type_config::NodeId;

/// Largest relayed call or answer: these are small control messages, never data.
pub const RELAY_BYTES_MAX: usize = 1 << 20;
/// Relayed calls a node serves at once; more are refused until one finishes.
pub(crate) const RELAYS_IN_FLIGHT_MAX: usize = 256;

/// The answer of a [`RelayHandler`]: bytes for the calling node.
pub type RelayFuture = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;

/// Serves the calls other members relay to this node. Set once the layer above has started
/// ([`ConsensusNode::set_relay_handler`]); until then relayed calls are refused.
pub trait RelayHandler: Send + Sync + 'static {
    fn handle(&self, from: NodeId, call: Vec<u8>) -> RelayFuture;
}

/// The handler slot and the bound on calls served at once.
pub(crate) struct RelayDesk {
    handler: RwLock<Option<Arc<dyn RelayHandler>>>,
    in_flight: tokio::sync::Semaphore,
}

impl RelayDesk {
    pub(crate) fn new() -> Self {
        RelayDesk {
            handler: RwLock::new(None),
            in_flight: tokio::sync::Semaphore::new(RELAYS_IN_FLIGHT_MAX),
        }
    }

    fn handler(&self) -> Option<Arc<dyn RelayHandler>> {
        self.handler
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// Serve one relayed call from member `from`.
pub(crate) async fn serve_relay(core: &NodeCore, from: NodeId, call: Vec<u8>) -> RpcResponse {
    if !core.is_member(from) {
        return RpcResponse::Refused(format!("node {from} is not a member"));
    }
    if call.len() > RELAY_BYTES_MAX {
        return RpcResponse::Refused(format!(
            "relayed call of {} bytes is over {RELAY_BYTES_MAX}",
            call.len()
        ));
    }
    let Some(handler) = core.relay.handler() else {
        return RpcResponse::Refused("this node is still starting".into());
    };
    let Ok(_permit) = core.relay.in_flight.try_acquire() else {
        return RpcResponse::Refused(format!(
            "node {} serves {RELAYS_IN_FLIGHT_MAX} relayed calls already",
            core.node_id
        ));
    };
    let answer = handler.handle(from, call).await;
    if answer.len() > RELAY_BYTES_MAX {
        return RpcResponse::Refused(format!(
            "relay answer of {} bytes is over {RELAY_BYTES_MAX}",
            answer.len()
        ));
    }
    RpcResponse::Relay(answer)
}

impl ConsensusNode {
    /// Serve the calls other members relay to this node with `handler` (replacing any).
    pub fn set_relay_handler(&self, handler: Arc<dyn RelayHandler>) {
        *self
            .core()
            .relay
            .handler
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(handler);
    }

    /// Whether `id` is a member (voter or learner) of the cluster as this node knows it.
    pub fn is_member(&self, id: NodeId) -> bool {
        self.core().is_member(id)
    }

    /// Every member's id (voters and learners), this node's included.
    pub fn member_ids(&self) -> Vec<NodeId> {
        let metrics = self.core().metrics();
        let ids = metrics
            .membership_config
            .membership()
            .nodes()
            .map(|(id, _)| *id)
            .collect();
        ids
    }

    /// Send `call` to member `target` and wait at most `timeout` for its handler's answer.
    /// A call to this node itself is served here, without the network.
    pub async fn relay(
        &self,
        target: NodeId,
        call: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, ConsensusError> {
        let core = self.core();
        if call.len() > RELAY_BYTES_MAX {
            return Err(ConsensusError::Refused {
                reason: format!(
                    "relayed call of {} bytes is over {RELAY_BYTES_MAX}",
                    call.len()
                ),
            });
        }
        if target == core.node_id {
            let served = tokio::time::timeout(timeout, serve_relay(core, target, call)).await;
            return match served {
                Ok(RpcResponse::Relay(answer)) => Ok(answer),
                Ok(RpcResponse::Refused(reason)) => Err(ConsensusError::Refused { reason }),
                Ok(other) => Err(unexpected(other)),
                Err(_) => Err(ConsensusError::Timeout {
                    action: "serve a relayed call",
                    timeout_ms: millis(timeout),
                }),
            };
        }
        let info = core
            .member_info(target)
            .ok_or_else(|| ConsensusError::Refused {
                reason: format!("node {target} is not a member"),
            })?;
        let request = RpcRequest::Relay { call };
        match core
            .transport
            .call(target, &info.raft_addr, &request, timeout)
            .await
        {
            Ok(RpcResponse::Relay(answer)) => Ok(answer),
            Ok(RpcResponse::Refused(reason)) => Err(ConsensusError::Refused { reason }),
            Ok(other) => Err(unexpected(other)),
            Err(error) => Err(ConsensusError::Unavailable {
                reason: format!("relay to node {target}: {error}"),
            }),
        }
    }
}

fn unexpected(answer: RpcResponse) -> ConsensusError {
    ConsensusError::Unavailable {
        reason: format!("a relayed call was answered with {}", answer.kind()),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
