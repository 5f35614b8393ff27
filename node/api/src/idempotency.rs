//! `Idempotency-Key` over HTTP: the header read into the service's `IdempotentWrite`, a
//! replayed answer (the first answer's status and body, its entry's index, and
//! `Idempotent-Replayed: true`), and the refusal of a key reused for another request.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::HEADER_INDEX;
use edgebase_model::fields::file::Uploads;
use edgebase_service::caller::Caller;
use edgebase_service::idempotency::{IdempotentWrite, ANSWER_NOT_KEPT};
use edgebase_storage::idempotency::IdempotencyEntry;

use crate::error::ApiError;

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header a replayed answer carries.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The request's key, if it has one, fingerprinted by `parts` (method, path, body...).
pub fn keyed_write(
    caller: &Caller,
    headers: &HeaderMap,
    parts: &[&[u8]],
) -> Result<Option<IdempotentWrite>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    Ok(Some(IdempotentWrite::new(caller, key, parts)?))
}

/// What identifies a request's uploads in its fingerprint: field, original name and content
/// (not the stored name, which is random per attempt).
pub fn uploads_fingerprint(uploads: &Uploads) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (field, files) in uploads {
        for file in files {
            for part in [
                field.as_str(),
                file.original_name.as_str(),
                file.blob.as_str(),
            ] {
                bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
                bytes.extend_from_slice(part.as_bytes());
            }
        }
    }
    bytes
}

/// The refusal of a key that was used for another request.
pub fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "This Idempotency-Key was used for another request.",
    )
}

/// The first answer of the write `entry` kept, with `body` (the kept body, or what the
/// caller made of it: a record expanded again) in place of the kept one.
pub fn replayed(entry: &IdempotencyEntry, body: Vec<u8>) -> Result<Response, ApiError> {
    if entry.answer.status == ANSWER_NOT_KEPT {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "The write with this Idempotency-Key was applied; its answer was too large to keep, \
             so read what it wrote instead.",
        ));
    }
    let status = StatusCode::from_u16(entry.answer.status).unwrap_or(StatusCode::OK);
    let mut response = if body.is_empty() {
        status.into_response()
    } else {
        (
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    if let Ok(index) = HeaderValue::from_str(&entry.index.to_string()) {
        headers.insert(HEADER_INDEX, index);
    }
    Ok(response)
}
