//! Custom routes from the hooks bundle (`routerAdd`), served by every node: a request no
//! built-in route takes is handed to the hooks, and answered with what the route's handler
//! wrote or with its failure in PocketBase's error envelope; no route, PocketBase's 404 (for
//! a GET, the one of its static files route).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use edgebase_hooks::{HookFailure, Hooks, RouteAnswer, RouteRequest, RouteResponse};
use edgebase_service::app::App;
use edgebase_service::principal::Principal;
use serde_json::{Map, Value};

use crate::client_address::ClientAddress;
use crate::error::ApiError;

/// PocketBase's answer to a GET no route takes (its static files route answers it).
fn no_file() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "File not found.")
}

/// The fallback of the API router.
pub async fn serve(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    ClientAddress(remote_ip): ClientAddress,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let missing = || {
        if method == Method::GET || method == Method::HEAD {
            no_file()
        } else {
            ApiError::not_found()
        }
    };
    if hooks.current().registry.routes.is_empty() {
        return Err(missing());
    }
    let principal = crate::identity::principal(&app, &headers)?;
    let mut request = route_request(&app, &principal, remote_ip, &method, &uri, &headers);
    request.form = is_form(&headers).then(|| pairs(&body));
    request.body = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
    match hooks.route(request).await {
        None => Err(missing()),
        Some(RouteAnswer::Written(response)) => Ok(written(response)),
        Some(RouteAnswer::Failed(failure)) => Err(refused(failure)),
    }
}

/// A request as hooks see it (`e.request`, `e.auth`), without its body.
pub(crate) fn route_request(
    app: &App,
    principal: &Principal,
    remote_ip: String,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> RouteRequest {
    RouteRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        raw_query: uri.query().unwrap_or_default().to_owned(),
        query: pairs(uri.query().unwrap_or_default().as_bytes()),
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        remote_ip,
        auth: auth_record(app, principal),
        ..RouteRequest::default()
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

fn pairs(encoded: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(encoded).unwrap_or_default()
}

/// The record a request is authenticated as, as hooks see `e.auth`.
fn auth_record(app: &App, principal: &Principal) -> Option<Value> {
    let (collection, id) = match principal {
        Principal::Superuser { id } => (app.collection("_superusers").ok()??, id),
        Principal::Record { collection_id, id } => (app.collection(collection_id).ok()??, id),
        Principal::Anonymous | Principal::System(_) => return None,
    };
    let stored = app.state().record(&collection.collection.id, id).ok()??;
    let mut doc: Map<String, Value> = serde_json::from_str(&stored.doc_json).ok()?;
    doc.insert(
        "collectionId".into(),
        Value::String(collection.collection.id.clone()),
    );
    doc.insert(
        "collectionName".into(),
        Value::String(collection.collection.name.clone()),
    );
    Some(Value::Object(doc))
}

pub(crate) fn written(response: RouteResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut answer = match response.body {
        Some(body) => (status, body).into_response(),
        None => (status, Body::empty()).into_response(),
    };
    let headers = answer.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if !response.content_type.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&response.content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
    }
    for (name, value) in response.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => {
                tracing::warn!(header = %name, "a hook set a header that is not valid HTTP; dropped")
            }
        }
    }
    answer
}

pub(crate) fn refused(failure: HookFailure) -> ApiError {
    if let Some(cause) = &failure.cause {
        tracing::warn!(status = failure.status, %cause, "a hook failed");
    }
    ApiError {
        status: StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        message: failure.message,
        data: failure.data,
    }
}
