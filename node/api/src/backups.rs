//! `/api/backups`: PocketBase's backups API over the replicated catalog (superusers only;
//! a download takes a superuser's file token in `?token=`, as in PocketBase). Any node
//! lists, serves and deletes every backup; the node that takes a create or an upload does
//! the work.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_consensus::BLOB_BYTES_MAX;
use edgebase_model::validation::{field_error, FieldErrors, ValidationCode};
use edgebase_service::app::App;
use edgebase_service::backups::{self, CreatedBy};
use edgebase_service::principal::Principal;
use serde::Deserialize;
use serde_json::Value;

use crate::access::Superuser;
use crate::client_address::ClientAddress;
use crate::error::ApiError;
use crate::files::ranged_body::{file_response, ServedFile};
use crate::files::record_body::{base_name, multipart_error};
use crate::superuser_ips::superuser_allowed_at;

pub async fn list(State(app): State<App>, _superuser: Superuser) -> Result<Response, ApiError> {
    Ok(Json(backups::list(&app)?).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    name: Option<Value>,
}

/// `POST /api/backups {"name"?}`: answers 204 once the backup is in the catalog.
pub async fn create(
    State(app): State<App>,
    _superuser: Superuser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: CreateBody = if body.is_empty() {
        CreateBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::bad_request("An error occurred while loading the submitted data.")
        })?
    };
    let name = match body.name {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if name.is_empty() => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => {
            return Err(ApiError::bad_request(
                "An error occurred while loading the submitted data.",
            ))
        }
    };
    if let Some(name) = &name {
        backups::check_requested(&app, name)?;
    }
    backups::create(&app, name, CreatedBy::Request)
        .await
        .map_err(|error| match error {
            edgebase_service::ServiceError::Refused { .. } => ApiError::from(error),
            other => {
                tracing::warn!(error = %other, "create a backup");
                ApiError::bad_request("Failed to create backup.")
            }
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/backups/upload` (multipart, field `file`): a backup archive from elsewhere,
/// kept under its file name.
pub async fn upload(
    State(app): State<App>,
    _superuser: Superuser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let stored = match multer::parse_boundary(content_type) {
        Ok(boundary) => {
            let constraints = multer::Constraints::new()
                .size_limit(multer::SizeLimit::new().whole_stream(BLOB_BYTES_MAX));
            let mut multipart =
                multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
            let mut stored = None;
            while let Some(mut part) = multipart.next_field().await.map_err(multipart_error)? {
                let is_file = part.name() == Some("file") && part.file_name().is_some();
                if is_file && stored.is_none() {
                    let original = base_name(part.file_name().unwrap_or_default());
                    let mut writer = app.consensus().blobs().writer(BLOB_BYTES_MAX).await?;
                    while let Some(chunk) = part.chunk().await.map_err(multipart_error)? {
                        writer.write(&chunk).await?;
                    }
                    stored = Some((original, writer.finish().await?));
                } else {
                    while part.chunk().await.map_err(multipart_error)?.is_some() {}
                }
            }
            stored
        }
        Err(_) => None,
    };
    let Some((original, blob)) = stored else {
        let mut data = FieldErrors::new();
        data.insert(
            "file".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
        return Err(edgebase_service::ServiceError::validation(
            "An error occurred while validating the submitted data.",
            data,
        )
        .into());
    };
    backups::upload(&app, &original, blob).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    token: Option<String>,
}

/// `GET /api/backups/{key}?token=`: the archive, for a superuser's file token.
pub async fn download(
    State(app): State<App>,
    ClientAddress(client_ip): ClientAddress,
    method: Method,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let refused = || ApiError::forbidden("Insufficient permissions to access the resource.");
    let token = query.token.as_deref().unwrap_or_default();
    let superuser = !token.is_empty()
        && matches!(
            edgebase_service::principal::verified_file_token(&app, token)?,
            Some((Principal::Superuser { .. }, _))
        );
    if !superuser || !superuser_allowed_at(&app, &client_ip) {
        return Err(refused());
    }
    let entry = backups::find(&app, &key)?.ok_or_else(ApiError::not_found)?;
    let blob = backups::hold(&app, &entry).await?;
    let (file, size_bytes) = app
        .consensus()
        .blobs()
        .open_blob(&blob)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let last_modified =
        chrono::NaiveDateTime::parse_from_str(&entry.modified, "%Y-%m-%d %H:%M:%S%.3fZ")
            .ok()
            .map_or(SystemTime::UNIX_EPOCH, |at| SystemTime::from(at.and_utc()));
    let served = ServedFile {
        file,
        size_bytes,
        etag: format!("\"{blob}\""),
        last_modified,
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename={key:?}"))
        .map_err(|_| ApiError::not_found())?;
    response_headers.insert(header::CONTENT_DISPOSITION, disposition);
    file_response(&method, &headers, served, response_headers)
        .await
        .map_err(|error| {
            edgebase_service::ServiceError::internal_from("serve a backup", error).into()
        })
}

/// `DELETE /api/backups/{key}`.
pub async fn delete(
    State(app): State<App>,
    _superuser: Superuser,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    backups::delete(&app, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/backups/{key}/restore`: the cluster's state becomes the backup's, on every
/// node, through Raft; answers 204 once this node has applied it (PocketBase answers at
/// once and restarts; here no node restarts).
pub async fn restore(
    State(app): State<App>,
    _superuser: Superuser,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let index = backups::restore(&app, &key).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&index.to_string()) {
        response
            .headers_mut()
            .insert(edgebase_client::wire::HEADER_INDEX, value);
    }
    Ok(response)
}
