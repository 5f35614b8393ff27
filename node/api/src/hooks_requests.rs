//! PocketBase's record request hooks (`onRecordCreateRequest`, `onRecordUpdateRequest`)
//! around a record write: the handlers for the collection run on this node before anything
//! is proposed, with `e.record` as the request would write it; the last handler's
//! `e.next()` runs the write (validation, rules, the proposal) with the record as the
//! handlers left it, and the handlers see the written record after it. The answer is the
//! write's, unless a handler wrote its own or threw. A chain that never reaches `e.next()`
//! and answers nothing writes nothing and is refused with a 500 that says so.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use edgebase_hooks::{HookFailure, Hooks, NextFn, RequestHookOutcome};
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

use crate::collections::collection_for_api;
use crate::error::ApiError;
use crate::hooks_routes::{refused, route_request, written};

/// Most bytes of a write's answer handed back to the hooks.
const ANSWER_BYTES_MAX: usize = 16 << 20;

/// The default action of a record write: write these fields, answer as the API does.
pub type WriteAction =
    Box<dyn FnOnce(Map<String, Value>) -> BoxFuture<'static, Result<Response, ApiError>> + Send>;

/// Where a hook chain's default action leaves the write's own answer.
pub type AnswerSlot = Arc<Mutex<Option<Result<Response, ApiError>>>>;

/// `write` as a hook chain's default action: it runs the write with the record the hooks
/// left, keeps the write's answer in `kept` and hands the hooks the written record (or the
/// write's failure, which they may catch).
pub fn answering_next(write: WriteAction, kept: AnswerSlot) -> NextFn {
    Box::new(move |record: Value| {
        Box::pin(async move {
            let fields = match record {
                Value::Object(fields) => fields,
                _ => Map::new(),
            };
            match write(fields).await {
                Ok(response) => {
                    let (response, written_record) = buffered(response).await?;
                    *kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                        Some(Ok(response));
                    Ok(written_record)
                }
                Err(error) => {
                    let failure = failure_of_api(&error);
                    *kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                        Some(Err(error));
                    Err(failure)
                }
            }
        }) as BoxFuture<'static, Result<Value, HookFailure>>
    })
}

/// A write's answer read whole: the same answer, and its body as JSON (`Null` when it is
/// not JSON, as a 204's empty body).
pub async fn buffered(response: Response) -> Result<(Response, Value), HookFailure> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, ANSWER_BYTES_MAX)
        .await
        .map_err(|error| HookFailure::internal(format!("read the write's answer: {error}")))?;
    let json = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
    Ok((Response::from_parts(parts, Body::from(bytes)), json))
}

/// An API error as hooks see it (`e.next()` throwing it).
pub fn failure_of_api(error: &ApiError) -> HookFailure {
    HookFailure {
        status: error.status.as_u16(),
        message: error.message.clone(),
        data: error.data.clone(),
        cause: None,
    }
}

/// The answer a slot holds once the chain reached the write (an internal error if not).
pub fn take_answer(answered: &AnswerSlot) -> Result<Response, ApiError> {
    answered
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
        .unwrap_or_else(|| Err(ApiError::internal()))
}

/// What the request was, for the hooks' `e.request` and `e.auth`.
pub struct HookedRequest<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    pub remote_ip: String,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
}

impl<'a> HookedRequest<'a> {
    /// The request as hooks see it (`e.request`, `e.auth`), without its body.
    fn seen(self) -> edgebase_hooks::RouteRequest {
        route_request(
            self.app,
            self.caller.principal(),
            self.remote_ip,
            self.method,
            self.uri,
            self.headers,
        )
    }

    pub fn new(
        app: &'a App,
        caller: &'a Caller,
        remote_ip: String,
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
    ) -> HookedRequest<'a> {
        HookedRequest {
            app,
            caller,
            remote_ip,
            method,
            uri,
            headers,
        }
    }
}

/// Run `event`'s handlers for `loaded` around `write`, starting from `record`; no handler,
/// just the write.
pub async fn around_write(
    hooks: &Hooks,
    event: &str,
    loaded: &LoadedCollection,
    request: HookedRequest<'_>,
    record: Map<String, Value>,
    write: WriteAction,
) -> Result<Response, ApiError> {
    let tag = loaded.collection.name.clone();
    if !hooks.handles(event, &tag) {
        return write(record).await;
    }
    let answered: AnswerSlot = Arc::default();
    let next = answering_next(write, Arc::clone(&answered));
    let mut seen = request.seen();
    seen.data = Some(Value::Object(record.clone()));
    let event_json = json!({
        "request": seen,
        "collection": collection_for_api(&loaded.collection),
        "record": record,
    });
    match hooks.record_request(event, &tag, event_json, next).await {
        RequestHookOutcome::Written(response) => Ok(written(response)),
        RequestHookOutcome::Continued => take_answer(&answered),
        RequestHookOutcome::Failed(failure) => Err(refused(failure)),
        RequestHookOutcome::Stopped => Err(hook_stopped(
            event,
            &tag,
            " and wrote no answer, so nothing was saved.",
        )),
    }
}

/// Run the read request hook `event` (`onRecordsListRequest`, `onRecordViewRequest`) over
/// what the API found: `found` is `("result", page)` or `("record", record)`. `None`: no
/// handler, the API answers as it would.
pub async fn around_read(
    hooks: &Hooks,
    event: &str,
    loaded: &LoadedCollection,
    request: HookedRequest<'_>,
    found: (&str, Value),
) -> Option<Result<Response, ApiError>> {
    let tag = loaded.collection.name.clone();
    if !hooks.handles(event, &tag) {
        return None;
    }
    let seen = request.seen();
    let (key, value) = found;
    let mut event_json = json!({
        "request": seen,
        "collection": collection_for_api(&loaded.collection),
    });
    event_json[key] = value;
    let outcome = hooks.read_request(event, &tag, event_json).await;
    Some(written_by_hooks(outcome, event, &tag))
}

/// The answer of a chain whose default action writes the answer itself (the read hooks,
/// `onRecordAuthRequest`): what was written, or the failure.
pub fn written_by_hooks(
    outcome: RequestHookOutcome,
    event: &str,
    tag: &str,
) -> Result<Response, ApiError> {
    match outcome {
        RequestHookOutcome::Written(response) => Ok(written(response)),
        RequestHookOutcome::Failed(failure) => Err(refused(failure)),
        RequestHookOutcome::Continued | RequestHookOutcome::Stopped => {
            Err(hook_stopped(event, tag, " and wrote no answer."))
        }
    }
}

/// The answer when a hook chain neither reached `e.next()` nor answered: a 500 saying so
/// (`rest` ends the sentence with what that meant), and a warning in the log.
pub fn hook_stopped(event: &str, tag: &str, rest: &str) -> ApiError {
    tracing::warn!(event, collection = %tag, "a hook did not call e.next() and answered nothing");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("The {event} hook did not call e.next(){rest}"),
    )
}
