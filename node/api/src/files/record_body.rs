//! The body of a record create or update: a JSON object, or `multipart/form-data` whose text
//! parts become the data (as PocketBase reads a form: repeated keys become lists, `true`,
//! `false` and plain numbers are typed, `@jsonPayload` parts are merged in) and whose file
//! parts under a file field's key (`F`, `F+`, `+F`) are streamed into the blob store as
//! they arrive, hashed and sniffed on the way, never whole in memory. The body is bounded
//! by what PocketBase allows the collection (32 MiB plus its fields' sizes); past it, 413.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use edgebase_blobs::{BlobError, BlobStore};
use edgebase_client::wire::{Field, FieldKind};
use edgebase_model::fields::file::{self, mime, name, Upload, Uploads};
use edgebase_model::fields::Modifier;
use edgebase_service::app::LoadedCollection;
use edgebase_service::caller::Caller;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::extract::json_object;

/// The data and uploads of one create or update.
#[derive(Debug, Default)]
pub struct RecordBody {
    pub data: Map<String, Value>,
    pub uploads: Uploads,
}

const JSON_PAYLOAD_KEY: &str = "@jsonPayload";

fn unreadable() -> ApiError {
    ApiError::bad_request("Failed to read the submitted data.")
}

/// Read the body of a create or update of `loaded`'s records.
pub async fn read_record_body(
    blobs: &BlobStore,
    loaded: &LoadedCollection,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<RecordBody, ApiError> {
    // Read up to the bound before refusing (not on `Content-Length` alone): a client still
    // sending when the answer comes would see its connection broken instead of the 413.
    let limit = file::record_body_limit_bytes(&loaded.collection);
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
        return Ok(RecordBody {
            data: json_object(&bytes)?,
            uploads: Uploads::new(),
        });
    }
    let boundary = multer::parse_boundary(content_type).map_err(|_| unreadable())?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut form = Map::new();
    let mut payloads = Vec::new();
    let mut uploads = Uploads::new();
    while let Some(mut part) = multipart.next_field().await.map_err(multipart_error)? {
        let key = part.name().unwrap_or_default().to_string();
        let file_name = part.file_name().map(base_name);
        match file_name {
            Some(original) => match upload_field(loaded, caller, &key) {
                Some(field) => {
                    let max_size = file::max_size_bytes(&field.kind);
                    let upload = store_upload(blobs, &mut part, &original, max_size).await?;
                    uploads.entry(key).or_default().push(upload);
                }
                // A file under a key that takes none is not read into anything.
                None => while part.chunk().await.map_err(multipart_error)?.is_some() {},
            },
            None => {
                let text = part.text().await.map_err(multipart_error)?;
                if key == JSON_PAYLOAD_KEY {
                    payloads.push(text);
                } else {
                    add_form_value(&mut form, key, form_value(text));
                }
            }
        }
    }
    for payload in payloads {
        match serde_json::from_str::<Value>(&payload) {
            Ok(Value::Object(map)) => form.extend(map),
            _ => return Err(unreadable()),
        }
    }
    Ok(RecordBody {
        data: form,
        uploads,
    })
}

pub(crate) fn multipart_error(error: multer::Error) -> ApiError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::too_large()
        }
        other => {
            tracing::debug!(error = %other, "unreadable multipart body");
            unreadable()
        }
    }
}

/// A part's file name as Go's multipart reader gives it: its last path element.
pub(crate) fn base_name(name: &str) -> String {
    name.rsplit('/').next().unwrap_or_default().to_string()
}

/// The file field a part's key uploads to (`F`, `F+` or `+F`), if this caller may write it.
fn upload_field<'l>(loaded: &'l LoadedCollection, caller: &Caller, key: &str) -> Option<&'l Field> {
    let name = match Modifier::parse(key) {
        Some((name, Modifier::Append | Modifier::Prepend)) => name,
        Some(_) => return None,
        None => key,
    };
    loaded
        .collection
        .field(name)
        .filter(|field| matches!(field.kind, FieldKind::File { .. }))
        .filter(|field| !field.hidden || caller.is_superuser())
}

/// Stream one file part into the blob store. A part past `max_size` (the field's `maxSize`)
/// is read to its end but not kept: its upload carries the size seen and no blob, and the
/// field's check refuses it.
pub(crate) async fn store_upload(
    blobs: &BlobStore,
    part: &mut multer::Field<'_>,
    original: &str,
    max_size: u64,
) -> Result<Upload, ApiError> {
    let mut writer = Some(blobs.writer(max_size).await?);
    let mut sample = Vec::with_capacity(mime::SNIFF_BYTES);
    let mut size_bytes: u64 = 0;
    while let Some(chunk) = part.chunk().await.map_err(multipart_error)? {
        if sample.len() < mime::SNIFF_BYTES {
            let take = (mime::SNIFF_BYTES - sample.len()).min(chunk.len());
            sample.extend_from_slice(&chunk[..take]);
        }
        size_bytes = size_bytes.saturating_add(chunk.len() as u64);
        if let Some(open) = writer.as_mut() {
            match open.write(&chunk).await {
                Ok(()) => {}
                Err(BlobError::TooLarge { .. }) => writer = None,
                Err(error) => return Err(error.into()),
            }
        }
    }
    let sniffed = mime::sniff(&sample);
    let blob = match writer {
        Some(open) => open.finish().await?.id.to_hex(),
        None => String::new(),
    };
    Ok(Upload {
        name: name::stored_name(original, Some(sniffed.extension)),
        original_name: original.to_string(),
        size_bytes,
        content_type: sniffed.mime,
        blob,
    })
}

/// A form value as PocketBase types it: `true`/`false`, a number written the way it would
/// print, else the text.
fn form_value(text: String) -> Value {
    match text.as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let numeric = text
        .bytes()
        .next()
        .is_some_and(|first| first == b'-' || first.is_ascii_digit())
        && text
            .bytes()
            .all(|byte| byte == b'-' || byte == b'.' || byte.is_ascii_digit());
    if numeric {
        if let Ok(number) = text.parse::<f64>() {
            if number.is_finite() && number.to_string() == text {
                if let Some(number) = serde_json::Number::from_f64(number) {
                    return Value::Number(number);
                }
            }
        }
    }
    Value::String(text)
}

/// A repeated key collects its values in a list, in order.
fn add_form_value(form: &mut Map<String, Value>, key: String, value: Value) {
    match form.get_mut(&key) {
        None => {
            form.insert(key, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_values_are_typed_as_pocketbase_types_them() {
        let cases = [
            ("", json!("")),
            ("true", json!(true)),
            ("false", json!(false)),
            ("12", json!(12.0)),
            ("-1.5", json!(-1.5)),
            ("0001", json!("0001")),
            ("1.0", json!("1.0")),
            ("1e3", json!("1e3")),
            ("Infinity", json!("Infinity")),
            ("abc", json!("abc")),
        ];
        for (text, expected) in cases {
            assert_eq!(form_value(text.into()), expected, "{text:?}");
        }
        let mut form = Map::new();
        for value in ["a", "b", "c"] {
            add_form_value(&mut form, "k".into(), json!(value));
        }
        add_form_value(&mut form, "one".into(), json!(1));
        assert_eq!(Value::Object(form), json!({"k": ["a", "b", "c"], "one": 1}));
    }
}
