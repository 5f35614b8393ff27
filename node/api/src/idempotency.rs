//! `Idempotency-Key` over HTTP: the header read into the service's `IdempotentWrite`, a
//! replayed answer (the first answer's status and body, its entry's index, and
//! `Idempotent-Replayed: true`), and the refusal of a key reused for another request.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::HEADER_INDEX;
use edgebase_model::fields::file::Uploads;
use edgebase_service::app::App;
use edgebase_service::caller::Caller;
use edgebase_service::idempotency::{IdempotentWrite, Prior, ANSWER_NOT_KEPT};
use edgebase_service::{ServiceError, Settled};
use edgebase_storage::idempotency::IdempotencyEntry;
use edgebase_storage::{Command, CommandResult, Rejection};
use serde::Serialize;

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

/// The key of a write with a plain body (collections, settings, auth flows), fingerprinted
/// by method, path and query, and body, in the scope of whoever sends it.
pub fn keyed_plain_write(
    app: &App,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    body: &[u8],
) -> Result<Option<IdempotentWrite>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    let principal = crate::identity::principal(app, headers)?;
    let path = uri
        .path_and_query()
        .map_or(uri.path(), |path| path.as_str());
    let parts: [&[u8]; 3] = [method.as_str().as_bytes(), path.as_bytes(), body];
    Ok(Some(IdempotentWrite::for_principal(
        &principal, key, &parts,
    )?))
}

/// Before planning a keyed write: its first answer again when this request applied, the
/// refusal when the key was used for another; `None` when the write should go ahead.
pub fn replay_prior(
    app: &App,
    keyed: Option<&IdempotentWrite>,
) -> Result<Option<Response>, ApiError> {
    let Some(keyed) = keyed else {
        return Ok(None);
    };
    match keyed.prior(app)? {
        Prior::Unused => Ok(None),
        Prior::Applied(entry) => replayed(&entry, entry.answer.body.clone()).map(Some),
        Prior::OtherRequest => Err(reused()),
    }
}

/// `command` to apply once under `keyed` (as it is without a key), keeping the answer it
/// will give: `status` and `answer` as JSON (none for a 204).
pub fn keep_answer<T: Serialize>(
    keyed: Option<&IdempotentWrite>,
    command: Command,
    status: StatusCode,
    answer: Option<&T>,
) -> Result<Command, ApiError> {
    let Some(keyed) = keyed else {
        return Ok(command);
    };
    let body = match answer {
        Some(answer) => serde_json::to_vec(answer)
            .map_err(|error| ServiceError::internal_from("encode an answer", error))?,
        None => Vec::new(),
    };
    Ok(keyed.wrap(command, status.as_u16(), body))
}

/// A keyed write rejected because another attempt with its key applied first: that
/// attempt's answer (or a new plan, if the key turns out free after all).
pub fn settle_key_used(
    app: &App,
    keyed: Option<&IdempotentWrite>,
) -> Result<Settled<Response>, ApiError> {
    let keyed = keyed
        .ok_or_else(|| ApiError::from(ServiceError::internal("an unkeyed write met a key")))?;
    match keyed.prior(app)? {
        Prior::Applied(entry) => Ok(Settled::Done(replayed(&entry, entry.answer.body.clone())?)),
        Prior::OtherRequest => Err(reused()),
        Prior::Unused => Ok(Settled::Replan),
    }
}

/// A keyed write refused (4xx) on this node's state: the key may have been used by an
/// attempt that applied where this node has not caught up yet (a retry after a lost answer
/// lands on a lagging node and finds, say, the record it created). Look again after a read
/// barrier: the entry of the attempt that applied, if one did; the refusal of a key used for
/// another request; `None` when the refusal stands.
pub async fn applied_after_all(
    app: &App,
    keyed: Option<&IdempotentWrite>,
    refusal: &ApiError,
) -> Result<Option<IdempotencyEntry>, ApiError> {
    let Some(keyed) = keyed else {
        return Ok(None);
    };
    if !refusal.status.is_client_error() || refusal.status == StatusCode::UNPROCESSABLE_ENTITY {
        return Ok(None);
    }
    app.consensus()
        .linearizable_barrier()
        .await
        .map_err(ServiceError::from)?;
    match keyed.prior(app)? {
        Prior::Applied(entry) => Ok(Some(entry)),
        Prior::OtherRequest => Err(reused()),
        Prior::Unused => Ok(None),
    }
}

/// `outcome`, unless it is a refusal of a keyed write whose key an earlier attempt used:
/// then that attempt's answer (see [`applied_after_all`]).
pub async fn or_replay(
    app: &App,
    keyed: Option<&IdempotentWrite>,
    outcome: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    match outcome {
        Err(refusal) => match applied_after_all(app, keyed, &refusal).await? {
            Some(entry) => replayed(&entry, entry.answer.body.clone()),
            None => Err(refusal),
        },
        answered => answered,
    }
}

/// The answer of a keyed write whose own attempt was rejected because another attempt with
/// the key applied first: that attempt's answer.
pub fn answer_of_key(app: &App, keyed: Option<&IdempotentWrite>) -> Result<Response, ApiError> {
    match settle_key_used(app, keyed)? {
        Settled::Done(response) => Ok(response),
        // The key was free after all (it expired in between): a retry will do.
        Settled::Replan => Err(ApiError::from(ServiceError::unavailable(
            "The Idempotency-Key changed state during the write; retry.",
        ))),
    }
}

/// Largest login answer kept for a key (a token and a record).
const LOGIN_ANSWER_BYTES_MAX: usize = 1 << 20;

/// A keyed login that consumes something single-use (an OTP, an OAuth2 code): its answer is
/// kept under the key by an entry of its own, proposed once the login succeeded, so a retry
/// (whose code is spent) gets the same answer instead of a refusal. A crash between the
/// login's writes and that entry leaves the retry refused, as without a key: the login's
/// own conditions, not the key, keep it from applying twice.
pub async fn keep_login_answer(
    app: &App,
    keyed: Option<&IdempotentWrite>,
    outcome: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let (keyed, response) = match (keyed, outcome) {
        (Some(keyed), Ok(response))
            if response.status().is_success() || response.status() == StatusCode::UNAUTHORIZED =>
        {
            (keyed, response)
        }
        (keyed, outcome) => return or_replay(app, keyed, outcome).await,
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, LOGIN_ANSWER_BYTES_MAX)
        .await
        .map_err(|error| ServiceError::internal_from("read a login answer", error))?;
    let command = keyed.wrap(
        Command::Batch(Vec::new()),
        parts.status.as_u16(),
        bytes.to_vec(),
    );
    let kept = app.propose(command).await?;
    match kept.result {
        CommandResult::Applied { .. } => {
            Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
        CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
            answer_of_key(app, Some(keyed))
        }
        CommandResult::Rejected(rejection) => {
            tracing::error!(?rejection, "keep a login's answer");
            Err(ApiError::internal())
        }
    }
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
