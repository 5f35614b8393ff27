//! The hub: this node's realtime clients, and the fan-out of applied changes to them.
//!
//! Apply hands every entry's record changes to the hub's listener, which queues them
//! without blocking (a bounded queue; when it overflows the hub has fallen behind, and every
//! client is disconnected so none is left with a gap it does not know of). One fan-out
//! thread takes them in log order and, for each client whose subscriptions select a changed
//! record, checks the rule and filter with that client's auth on the document in memory and
//! queues the event on the client's bounded queue, so a client sees events in commit order.
//! A client whose queue is full is too slow: it is disconnected, with the reason logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use edgebase_model::record_values::Document;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;
use edgebase_service::principal::Principal;
use edgebase_service::superusers::SUPERUSERS_NAME;
use edgebase_storage::{AppliedChanges, ChangeAction, ChangeListener, RecordChange};
use edgebase_wire::CollectionType;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};
use tokio::sync::{mpsc, watch};

use crate::access;
use crate::client::{Client, ClientAuth, ClientState, Message, ResumePoint};
use crate::client_id::{new_client_id, owner_of};
use crate::ring::{ChangeRing, RingLimits};
use crate::topic::{Subscription, Target};

/// PocketBase's bounds on one subscription request, and this node's on clients.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    /// Streams one node holds at once.
    pub clients_max: usize,
    /// Events queued for one client before it counts as too slow.
    pub queue_messages: usize,
    /// Applied entries queued for the fan-out before the hub counts as behind.
    pub feed_entries: usize,
    /// What a reconnecting client can resume from.
    pub resume: RingLimits,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            clients_max: 10_000,
            queue_messages: 512,
            feed_entries: 16_384,
            resume: RingLimits::default(),
        }
    }
}

/// Subscriptions one client may hold (PocketBase's bound).
pub const SUBSCRIPTIONS_MAX: usize = 1_000;
/// Longest topic (PocketBase's bound).
pub const TOPIC_CHARS_MAX: usize = 2_500;
/// Longest client id a request may name (PocketBase's bound).
pub const CLIENT_ID_CHARS_MAX: usize = 255;

/// Why a realtime request was refused. Travels between nodes in relayed calls.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum RealtimeError {
    #[error("Missing or invalid client id.")]
    UnknownClient,
    /// The request comes from another address than the stream it names (PocketBase's
    /// guard against guessed client ids).
    #[error("Invalid realtime client.")]
    InvalidClient,
    #[error("The current and the previous request authorization don't match.")]
    AuthChanged,
    #[error("This node holds as many realtime connections as it may; try another or later.")]
    TooManyClients,
    /// The node is stopping; its clients move to other nodes.
    #[error("This node is stopping; connect to another node.")]
    Stopping,
    /// The node holding the client's stream could not be asked, or could not answer.
    #[error("The node holding this realtime client could not be reached: {0}")]
    Unavailable(String),
}

/// A subscription request, as any node receives it and the node holding the stream
/// carries it out: the topics replace the client's, with the auth of `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeRequest {
    pub client_id: String,
    /// The address the request came from, as the settings' trusted proxy headers say.
    pub client_ip: String,
    pub token: Option<String>,
    pub topics: Vec<String>,
}

/// The event a resuming client gets instead of what it missed, when the feed no longer
/// holds all of it: it must read the records again.
pub const REFETCH_EVENT: &str = "EB_REFETCH";

/// What apply hands the fan-out.
enum Feed {
    Applied(AppliedChanges),
    /// A snapshot replaced the state: changes were skipped.
    Jumped(u64),
}

/// The node's realtime hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    pub(crate) app: App,
    limits: HubLimits,
    clients: RwLock<HashMap<String, Arc<Client>>>,
    /// Set when the feed overflowed: the fan-out disconnects everyone before going on.
    fell_behind: Arc<AtomicBool>,
    /// The latest applied changes, for clients that resume. Held while an entry is
    /// delivered, so a resuming client's replay and the live events never interleave.
    ring: Mutex<ChangeRing>,
    /// Apple users' names from OAuth2 redirects, until their login takes them.
    pub(crate) apple_names: crate::oauth2::AppleNames,
}

/// The events of one entry already shaped, by change (its position in the entry), topic
/// and principal: a rule, a filter and a record's shaping depend on nothing else, so many
/// subscribers with the same topic and identity cost one evaluation.
#[derive(Default)]
struct Shaped {
    events: HashMap<(usize, String, Principal), Option<Message>>,
    /// The caller of clients without auth, made once.
    anonymous: Option<Option<Arc<ClientAuth>>>,
}

impl Shaped {
    fn anonymous(&mut self, app: &App) -> Option<Arc<ClientAuth>> {
        self.anonymous
            .get_or_insert_with(|| {
                Caller::resolve(app, None, Map::new(), Map::new(), "GET")
                    .ok()
                    .map(|anonymous| {
                        Arc::new(ClientAuth {
                            token: None,
                            caller: anonymous.in_context("realtime"),
                        })
                    })
            })
            .clone()
    }
}

/// A change made ready once for every client: its collection and document.
struct Prepared<'c> {
    loaded: LoadedCollection,
    change: &'c RecordChange,
    doc: Document,
}

/// A client's stream: its id, the queue it drains, a signal that the hub let it go (the
/// stream must end then, whatever is still queued), and its registration (dropping the
/// connection unregisters the client).
pub struct Connection {
    pub client_id: String,
    pub messages: mpsc::Receiver<Message>,
    pub closed: watch::Receiver<()>,
    _registration: Registration,
}

struct Registration {
    hub: Weak<HubInner>,
    client_id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.write_clients().remove(&self.client_id);
        }
    }
}

struct FeedListener {
    feed: mpsc::Sender<Feed>,
    fell_behind: Arc<AtomicBool>,
}

impl FeedListener {
    fn send(&self, item: Feed) {
        if self.feed.try_send(item).is_err() && !self.fell_behind.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                "realtime fan-out fell behind the applied log; its clients will be disconnected"
            );
        }
    }
}

impl ChangeListener for FeedListener {
    fn applied(&self, changes: AppliedChanges) {
        self.send(Feed::Applied(changes));
    }

    fn jumped(&self, index: u64) {
        self.send(Feed::Jumped(index));
    }
}

impl Hub {
    /// Start the hub and its fan-out thread, and serve the realtime calls other nodes relay
    /// here; the listener apply must be given.
    pub fn start(app: App, limits: HubLimits) -> (Hub, Arc<dyn ChangeListener>) {
        let fell_behind = Arc::new(AtomicBool::new(false));
        let (feed, mut changes) = mpsc::channel(limits.feed_entries.max(1));
        let kept_after = app.consensus().applied_index();
        let hub = Hub {
            inner: Arc::new(HubInner {
                app,
                limits,
                clients: RwLock::new(HashMap::new()),
                fell_behind: fell_behind.clone(),
                ring: Mutex::new(ChangeRing::new(kept_after, limits.resume)),
                apple_names: crate::oauth2::AppleNames::default(),
            }),
        };
        hub.inner
            .app
            .consensus()
            .set_relay_handler(Arc::new(crate::relay::HubRelay::new(&hub.inner)));
        let weak = Arc::downgrade(&hub.inner);
        let spawned = std::thread::Builder::new()
            .name("realtime-fanout".into())
            .spawn(move || {
                while let Some(item) = changes.blocking_recv() {
                    let Some(hub) = weak.upgrade() else {
                        return;
                    };
                    if hub.fell_behind.swap(false, Ordering::SeqCst) {
                        hub.disconnect_all("the node fell behind in delivering events");
                        if let Feed::Applied(applied) = &item {
                            hub.lock_ring()
                                .restart_after(applied.index.saturating_sub(1));
                        }
                    }
                    match item {
                        Feed::Applied(applied) => hub.deliver(Arc::new(applied)),
                        Feed::Jumped(index) => {
                            tracing::info!(index, "state replaced by a snapshot");
                            hub.disconnect_all("the node installed a snapshot");
                            hub.lock_ring().restart_after(index);
                        }
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "start the realtime fan-out thread");
        }
        let listener = Arc::new(FeedListener { feed, fell_behind });
        (hub, listener)
    }

    /// Register a new client connected from `client_ip`, with an empty subscription list;
    /// with `resume`, its first subscription request is followed by every event it missed
    /// after that point. Its id names this node.
    pub fn connect(
        &self,
        resume: Option<ResumePoint>,
        client_ip: String,
    ) -> Result<Connection, RealtimeError> {
        if self.inner.app.is_draining() {
            return Err(RealtimeError::Stopping);
        }
        let (queue, messages) = mpsc::channel(self.inner.limits.queue_messages.max(1));
        let mut clients = self.inner.write_clients();
        if clients.len() >= self.inner.limits.clients_max {
            return Err(RealtimeError::TooManyClients);
        }
        let client_id = new_client_id(self.inner.app.consensus().node_id());
        let (closed_sender, closed) = watch::channel(());
        let client = Client {
            id: client_id.clone(),
            ip: client_ip,
            queue,
            _closed: closed_sender,
            state: std::sync::Mutex::new(ClientState {
                subscriptions: Arc::default(),
                auth: None,
                resume,
            }),
            delivered_through: AtomicU64::new(0),
        };
        clients.insert(client_id.clone(), Arc::new(client));
        Ok(Connection {
            client_id: client_id.clone(),
            messages,
            closed,
            _registration: Registration {
                hub: Arc::downgrade(&self.inner),
                client_id,
            },
        })
    }

    /// Carry out a subscription request at the node holding the client's stream: here, or
    /// relayed to the node its id names.
    pub async fn subscribe(&self, request: SubscribeRequest) -> Result<(), RealtimeError> {
        match owner_of(&request.client_id) {
            Some(owner) if owner != self.inner.app.consensus().node_id() => {
                crate::relay::subscribe_at(&self.inner.app, owner, request).await
            }
            _ => self.inner.subscribe_here(request),
        }
    }

    /// End every realtime stream of this node (its clients reconnect, elsewhere when this
    /// node is stopping).
    pub fn disconnect_all(&self, reason: &str) {
        self.inner.disconnect_all(reason);
    }

    /// Clients connected to this node.
    pub fn clients(&self) -> usize {
        self.inner.read_clients().len()
    }
}

impl HubInner {
    /// Replace a client of this node's subscriptions (empty topics are skipped) and set its
    /// auth, in PocketBase's order of checks: the client must exist, the request must come
    /// from the client's address, and a client with an identity may only keep it.
    pub(crate) fn subscribe_here(&self, request: SubscribeRequest) -> Result<(), RealtimeError> {
        let client = self.client(&request.client_id)?;
        if !client.ip.is_empty() && client.ip != request.client_ip {
            return Err(RealtimeError::InvalidClient);
        }
        let caller = Caller::resolve(
            &self.app,
            request.token.as_deref(),
            Map::new(),
            Map::new(),
            "POST",
        )
        .map_err(|error| {
            tracing::warn!(%error, "resolve a realtime client's auth");
            RealtimeError::Unavailable(error.to_string())
        })?
        .in_context("realtime");
        let auth = ClientAuth {
            token: request.token,
            caller,
        };
        let mut state = client.state();
        if let Some(current) = &state.auth {
            let had_identity = !matches!(current.principal(), Principal::Anonymous);
            if had_identity && current.principal() != auth.principal() {
                return Err(RealtimeError::AuthChanged);
            }
        }
        state.subscriptions = Arc::new(
            request
                .topics
                .iter()
                .filter_map(|topic| Subscription::parse(topic))
                .collect(),
        );
        state.auth = Some(Arc::new(auth));
        let resume = state.resume.take();
        tracing::debug!(
            client = %client.id,
            subscriptions = state.subscriptions.len(),
            "realtime subscriptions set"
        );
        drop(state);
        if let Some(point) = resume {
            self.replay(&client, point);
        }
        Ok(())
    }

    /// A client of this node.
    pub(crate) fn client(&self, client_id: &str) -> Result<Arc<Client>, RealtimeError> {
        self.read_clients()
            .get(client_id)
            .cloned()
            .ok_or(RealtimeError::UnknownClient)
    }

    fn read_clients(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Client>>> {
        self.clients
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_clients(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Client>>> {
        self.clients
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn disconnect_all(&self, reason: &str) {
        let mut clients = self.write_clients();
        if !clients.is_empty() {
            tracing::warn!(
                clients = clients.len(),
                reason,
                "disconnecting every realtime client"
            );
        }
        clients.clear();
    }

    pub(crate) fn disconnect(&self, client_id: &str, reason: &str) {
        if self.write_clients().remove(client_id).is_some() {
            tracing::warn!(client = client_id, reason, "realtime client disconnected");
        }
    }

    fn lock_ring(&self) -> std::sync::MutexGuard<'_, ChangeRing> {
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The changes of `applied` whose collection still exists, each document parsed once.
    fn prepare<'c>(&self, applied: &'c AppliedChanges) -> Vec<Prepared<'c>> {
        applied
            .changes
            .iter()
            .filter_map(|change| {
                let loaded = self.app.collection(&change.collection_id).ok()??;
                let text = change.after.as_ref().or(change.before.as_ref())?;
                let doc = serde_json::from_str::<Document>(text).ok()?;
                Some(Prepared {
                    loaded,
                    change,
                    doc,
                })
            })
            .collect()
    }

    fn deliver(&self, applied: Arc<AppliedChanges>) {
        let mut ring = self.lock_ring();
        ring.push(applied.clone());
        let clients: Vec<Arc<Client>> = self.read_clients().values().cloned().collect();
        if clients.is_empty() {
            return;
        }
        if !applied.collections.is_empty() {
            self.follow_collections(&clients, &applied.collections);
        }
        let prepared = self.prepare(&applied);
        for item in &prepared {
            if item.loaded.collection.kind == CollectionType::Auth {
                self.follow_auth_record(&clients, &item.loaded, item.change);
            }
        }
        let mut shaped = Shaped::default();
        for client in &clients {
            if client.delivered_through.load(Ordering::SeqCst) >= applied.index {
                continue;
            }
            if !self.send_entry(client, applied.index, &prepared, 0, &mut shaped) {
                self.disconnect(&client.id, "too slow: its queue of events is full");
            }
        }
        drop(ring);
    }

    /// After a resuming client's first subscription request: what it missed since `point`,
    /// or the refetch event when the feed no longer holds all of it.
    fn replay(&self, client: &Arc<Client>, point: ResumePoint) {
        let ring = self.lock_ring();
        let Some(entries) = ring.from(point.index) else {
            let data = json!({"from": point.index, "keptAfter": ring.kept_after()}).to_string();
            let refetch = Message {
                name: REFETCH_EVENT.into(),
                data,
                id: None,
            };
            if client.queue.try_send(refetch).is_err() {
                self.disconnect(&client.id, "too slow: its queue of events is full");
            }
            return;
        };
        for entry in &entries {
            let first_event = if entry.index == point.index {
                point.event.saturating_add(1)
            } else {
                0
            };
            let prepared = self.prepare(entry);
            let mut shaped = Shaped::default();
            if !self.send_entry(client, entry.index, &prepared, first_event, &mut shaped) {
                self.disconnect(&client.id, "too slow: its queue of events is full");
                return;
            }
        }
        if let Some(last) = entries.last() {
            client.delivered_through.store(last.index, Ordering::SeqCst);
        }
        tracing::debug!(client = %client.id, from = point.index, entries = entries.len(), "realtime client resumed");
        drop(ring);
    }

    /// Queue the events `client` may see of one entry's changes, numbered from 0 within the
    /// entry (each event's id is `index.number`), skipping those before `first_event`; false
    /// when its queue is full. An event already shaped for the same change, topic and
    /// principal is taken from `shaped`.
    fn send_entry(
        &self,
        client: &Client,
        index: u64,
        prepared: &[Prepared<'_>],
        first_event: u32,
        shaped: &mut Shaped,
    ) -> bool {
        let (subscriptions, auth) = {
            let state = client.state();
            (Arc::clone(&state.subscriptions), state.auth.clone())
        };
        if subscriptions.is_empty() {
            return true;
        }
        let base = match auth {
            Some(auth) => auth,
            None => match shaped.anonymous(&self.app) {
                Some(anonymous) => anonymous,
                None => return true,
            },
        };
        let mut number: u32 = 0;
        for (position, item) in prepared.iter().enumerate() {
            let collection = &item.loaded.collection;
            let selected = subscriptions.iter().filter(|subscription| {
                subscription.selects(&collection.name, &collection.id, &item.change.record_id)
            });
            for subscription in selected {
                let key = (
                    position,
                    subscription.topic.clone(),
                    base.principal().clone(),
                );
                let event = shaped
                    .events
                    .entry(key)
                    .or_insert_with(|| self.event(&base.caller, item, subscription));
                let Some(mut message) = event.clone() else {
                    continue;
                };
                let this = number;
                number = number.saturating_add(1);
                if this < first_event {
                    continue;
                }
                message.id = Some(format!("{index}.{this}"));
                if client.queue.try_send(message).is_err() {
                    return false;
                }
            }
        }
        true
    }

    /// The event `subscription` gets for `item`, if its caller may see it.
    fn event(
        &self,
        base: &Caller,
        item: &Prepared<'_>,
        subscription: &Subscription,
    ) -> Option<Message> {
        let caller = base.with_request_data(
            &self.app,
            subscription.query.clone(),
            subscription.headers.clone(),
            "GET",
        );
        let rule = match subscription.target {
            Target::Every => &item.loaded.rules().list,
            Target::Record(_) => &item.loaded.rules().view,
        };
        let admitted = access::admits(
            &self.app,
            &item.loaded,
            &caller,
            rule,
            subscription,
            &item.change.record_id,
            &item.doc,
        );
        if !admitted {
            return None;
        }
        let record = access::shaped(&self.app, &item.loaded, &caller, subscription, &item.doc)?;
        let data = json!({"record": record, "action": item.change.action.as_str()}).to_string();
        Some(Message {
            name: subscription.topic.clone(),
            data,
            id: None,
        })
    }

    /// A client signed in as the changed auth record keeps its auth while its token still
    /// verifies (a new `tokenKey` revokes it), and loses it when the record is deleted.
    fn follow_auth_record(
        &self,
        clients: &[Arc<Client>],
        loaded: &LoadedCollection,
        change: &RecordChange,
    ) {
        let is_superusers = loaded.collection.name == SUPERUSERS_NAME;
        for client in clients {
            let mut state = client.state();
            let Some(auth) = &state.auth else {
                continue;
            };
            let is_this_record = match auth.principal() {
                Principal::Superuser { id } => is_superusers && *id == change.record_id,
                Principal::Record { collection_id, id } => {
                    *collection_id == loaded.collection.id && *id == change.record_id
                }
                _ => false,
            };
            if !is_this_record {
                continue;
            }
            state.auth = match change.action {
                ChangeAction::Delete => None,
                _ => self.verified_again(auth).map(Arc::new),
            };
            if state.auth.is_none() {
                tracing::debug!(client = %client.id, "realtime client lost its auth");
            }
        }
    }

    /// Clients signed in through a collection that changed (a new token secret, a new auth
    /// rule) or is gone keep their auth only while their token still verifies, as PocketBase
    /// drops them when an auth collection's secret changes or it is deleted.
    fn follow_collections(&self, clients: &[Arc<Client>], changed: &[String]) {
        let superusers_id = self
            .app
            .collection(SUPERUSERS_NAME)
            .ok()
            .flatten()
            .map(|loaded| loaded.collection.id.clone());
        let affected = |principal: &Principal| match principal {
            Principal::Superuser { .. } => {
                superusers_id.as_ref().is_none_or(|id| changed.contains(id))
            }
            Principal::Record { collection_id, .. } => changed.contains(collection_id),
            _ => false,
        };
        for client in clients {
            let mut state = client.state();
            let Some(auth) = &state.auth else {
                continue;
            };
            if !affected(auth.principal()) {
                continue;
            }
            state.auth = self.verified_again(auth).map(Arc::new);
            if state.auth.is_none() {
                tracing::debug!(client = %client.id, "realtime client lost its auth with its collection's change");
            }
        }
    }

    /// `auth` as its token verifies on the current state; `None` once it no longer does or
    /// names someone else.
    fn verified_again(&self, auth: &ClientAuth) -> Option<ClientAuth> {
        let token = auth.token.as_deref()?;
        Caller::resolve(&self.app, Some(token), Map::new(), Map::new(), "GET")
            .ok()
            .filter(|caller| caller.principal() == auth.principal())
            .map(|caller| ClientAuth {
                token: Some(token.to_string()),
                caller: caller.in_context("realtime"),
            })
    }
}
