//! Accepting a message (`POST /api/messages`, or a hook's `$app.sendMessage`): the request
//! checked whole (kind, a configured provider, recipients that exist, content within the
//! providers' bounds, the time to send), then written to the outbox, `_messages`, in one
//! command: once the answer is given, the message is held by a majority and will be
//! delivered whichever node dies.

use chrono::{DateTime, NaiveDateTime, Utc};
use edgebase_model::time;
use edgebase_model::validation::{field_error, FieldErrors, ValidationCode};
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::error::ServiceError;
use edgebase_service::idempotency::IdempotentWrite;
use edgebase_service::system_writes::{Committed, Session, SystemWrite};
use edgebase_storage::query::{FilterPart, ListRequest, RequestContext};
use serde_json::{Map, Value};

use crate::collections;
use crate::message::{Content, Message, MessageKind, MessageStatus, Recipients, UserRef};
use crate::providers::{PushContent, PUSH_PAYLOAD_BYTES_MAX};
use crate::settings::MessagingSettings;
use crate::settings_store;

/// Most ids (or topics) in each recipient list of one message.
pub const RECIPIENTS_MAX: usize = 1_000;
/// Longest an email's subject and body may be.
pub const EMAIL_SUBJECT_CHARS_MAX: usize = 998;
pub const EMAIL_HTML_BYTES_MAX: usize = 1 << 20;
/// Longest an SMS text may be (ten concatenated segments).
pub const SMS_CHARS_MAX: usize = 1_600;
/// Longest a provider may be asked to keep a push (four weeks, Web Push's common cap).
pub const TTL_SECS_MAX: u32 = 2_419_200;
/// Default time a provider keeps an undelivered push: one day.
pub const TTL_SECS_DEFAULT: u32 = 86_400;
/// Furthest ahead a message may be scheduled.
pub const SCHEDULE_DAYS_MAX: i64 = 366;

const INVALID: &str = "An error occurred while validating the submitted data.";

/// A message accepted: as stored, and the log index of the write that stored it.
pub struct Accepted {
    pub message: Message,
    pub index: u64,
}

/// How a request to send ended (a refusal is an error).
pub enum Acceptance {
    Accepted(Box<Accepted>),
    /// The request's `Idempotency-Key` was used by an earlier attempt, which applied first:
    /// its answer stands, and this attempt wrote nothing.
    KeyUsed,
}

/// Check `body` and write the message to the outbox, once under `keyed` when the request
/// has an `Idempotency-Key` (the answer kept with it, so a retry replays it and no second
/// message is written).
pub async fn accept(
    app: &App,
    body: &Map<String, Value>,
    keyed: Option<&IdempotentWrite>,
) -> Result<Acceptance, ServiceError> {
    let settings = settings_store::read(app)?;
    let mut errors = FieldErrors::new();
    let kind = parse_kind(body, &settings, &mut errors);
    if kind.is_none() && !settings.any_enabled() {
        // Messaging was never set up: refused without creating its collections.
        return Err(ServiceError::validation(INVALID, errors));
    }
    let [targets, topics, _, messages] = collections::ensure_all(app).await?;
    let content = kind.map(|kind| parse_content(kind, body, &mut errors));
    let recipients = parse_recipients(app, body, &targets, &topics, &mut errors)?;
    let now_ms = Utc::now().timestamp_millis();
    let send_at = parse_send_at(body.get("sendAt"), now_ms, &mut errors);
    let (Some(kind), Some(content), Some(recipients), Some(send_at)) =
        (kind, content, recipients, send_at)
    else {
        return Err(ServiceError::validation(INVALID, errors));
    };
    if !errors.is_empty() {
        return Err(ServiceError::validation(INVALID, errors));
    }
    let scheduled = send_at.is_some_and(|at| at > now_ms);
    let mut fields = Map::new();
    fields.insert("kind".into(), kind.as_str().into());
    let status = if scheduled {
        MessageStatus::Scheduled
    } else {
        MessageStatus::Pending
    };
    fields.insert("status".into(), status.as_str().into());
    fields.insert("recipients".into(), to_json(&recipients)?);
    fields.insert("content".into(), to_json(&content)?);
    fields.insert(
        "sendAt".into(),
        send_at
            .and_then(DateTime::from_timestamp_millis)
            .map(time::format_time)
            .unwrap_or_default()
            .into(),
    );
    fields.insert("dueAt".into(), send_at.unwrap_or(now_ms).max(1).into());
    let write = SystemWrite::Create {
        collection: messages,
        fields,
    };
    let mut session = Session::default();
    let doc = session
        .plan(app, &write)
        .await?
        .ok_or_else(|| ServiceError::internal("plan a message"))?;
    let message = Message::from_doc(&doc)
        .map_err(|error| ServiceError::internal_from("decode an accepted message", error))?;
    let answer = serde_json::to_vec(&message.view())
        .map_err(|error| ServiceError::internal_from("encode a message", error))?;
    let committed = session
        .commit_wrapped(app, |command| match keyed {
            Some(keyed) => keyed.wrap(command, 200, answer),
            None => command,
        })
        .await?;
    let index = match committed {
        Committed::Applied(index) => index,
        Committed::KeyUsed => return Ok(Acceptance::KeyUsed),
        // A new record's only condition is its fresh id being free.
        Committed::Stale => return Err(ServiceError::unavailable("Try again.")),
    };
    metrics::counter!("edgebase_messages_accepted_total", "kind" => kind.as_str()).increment(1);
    Ok(Acceptance::Accepted(Box::new(Accepted { message, index })))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, ServiceError> {
    serde_json::to_value(value)
        .map_err(|error| ServiceError::internal_from("encode a message", error))
}

fn invalid(
    errors: &mut FieldErrors,
    field: &str,
    code: ValidationCode,
    message: impl Into<String>,
) {
    errors.insert(field.into(), field_error(code, message, None));
}

fn text<'a>(body: &'a Map<String, Value>, field: &str, errors: &mut FieldErrors) -> &'a str {
    match body.get(field) {
        None | Some(Value::Null) => "",
        Some(Value::String(text)) => text,
        Some(_) => {
            invalid(
                errors,
                field,
                ValidationCode::InvalidValue,
                "Must be a string.",
            );
            ""
        }
    }
}

fn parse_kind(
    body: &Map<String, Value>,
    settings: &MessagingSettings,
    errors: &mut FieldErrors,
) -> Option<MessageKind> {
    let (kind, configured) = match text(body, "kind", errors) {
        "push" => (
            MessageKind::Push,
            settings.web_push.enabled || settings.fcm.enabled || settings.apns.enabled,
        ),
        "email" => (MessageKind::Email, settings.email.enabled),
        "sms" => (MessageKind::Sms, settings.sms.enabled),
        "" => {
            invalid(errors, "kind", ValidationCode::Required, "Cannot be blank.");
            return None;
        }
        _ => {
            invalid(
                errors,
                "kind",
                ValidationCode::InInvalid,
                "Must be push, email or sms.",
            );
            return None;
        }
    };
    if !configured {
        invalid(
            errors,
            "kind",
            ValidationCode::InvalidValue,
            format!(
                "No {} provider is enabled in the messaging settings.",
                kind.as_str()
            ),
        );
        return None;
    }
    Some(kind)
}

fn parse_content(
    kind: MessageKind,
    body: &Map<String, Value>,
    errors: &mut FieldErrors,
) -> Content {
    let mut content = Content {
        title: text(body, "title", errors).to_owned(),
        body: text(body, "body", errors).to_owned(),
        subject: text(body, "subject", errors).to_owned(),
        html: text(body, "html", errors).to_owned(),
        text: text(body, "text", errors).to_owned(),
        ..Content::default()
    };
    match kind {
        MessageKind::Push => {
            match body.get("data") {
                None | Some(Value::Null) => {}
                Some(Value::Object(data)) => content.data = data.clone(),
                Some(_) => invalid(
                    errors,
                    "data",
                    ValidationCode::InvalidValue,
                    "Must be an object.",
                ),
            }
            content.ttl_secs = match body.get("ttl") {
                None | Some(Value::Null) => TTL_SECS_DEFAULT,
                Some(value) => match value.as_u64() {
                    Some(ttl) if ttl <= u64::from(TTL_SECS_MAX) => ttl as u32,
                    _ => {
                        invalid(
                            errors,
                            "ttl",
                            ValidationCode::InvalidValue,
                            format!("Must be a whole number of seconds from 0 to {TTL_SECS_MAX}."),
                        );
                        0
                    }
                },
            };
            if content.title.is_empty() && content.body.is_empty() {
                invalid(
                    errors,
                    "title",
                    ValidationCode::Required,
                    "A push needs a title or a body.",
                );
            }
            let payload = PushContent {
                title: content.title.clone(),
                body: content.body.clone(),
                data: content.data.clone(),
                ttl_secs: content.ttl_secs,
                collapse_id: String::new(),
                // The id the message will get is as long as any record id.
                message_id: "x".repeat(edgebase_model::ids::RECORD_ID_LENGTH),
            }
            .web_push_payload();
            if payload.len() > PUSH_PAYLOAD_BYTES_MAX {
                invalid(
                    errors,
                    "body",
                    ValidationCode::LengthTooLong,
                    format!(
                        "The push payload (title, body and data as JSON) is {} bytes; push services take at most {PUSH_PAYLOAD_BYTES_MAX}.",
                        payload.len()
                    ),
                );
            }
        }
        MessageKind::Email => {
            if content.subject.trim().is_empty() {
                invalid(
                    errors,
                    "subject",
                    ValidationCode::Required,
                    "Cannot be blank.",
                );
            } else if content.subject.chars().count() > EMAIL_SUBJECT_CHARS_MAX {
                invalid(
                    errors,
                    "subject",
                    ValidationCode::LengthTooLong,
                    format!("At most {EMAIL_SUBJECT_CHARS_MAX} characters."),
                );
            }
            if content.html.trim().is_empty() {
                invalid(errors, "html", ValidationCode::Required, "Cannot be blank.");
            } else if content.html.len() > EMAIL_HTML_BYTES_MAX {
                invalid(
                    errors,
                    "html",
                    ValidationCode::LengthTooLong,
                    format!("At most {EMAIL_HTML_BYTES_MAX} bytes."),
                );
            }
        }
        MessageKind::Sms => {
            if content.text.trim().is_empty() {
                invalid(errors, "text", ValidationCode::Required, "Cannot be blank.");
            } else if content.text.chars().count() > SMS_CHARS_MAX {
                invalid(
                    errors,
                    "text",
                    ValidationCode::LengthTooLong,
                    format!("At most {SMS_CHARS_MAX} characters."),
                );
            }
        }
    }
    content
}

/// The `to` object, every name in it checked against local state (`None` when it does not
/// parse or names something unknown; the errors say which).
fn parse_recipients(
    app: &App,
    body: &Map<String, Value>,
    targets: &LoadedCollection,
    topics: &LoadedCollection,
    errors: &mut FieldErrors,
) -> Result<Option<Recipients>, ServiceError> {
    let recipients: Recipients = match body.get("to").map(|to| serde_json::from_value(to.clone())) {
        Some(Ok(recipients)) => recipients,
        None => {
            invalid(
                errors,
                "to",
                ValidationCode::Required,
                "Name targets, users or topics.",
            );
            return Ok(None);
        }
        Some(Err(error)) => {
            invalid(
                errors,
                "to",
                ValidationCode::InvalidValue,
                format!("Must be {{\"targets\": [ids], \"users\": [{{\"collection\", \"id\"}}], \"topics\": [names]}}: {error}."),
            );
            return Ok(None);
        }
    };
    if recipients.is_empty() {
        invalid(
            errors,
            "to",
            ValidationCode::Required,
            "Name targets, users or topics.",
        );
        return Ok(None);
    }
    let mut problems = FieldErrors::new();
    let problem =
        |problems: &mut FieldErrors, field: &str, code: ValidationCode, message: String| {
            problems.insert(field.into(), field_error(code, message, None));
        };
    for (field, count) in [
        ("targets", recipients.targets.len()),
        ("users", recipients.users.len()),
        ("topics", recipients.topics.len()),
    ] {
        if count > RECIPIENTS_MAX {
            problem(
                &mut problems,
                field,
                ValidationCode::LengthTooLong,
                format!("At most {RECIPIENTS_MAX}."),
            );
        }
    }
    if problems.is_empty() {
        let mut unknown_targets = Vec::new();
        for id in &recipients.targets {
            if app.state().record(&targets.collection.id, id)?.is_none() {
                unknown_targets.push(id.clone());
            }
        }
        let mut unknown_users = Vec::new();
        for user in &recipients.users {
            if user_exists(app, user)?.is_none() {
                unknown_users.push(format!("{}/{}", user.collection, user.id));
            }
        }
        let mut unknown_topics = Vec::new();
        for name in &recipients.topics {
            if topic_id(app, topics, name)?.is_none() {
                unknown_topics.push(name.clone());
            }
        }
        for (field, what, unknown) in [
            ("targets", "targets", unknown_targets),
            ("users", "auth records", unknown_users),
            ("topics", "topics", unknown_topics),
        ] {
            if !unknown.is_empty() {
                problem(
                    &mut problems,
                    field,
                    ValidationCode::MissingRelRecords,
                    format!("Unknown {what}: {}.", unknown.join(", ")),
                );
            }
        }
    }
    if !problems.is_empty() {
        errors.insert("to".into(), Value::Object(problems));
        return Ok(None);
    }
    Ok(Some(recipients))
}

/// The auth collection's id when `user` names an existing record of an auth collection.
pub fn user_exists(app: &App, user: &UserRef) -> Result<Option<String>, ServiceError> {
    let Some(loaded) = app.collection(&user.collection)? else {
        return Ok(None);
    };
    if loaded.collection.kind != edgebase_wire::CollectionType::Auth {
        return Ok(None);
    }
    Ok(app
        .state()
        .record(&loaded.collection.id, &user.id)?
        .map(|_| loaded.collection.id.clone()))
}

/// The id of the topic named `name`.
pub fn topic_id(
    app: &App,
    topics: &LoadedCollection,
    name: &str,
) -> Result<Option<String>, ServiceError> {
    let page = app.state().list_records(&ListRequest::matching(
        topics.collection.id.clone(),
        vec![FilterPart::field_equals("name", name)],
        1,
        RequestContext::at(Utc::now().timestamp_millis()),
        app.limits().records_examined_max,
    ))?;
    Ok(page.records.into_iter().next().map(|stored| stored.id))
}

/// `sendAt` as Unix ms: `Some(None)` to send now (absent, empty or past), `None` when it
/// does not parse or is too far ahead.
fn parse_send_at(
    value: Option<&Value>,
    now_ms: i64,
    errors: &mut FieldErrors,
) -> Option<Option<i64>> {
    let text = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::String(text)) if text.trim().is_empty() => return Some(None),
        Some(Value::String(text)) => text.trim(),
        Some(_) => {
            invalid(
                errors,
                "sendAt",
                ValidationCode::InvalidValue,
                "Must be a date string.",
            );
            return None;
        }
    };
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|at| at.timestamp_millis())
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.fZ")
                .map(|at| at.and_utc().timestamp_millis())
        });
    let Ok(at_ms) = parsed else {
        invalid(
            errors,
            "sendAt",
            ValidationCode::InvalidValue,
            "Must be a date like 2026-01-02T15:04:05Z or 2026-01-02 15:04:05.000Z.",
        );
        return None;
    };
    if at_ms > now_ms + SCHEDULE_DAYS_MAX * 86_400_000 {
        invalid(
            errors,
            "sendAt",
            ValidationCode::InvalidValue,
            format!("At most {SCHEDULE_DAYS_MAX} days ahead."),
        );
        return None;
    }
    Some((at_ms > now_ms).then_some(at_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn send_at_parses_both_date_forms_and_bounds_them() {
        let now = 1_800_000_000_000;
        let mut errors = FieldErrors::new();
        assert_eq!(parse_send_at(None, now, &mut errors), Some(None));
        assert_eq!(
            parse_send_at(Some(&json!("2020-01-01T00:00:00Z")), now, &mut errors),
            Some(None)
        );
        let ahead = DateTime::from_timestamp_millis(now + 60_000).unwrap();
        assert_eq!(
            parse_send_at(Some(&json!(ahead.to_rfc3339())), now, &mut errors),
            Some(Some(now + 60_000))
        );
        assert_eq!(
            parse_send_at(Some(&json!(time::format_time(ahead))), now, &mut errors),
            Some(Some(now + 60_000))
        );
        assert!(errors.is_empty());
        assert_eq!(parse_send_at(Some(&json!("soon")), now, &mut errors), None);
        assert_eq!(
            parse_send_at(Some(&json!("2099-01-01T00:00:00Z")), now, &mut errors),
            None
        );
        assert!(errors.contains_key("sendAt"));
    }

    #[test]
    fn push_content_is_bounded_by_the_payload_size() {
        let mut errors = FieldErrors::new();
        let body = json!({"title": "Hi", "body": "x".repeat(PUSH_PAYLOAD_BYTES_MAX)});
        parse_content(MessageKind::Push, body.as_object().unwrap(), &mut errors);
        assert!(errors.contains_key("body"), "{errors:?}");
        let mut errors = FieldErrors::new();
        let body = json!({"title": "Hi", "data": {"a": 1}, "ttl": 60});
        let content = parse_content(MessageKind::Push, body.as_object().unwrap(), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(content.ttl_secs, 60);
    }
}
