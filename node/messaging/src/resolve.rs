//! Who a message reaches, worked out when its delivery starts: the push targets it names,
//! and for each auth record it names or that follows one of its topics, that record's push
//! targets (push), its `email` (email) or its phone field (SMS). One delivery per channel
//! and target, whoever named it twice.

use std::collections::BTreeSet;

use chrono::Utc;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::error::ServiceError;
use edgebase_storage::query::{FilterPart, ListRequest, RequestContext};
use edgebase_storage::{StoredRecord, RECORDS_PAGE_LIMIT_MAX};
use serde_json::{Map, Value};

use crate::collections;
use crate::message::{Channel, Delivery, DeliveryStatus, Message, MessageKind};
use crate::send::{topic_id, user_exists};
use crate::settings::MessagingSettings;

/// Most deliveries one message may have.
pub const DELIVERIES_MAX: usize = 5_000;
/// Most push targets one auth record's deliveries include.
const TARGETS_PER_RECORD_MAX: u64 = 100;

/// Why a message reaches no one it could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooMany(pub usize);

/// The deliveries of `message` as local state has its recipients now.
pub fn deliveries(
    app: &App,
    message: &Message,
    settings: &MessagingSettings,
) -> Result<Result<Vec<Delivery>, TooMany>, ServiceError> {
    let loaded = |name| {
        collections::loaded(app, name)?
            .ok_or_else(|| ServiceError::internal("messaging's collections"))
    };
    let (targets, topics, subscriptions) = (
        loaded(collections::TARGETS)?,
        loaded(collections::TOPICS)?,
        loaded(collections::SUBSCRIPTIONS)?,
    );
    let mut users: BTreeSet<(String, String)> = BTreeSet::new();
    for user in &message.recipients.users {
        if let Some(collection_id) = user_exists(app, user)? {
            users.insert((collection_id, user.id.clone()));
        }
    }
    for name in &message.recipients.topics {
        let Some(topic) = topic_id(app, &topics, name)? else {
            continue;
        };
        let followers = list(
            app,
            &subscriptions,
            vec![FilterPart::field_equals("topic", &topic)],
            DELIVERIES_MAX as u64 + 1,
        )?;
        for (_, doc) in followers {
            users.insert((text(&doc, "collectionRef"), text(&doc, "recordRef")));
        }
        if users.len() > DELIVERIES_MAX {
            return Ok(Err(TooMany(users.len())));
        }
    }
    let mut found: Vec<Delivery> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut add = |delivery: Delivery| {
        if seen.insert((delivery.channel, delivery.target.clone())) {
            found.push(delivery);
        }
    };
    match message.kind {
        MessageKind::Push => {
            for id in &message.recipients.targets {
                if let Some(stored) = app.state().record(&targets.collection.id, id)? {
                    add(push_delivery(&stored, settings)?);
                }
            }
            for (collection_id, record_id) in &users {
                let owned = list(
                    app,
                    &targets,
                    vec![
                        FilterPart::field_equals("collectionRef", collection_id),
                        FilterPart::field_equals("recordRef", record_id),
                    ],
                    TARGETS_PER_RECORD_MAX,
                )?;
                for (stored, _) in owned {
                    add(push_delivery(&stored, settings)?);
                }
            }
        }
        MessageKind::Email | MessageKind::Sms => {
            let (channel, field) = match message.kind {
                MessageKind::Email => (Channel::Email, "email"),
                _ => (Channel::Sms, settings.sms.phone_field.as_str()),
            };
            for (collection_id, record_id) in &users {
                let Some(record) = app.auth_record(collection_id, record_id)? else {
                    continue;
                };
                let user = format!("{collection_id}/{record_id}");
                let address = record
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let mut delivery = Delivery::new(channel, address.to_owned(), user.clone());
                if address.is_empty() {
                    // Still listed, so the message's status says who it could not reach.
                    delivery.target = user;
                    delivery.status = DeliveryStatus::Failed;
                    delivery.error = format!("The auth record has no {field}.");
                }
                add(delivery);
            }
        }
    }
    if found.len() > DELIVERIES_MAX {
        return Ok(Err(TooMany(found.len())));
    }
    Ok(Ok(found))
}

/// A delivery to a stored push target (failed at once when its provider is off).
fn push_delivery(
    stored: &StoredRecord,
    settings: &MessagingSettings,
) -> Result<Delivery, ServiceError> {
    let doc = decode(stored)?;
    let kind = text(&doc, "kind");
    let user = format!(
        "{}/{}",
        text(&doc, "collectionRef"),
        text(&doc, "recordRef")
    );
    let channel = Channel::of_target_kind(&kind).unwrap_or(Channel::Webpush);
    let mut delivery = Delivery::new(channel, stored.id.clone(), user);
    let enabled = match channel {
        Channel::Webpush => settings.web_push.enabled,
        Channel::Fcm => settings.fcm.enabled,
        Channel::Apns => settings.apns.enabled,
        Channel::Email | Channel::Sms => false,
    };
    if !enabled {
        delivery.status = DeliveryStatus::Failed;
        delivery.error = format!("The {kind} provider is not enabled.");
    }
    Ok(delivery)
}

/// A stored record with its decoded document.
type Found = (StoredRecord, Map<String, Value>);

fn list(
    app: &App,
    collection: &LoadedCollection,
    filters: Vec<FilterPart>,
    limit: u64,
) -> Result<Vec<Found>, ServiceError> {
    let mut found = Vec::new();
    while (found.len() as u64) < limit {
        let mut request = ListRequest::matching(
            collection.collection.id.clone(),
            filters.clone(),
            limit - found.len() as u64,
            RequestContext::at(Utc::now().timestamp_millis()),
            app.limits().records_examined_max,
        );
        request.offset = found.len() as u64;
        let page = app.state().list_records(&request)?;
        let last_page = (page.records.len() as u64) < request.limit.min(RECORDS_PAGE_LIMIT_MAX);
        for stored in page.records {
            let doc = decode(&stored)?;
            found.push((stored, doc));
        }
        if last_page {
            break;
        }
    }
    Ok(found)
}

pub fn decode(stored: &StoredRecord) -> Result<Map<String, Value>, ServiceError> {
    serde_json::from_str(&stored.doc_json)
        .map_err(|error| ServiceError::internal_from("decode a messaging record", error))
}

fn text(doc: &Map<String, Value>, field: &str) -> String {
    doc.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
