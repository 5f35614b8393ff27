//! `GET /api/realtime` and `POST /api/realtime`, PocketBase's realtime protocol over SSE.
//!
//! The stream answers `PB_CONNECT` with a new `clientId` (also its SSE id, as the JS SDK
//! reads it), then the client's events as the hub queues them, each with the id
//! `index.number` (its entry's log index, and its number among this client's events of that
//! entry); a client that reconnects with `?resume=<id>` or `Last-Event-ID: <id>` gets, after
//! its first subscription request, every event it missed, or `EB_REFETCH` when the node's
//! feed no longer holds them all; an idle stream gets a
//! comment every 15 s so proxies keep it open. A subscription request replaces the client's
//! topics and sets its auth from the `Authorization` header, with PocketBase's form
//! validation and answers (404 for an unknown client, 400 from another address than the
//! stream's, 403 when the auth would change), at the node holding the stream: a client id
//! names its node, and a request for another node's client is relayed there.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use edgebase_model::ValidationCode;
use edgebase_realtime::{
    Connection, Hub, Message, RealtimeError, ResumePoint, SubscribeRequest, CLIENT_ID_CHARS_MAX,
    SUBSCRIPTIONS_MAX, TOPIC_CHARS_MAX,
};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Map};

use crate::client_address::ClientAddress;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::Body;

/// How often an idle stream gets a keep-alive comment.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// PocketBase's answer to a body it cannot bind or a form it refuses.
const INVALID: &str = "Something went wrong while processing your request.";

/// `?resume=` (or `Last-Event-ID`): the id of the last event a reconnecting client saw.
#[derive(Debug, Default, Deserialize)]
pub struct ConnectQuery {
    #[serde(default)]
    resume: Option<String>,
}

pub async fn connect(
    Extension(hub): Extension<Hub>,
    ClientAddress(client_ip): ClientAddress,
    headers: HeaderMap,
    Query(query): Query<ConnectQuery>,
) -> Response {
    let resume = query
        .resume
        .as_deref()
        .or_else(|| {
            headers
                .get("last-event-id")
                .and_then(|value| value.to_str().ok())
        })
        .and_then(ResumePoint::parse);
    let connection = match hub.connect(resume, client_ip) {
        Ok(connection) => connection,
        Err(error) => {
            return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
                .into_response()
        }
    };
    tracing::debug!(client = %connection.client_id, "realtime client connected");
    let mut response = Sse::new(events(connection))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL).text("ping"))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// `PB_CONNECT`, then the client's messages until the hub lets it go. The stream owns the
/// connection: when the client goes away, the stream is dropped and the client unregistered.
fn events(connection: Connection) -> impl Stream<Item = Result<Event, Infallible>> {
    let client_id = connection.client_id.clone();
    let hello = Message {
        name: "PB_CONNECT".into(),
        data: json!({"clientId": client_id}).to_string(),
        id: None,
    };
    let first = stream::once(async move { hello });
    let rest = stream::unfold(connection, |mut connection| async move {
        let message = tokio::select! {
            biased;
            // The hub let the client go (too slow, or the node fell behind): end now.
            _ = connection.closed.changed() => None,
            message = connection.messages.recv() => message,
        }?;
        Some((message, connection))
    });
    first.chain(rest).map(move |message| {
        let id = message.id.unwrap_or_else(|| client_id.clone());
        Ok(Event::default()
            .id(id)
            .event(message.name)
            .data(message.data))
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubscribeForm {
    #[serde(rename = "clientId")]
    client_id: String,
    subscriptions: Vec<String>,
}

pub async fn subscribe(
    Extension(hub): Extension<Hub>,
    ClientAddress(client_ip): ClientAddress,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let form: SubscribeForm = if body.iter().all(u8::is_ascii_whitespace) {
        SubscribeForm::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| ApiError::bad_request(INVALID))?
    };
    let errors = form_errors(&form);
    if !errors.is_empty() {
        return Err(ApiError::validation(INVALID, errors));
    }
    let request = SubscribeRequest {
        client_id: form.client_id,
        client_ip,
        token: crate::identity::bearer_token(&headers).map(str::to_string),
        topics: form.subscriptions,
    };
    hub.subscribe(request).await.map_err(|error| match error {
        RealtimeError::UnknownClient => ApiError::new(StatusCode::NOT_FOUND, error.to_string()),
        RealtimeError::InvalidClient => ApiError::bad_request(error.to_string()),
        RealtimeError::AuthChanged => ApiError::forbidden(error.to_string()),
        RealtimeError::TooManyClients | RealtimeError::Stopping | RealtimeError::Unavailable(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PocketBase's checks of the form: a client id of 1 to 255 characters, at most 1000
/// topics, each at most 2500 characters.
fn form_errors(form: &SubscribeForm) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let id_chars = form.client_id.chars().count();
    if id_chars == 0 {
        errors.insert(
            "clientId".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if id_chars > CLIENT_ID_CHARS_MAX {
        errors.insert(
            "clientId".into(),
            field_error(
                ValidationCode::LengthOutOfRange,
                format!("The length must be between 1 and {CLIENT_ID_CHARS_MAX}."),
                Some(json!({"max": CLIENT_ID_CHARS_MAX, "min": 1})),
            ),
        );
    }
    if form.subscriptions.len() > SUBSCRIPTIONS_MAX {
        errors.insert(
            "subscriptions".into(),
            field_error(
                ValidationCode::LengthTooLong,
                format!("The length must be no more than {SUBSCRIPTIONS_MAX}."),
                Some(json!({"max": SUBSCRIPTIONS_MAX, "min": 0})),
            ),
        );
    } else {
        let mut each = Map::new();
        for (position, topic) in form.subscriptions.iter().enumerate() {
            if topic.chars().count() > TOPIC_CHARS_MAX {
                each.insert(
                    position.to_string(),
                    field_error(
                        ValidationCode::LengthTooLong,
                        format!("The length must be no more than {TOPIC_CHARS_MAX}."),
                        Some(json!({"max": TOPIC_CHARS_MAX, "min": 0})),
                    ),
                );
            }
        }
        if !each.is_empty() {
            errors.insert("subscriptions".into(), serde_json::Value::Object(each));
        }
    }
    errors
}
