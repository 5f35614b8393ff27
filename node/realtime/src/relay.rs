//! Realtime requests that reach a node other than the one holding the client's stream: a
//! subscription request, an OAuth2 redirect, an Apple user's name asked for by the node
//! finishing the login. The receiving node relays them over the cluster transport
//! (`ConsensusNode::relay`) to the node the client id names, whose [`HubRelay`] carries them
//! out on its own hub and answers.

use std::sync::{Arc, Weak};
use std::time::Duration;

use edgebase_consensus::{NodeId, RelayFuture, RelayHandler};
use edgebase_service::app::App;
use serde::{Deserialize, Serialize};

use crate::hub::{HubInner, RealtimeError, SubscribeRequest};
use crate::oauth2::OAuth2Redirect;

/// How long a relayed realtime call may take, round trip included.
pub(crate) const RELAY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a node asking the others for an Apple user's name waits for each: the login
/// goes on without the name past it.
pub(crate) const NAME_LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);

/// A call one node relays to another's hub.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum RelayCall {
    Subscribe(SubscribeRequest),
    /// Deliver an OAuth2 redirect to the client its state names.
    OAuth2Redirect {
        client_ip: String,
        redirect: OAuth2Redirect,
    },
    /// Hand over (and forget) the Apple user's name a redirect with this code carried.
    TakeAppleName {
        code: String,
    },
}

/// The hub's answer to a [`RelayCall`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum RelayAnswer {
    Subscribed(Result<(), RealtimeError>),
    /// Whether the redirect reached its client.
    Redirected(bool),
    AppleName(Option<String>),
    /// The call could not be read (a node of another version).
    Unreadable(String),
}

/// Serves the realtime calls other nodes relay here, on this node's hub.
pub(crate) struct HubRelay {
    hub: Weak<HubInner>,
}

impl HubRelay {
    pub(crate) fn new(hub: &Arc<HubInner>) -> Self {
        HubRelay {
            hub: Arc::downgrade(hub),
        }
    }
}

impl RelayHandler for HubRelay {
    fn handle(&self, from: NodeId, call: Vec<u8>) -> RelayFuture {
        let hub = self.hub.clone();
        Box::pin(async move {
            let answer = match (hub.upgrade(), serde_json::from_slice::<RelayCall>(&call)) {
                (None, _) => RelayAnswer::Unreadable("the realtime hub has stopped".into()),
                (Some(_), Err(error)) => {
                    tracing::warn!(from, %error, "unreadable relayed realtime call");
                    RelayAnswer::Unreadable(error.to_string())
                }
                (Some(hub), Ok(call)) => serve(&hub, call),
            };
            serde_json::to_vec(&answer).unwrap_or_default()
        })
    }
}

fn serve(hub: &HubInner, call: RelayCall) -> RelayAnswer {
    match call {
        RelayCall::Subscribe(request) => RelayAnswer::Subscribed(hub.subscribe_here(request)),
        RelayCall::OAuth2Redirect {
            client_ip,
            redirect,
        } => RelayAnswer::Redirected(hub.deliver_oauth2_redirect(&client_ip, &redirect)),
        RelayCall::TakeAppleName { code } => RelayAnswer::AppleName(hub.apple_names.take(&code)),
    }
}

/// Send `call` to `node`'s hub and read its answer, waiting at most `timeout`.
pub(crate) async fn call(
    app: &App,
    node: NodeId,
    call: &RelayCall,
    timeout: Duration,
) -> Result<RelayAnswer, String> {
    let bytes = serde_json::to_vec(call).map_err(|error| error.to_string())?;
    let answer = app
        .consensus()
        .relay(node, bytes, timeout)
        .await
        .map_err(|error| error.to_string())?;
    serde_json::from_slice(&answer).map_err(|error| error.to_string())
}

/// A subscription request for a client of `owner`; a node outside the cluster holds no
/// client.
pub(crate) async fn subscribe_at(
    app: &App,
    owner: NodeId,
    request: SubscribeRequest,
) -> Result<(), RealtimeError> {
    if !app.consensus().is_member(owner) {
        return Err(RealtimeError::UnknownClient);
    }
    let client_id = request.client_id.clone();
    match call(app, owner, &RelayCall::Subscribe(request), RELAY_TIMEOUT).await {
        Ok(RelayAnswer::Subscribed(answer)) => answer,
        Ok(other) => Err(RealtimeError::Unavailable(format!(
            "node {owner} answered a subscription with {other:?}"
        ))),
        Err(reason) => {
            tracing::info!(owner, client = %client_id, reason, "relay a realtime subscription");
            Err(RealtimeError::Unavailable(reason))
        }
    }
}
