//! A message as the outbox (`_messages`) keeps it: what it says, to whom, and each
//! delivery's state. The record's fields are plain JSON, so a superuser can read them
//! through the records API too; `GET /api/messages/{id}` shows the same, shaped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use edgebase_wire::messaging::{
    Channel, Content, Delivery, DeliveryCounts, DeliveryStatus, MessageKind, MessageStatus,
    MessageView, Recipients, UserRef,
};

/// The node delivering a message, and until when its claim holds (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub node: u64,
    pub until_ms: i64,
}

/// A `_messages` record, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub kind: MessageKind,
    pub status: MessageStatus,
    pub recipients: Recipients,
    pub content: Content,
    pub send_at: String,
    pub due_at_ms: i64,
    pub claim: Option<Claim>,
    /// `None` until delivery starts and the recipients are resolved.
    pub deliveries: Option<Vec<Delivery>>,
    /// Why the message as a whole could not be delivered (empty otherwise).
    pub error: String,
    pub created: String,
    pub updated: String,
}

impl Message {
    /// Decode a stored record's document.
    pub fn from_doc(doc: &Map<String, Value>) -> Result<Message, serde_json::Error> {
        let field = |name: &str| doc.get(name).cloned().unwrap_or(Value::Null);
        let text = |name: &str| {
            doc.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Message {
            id: text("id"),
            kind: serde_json::from_value(field("kind"))?,
            status: serde_json::from_value(field("status"))?,
            recipients: serde_json::from_value(field("recipients"))?,
            content: serde_json::from_value(field("content"))?,
            send_at: text("sendAt"),
            due_at_ms: doc.get("dueAt").and_then(Value::as_i64).unwrap_or(0),
            claim: serde_json::from_value(field("claim"))?,
            deliveries: serde_json::from_value(field("deliveries"))?,
            error: text("error"),
            created: text("created"),
            updated: text("updated"),
        })
    }

    /// The fields a write of the delivery state sets.
    pub fn progress_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("status".into(), self.status.as_str().into());
        fields.insert("dueAt".into(), self.due_at_ms.into());
        fields.insert(
            "claim".into(),
            serde_json::to_value(self.claim).unwrap_or(Value::Null),
        );
        fields.insert(
            "deliveries".into(),
            serde_json::to_value(&self.deliveries).unwrap_or(Value::Null),
        );
        fields.insert("error".into(), self.error.clone().into());
        fields
    }

    /// The message as `GET /api/messages/{id}` shows it.
    pub fn view(&self) -> MessageView {
        let deliveries = self.deliveries.clone().unwrap_or_default();
        MessageView {
            id: self.id.clone(),
            kind: self.kind,
            status: self.status,
            recipients: self.recipients.clone(),
            content: self.content.clone(),
            send_at: self.send_at.clone(),
            counts: DeliveryCounts::of(&deliveries),
            deliveries,
            error: self.error.clone(),
            created: self.created.clone(),
            updated: self.updated.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(status: DeliveryStatus) -> Delivery {
        Delivery {
            status,
            ..Delivery::new(Channel::Webpush, "t".into(), String::new())
        }
    }

    #[test]
    fn settled_status() {
        use DeliveryStatus::*;
        let of = |statuses: &[DeliveryStatus]| {
            MessageStatus::of_settled(&statuses.iter().map(|s| delivery(*s)).collect::<Vec<_>>())
        };
        assert_eq!(of(&[]), MessageStatus::Sent);
        assert_eq!(of(&[Sent, Removed]), MessageStatus::Sent);
        assert_eq!(of(&[Sent, Failed]), MessageStatus::Partial);
        assert_eq!(of(&[Failed, Removed]), MessageStatus::Failed);
    }

    #[test]
    fn documents_round_trip() {
        let message = Message {
            id: "abc".into(),
            kind: MessageKind::Push,
            status: MessageStatus::Pending,
            recipients: Recipients {
                topics: vec!["news".into()],
                ..Recipients::default()
            },
            content: Content {
                title: "Hi".into(),
                ..Content::default()
            },
            send_at: String::new(),
            due_at_ms: 5,
            claim: Some(Claim {
                node: 2,
                until_ms: 9,
            }),
            deliveries: Some(vec![delivery(DeliveryStatus::Pending)]),
            error: String::new(),
            created: String::new(),
            updated: String::new(),
        };
        let mut doc = message.progress_fields();
        doc.insert("id".into(), "abc".into());
        doc.insert("kind".into(), "push".into());
        doc.insert(
            "recipients".into(),
            serde_json::to_value(&message.recipients).unwrap(),
        );
        doc.insert(
            "content".into(),
            serde_json::to_value(&message.content).unwrap(),
        );
        assert_eq!(Message::from_doc(&doc).unwrap(), message);
    }
}
