//! `POST /api/files/token`: a short-lived token (the collection's `fileToken` lifetime,
//! 180 s by default) for downloading protected files, for any signed-in record or superuser.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_auth::record_token::RecordTokenKind;
use edgebase_service::app::App;
use edgebase_service::principal::Principal;
use edgebase_service::record_mail::sign_record_token;
use edgebase_service::superusers;
use serde_json::json;

use crate::error::ApiError;

pub async fn file_token(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The request requires valid record authorization token.",
        )
    };
    let (collection_id, record_id) = match crate::identity::principal(&app, &headers)? {
        Principal::Superuser { id } => (superusers::superusers_id(), id),
        Principal::Record { collection_id, id } => (collection_id, id),
        Principal::Anonymous | Principal::System(_) => return Err(unauthorized()),
    };
    let loaded = app.collection(&collection_id)?.ok_or_else(unauthorized)?;
    let doc = app
        .auth_record(&loaded.collection.id, &record_id)?
        .ok_or_else(unauthorized)?;
    let token = sign_record_token(&loaded, &doc, RecordTokenKind::File, None)?;
    Ok(Json(json!({ "token": token })).into_response())
}
