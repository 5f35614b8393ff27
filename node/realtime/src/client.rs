//! One realtime client: its id and address, the queue its stream drains, its subscriptions
//! and the auth it subscribed with.

use std::sync::{Arc, Mutex};

use edgebase_service::caller::Caller;
use edgebase_service::principal::Principal;
use tokio::sync::{mpsc, watch};

use crate::topic::Subscription;

/// One SSE message: its event name (`PB_CONNECT`, or the topic), its data (JSON), and its
/// id when it has one of its own (a record event's `index.number`; else the client id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub name: String,
    pub data: String,
    pub id: Option<String>,
}

/// Where a reconnecting client left off: the id of the last event it saw (`index.number`,
/// the number counting its events of that entry), or a whole entry (`index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
    pub index: u64,
    /// The last event seen of entry `index`; `u32::MAX` for all of them.
    pub event: u32,
}

impl ResumePoint {
    /// `index.number` or `index`; `None` for anything else (a client id, as PocketBase's
    /// stream ids are).
    pub fn parse(text: &str) -> Option<ResumePoint> {
        let (index, event) = match text.split_once('.') {
            Some((index, event)) => (index.parse().ok()?, event.parse().ok()?),
            None => (text.parse().ok()?, u32::MAX),
        };
        Some(ResumePoint { index, event })
    }
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
    /// Shared with the fan-out while it delivers an entry, so it copies no list.
    pub(crate) subscriptions: Arc<Vec<Subscription>>,
    /// `None` until the first subscription request, and after the auth is lost.
    pub(crate) auth: Option<Arc<ClientAuth>>,
    /// Where to resume from, until the first subscription request replays it.
    pub(crate) resume: Option<ResumePoint>,
}

pub struct Client {
    pub(crate) id: String,
    /// The address the stream was opened from (empty when unknown); requests naming this
    /// client must come from it.
    pub(crate) ip: String,
    pub(crate) queue: mpsc::Sender<Message>,
    /// Dropped with the client when the hub lets it go: its stream ends at once, without
    /// the events still queued.
    pub(crate) _closed: watch::Sender<()>,
    pub(crate) state: Mutex<ClientState>,
    /// The last entry a replay sent this client: the live fan-out skips up to it.
    pub(crate) delivered_through: std::sync::atomic::AtomicU64,
}

impl Client {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, ClientState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
