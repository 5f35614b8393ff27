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

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use edgebase_hooks::{HookFailure, Hooks, NextFn, RequestHookOutcome};
use edgebase_model::ValidationCode;
use edgebase_realtime::{
    Connection, Hub, Message, RealtimeError, ResumePoint, SubscribeRequest, CLIENT_ID_CHARS_MAX,
    SUBSCRIPTIONS_MAX, TOPIC_CHARS_MAX,
};
use edgebase_service::app::App;
use futures::future::BoxFuture;
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::client_address::ClientAddress;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::Body;
use crate::hooks_requests::{failure_of_api, hook_stopped, take_answer, AnswerSlot};
use crate::hooks_routes::{refused, route_request, written};

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
    Extension(hooks): Extension<Hooks>,
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
    let mut response = Sse::new(events(connection, hooks))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE_INTERVAL).text("ping"))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// `PB_CONNECT`, then the client's messages until the hub lets it go. The stream owns the
/// connection: when the client goes away, the stream is dropped and the client unregistered.
/// Each message passes the `onRealtimeMessageSend` hooks when there are any (they may change
/// it, or drop it).
fn events(connection: Connection, hooks: Hooks) -> impl Stream<Item = Result<Event, Infallible>> {
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
    first.chain(rest).filter_map(move |message| {
        let client_id = client_id.clone();
        let hooks = hooks.clone();
        async move {
            let message = if hooks.handles("onRealtimeMessageSend", "") {
                hooked_message(&hooks, &client_id, message).await?
            } else {
                message
            };
            let id = message.id.unwrap_or_else(|| client_id.clone());
            Some(Ok(Event::default()
                .id(id)
                .event(message.name)
                .data(message.data)))
        }
    })
}

/// `message` as the `onRealtimeMessageSend` hooks left it (`None`: not to be sent).
async fn hooked_message(hooks: &Hooks, client_id: &str, message: Message) -> Option<Message> {
    let seen = json!({ "name": message.name, "data": message.data });
    let changed = hooks.realtime_message(client_id, seen).await?;
    Some(Message {
        name: changed
            .get("name")
            .and_then(Value::as_str)
            .map_or(message.name, str::to_owned),
        data: changed
            .get("data")
            .and_then(Value::as_str)
            .map_or(message.data, str::to_owned),
        id: message.id,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubscribeForm {
    #[serde(rename = "clientId")]
    client_id: String,
    subscriptions: Vec<String>,
}

#[allow(clippy::too_many_arguments)] // axum extractors
pub async fn subscribe(
    State(app): State<App>,
    Extension(hub): Extension<Hub>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(client_ip): ClientAddress,
    method: Method,
    uri: Uri,
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
        client_ip: client_ip.clone(),
        token: crate::identity::bearer_token(&headers).map(str::to_string),
        topics: form.subscriptions,
    };
    if !hooks.handles("onRealtimeSubscribeRequest", "") {
        return subscribe_with(&hub, request).await;
    }
    let principal = crate::identity::principal(&app, &headers)?;
    let mut seen = route_request(&app, &principal, client_ip, &method, &uri, &headers);
    seen.data = Some(json!({ "clientId": request.client_id, "subscriptions": request.topics }));
    let event = json!({
        "request": seen,
        "collection": {},
        "record": null,
        "extra": {
            "client": { "id": request.client_id },
            "subscriptions": request.topics,
        },
        "nextSends": ["subscriptions"],
    });
    let answered: AnswerSlot = Arc::default();
    let kept = Arc::clone(&answered);
    let next: NextFn = Box::new(move |sent: Value| {
        Box::pin(async move {
            let topics = sent
                .get("subscriptions")
                .and_then(Value::as_array)
                .map(|topics| {
                    topics
                        .iter()
                        .filter_map(|topic| topic.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let answer = subscribe_with(&hub, SubscribeRequest { topics, ..request }).await;
            let failure = answer.as_ref().err().map(failure_of_api);
            *kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(answer);
            match failure {
                Some(failure) => Err(failure),
                None => Ok(Value::Null),
            }
        }) as BoxFuture<'static, Result<Value, HookFailure>>
    });
    match hooks
        .record_request("onRealtimeSubscribeRequest", "", event, next)
        .await
    {
        RequestHookOutcome::Written(response) => Ok(written(response)),
        RequestHookOutcome::Continued => take_answer(&answered),
        RequestHookOutcome::Failed(failure) => Err(refused(failure)),
        RequestHookOutcome::Stopped => Err(hook_stopped(
            "onRealtimeSubscribeRequest",
            "",
            " and wrote no answer.",
        )),
    }
}

/// Set a client's subscriptions at the hub; PocketBase's answers.
async fn subscribe_with(hub: &Hub, request: SubscribeRequest) -> Result<Response, ApiError> {
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
