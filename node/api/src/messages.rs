//! Messaging's HTTP API (superusers, and the app for the Web Push key):
//! `POST /api/messages` accepts a message into the replicated outbox,
//! `GET /api/messages/{id}` shows it with each delivery's state,
//! `GET`/`PATCH /api/messaging/settings` read and change the providers (secrets never
//! shown), and `GET /api/messaging/vapid-public-key` gives a browser app the key its
//! `pushManager.subscribe()` needs.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_messaging::send::{self, Acceptance};
use edgebase_messaging::{collections, settings_store, Message};
use edgebase_service::app::App;
use serde_json::json;

use crate::access::Superuser;
use crate::consistency::{with_index, Fresh};
use crate::error::ApiError;
use crate::extract::{json_object, Body};
use crate::idempotency;

/// `POST /api/messages`; with an `Idempotency-Key`, a retry gets the first answer and no
/// second message is written.
pub async fn send(
    State(app): State<App>,
    _superuser: Superuser,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = async {
        let object = json_object(&body)?;
        match send::accept(&app, &object, keyed.as_ref()).await? {
            Acceptance::Accepted(accepted) => Ok(with_index(
                Json(accepted.message.view()).into_response(),
                accepted.index,
            )),
            Acceptance::KeyUsed => idempotency::answer_of_key(&app, keyed.as_ref()),
        }
    }
    .await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

pub async fn view(
    State(app): State<App>,
    _superuser: Superuser,
    _fresh: Fresh,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "The requested resource wasn't found.",
        )
    };
    let messages = collections::loaded(&app, collections::MESSAGES)?.ok_or_else(missing)?;
    let stored = app
        .state()
        .record(&messages.collection.id, &id)
        .map_err(edgebase_service::ServiceError::from)?
        .ok_or_else(missing)?;
    let doc = serde_json::from_str(&stored.doc_json).map_err(|_| ApiError::internal())?;
    let message = Message::from_doc(&doc).map_err(|_| ApiError::internal())?;
    Ok(Json(message.view()).into_response())
}

pub async fn view_settings(
    State(app): State<App>,
    _superuser: Superuser,
) -> Result<Response, ApiError> {
    Ok(Json(settings_store::shown(&settings_store::read(&app)?)).into_response())
}

pub async fn update_settings(
    State(app): State<App>,
    _superuser: Superuser,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let patch = json_object(&body)?;
    let settings = settings_store::update(&app, &patch).await?;
    // The collections targets and topics are registered in exist once a provider is on.
    if settings.any_enabled() {
        collections::ensure_all(&app).await?;
    }
    Ok(Json(settings_store::shown(&settings)).into_response())
}

/// The application server key browsers subscribe with (404 while Web Push is off).
pub async fn vapid_public_key(State(app): State<App>) -> Result<Response, ApiError> {
    let settings = settings_store::read(&app)?;
    if !settings.web_push.enabled {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Web Push is not enabled.",
        ));
    }
    Ok(Json(json!({"publicKey": settings.web_push.public_key})).into_response())
}
