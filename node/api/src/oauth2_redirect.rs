//! `GET` and `POST /api/oauth2-redirect`: where a provider sends the browser back in the
//! popup login of PocketBase's SDK. The redirect's `state` is the app's realtime client id;
//! its `code` (or `error`) goes to that client as the `@oauth2` event, relayed to the node
//! holding the stream when it is another. Apple posts its redirect (`form_post`) with the
//! user's name in `user`, kept for the login to read. The browser gets PocketBase's page for
//! an instance without its dashboard: a line saying whether to go back to the app.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::Query;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use edgebase_realtime::{Hub, OAuth2Redirect};
use serde::Deserialize;

use crate::client_address::ClientAddress;

const FAILED: &str =
    "Failed to authenticate. You can close this window and go back to the app to try again.";
const COMPLETED: &str = "Auth completed. You can close this window and go back to the app.";
/// Largest redirect body read (Apple's is a few hundred bytes).
pub const REDIRECT_BODY_BYTES_MAX: usize = 64 * 1024;

/// The redirect's fields, as PocketBase binds them from the query or the body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RedirectFields {
    state: String,
    code: String,
    error: String,
    user: String,
}

impl From<RedirectFields> for OAuth2Redirect {
    fn from(fields: RedirectFields) -> Self {
        OAuth2Redirect {
            state: fields.state,
            code: fields.code,
            error: fields.error,
            apple_user: fields.user,
        }
    }
}

pub async fn redirect_get(
    Extension(hub): Extension<Hub>,
    ClientAddress(client_ip): ClientAddress,
    Query(fields): Query<RedirectFields>,
) -> Response {
    // A GET carries no Apple user.
    let fields = RedirectFields {
        user: String::new(),
        ..fields
    };
    finish(&hub, &client_ip, fields.into()).await
}

pub async fn redirect_post(
    Extension(hub): Extension<Hub>,
    ClientAddress(client_ip): ClientAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match body.ok().and_then(|body| posted_fields(&headers, &body)) {
        Some(fields) => finish(&hub, &client_ip, fields.into()).await,
        None => {
            tracing::debug!("unreadable OAuth2 redirect body");
            failure()
        }
    }
}

/// A posted redirect: JSON, or a form (Apple's `form_post`).
fn posted_fields(headers: &HeaderMap, body: &[u8]) -> Option<RedirectFields> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        serde_json::from_slice(body).ok()
    } else {
        serde_urlencoded::from_bytes(body).ok()
    }
}

async fn finish(hub: &Hub, client_ip: &str, redirect: OAuth2Redirect) -> Response {
    if redirect.state.is_empty() {
        tracing::debug!("OAuth2 redirect without a state");
        return failure();
    }
    let succeeded = redirect.succeeded();
    let delivered = hub.oauth2_redirect(client_ip, redirect).await;
    if delivered && succeeded {
        Html(COMPLETED).into_response()
    } else {
        failure()
    }
}

fn failure() -> Response {
    FAILED.into_response()
}
