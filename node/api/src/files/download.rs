//! `GET|HEAD /api/files/{collection}/{recordId}/{filename}`: a record's file, from this
//! node's blob store (copied from the S3 bucket or a member that holds it first, when this
//! node does not hold it yet), with PocketBase's headers (content type, inline or attachment, its CSP and cache
//! policy), byte ranges and validators, and beyond PocketBase a strong `ETag` (the content
//! hash). A protected file needs a file token (`?token=`) whose record the collection's
//! view rule admits; any refusal is PocketBase's 404.

use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;
use edgebase_blobs::BlobId;
use edgebase_client::wire::{Field, FieldKind};
use edgebase_model::fields::file::{self, FILES_KEY};
use edgebase_model::record_values::Document;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::files;
use edgebase_service::record_writes::decode;
use edgebase_service::thumbs;
use serde::Deserialize;
use serde_json::Value;

use crate::client_address::ClientAddress;
use crate::consistency::Fresh;
use crate::error::ApiError;
use crate::files::ranged_body::{file_response, ServedFile};
use crate::superuser_ips::superuser_allowed_at;

/// `@request.context` while a protected file's access is checked.
const PROTECTED_FILE_CONTEXT: &str = "protectedFile";
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";
const CACHE_CONTROL: &str = "max-age=2592000, stale-while-revalidate=86400";

/// Types PocketBase lets a browser show in place; everything else downloads.
const INLINE_TYPES: &[&str] = &[
    "image/png",
    "image/jpg",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/x-icon",
    "image/bmp",
    "video/webm",
    "video/mp4",
    "video/3gpp",
    "video/quicktime",
    "video/x-ms-wmv",
    "audio/basic",
    "audio/aiff",
    "audio/mpeg",
    "audio/midi",
    "audio/mp3",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-mpeg",
    "audio/x-m4a",
    "audio/aac",
    "application/pdf",
    "application/x-pdf",
];

/// Content types by (case-sensitive) extension, over the stored one, as PocketBase serves.
const TYPE_BY_EXTENSION: &[(&str, &str)] = &[
    (".svg", "image/svg+xml"),
    (".css", "text/css"),
    (".js", "text/javascript"),
    (".mjs", "text/javascript"),
    (
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        ".pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
];

#[derive(Debug, Default, Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    download: Option<String>,
    #[serde(default)]
    thumb: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

#[allow(clippy::too_many_arguments)] // One argument per extractor, as axum handlers take them.
pub async fn download(
    State(app): State<App>,
    _fresh: Fresh,
    ClientAddress(client_ip): ClientAddress,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id, filename)): Path<(String, String, String)>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let loaded = app
        .collection(&collection)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let stored = app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .ok_or_else(ApiError::not_found)?;
    let doc = decode(&stored)?;
    let field = field_naming(&loaded, &doc, &filename).ok_or_else(ApiError::not_found)?;
    if matches!(
        field.kind,
        FieldKind::File {
            protected: true,
            ..
        }
    ) {
        let mut token = query.token.as_deref();
        let mut caller = crate::identity::file_token_caller(&app, &method, &uri, &headers, token)?;
        // A superuser's file token counts only from an address `superuserIPs` allows (file
        // tokens are short-lived; PocketBase checks it all the same).
        if caller.is_superuser() && !superuser_allowed_at(&app, &client_ip) {
            token = None;
            caller = crate::identity::file_token_caller(&app, &method, &uri, &headers, token)?;
        }
        let caller = caller.in_context(PROTECTED_FILE_CONTEXT);
        if !crate::files::record_rule::may_view(&app, &loaded, &caller, &stored)? {
            return Err(ApiError::not_found());
        }
    }
    let entry = doc
        .get(FILES_KEY)
        .and_then(|files| files.get(&filename))
        .ok_or_else(ApiError::not_found)?;
    let blob: BlobId = entry
        .get("blob")
        .and_then(Value::as_str)
        .and_then(|hex| hex.parse().ok())
        .ok_or_else(ApiError::not_found)?;
    let blobs = app.consensus().blobs();
    let opened = match blobs.open_blob(&blob).await? {
        Some(opened) => Some(opened),
        None => {
            // Not here yet (the keeper fetches members' blobs in the background; the bucket's
            // are copied on demand): copy it now, keep it.
            edgebase_service::files::hold_locally(&app, blob, files::place_of(entry)).await?;
            blobs.open_blob(&blob).await?
        }
    };
    let (file, size_bytes) = opened.ok_or_else(ApiError::not_found)?;
    let stored_type = entry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("application/octet-stream");
    // A thumb when the field allows that size and the file is an image, else the original
    // (PocketBase ignores an unlisted, malformed or failing thumb the same way).
    let wanted_thumb = match (&field.kind, query.thumb.as_deref()) {
        (FieldKind::File { thumbs: listed, .. }, Some(size))
            if thumbs::allowed(size, listed)
                && thumbs::THUMBNAILABLE_TYPES.contains(&stored_type) =>
        {
            Some(size)
        }
        _ => None,
    };
    let thumb = match wanted_thumb {
        Some(size) => app
            .thumbs()
            .get(&blob.to_hex(), &blobs.path_of(&blob), stored_type, size)
            .await
            .map(|path| (size, path)),
        None => None,
    };
    let last_modified = entry
        .get("modified")
        .and_then(Value::as_str)
        .and_then(parse_datetime)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let attachment = query.download.as_deref().is_some_and(is_truthy);
    let (served, response_headers) = match thumb {
        Some((size, path)) => {
            let thumb_file = tokio::fs::File::open(&path).await.map_err(|error| {
                edgebase_service::ServiceError::internal_from("open a thumb", error)
            })?;
            let thumb_bytes = thumb_file
                .metadata()
                .await
                .map_err(|error| {
                    edgebase_service::ServiceError::internal_from("read a thumb", error)
                })?
                .len();
            let served = ServedFile {
                file: thumb_file,
                size_bytes: thumb_bytes,
                etag: format!("\"{blob}-{size}\""),
                last_modified,
            };
            let name = format!("{size}_{filename}");
            (
                served,
                file_headers(&name, thumbs::output_type(stored_type), attachment)?,
            )
        }
        None => {
            let served = ServedFile {
                file,
                size_bytes,
                etag: format!("\"{blob}\""),
                last_modified,
            };
            (served, file_headers(&filename, stored_type, attachment)?)
        }
    };
    file_response(&method, &headers, served, response_headers)
        .await
        .map_err(|error| {
            edgebase_service::ServiceError::internal_from("serve a file", error).into()
        })
}

/// The first file field of the collection whose value names `filename`.
fn field_naming<'l>(
    loaded: &'l LoadedCollection,
    doc: &Document,
    filename: &str,
) -> Option<&'l Field> {
    loaded.collection.fields.iter().find(|field| {
        matches!(field.kind, FieldKind::File { .. })
            && file::names(doc.get(&field.name).unwrap_or(&Value::Null))
                .iter()
                .any(|name| name == filename)
    })
}

/// Go's `strconv.ParseBool` true values.
fn is_truthy(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

fn file_headers(
    filename: &str,
    stored_type: &str,
    attachment: bool,
) -> Result<HeaderMap, ApiError> {
    let inline = !attachment && INLINE_TYPES.contains(&stored_type);
    let disposition = format!(
        "{}; filename={filename:?}",
        if inline { "inline" } else { "attachment" }
    );
    let content_type = TYPE_BY_EXTENSION
        .iter()
        .find(|(extension, _)| filename.ends_with(extension))
        .map_or(stored_type, |(_, content_type)| content_type);
    let value = |text: &str| HeaderValue::from_str(text).map_err(|_| ApiError::not_found());
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_DISPOSITION, value(&disposition)?);
    headers.insert(header::CONTENT_TYPE, value(content_type)?);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok(headers)
}

/// PocketBase's datetime (`2006-01-02 15:04:05.000Z`) as a time.
fn parse_datetime(text: &str) -> Option<SystemTime> {
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.fZ").ok()?;
    let millis = u64::try_from(parsed.and_utc().timestamp_millis()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_pocketbase() {
        let headers = file_headers("a_x.png", "image/png", false).expect("headers");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "inline; filename=\"a_x.png\""
        );
        let headers = file_headers("a_x.png", "image/png", true).expect("headers");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"a_x.png\""
        );
        let headers = file_headers("d_x.svg", "text/plain; charset=utf-8", false).expect("headers");
        assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"d_x.svg\""
        );
        assert_eq!(headers[header::CACHE_CONTROL], CACHE_CONTROL);
        assert!(is_truthy("1") && is_truthy("True") && !is_truthy("yes") && !is_truthy(""));
        assert!(parse_datetime("2026-12-04 05:00:00.123Z").is_some());
    }
}
