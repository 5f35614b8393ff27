//! One delivery attempt: the target looked up, the provider called, and what its answer
//! means for the delivery (sent, removed, tried again with backoff, or failed).

use chrono::Utc;
use edgebase_model::time;
use edgebase_service::app::App;
use edgebase_service::mail::Mail;
use serde_json::Value;

use crate::collections;
use crate::message::{Channel, Content, Delivery, DeliveryStatus};
use crate::providers::{
    self, ApnsClient, FcmClient, Outcome, PushContent, WebPushClient, WebPushSubscription,
};
use crate::settings::{MessagingSettings, RetrySettings};

/// The providers' clients, shared by every delivery of a node.
pub struct Providers {
    http: reqwest::Client,
    web_push: WebPushClient,
    fcm: FcmClient,
    apns: ApnsClient,
}

impl Default for Providers {
    fn default() -> Self {
        Providers {
            http: providers::http_client(),
            web_push: WebPushClient::new(),
            fcm: FcmClient::new(),
            apns: ApnsClient::new(),
        }
    }
}

impl Providers {
    /// Make one attempt at `delivery` of message `message_id`.
    pub async fn attempt(
        &self,
        app: &App,
        settings: &MessagingSettings,
        message_id: &str,
        content: &Content,
        delivery: &Delivery,
    ) -> Outcome {
        let push = || PushContent {
            title: content.title.clone(),
            body: content.body.clone(),
            data: content.data.clone(),
            ttl_secs: content.ttl_secs,
            collapse_id: delivery.key(message_id),
            message_id: message_id.to_owned(),
        };
        match delivery.channel {
            Channel::Webpush | Channel::Fcm | Channel::Apns => {
                let target = match push_target(app, &delivery.target) {
                    Ok(Some(target)) => target,
                    Ok(None) => return Outcome::Gone("The target was removed.".into()),
                    Err(error) => return Outcome::Retry(format!("read the target: {error}")),
                };
                let field = |name: &str| {
                    target
                        .get(name)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                match delivery.channel {
                    Channel::Webpush if settings.web_push.enabled => {
                        let subscription = WebPushSubscription {
                            endpoint: field("endpoint"),
                            p256dh: field("p256dh"),
                            auth: field("auth"),
                        };
                        self.web_push
                            .send(&self.http, &settings.web_push, &subscription, &push())
                            .await
                    }
                    Channel::Fcm if settings.fcm.enabled => {
                        self.fcm
                            .send(&self.http, &settings.fcm, &field("token"), &push())
                            .await
                    }
                    Channel::Apns if settings.apns.enabled => {
                        self.apns
                            .send(&self.http, &settings.apns, &field("token"), &push())
                            .await
                    }
                    channel => Outcome::Failed(format!(
                        "The {} provider is not enabled.",
                        channel.as_str()
                    )),
                }
            }
            Channel::Email if settings.email.enabled => {
                let pocketbase = match app.settings() {
                    Ok(pocketbase) => pocketbase,
                    Err(error) => return Outcome::Retry(format!("read the settings: {error}")),
                };
                let mail = Mail::new(
                    &pocketbase,
                    &delivery.target,
                    content.subject.clone(),
                    content.html.clone(),
                );
                match app.mailer().send_now(mail).await {
                    Ok(()) => Outcome::Sent,
                    Err(error) => Outcome::Retry(format!("send the mail: {error}")),
                }
            }
            Channel::Sms if settings.sms.enabled => {
                providers::send_sms(&self.http, &settings.sms, &delivery.target, &content.text)
                    .await
            }
            channel => {
                Outcome::Failed(format!("The {} provider is not enabled.", channel.as_str()))
            }
        }
    }
}

/// A push target's document, `None` once it was removed.
fn push_target(
    app: &App,
    id: &str,
) -> Result<Option<serde_json::Map<String, Value>>, edgebase_service::error::ServiceError> {
    let Some(targets) = collections::loaded(app, collections::TARGETS)? else {
        return Ok(None);
    };
    app.state()
        .record(&targets.collection.id, id)?
        .map(|stored| crate::resolve::decode(&stored))
        .transpose()
}

/// `delivery` after an attempt that came to `outcome` at `now_ms`.
pub fn settle(delivery: &mut Delivery, outcome: &Outcome, retry: &RetrySettings, now_ms: i64) {
    delivery.attempts += 1;
    match outcome {
        Outcome::Sent => {
            delivery.status = DeliveryStatus::Sent;
            delivery.sent_at = time::format_time(Utc::now());
            delivery.error.clear();
        }
        Outcome::Gone(error) => {
            delivery.status = DeliveryStatus::Removed;
            delivery.error = error.clone();
        }
        Outcome::Failed(error) => {
            delivery.status = DeliveryStatus::Failed;
            delivery.error = error.clone();
        }
        Outcome::Retry(error) => {
            delivery.error = error.clone();
            if delivery.attempts >= retry.attempts_max {
                delivery.status = DeliveryStatus::Failed;
            } else {
                let doublings = (delivery.attempts - 1).min(30);
                let wait = retry
                    .backoff_ms
                    .saturating_mul(1 << doublings)
                    .min(retry.backoff_max_ms);
                delivery.next_at_ms = now_ms + wait as i64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_end_failed() {
        let retry = RetrySettings {
            attempts_max: 4,
            backoff_ms: 1_000,
            backoff_max_ms: 3_000,
        };
        let mut delivery = Delivery::new(Channel::Sms, "+15550100".into(), String::new());
        let failure = Outcome::Retry("500".into());
        let mut waits = Vec::new();
        for _ in 0..3 {
            settle(&mut delivery, &failure, &retry, 0);
            assert_eq!(delivery.status, DeliveryStatus::Pending);
            waits.push(delivery.next_at_ms);
        }
        assert_eq!(waits, [1_000, 2_000, 3_000]);
        settle(&mut delivery, &failure, &retry, 0);
        assert_eq!(delivery.status, DeliveryStatus::Failed);
        assert_eq!(delivery.attempts, 4);
        let mut delivery = Delivery::new(Channel::Webpush, "t".into(), String::new());
        settle(&mut delivery, &Outcome::Gone("410".into()), &retry, 0);
        assert_eq!(delivery.status, DeliveryStatus::Removed);
    }
}
