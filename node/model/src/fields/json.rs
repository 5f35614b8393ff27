//! JSON fields: strings holding JSON are stored as that JSON; `maxSize` bounds the encoding.

use crate::ValidationCode;
use serde_json::{json, Value};

use crate::field_error;

/// Default JSON field size when a json field sets no `maxSize` (PocketBase's 1 MiB).
pub const JSON_SIZE_DEFAULT_MAX_BYTES: i64 = 1 << 20;

/// A string holding valid JSON (with no surrounding blanks) is stored as that JSON.
pub fn cast_json(raw: &Value) -> Value {
    match raw {
        Value::String(text) if !text.is_empty() && text.trim() == text => {
            serde_json::from_str(text).unwrap_or_else(|_| raw.clone())
        }
        _ => raw.clone(),
    }
}

pub fn validate(value: &Value, max_size: i64) -> Option<Value> {
    let limit = if max_size <= 0 {
        JSON_SIZE_DEFAULT_MAX_BYTES
    } else {
        max_size
    };
    let size = serde_json::to_vec(value)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    (i64::try_from(size).unwrap_or(i64::MAX) > limit).then(|| {
        field_error(
            ValidationCode::JsonSizeLimit,
            format!("The maximum allowed JSON size is {limit} bytes."),
            Some(json!({ "maxSize": limit })),
        )
    })
}
