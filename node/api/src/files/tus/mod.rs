//! Resumable uploads over HTTP: the tus 1.0 protocol (core, creation,
//! creation-with-upload, termination, checksum, expiration) for one file field of one
//! record, beyond PocketBase, which has none.
//!
//! - `POST /api/tus/{collection}/{record}/{field}` with `Upload-Length` (at most the field's
//!   `maxSize`) and `Upload-Metadata: filename <base64>` creates an upload (201, `Location`),
//!   if the caller may update the record;
//! - `HEAD /api/tus/uploads/{id}` says its `Upload-Offset`;
//! - `PATCH /api/tus/uploads/{id}` appends at `Upload-Offset` (409 elsewhere), at most 64 MiB
//!   per request, checked against `Upload-Checksum` when sent (460, nothing kept, on a
//!   mismatch); the request that completes it adds the file to the record through the same
//!   replicated write a multipart update makes (`field+`, or `field` for a single-file
//!   field), so its rules, checks and blob durability all apply, and answers its stored name
//!   in `X-Edgebase-File`; if that write is refused the upload stays whole, and an empty
//!   `PATCH` at its end tries again;
//! - `DELETE /api/tus/uploads/{id}` ends it.
//!
//! An upload lives on the node that created it, and only its creator (the same signed-in
//! record or superuser, or anonymous) may continue it; elsewhere it is 404.

mod headers;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::{FieldKind, HEADER_INDEX};
use edgebase_model::fields::file::{self, Uploads};
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;
use edgebase_service::resumable::{owner_of, ResumableError, UploadInfo, UploadState, Writing};
use serde_json::Map;

use crate::error::ApiError;
use crate::files::record_body::RecordBody;
use crate::files::record_rule::rule_admits;
use crate::records::{write, WriteKind};
use headers::{
    byte_count, capabilities, check_version, checksum, is_offset_stream, metadata, standing,
    UPLOAD_DEFER_LENGTH, UPLOAD_LENGTH, UPLOAD_METADATA, UPLOAD_OFFSET,
};

/// Where created uploads are addressed.
const UPLOADS_PATH: &str = "/api/tus/uploads";

fn answer(status: StatusCode, headers: HeaderMap) -> Response {
    let mut response = status.into_response();
    response.headers_mut().extend(headers);
    response
}

/// Every tus answer names the protocol, refusals included.
fn tus_error(error: impl Into<ApiError>) -> Response {
    let mut response = error.into().into_response();
    headers::protocol(response.headers_mut());
    response
}

/// `OPTIONS` on either path: what the server supports, and the field's size bound when the
/// path names one.
pub async fn options(State(app): State<App>, uri: Uri) -> Response {
    let segments: Vec<&str> = uri
        .path()
        .trim_start_matches("/api/tus/")
        .split('/')
        .collect();
    let max = match segments.as_slice() {
        [collection, _, field] => app
            .collection(collection)
            .ok()
            .flatten()
            .and_then(|loaded| file_field_max(&loaded, field)),
        _ => None,
    };
    let mut headers = HeaderMap::new();
    capabilities(&mut headers, max);
    answer(StatusCode::NO_CONTENT, headers)
}

fn file_field_max(loaded: &LoadedCollection, field: &str) -> Option<u64> {
    loaded
        .collection
        .fields
        .iter()
        .find(|candidate| candidate.name == field)
        .filter(|candidate| matches!(candidate.kind, FieldKind::File { .. }))
        .map(|candidate| file::max_size_bytes(&candidate.kind))
}

pub async fn create(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    request_headers: HeaderMap,
    Path((collection, record_id, field)): Path<(String, String, String)>,
    body: Body,
) -> Response {
    let created = async {
        check_version(&request_headers)?;
        let loaded = app
            .collection(&collection)?
            .ok_or_else(ApiError::missing_or_invalid_collection)?;
        let max = file_field_max(&loaded, &field)
            .ok_or_else(|| ApiError::bad_request(format!("{field:?} is not a file field.")))?;
        let caller = crate::identity::caller(&app, &method, &uri, &request_headers)?;
        let stored = app
            .state()
            .record(&loaded.collection.id, &record_id)?
            .ok_or_else(ApiError::not_found)?;
        if !rule_admits(&app, &loaded.rules().update, &caller, &stored)? {
            return Err(ApiError::not_found());
        }
        if request_headers.contains_key(UPLOAD_DEFER_LENGTH) {
            return Err(ApiError::bad_request(
                "Upload-Defer-Length is not supported; send Upload-Length.",
            ));
        }
        let length = byte_count(&request_headers, &UPLOAD_LENGTH)?
            .ok_or_else(|| ApiError::bad_request("Upload-Length is required."))?;
        if length == 0 {
            return Err(ApiError::bad_request("Upload-Length must be at least 1."));
        }
        if length > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Upload-Length is more than the field's {max} bytes."),
            ));
        }
        let pairs = metadata(&request_headers)?;
        let filename = ["filename", "name"]
            .iter()
            .find_map(|key| pairs.iter().find(|(name, _)| name == key))
            .map(|(_, value)| crate::files::record_body::base_name(value))
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "file".to_string());
        let raw_metadata = request_headers
            .get(UPLOAD_METADATA)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let state = app
            .resumable()
            .create(UploadInfo {
                id: String::new(),
                collection_id: loaded.collection.id.clone(),
                record_id: record_id.clone(),
                field: field.clone(),
                filename,
                length_bytes: length,
                metadata: raw_metadata,
                owner: owner_of(caller.principal()),
                created_at_unix_secs: 0,
                finished_as: None,
            })
            .await?;
        tracing::info!(upload = %state.info.id, collection = %collection, record = %record_id, field = %field, length_bytes = length, "resumable upload created");
        let location = format!("{UPLOADS_PATH}/{}", state.info.id);
        // creation-with-upload: the first chunk may come with the request.
        let (state, mut headers) = if is_offset_stream(&request_headers) {
            let writing = app.resumable().writing(&state.info.id)?;
            let appended = app
                .resumable()
                .append(
                    &writing,
                    &state,
                    0,
                    body.into_data_stream(),
                    checksum(&request_headers)?.as_ref(),
                )
                .await?;
            complete_if_whole(&app, &caller, &uri, &writing, appended).await?
        } else {
            (state, HeaderMap::new())
        };
        standing(&mut headers, &state);
        headers.insert(
            axum::http::header::LOCATION,
            HeaderValue::from_str(&location).map_err(|_| ApiError::internal())?,
        );
        Ok::<_, ApiError>(answer(StatusCode::CREATED, headers))
    };
    created.await.unwrap_or_else(tus_error)
}

/// A request on an existing upload: the protocol version checked, the caller resolved, and
/// the upload `id` as it stands, if that caller created it.
async fn owned(
    app: &App,
    method: &Method,
    uri: &Uri,
    request_headers: &HeaderMap,
    id: &str,
) -> Result<(Caller, UploadState), ApiError> {
    check_version(request_headers)?;
    let caller = crate::identity::caller(app, method, uri, request_headers)?;
    let state = app.resumable().get(id).await?;
    if state.info.owner != owner_of(caller.principal()) {
        return Err(ResumableError::NotFound.into());
    }
    Ok((caller, state))
}

pub async fn head(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    request_headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let found = async {
        let (_, state) = owned(&app, &method, &uri, &request_headers, &id).await?;
        let mut headers = HeaderMap::new();
        standing(&mut headers, &state);
        headers.insert(UPLOAD_LENGTH, HeaderValue::from(state.info.length_bytes));
        if let Ok(raw) = HeaderValue::from_str(&state.info.metadata) {
            if !state.info.metadata.is_empty() {
                headers.insert(UPLOAD_METADATA, raw);
            }
        }
        headers.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        Ok::<_, ApiError>(answer(StatusCode::OK, headers))
    };
    found.await.unwrap_or_else(tus_error)
}

pub async fn patch(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    request_headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let patched = async {
        let (caller, _) = owned(&app, &method, &uri, &request_headers, &id).await?;
        if !is_offset_stream(&request_headers) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/offset+octet-stream.",
            ));
        }
        let offset = byte_count(&request_headers, &UPLOAD_OFFSET)?
            .ok_or_else(|| ApiError::bad_request("Upload-Offset is required."))?;
        let sum = checksum(&request_headers)?;
        let writing = app.resumable().writing(&id)?;
        // Read again under the lock: another request may have moved it.
        let state = app.resumable().get(&id).await?;
        if state.info.finished_as.is_some() {
            if offset != state.info.length_bytes {
                return Err(ResumableError::OffsetMismatch {
                    sent: offset,
                    offset: state.info.length_bytes,
                }
                .into());
            }
            let mut headers = HeaderMap::new();
            standing(&mut headers, &state);
            return Ok(answer(StatusCode::NO_CONTENT, headers));
        }
        let appended = app
            .resumable()
            .append(
                &writing,
                &state,
                offset,
                body.into_data_stream(),
                sum.as_ref(),
            )
            .await?;
        let (state, mut headers) =
            complete_if_whole(&app, &caller, &uri, &writing, appended).await?;
        standing(&mut headers, &state);
        Ok::<_, ApiError>(answer(StatusCode::NO_CONTENT, headers))
    };
    patched.await.unwrap_or_else(tus_error)
}

/// Once every byte is there: the upload becomes a blob and the record takes it through the
/// normal write (the caller's update rule, the field's checks, the blob's durability). The
/// answer's index header comes along.
async fn complete_if_whole(
    app: &App,
    caller: &Caller,
    uri: &Uri,
    writing: &Writing,
    state: UploadState,
) -> Result<(UploadState, HeaderMap), ApiError> {
    if !state.is_whole() {
        return Ok((state, HeaderMap::new()));
    }
    let resumable = app.resumable();
    let loaded = app
        .collection(&state.info.collection_id)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let field = loaded
        .collection
        .fields
        .iter()
        .find(|field| field.name == state.info.field)
        .ok_or_else(|| ApiError::bad_request("The upload's file field no longer exists."))?;
    let single = matches!(field.kind, FieldKind::File { max_select, .. } if max_select <= 1);
    let upload = resumable
        .to_blob(writing, &state, app.consensus().blobs())
        .await?;
    let name = upload.name.clone();
    let key = if single {
        state.info.field.clone()
    } else {
        format!("{}+", state.info.field)
    };
    let mut uploads = Uploads::new();
    uploads.insert(key, vec![upload]);
    let body = RecordBody {
        data: Map::new(),
        uploads,
    };
    let written = write(
        app,
        caller,
        uri,
        &loaded,
        WriteKind::Update(&state.info.record_id),
        &body,
        None,
        None,
        None,
        None,
    )
    .await?;
    let mut headers = HeaderMap::new();
    if let Some(index) = written.headers().get(HEADER_INDEX) {
        headers.insert(HEADER_INDEX, index.clone());
    }
    let state = resumable.finished(writing, &state, &name).await?;
    tracing::info!(upload = %state.info.id, file = %name, "resumable upload finished");
    Ok((state, headers))
}

pub async fn terminate(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    request_headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let ended = async {
        owned(&app, &method, &uri, &request_headers, &id).await?;
        let writing = app.resumable().writing(&id)?;
        app.resumable().terminate(&writing, &id).await?;
        let mut headers = HeaderMap::new();
        headers::protocol(&mut headers);
        Ok::<_, ApiError>(answer(StatusCode::NO_CONTENT, headers))
    };
    ended.await.unwrap_or_else(tus_error)
}
