//! Auth endpoints of auth collections; today the `_superusers` collection's
//! `auth-with-password` and `auth-refresh`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_client::wire::{AuthResponse, CollectionType};
use serde_json::{json, Value};

use crate::api::consistency::read_barrier;
use crate::api::error::{field_error, ApiError, FieldErrors};
use crate::api::extract::{json_object, Body};
use crate::app::{App, LoadedCollection};
use crate::auth::principal::{bearer_token, verified};
use crate::auth::{password, token};
use crate::domain::record_values::{public_record, Document};
use crate::domain::superusers;

fn auth_collection(app: &App, id_or_name: &str) -> Result<LoadedCollection, ApiError> {
    let loaded = app
        .collection(id_or_name)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    if loaded.collection.kind != CollectionType::Auth {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "Missing or invalid auth collection context.",
        ));
    }
    if loaded.collection.name != superusers::SUPERUSERS_NAME {
        return Err(ApiError::bad_request(
            "Only the _superusers collection can authenticate on this version of EdgeBase.",
        ));
    }
    Ok(loaded)
}

fn issue_token(loaded: &LoadedCollection, doc: &Document) -> Result<Response, ApiError> {
    let collection = &loaded.collection;
    let secret = superusers::token_secret(collection).ok_or_else(ApiError::internal)?;
    let text = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let signed = token::sign(
        &text("id"),
        &collection.id,
        &text("tokenKey"),
        secret,
        superusers::token_duration_secs(collection),
    )
    .map_err(|error| {
        tracing::error!(%error, "sign auth token");
        ApiError::internal()
    })?;
    let body = AuthResponse {
        token: signed,
        record: public_record(collection, doc, false),
    };
    Ok(Json(body).into_response())
}

pub async fn auth_with_password(
    State(app): State<App>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = auth_collection(&app, &collection)?;
    let input = json_object(&body).map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let field = |key: &str| {
        input
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (identity, given_password) = (field("identity"), field("password"));
    let mut errors = FieldErrors::new();
    for (key, value) in [("identity", &identity), ("password", &given_password)] {
        if value.is_empty() {
            errors.insert(
                key.into(),
                field_error("validation_required", "Cannot be blank.", None),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(
            "An error occurred while validating the submitted data.",
            errors,
        ));
    }
    let record_id = superusers::superuser_record_id(&identity);
    let stored = app.state().record(&loaded.collection.id, &record_id)?;
    let doc: Option<Document> = stored
        .map(|stored| serde_json::from_str(&stored.doc_json))
        .transpose()
        .map_err(|_| ApiError::internal())?;
    // Same email, case-insensitively; the id is derived from it.
    let doc = doc.filter(|doc| {
        doc.get("email")
            .and_then(Value::as_str)
            .is_some_and(|email| email.eq_ignore_ascii_case(identity.trim()))
    });
    let stored_hash = doc.as_ref().and_then(|doc| {
        doc.get("password")
            .and_then(Value::as_str)
            .map(String::from)
    });
    // An unknown identity still pays for a hash, so timing does not tell which it was.
    let matches = password::verify(given_password, stored_hash)
        .await
        .map_err(|error| {
            tracing::error!(%error, "verify password");
            ApiError::internal()
        })?;
    match doc {
        Some(doc) if matches => issue_token(&loaded, &doc),
        _ => Err(ApiError::bad_request("Failed to authenticate.")),
    }
}

pub async fn auth_refresh(
    State(app): State<App>,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(&app, &collection)?;
    let raw = bearer_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let (_, doc) = verified(&app, raw)?.ok_or_else(ApiError::unauthorized)?;
    let claims = token::unverified_claims(raw).map_err(|_| ApiError::unauthorized())?;
    if claims.collection_id != loaded.collection.id {
        return Err(ApiError::forbidden(
            "The request requires valid auth record of this collection.",
        ));
    }
    issue_token(&loaded, &doc)
}

pub async fn health() -> Json<Value> {
    Json(json!({"message": "API is healthy.", "code": 200, "data": {}}))
}
