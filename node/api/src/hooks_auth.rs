//! PocketBase's auth request hooks around the auth routes: `onRecordAuthWithPasswordRequest`,
//! `onRecordAuthRefreshRequest`, `onRecordRequestOTPRequest` and the others run around the
//! route's own handling (their last `e.next()` runs it; a handler may refuse before it, or
//! answer itself), and `onRecordAuthRequest` runs over every successful sign-in's answer
//! (`e.record`, `e.token`, `e.meta`, `e.authMethod`), able to change it or refuse it.
//!
//! The handlers see the request's fields (`e.identity` and `e.password` for a password
//! sign-in, `e.requestInfo().body` for all) and, after `e.next()`, the signed-in record. The
//! record the route looks up is not known before `e.next()` here (PocketBase finds it
//! first): `e.record` is empty until then.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use edgebase_hooks::{HookFailure, Hooks, NextFn, RequestHookOutcome};
use edgebase_service::app::App;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};

use crate::collections::collection_for_api;
use crate::error::ApiError;
use crate::hooks_requests::{
    buffered, failure_of_api, hook_stopped, take_answer, written_by_hooks, AnswerSlot,
};
use crate::hooks_routes::{refused, route_request, written};

/// Most bytes of an auth request's body the hooks read (the routes' own bounds are
/// smaller).
const AUTH_BODY_BYTES_MAX: usize = 1 << 20;

/// The hook around a route, and the `authMethod` its successful answer reports (`None`: the
/// route does not sign anyone in).
fn events_of(route: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match route {
        "auth-with-password" => ("onRecordAuthWithPasswordRequest", Some("password")),
        "auth-with-oauth2" => ("onRecordAuthWithOAuth2Request", Some("oauth2")),
        "auth-with-otp" => ("onRecordAuthWithOTPRequest", Some("otp")),
        "auth-refresh" => ("onRecordAuthRefreshRequest", Some("")),
        "request-otp" => ("onRecordRequestOTPRequest", None),
        "request-verification" => ("onRecordRequestVerificationRequest", None),
        "confirm-verification" => ("onRecordConfirmVerificationRequest", None),
        "request-password-reset" => ("onRecordRequestPasswordResetRequest", None),
        "confirm-password-reset" => ("onRecordConfirmPasswordResetRequest", None),
        "request-email-change" => ("onRecordRequestEmailChangeRequest", None),
        "confirm-email-change" => ("onRecordConfirmEmailChangeRequest", None),
        _ => return None,
    })
}

/// The middleware on the auth routes.
pub async fn around(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(hooks) = request.extensions().get::<Hooks>().cloned() else {
        return next.run(request).await;
    };
    // `/api/collections/{collection}/{route}`
    let mut segments = request.uri().path().rsplit('/');
    let route = segments.next().unwrap_or_default().to_owned();
    let collection = segments.next().unwrap_or_default().to_owned();
    let Some((event, auth_method)) = events_of(&route) else {
        return next.run(request).await;
    };
    let Some(loaded) = app.collection(&collection).ok().flatten() else {
        return next.run(request).await;
    };
    let tag = loaded.collection.name.clone();
    let around_route = hooks.handles(event, &tag);
    let over_answer = auth_method.is_some() && hooks.handles("onRecordAuthRequest", &tag);
    if !around_route && !over_answer {
        return next.run(request).await;
    }
    match hooked(&app, &hooks, event, &loaded, auth_method, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn hooked(
    app: &App,
    hooks: &Hooks,
    event: &'static str,
    loaded: &edgebase_service::app::LoadedCollection,
    auth_method: Option<&'static str>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let tag = loaded.collection.name.clone();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, AUTH_BODY_BYTES_MAX)
        .await
        .map_err(|_| ApiError::invalid_body())?;
    let fields = body_fields(&parts.headers, &bytes);
    let principal = crate::identity::principal(app, &parts.headers)?;
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(peer)| *peer);
    let remote_ip = crate::identity::client_info(app, &parts.headers, peer).address;
    let mut seen = route_request(
        app,
        &principal,
        remote_ip,
        &parts.method,
        &parts.uri,
        &parts.headers,
    );
    seen.data = Some(Value::Object(fields.clone()));
    let collection = collection_for_api(&loaded.collection);
    let rebuilt = Request::from_parts(parts, Body::from(bytes));
    let answer = if hooks.handles(event, &tag) {
        let answered: AnswerSlot = Arc::default();
        let default_action = route_as_next(next, rebuilt, Arc::clone(&answered));
        let mut extra = Map::new();
        if event == "onRecordAuthWithPasswordRequest" {
            extra.insert("identity".into(), field(&fields, "identity"));
            extra.insert("password".into(), field(&fields, "password"));
            extra.insert("identityField".into(), Value::String(String::new()));
        }
        let event_json = json!({
            "request": seen.clone(),
            "collection": collection.clone(),
            "record": Value::Null,
            "extra": extra,
        });
        match hooks
            .record_request(event, &tag, event_json, default_action)
            .await
        {
            RequestHookOutcome::Written(response) => return Ok(written(response)),
            RequestHookOutcome::Continued => take_answer(&answered)?,
            RequestHookOutcome::Failed(failure) => return Err(refused(failure)),
            RequestHookOutcome::Stopped => {
                return Err(hook_stopped(event, &tag, " and wrote no answer."))
            }
        }
    } else {
        next.run(rebuilt).await
    };
    let Some(method) = auth_method else {
        return Ok(answer);
    };
    if answer.status() != StatusCode::OK || !hooks.handles("onRecordAuthRequest", &tag) {
        return Ok(answer);
    }
    let (answer, body) = buffered(answer).await.map_err(refused)?;
    if body.get("token").is_none() {
        return Ok(answer);
    }
    let event_json = json!({
        "request": seen,
        "collection": collection,
        "auth": {
            "token": body.get("token"),
            "record": body.get("record"),
            "meta": body.get("meta"),
            "authMethod": method,
        },
    });
    let event = "onRecordAuthRequest";
    let outcome = hooks.read_request(event, &tag, event_json).await;
    written_by_hooks(outcome, event, &tag)
}

/// The route itself as a hook chain's default action: its answer kept in `kept`, the
/// signed-in record (if it answered one) handed to the hooks.
fn route_as_next(next: Next, request: Request, kept: AnswerSlot) -> NextFn {
    Box::new(move |_record: Value| {
        Box::pin(async move {
            let response = next.run(request).await;
            let (response, body) = buffered(response).await?;
            let status = response.status();
            let record = body.get("record").cloned().unwrap_or(Value::Null);
            if status.is_success() {
                *kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Ok(response));
                return Ok(record);
            }
            let error = ApiError {
                status,
                message: body
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                data: body
                    .get("data")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            };
            let failure = failure_of_api(&error);
            *kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Ok(response));
            Err(failure)
        }) as BoxFuture<'static, Result<Value, HookFailure>>
    })
}

/// A JSON or form body's fields.
fn body_fields(headers: &axum::http::HeaderMap, bytes: &Bytes) -> Map<String, Value> {
    let is_form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).unwrap_or_default();
        return pairs
            .into_iter()
            .map(|(key, value)| (key, Value::String(value)))
            .collect();
    }
    serde_json::from_slice::<Map<String, Value>>(bytes).unwrap_or_default()
}

fn field(fields: &Map<String, Value>, name: &str) -> Value {
    fields
        .get(name)
        .cloned()
        .unwrap_or(Value::String(String::new()))
}
