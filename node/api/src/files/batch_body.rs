//! The body of `POST /api/batch`: JSON `{"requests": [...]}`, or multipart with that object
//! in `@jsonPayload` and files under `requests.N.<key>` (or `requests[N].<key>`), the key
//! naming a file field, possibly with a modifier (`requests.0.files+`). Files are streamed
//! into the blob store as they come; each request's files replace the same key in its JSON
//! body. As PocketBase rebuilds each request as its own multipart request from names it has
//! already sanitised, a file's name is sanitised twice (two random parts). Bounded by the
//! batch's body limit.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use edgebase_blobs::BlobStore;
use edgebase_model::fields::file::{name, Uploads};

use crate::error::ApiError;
use crate::files::record_body::{base_name, multipart_error, store_upload};

/// The batch's JSON and, by request index, its files by body key.
#[derive(Debug, Default)]
pub struct BatchBody {
    pub json: Vec<u8>,
    pub uploads: BTreeMap<usize, Uploads>,
}

const JSON_PAYLOAD_KEY: &str = "@jsonPayload";

/// `requests.N.key` or `requests[N].key` as (N, key).
fn request_key(part_name: &str) -> Option<(usize, &str)> {
    let rest = part_name.strip_prefix("requests")?;
    let (index, key) = if let Some(rest) = rest.strip_prefix('.') {
        rest.split_once('.')?
    } else {
        let (index, key) = rest.strip_prefix('[')?.split_once(']')?;
        (index, key.strip_prefix('.')?)
    };
    if key.is_empty() {
        return None;
    }
    Some((index.parse().ok()?, key))
}

pub async fn read_batch_body(
    blobs: &BlobStore,
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> Result<BatchBody, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let bytes = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
            .await
            .map_err(|_| ApiError::too_large())?;
        return Ok(BatchBody {
            json: bytes.to_vec(),
            uploads: BTreeMap::new(),
        });
    }
    let unreadable = || ApiError::bad_request("Failed to read the submitted batch files data.");
    let boundary = multer::parse_boundary(content_type).map_err(|_| unreadable())?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut batch = BatchBody::default();
    while let Some(mut part) = multipart.next_field().await.map_err(multipart_error)? {
        let part_name = part.name().unwrap_or_default().to_string();
        match part.file_name().map(base_name) {
            None if part_name == JSON_PAYLOAD_KEY => {
                batch.json = part.bytes().await.map_err(multipart_error)?.to_vec();
            }
            None => while part.chunk().await.map_err(multipart_error)?.is_some() {},
            Some(original) => match request_key(&part_name) {
                Some((index, key)) => {
                    let key = key.to_string();
                    let mut upload = store_upload(blobs, &mut part, &original, limit).await?;
                    // PocketBase's sub-request uploads the sanitised name, sanitised again.
                    upload.original_name = upload.name.clone();
                    upload.name = name::stored_name(&upload.name, None);
                    batch
                        .uploads
                        .entry(index)
                        .or_default()
                        .entry(key)
                        .or_default()
                        .push(upload);
                }
                None => while part.chunk().await.map_err(multipart_error)?.is_some() {},
            },
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_name_their_request() {
        assert_eq!(request_key("requests.0.files"), Some((0, "files")));
        assert_eq!(request_key("requests[3].files+"), Some((3, "files+")));
        assert_eq!(request_key("requests.12.+files"), Some((12, "+files")));
        for bad in [
            "requests",
            "requests.x.files",
            "requests.0.",
            "requests[1]files",
            "other.0.f",
        ] {
            assert_eq!(request_key(bad), None, "{bad}");
        }
    }
}
