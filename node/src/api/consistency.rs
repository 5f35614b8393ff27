//! Per-request read consistency (DESIGN.md section 5) and the `X-Edgebase-Index` header.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use edgebase_client::wire::{HEADER_AFTER, HEADER_CONSISTENCY, HEADER_INDEX};

use crate::api::error::ApiError;
use crate::app::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Read this node's applied state as it is.
    Local,
    /// Linearizable: a read index from the leader, applied here before reading.
    Strong,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|text| Some(text.trim()))
            .map_err(|_| ApiError::bad_request(format!("Invalid {name} header."))),
    }
}

pub fn requested_consistency(headers: &HeaderMap) -> Result<Consistency, ApiError> {
    match header(headers, HEADER_CONSISTENCY)? {
        None | Some("") | Some("local") => Ok(Consistency::Local),
        Some("strong") => Ok(Consistency::Strong),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid {HEADER_CONSISTENCY} header {other:?}: expected \"local\" or \"strong\"."
        ))),
    }
}

/// Wait until this node's state is as fresh as the request asks: at least the
/// `X-Edgebase-After` index, and past a leader read index for strong reads. Bounded by the
/// node's read wait limit. Returns the applied index the read will see (at least).
pub async fn read_barrier(app: &App, headers: &HeaderMap) -> Result<u64, ApiError> {
    let consistency = requested_consistency(headers)?;
    let after = match header(headers, HEADER_AFTER)? {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid {HEADER_AFTER} header: expected a log index."
            ))
        })?),
    };
    let consensus = app.consensus();
    let mut seen = consensus.applied_index();
    if let Some(after) = after.filter(|after| *after > seen) {
        seen = consensus
            .wait_applied(after, app.limits().read_wait_max)
            .await?;
    }
    if consistency == Consistency::Strong {
        seen = seen.max(consensus.linearizable_barrier().await?);
    }
    Ok(seen)
}

/// Middleware: every response says which applied index it reflects. Handlers that know a
/// more precise index (a write's) set the header themselves.
pub async fn index_header(State(app): State<App>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key(HEADER_INDEX) {
        let index = app.consensus().applied_index();
        response
            .headers_mut()
            .insert(HEADER_INDEX, HeaderValue::from(index));
    }
    response
}

/// Set the index header on a response built by a handler.
pub fn with_index(mut response: Response, index: u64) -> Response {
    response
        .headers_mut()
        .insert(HEADER_INDEX, HeaderValue::from(index));
    response
}
