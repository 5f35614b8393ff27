//! Select and relation fields: one value or a list (`maxSelect` above 1), deduplicated,
//! checked against the allowed values or the related collection.

use crate::ValidationCode;
use edgebase_wire::FieldKind;
use serde_json::{json, Value};

use crate::field_error;
use crate::fields::{text, RecordLookup};

/// Most items one select or relation value may carry before checks (bounds the work a
/// request can ask for; PocketBase's own `maxSelect` is far below it in practice).
pub const ITEMS_MAX: usize = 10_000;

/// Input as a list of non-empty strings, first occurrence kept. A string holding a JSON
/// array is read as that array; any other string is one item.
pub fn cast_list(raw: &Value) -> Vec<String> {
    let items: Vec<String> = match raw {
        Value::Array(items) => items.iter().map(text::cast_text).collect(),
        Value::String(text) if text.starts_with('[') => {
            match serde_json::from_str::<Vec<Value>>(text) {
                Ok(items) => items.iter().map(text::cast_text).collect(),
                Err(_) => vec![text.clone()],
            }
        }
        Value::Null => Vec::new(),
        other => vec![text::cast_text(other)],
    };
    unique(items.into_iter().take(ITEMS_MAX).collect())
}

/// Drop empty and repeated items, keeping the first of each.
pub fn unique(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// A list field stores the list; a single one stores its last item (or "").
pub fn shape(kind: &FieldKind, items: Vec<String>) -> Value {
    if kind.is_multiple() {
        json!(items)
    } else {
        json!(items.last().cloned().unwrap_or_default())
    }
}

/// The items of a stored value, single or list.
fn items_of(value: &Value) -> Vec<String> {
    cast_list(value)
}

fn too_many(max_select: i64) -> Option<Value> {
    Some(field_error(
        ValidationCode::TooManyValues,
        format!("Select no more than {max_select}."),
        Some(json!({ "maxSelect": max_select })),
    ))
}

pub fn validate_select(value: &Value, values: &[String], max_select: i64) -> Option<Value> {
    let items = items_of(value);
    let max_select = max_select.max(1);
    if i64::try_from(items.len()).unwrap_or(i64::MAX) > max_select {
        return too_many(max_select);
    }
    items
        .iter()
        .find(|item| !values.contains(item))
        .map(|item| {
            field_error(
                ValidationCode::InvalidValue,
                format!("Invalid value {item}."),
                Some(json!({ "value": item })),
            )
        })
}

pub fn validate_relation(
    value: &Value,
    collection_id: &str,
    min_select: i64,
    max_select: i64,
    lookup: &dyn RecordLookup,
) -> Option<Value> {
    let items = items_of(value);
    let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let max_select = max_select.max(1);
    if count > max_select {
        return too_many(max_select);
    }
    if min_select > 0 && count < min_select {
        return Some(field_error(
            ValidationCode::NotEnoughValues,
            format!("Select at least {min_select}."),
            Some(json!({ "minSelect": min_select })),
        ));
    }
    items
        .iter()
        .any(|id| !lookup.record_exists(collection_id, id))
        .then(|| {
            field_error(
                ValidationCode::MissingRelRecords,
                "Failed to find all relation records with the provided ids.",
                None,
            )
        })
}
