//! Delivering the outbox. The leader looks for due messages (`dueAt` reached, through its
//! index) every [`POLL_INTERVAL`], and again whenever one of its deliveries ends, and
//! delivers each on its own task (at most 32 at once):
//!
//! 1. **Claim**: one write, made only on the version the decision read, sets the message
//!    `sending`, names this node and pushes `dueAt` a lease ahead; its recipients are
//!    resolved into deliveries in the same write the first time. A node that loses the
//!    race writes nothing and leaves the message alone. A claim whose node died is taken
//!    over once its lease ran out (its `dueAt` comes round again).
//! 2. **Rounds**: up to [`ROUND_DELIVERIES_MAX`] due deliveries are attempted, 32 at a
//!    time, each bounded in time and none started later than [`ROUND_STARTS_WITHIN`]
//!    into the round (so a round ends inside the lease); then one write, again only on
//!    the version the node's own last write left, records every outcome (sent, failed, a
//!    retry's next time, or removed, with the gone push targets deleted in the same
//!    command) and renews or releases the claim.
//!
//! What this guarantees: a message acknowledged by `POST /api/messages` is in the
//! replicated outbox and is delivered whichever nodes die, as long as a majority lives;
//! one node at a time delivers it (claims are conditioned writes, and the lease is longer
//! than a round; it assumes clocks within a few seconds of each other). A delivery is made
//! more than once only when the node making it dies or is cut off after the provider took
//! it and before that round's outcome was committed; the push then carries the same
//! collapse id (Web Push `Topic`, APNs `apns-collapse-id`, FCM `collapse_key`), so a device
//! shows it once. Each provider's own delivery to the device is at least once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::error::{RefusalKind, ServiceError};
use edgebase_service::precondition::VersionPrecondition;
use edgebase_service::system_writes::{Committed, Session, SystemWrite};
use edgebase_storage::query::parser::parse_filter;
use edgebase_storage::query::{FilterAccess, FilterPart, ListRequest, RequestContext};
use futures::StreamExt as _;
use tokio::sync::{Notify, Semaphore};

use crate::collections;
use crate::dispatch::{settle, Providers};
use crate::message::{Channel, Claim, DeliveryStatus, Message, MessageStatus};
use crate::providers::Outcome;
use crate::resolve::{self, TooMany};
use crate::settings_store;

/// How often the leader looks for due messages.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a claim holds without being renewed.
pub const LEASE_MS: i64 = 30_000;
/// Longest one delivery attempt may take (a token fetch and the send), well inside the lease.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Most deliveries attempted in one round (one write records them).
pub const ROUND_DELIVERIES_MAX: usize = 256;
/// How long after a round begins its attempts may still start: the last ends within
/// [`ATTEMPT_TIMEOUT`] after, and the round's write follows, all inside [`LEASE_MS`].
const ROUND_STARTS_WITHIN: Duration = Duration::from_secs(10);
/// Most requests to providers in flight for one message.
const SENDS_AT_ONCE: usize = 32;
/// Most messages one node delivers at once.
const MESSAGES_AT_ONCE: usize = 32;
/// Most due messages read per look.
const DUE_PAGE: u64 = 64;
/// How long a message whose delivery failed here (an error, not a provider's answer) is
/// left alone by this node, so a lasting fault is logged every few seconds, not every look.
const REST_AFTER_ERROR: Duration = Duration::from_secs(5);
/// Most resting messages remembered.
const RESTING_MAX: usize = 10_000;

/// The leader's delivery of the outbox.
#[derive(Clone)]
pub struct Deliverer {
    app: App,
    providers: Arc<Providers>,
    local: Arc<Mutex<Local>>,
    permits: Arc<Semaphore>,
    /// Told when a message's task ends, so the next due message starts without waiting
    /// for the next look.
    finished: Arc<Notify>,
}

/// A stored message's version and the message (or why it does not read as one).
type ReadMessage = (u64, Result<Message, String>);

/// What this node remembers of the messages it handles: those it is delivering now, and
/// those whose last delivery failed here with the time before which it leaves them alone.
#[derive(Default)]
struct Local {
    busy: HashSet<String>,
    resting: HashMap<String, Instant>,
}

impl Local {
    /// Take `id` to deliver, unless it is being delivered or resting.
    fn take(&mut self, id: &str, now: Instant) -> bool {
        if self.resting.get(id).is_some_and(|until| *until > now) {
            return false;
        }
        self.resting.remove(id);
        self.busy.insert(id.to_owned())
    }

    /// `id` is done with; after a failure it rests.
    fn done(&mut self, id: &str, failed: bool, now: Instant) {
        self.busy.remove(id);
        if failed {
            if self.resting.len() >= RESTING_MAX {
                self.resting.retain(|_, until| *until > now);
            }
            if self.resting.len() < RESTING_MAX {
                self.resting.insert(id.to_owned(), now + REST_AFTER_ERROR);
            }
        }
    }
}

/// Deliver the outbox while this node leads, until the node stops.
pub fn spawn(app: App) -> tokio::task::JoinHandle<()> {
    let deliverer = Deliverer {
        app,
        providers: Arc::new(Providers::default()),
        local: Arc::default(),
        permits: Arc::new(Semaphore::new(MESSAGES_AT_ONCE)),
        finished: Arc::new(Notify::new()),
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = deliverer.finished.notified() => {}
            }
            if !deliverer.leads() {
                continue;
            }
            if let Err(error) = deliverer.look().await {
                tracing::warn!(%error, "look for due messages");
            }
        }
    })
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Bounds the count of unsettled messages a scrape makes.
const UNSETTLED_COUNTED_MAX: u64 = 1_000_000;

/// How many messages this node's state holds unsettled (scheduled, pending or being
/// delivered); `None` while messaging is not set up. For `/metrics`.
pub fn unsettled(app: &App) -> Result<Option<u64>, ServiceError> {
    let Some(messages) = collections::loaded(app, collections::MESSAGES)? else {
        return Ok(None);
    };
    let filter = parse_filter("dueAt > 0")
        .map_err(|error| ServiceError::internal_from("the unsettled filter", error))?
        .ok_or_else(|| ServiceError::internal("the unsettled filter is empty"))?;
    let mut request = ListRequest::matching(
        messages.collection.id.clone(),
        vec![FilterPart::new(filter, FilterAccess::Unrestricted)],
        1,
        RequestContext::at(now_ms()),
        UNSETTLED_COUNTED_MAX,
    );
    request.total = edgebase_storage::query::TotalCount::Count;
    Ok(app.state().list_records(&request)?.total)
}

impl Deliverer {
    fn leads(&self) -> bool {
        let consensus = self.app.consensus();
        consensus.leader_id() == Some(consensus.node_id())
    }

    /// Start a task for each due message not already being delivered here.
    async fn look(&self) -> Result<(), ServiceError> {
        let Some(messages) = collections::loaded(&self.app, collections::MESSAGES)? else {
            return Ok(());
        };
        let now = now_ms();
        let filter = parse_filter(&format!("dueAt > 0 && dueAt <= {now}"))
            .map_err(|error| ServiceError::internal_from("the due filter", error))?
            .ok_or_else(|| ServiceError::internal("the due filter is empty"))?;
        let due = self.app.state().list_records(&ListRequest::matching(
            messages.collection.id.clone(),
            vec![FilterPart::new(filter, FilterAccess::Unrestricted)],
            DUE_PAGE,
            RequestContext::at(now),
            self.app.limits().records_examined_max,
        ))?;
        for stored in due.records {
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                break;
            };
            if !self.lock().take(&stored.id, Instant::now()) {
                continue;
            }
            let deliverer = self.clone();
            let messages = messages.clone();
            tokio::spawn(async move {
                let delivered = deliverer.deliver(&messages, &stored.id).await;
                if let Err(error) = &delivered {
                    tracing::warn!(message = %stored.id, %error, "deliver a message; it is tried again when due");
                }
                deliverer
                    .lock()
                    .done(&stored.id, delivered.is_err(), Instant::now());
                drop(permit);
                deliverer.finished.notify_one();
            });
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Local> {
        self.local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The message `id` and its version, as this node has it (a record that does not
    /// read as a message, as a superuser's edit through the records API could leave it, is
    /// the reason why).
    fn read(
        &self,
        messages: &LoadedCollection,
        id: &str,
    ) -> Result<Option<ReadMessage>, ServiceError> {
        let Some(stored) = self.app.state().record(&messages.collection.id, id)? else {
            return Ok(None);
        };
        let doc = resolve::decode(&stored)?;
        let message = Message::from_doc(&doc).map_err(|error| error.to_string());
        Ok(Some((stored.version, message)))
    }

    /// Settle a message that cannot be read as failed, saying why, so it is not looked at
    /// again; what did not read is cleared, so the message can be shown.
    async fn give_up(
        &self,
        messages: &LoadedCollection,
        id: &str,
        version: u64,
        reason: &str,
    ) -> Result<(), ServiceError> {
        tracing::error!(message = %id, %reason, "a message that cannot be read is marked failed");
        let fields = serde_json::json!({
            "status": MessageStatus::Failed.as_str(),
            "dueAt": 0,
            "claim": null,
            "recipients": {},
            "content": {},
            "deliveries": [],
            "error": format!("The message could not be read ({reason}); its recipients, content and deliveries were cleared."),
        });
        let serde_json::Value::Object(fields) = fields else {
            return Err(ServiceError::internal("the failed message's fields"));
        };
        self.write_fields(messages, id, version, fields, &[])
            .await
            .map(drop)
    }

    /// Claim the message and deliver its due deliveries, round after round, until none is
    /// due now; the message is left for its next due time.
    async fn deliver(&self, messages: &LoadedCollection, id: &str) -> Result<(), ServiceError> {
        let Some((version, message)) = self.read(messages, id)? else {
            return Ok(());
        };
        let mut message = match message {
            Ok(message) => message,
            Err(reason) => return self.give_up(messages, id, version, &reason).await,
        };
        let now = now_ms();
        if message.due_at_ms == 0 || message.due_at_ms > now {
            return Ok(());
        }
        let settings = settings_store::read(&self.app)?;
        if message.deliveries.is_none() {
            match resolve::deliveries(&self.app, &message, &settings)? {
                Ok(deliveries) => message.deliveries = Some(deliveries),
                Err(TooMany(count)) => {
                    message.deliveries = Some(Vec::new());
                    message.error = format!(
                        "The recipients come to {count} deliveries; a message may have at most {}.",
                        resolve::DELIVERIES_MAX
                    );
                }
            }
        }
        if let Some(previous) = message.claim {
            tracing::info!(message = %id, node = previous.node, "taking over a message whose claim ran out");
        }
        message.status = MessageStatus::Sending;
        message.claim = Some(Claim {
            node: self.app.consensus().node_id(),
            until_ms: now + LEASE_MS,
        });
        message.due_at_ms = now + LEASE_MS;
        let Some(mut version) = self.write(messages, version, &message, &[]).await? else {
            tracing::debug!(message = %id, "another node claimed the message first");
            return Ok(());
        };
        loop {
            let deliveries = message.deliveries.get_or_insert_with(Vec::new);
            let now = now_ms();
            let due: Vec<usize> = (0..deliveries.len())
                .filter(|&at| {
                    deliveries[at].status == DeliveryStatus::Pending
                        && deliveries[at].next_at_ms <= now
                })
                .take(ROUND_DELIVERIES_MAX)
                .collect();
            // Every attempt starts early enough to end well inside the claim's lease; the
            // deliveries not started by then wait for the next round (the claim renewed).
            let start_by = Instant::now() + ROUND_STARTS_WITHIN;
            let outcomes: Vec<(usize, Outcome)> = futures::stream::iter(due)
                .map(|at| {
                    let delivery = deliveries[at].clone();
                    let (settings, content, id) = (&settings, &message.content, &message.id);
                    async move {
                        if Instant::now() > start_by {
                            return None;
                        }
                        let attempt = self
                            .providers
                            .attempt(&self.app, settings, id, content, &delivery);
                        let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, attempt)
                            .await
                            .unwrap_or_else(|_| {
                                Outcome::Retry("The attempt took too long.".into())
                            });
                        Some((at, outcome))
                    }
                })
                .buffer_unordered(SENDS_AT_ONCE)
                .filter_map(|outcome| async move { outcome })
                .collect()
                .await;
            let now = now_ms();
            let mut gone = Vec::new();
            for (at, outcome) in &outcomes {
                let delivery = &mut deliveries[*at];
                settle(delivery, outcome, &settings.retry, now);
                count(delivery.channel, outcome, delivery.status);
                let push = !matches!(delivery.channel, Channel::Email | Channel::Sms);
                if push && matches!(outcome, Outcome::Gone(_)) {
                    gone.push(delivery.target.clone());
                }
            }
            let pending: Vec<i64> = deliveries
                .iter()
                .filter(|delivery| delivery.status == DeliveryStatus::Pending)
                .map(|delivery| delivery.next_at_ms)
                .collect();
            let more_now = pending.iter().any(|&next_at| next_at <= now);
            if pending.is_empty() {
                message.status = MessageStatus::of_settled(deliveries);
                message.claim = None;
                message.due_at_ms = 0;
            } else if more_now {
                message.claim = Some(Claim {
                    node: self.app.consensus().node_id(),
                    until_ms: now + LEASE_MS,
                });
                message.due_at_ms = now + LEASE_MS;
            } else {
                message.status = MessageStatus::Pending;
                message.claim = None;
                message.due_at_ms = pending.iter().copied().min().unwrap_or(now).max(1);
            }
            match self.write(messages, version, &message, &gone).await? {
                Some(written) => version = written,
                None => {
                    tracing::warn!(message = %id, "the message changed under this node's claim; its outcomes were not recorded");
                    return Ok(());
                }
            }
            if message.status != MessageStatus::Sending {
                if message.due_at_ms == 0 {
                    tracing::info!(message = %id, status = message.status.as_str(), "message settled");
                }
                return Ok(());
            }
        }
    }

    /// Write the message's progress (and delete the gone targets) only if the message is
    /// still at `version`; the new version, or `None` when it was not.
    async fn write(
        &self,
        messages: &LoadedCollection,
        version: u64,
        message: &Message,
        gone: &[String],
    ) -> Result<Option<u64>, ServiceError> {
        let fields = message.progress_fields();
        self.write_fields(messages, &message.id, version, fields, gone)
            .await
    }

    /// Set `fields` of message `id` (and delete the gone targets) only if the message is
    /// still at `version`; the new version, or `None` when it was not.
    async fn write_fields(
        &self,
        messages: &LoadedCollection,
        id: &str,
        version: u64,
        fields: serde_json::Map<String, serde_json::Value>,
        gone: &[String],
    ) -> Result<Option<u64>, ServiceError> {
        let mut session = Session::default();
        let update = SystemWrite::Update {
            collection: messages.clone(),
            record_id: id.to_owned(),
            fields,
        };
        let precondition = VersionPrecondition::OneOf(vec![version]);
        match session
            .plan_if(&self.app, &update, Some(&precondition))
            .await
        {
            Ok(_) => {}
            Err(ServiceError::Refused {
                kind: RefusalKind::PreconditionFailed | RefusalKind::NotFound,
                ..
            }) => return Ok(None),
            Err(error) => return Err(error),
        }
        if let Some(targets) = collections::loaded(&self.app, collections::TARGETS)? {
            for target in gone {
                let delete = SystemWrite::Delete {
                    collection: targets.clone(),
                    record_id: target.clone(),
                };
                match session.plan(&self.app, &delete).await {
                    Ok(_) => {
                        tracing::info!(target = %target, "push target removed: the provider says it is gone")
                    }
                    // Its owner removed it meanwhile.
                    Err(ServiceError::Refused {
                        kind: RefusalKind::NotFound,
                        ..
                    }) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        match session.commit(&self.app).await? {
            Committed::Applied(index) => Ok(Some(index)),
            Committed::Stale | Committed::KeyUsed => Ok(None),
        }
    }
}

/// Count an attempt by what it came to: `retry` when another attempt follows, `failed`
/// when none does.
fn count(channel: Channel, outcome: &Outcome, status: DeliveryStatus) {
    let outcome = match (outcome, status) {
        (Outcome::Sent, _) => "sent",
        (Outcome::Gone(_), _) => "removed",
        (Outcome::Retry(_), DeliveryStatus::Pending) => "retry",
        (Outcome::Retry(_) | Outcome::Failed(_), _) => "failed",
    };
    metrics::counter!("edgebase_message_deliveries_total", "channel" => channel.as_str(), "outcome" => outcome)
        .increment(1);
}
