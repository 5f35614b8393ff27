//! `Messages`: EdgeBase's messaging API (superuser): send a push, email or SMS to targets,
//! auth records or topics, now or at a time, and follow each delivery. Targets, topics and
//! subscriptions are records (`_messageTargets`, `_messageTopics`,
//! `_messageSubscriptions`): manage them with `Client::records`.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{encode, Client};
use crate::error::ClientError;
use crate::wire::messaging::MessageView;

/// Messaging through one client; get it with `Client::messages`.
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    client: &'a Client,
}

impl<'a> Messages<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Messages { client }
    }

    /// Accept a message (`{"kind", "to": {"targets", "users", "topics"}, ...content,
    /// "sendAt"}`) into the replicated outbox.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        message: &B,
    ) -> Result<MessageView, ClientError> {
        let body = encode(message)?;
        self.client
            .send_json(Method::POST, &["api", "messages"], &[], Some(body))
            .await
    }

    /// A message with each delivery's state.
    pub async fn get(&self, id: &str) -> Result<MessageView, ClientError> {
        self.client
            .send_json(Method::GET, &["api", "messages", id], &[], None)
            .await
    }

    /// The providers' settings (secrets empty).
    pub async fn settings(&self) -> Result<Map<String, Value>, ClientError> {
        self.client
            .send_json(Method::GET, &["api", "messaging", "settings"], &[], None)
            .await
    }

    /// Change the providers' settings (sections merged; a secret left out is kept).
    pub async fn update_settings<B: Serialize + ?Sized>(
        &self,
        patch: &B,
    ) -> Result<Map<String, Value>, ClientError> {
        let body = encode(patch)?;
        self.client
            .send_json(
                Method::PATCH,
                &["api", "messaging", "settings"],
                &[],
                Some(body),
            )
            .await
    }
}
