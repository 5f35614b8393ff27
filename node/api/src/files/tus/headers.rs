//! tus 1.0's request headers read, and its response headers written.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine;
use edgebase_service::resumable::{Checksum, UploadState, CHECKSUM_ALGORITHMS};

use crate::error::ApiError;

pub const VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

pub const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub const TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
pub const TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
pub const TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
pub const TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
pub const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
pub const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
pub const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");

fn text<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Every request but `OPTIONS` names the protocol version; another one is refused (412).
pub fn check_version(headers: &HeaderMap) -> Result<(), ApiError> {
    match text(headers, &TUS_RESUMABLE) {
        Some(VERSION) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("Tus-Resumable must be {VERSION}."),
        )),
    }
}

/// A non-negative byte count header (`Upload-Length`, `Upload-Offset`); `None` if absent.
pub fn byte_count(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, ApiError> {
    match text(headers, name) {
        None if !headers.contains_key(name) => Ok(None),
        Some(value) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => value
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{name} is too large."))),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be a non-negative integer."
        ))),
    }
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (a key alone has no value).
pub fn metadata(headers: &HeaderMap) -> Result<Vec<(String, String)>, ApiError> {
    let Some(raw) = text(headers, &UPLOAD_METADATA) else {
        return Ok(Vec::new());
    };
    let invalid = || ApiError::bad_request("Upload-Metadata must be key base64value pairs.");
    let mut pairs = Vec::new();
    for pair in raw
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
    {
        let mut parts = pair.split(' ').filter(|part| !part.is_empty());
        let key = parts.next().ok_or_else(invalid)?;
        let value = match parts.next() {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| invalid())?;
                String::from_utf8(bytes).map_err(|_| invalid())?
            }
            None => String::new(),
        };
        if parts.next().is_some() {
            return Err(invalid());
        }
        pairs.push((key.to_string(), value));
    }
    Ok(pairs)
}

/// `Upload-Checksum: <algorithm> <base64 digest>`, if sent.
pub fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
    let Some(raw) = text(headers, &UPLOAD_CHECKSUM) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(format!(
            "Upload-Checksum must be an algorithm ({CHECKSUM_ALGORITHMS}) and a base64 digest."
        ))
    };
    let (algorithm, encoded) = raw.trim().split_once(' ').ok_or_else(invalid)?;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    Checksum::new(algorithm, digest)
        .map(Some)
        .ok_or_else(invalid)
}

/// Whether the request body is an upload chunk.
pub fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim() == OFFSET_CONTENT_TYPE)
}

/// What every tus answer carries.
pub fn protocol(headers: &mut HeaderMap) {
    headers.insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
}

/// `OPTIONS`: what this server supports.
pub fn capabilities(headers: &mut HeaderMap, max_size_bytes: Option<u64>) {
    protocol(headers);
    headers.insert(TUS_VERSION, HeaderValue::from_static(VERSION));
    headers.insert(TUS_EXTENSION, HeaderValue::from_static(EXTENSIONS));
    headers.insert(
        TUS_CHECKSUM_ALGORITHM,
        HeaderValue::from_static(CHECKSUM_ALGORITHMS),
    );
    if let Some(max) = max_size_bytes {
        headers.insert(TUS_MAX_SIZE, HeaderValue::from(max));
    }
}

/// Where an upload stands: its offset and when it expires.
pub fn standing(headers: &mut HeaderMap, state: &UploadState) {
    protocol(headers);
    headers.insert(UPLOAD_OFFSET, HeaderValue::from(state.offset_bytes));
    if let Ok(expires) = HeaderValue::from_str(&httpdate::fmt_http_date(state.expires_at())) {
        headers.insert(UPLOAD_EXPIRES, expires);
    }
    if let Some(name) = &state.info.finished_as {
        if let Ok(name) = HeaderValue::from_str(name) {
            headers.insert(edgebase_client::wire::HEADER_FILE_NAME, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn reads_tus_headers() {
        assert!(check_version(&headers(&[("tus-resumable", "1.0.0")])).is_ok());
        assert!(check_version(&headers(&[("tus-resumable", "0.2.2")])).is_err());
        assert!(check_version(&headers(&[])).is_err());
        let sizes = headers(&[("upload-length", "12"), ("upload-offset", "-1")]);
        assert_eq!(
            byte_count(&sizes, &UPLOAD_LENGTH).expect("length"),
            Some(12)
        );
        assert!(byte_count(&sizes, &UPLOAD_OFFSET).is_err());
        assert_eq!(
            byte_count(&headers(&[]), &UPLOAD_OFFSET).expect("absent"),
            None
        );
        let meta = headers(&[(
            "upload-metadata",
            "filename cmVwb3J0LnBkZg==,is_confidential",
        )]);
        assert_eq!(
            metadata(&meta).expect("metadata"),
            vec![
                ("filename".to_string(), "report.pdf".to_string()),
                ("is_confidential".to_string(), String::new())
            ]
        );
        assert!(metadata(&headers(&[("upload-metadata", "filename !!!")])).is_err());
        let sum = headers(&[("upload-checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")]);
        assert!(
            matches!(checksum(&sum).expect("checksum"), Some(Checksum::Sha1(d)) if d.len() == 20)
        );
        assert!(checksum(&headers(&[("upload-checksum", "crc32 AAAA")])).is_err());
    }
}
