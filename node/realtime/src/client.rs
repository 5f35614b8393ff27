//! One realtime client: its id, the queue its stream drains, its subscriptions and the auth
//! it subscribed with.

use std::sync::Mutex;

use edgebase_service::caller::Caller;
use edgebase_service::principal::Principal;
use tokio::sync::mpsc;

use crate::topic::Subscription;

/// One SSE message: its event name (`PB_CONNECT`, or the topic) and its data (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub name: String,
    pub data: String,
}

/// The auth a client's subscriptions were set with.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// The token it came with, to verify again when its record changes.
    pub token: Option<String>,
    /// The caller events are checked for, before a subscription's options are added.
    pub caller: Caller,
}

impl ClientAuth {
    pub fn principal(&self) -> &Principal {
        self.caller.principal()
    }
}

pub(crate) struct ClientState {
    pub(crate) subscriptions: Vec<Subscription>,
    /// `None` until the first subscription request, and after the auth is lost.
    pub(crate) auth: Option<ClientAuth>,
}

pub struct Client {
    pub(crate) id: String,
    pub(crate) queue: mpsc::Sender<Message>,
    pub(crate) state: Mutex<ClientState>,
}

impl Client {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, ClientState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
