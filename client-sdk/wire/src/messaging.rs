//! Messaging's JSON shapes: a message's kind, recipients and content as `POST /api/messages`
//! takes them, and each delivery's state as `GET /api/messages/{id}` shows it (and the
//! outbox stores it).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What kind of message, and so which providers carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Push,
    Email,
    Sms,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Push => "push",
            MessageKind::Email => "email",
            MessageKind::Sms => "sms",
        }
    }
}

/// An auth record a message goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserRef {
    /// The auth collection's id or name.
    pub collection: String,
    pub id: String,
}

/// Whom a message goes to: push targets by id, auth records (every push target they
/// registered, their email, their phone number) and topics (every record following them,
/// as at the moment delivery starts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recipients {
    pub targets: Vec<String>,
    pub users: Vec<UserRef>,
    pub topics: Vec<String>,
}

impl Recipients {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.users.is_empty() && self.topics.is_empty()
    }
}

/// What a message says: the fields of its kind, as the request named them (the others are
/// left out of answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Content {
    /// Push: the notification's title and text, and the app's own data.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
    /// Push: how long a provider keeps an undelivered push, in seconds.
    #[serde(rename = "ttl", skip_serializing_if = "is_zero")]
    pub ttl_secs: u32,
    /// Email: subject and HTML body.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub html: String,
    /// SMS: the text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// The channel one delivery goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Webpush,
    Fcm,
    Apns,
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webpush => "webpush",
            Channel::Fcm => "fcm",
            Channel::Apns => "apns",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// The push channel of a target's `kind`.
    pub fn of_target_kind(kind: &str) -> Option<Channel> {
        match kind {
            "webpush" => Some(Channel::Webpush),
            "fcm" => Some(Channel::Fcm),
            "apns" => Some(Channel::Apns),
            _ => None,
        }
    }
}

/// Where one delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet sent (waiting for its first or next attempt).
    Pending,
    /// The provider took it.
    Sent,
    /// Every attempt failed, or the failure will not pass.
    Failed,
    /// The provider said the target is gone; the target was removed.
    Removed,
}

/// One delivery: the message to one target through one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub channel: Channel,
    /// The push target's id (push), or the address (email, SMS).
    pub target: String,
    /// The auth record it reached, `collectionId/recordId`, when known.
    #[serde(default)]
    pub user: String,
    pub status: DeliveryStatus,
    #[serde(default)]
    pub attempts: u32,
    /// Unix ms before which the next attempt is not made.
    #[serde(default)]
    pub next_at_ms: i64,
    /// The last failure, as the provider or the connection said it.
    #[serde(default)]
    pub error: String,
    /// When the provider took it (PocketBase's date format).
    #[serde(default)]
    pub sent_at: String,
}

impl Delivery {
    pub fn new(channel: Channel, target: String, user: String) -> Delivery {
        Delivery {
            channel,
            target,
            user,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_at_ms: 0,
            error: String::new(),
            sent_at: String::new(),
        }
    }

    /// A stable id for this delivery within its message (the push's collapse id).
    pub fn key(&self, message_id: &str) -> String {
        format!("{message_id}-{}", self.target)
    }
}

/// A message's state as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Waiting for its `sendAt`.
    Scheduled,
    /// Due, or waiting for a delivery's next attempt.
    Pending,
    /// A node holds it and is delivering.
    Sending,
    /// Every delivery was sent (or its target removed), at least one sent, or there was no
    /// one to deliver to.
    Sent,
    /// Some deliveries sent, some failed.
    Partial,
    /// Every delivery failed.
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Pending => "pending",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Partial => "partial",
            MessageStatus::Failed => "failed",
        }
    }

    /// The final status of settled deliveries.
    pub fn of_settled(deliveries: &[Delivery]) -> MessageStatus {
        let failed = deliveries
            .iter()
            .filter(|delivery| delivery.status == DeliveryStatus::Failed)
            .count();
        let sent = deliveries
            .iter()
            .filter(|delivery| delivery.status == DeliveryStatus::Sent)
            .count();
        match (sent, failed) {
            (_, 0) => MessageStatus::Sent,
            (0, _) => MessageStatus::Failed,
            _ => MessageStatus::Partial,
        }
    }
}

/// How many deliveries stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    pub pending: usize,
    pub sent: usize,
    pub failed: usize,
    pub removed: usize,
}

impl DeliveryCounts {
    pub fn of(deliveries: &[Delivery]) -> DeliveryCounts {
        let count = |status: DeliveryStatus| {
            deliveries
                .iter()
                .filter(|delivery| delivery.status == status)
                .count()
        };
        DeliveryCounts {
            pending: count(DeliveryStatus::Pending),
            sent: count(DeliveryStatus::Sent),
            failed: count(DeliveryStatus::Failed),
            removed: count(DeliveryStatus::Removed),
        }
    }
}

/// A message as `POST /api/messages` and `GET /api/messages/{id}` answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub kind: MessageKind,
    pub status: MessageStatus,
    pub recipients: Recipients,
    pub content: Content,
    /// When it is (or was) to be sent; empty for at once.
    pub send_at: String,
    pub counts: DeliveryCounts,
    /// Empty until delivery starts and the recipients are resolved.
    pub deliveries: Vec<Delivery>,
    /// Why the message as a whole could not be delivered (empty otherwise).
    pub error: String,
    pub created: String,
    pub updated: String,
}
