//! Field families: how PocketBase casts request input for each field type, validates the
//! result, applies write modifiers (`field+`, `+field`, `field-`), and checks a field's
//! own options when a collection is saved.

pub mod address;
pub mod date;
pub mod file;
pub mod geo_point;
pub mod json;
pub mod list;
pub mod modifier;
pub mod number;
pub mod settings;
pub mod text;

use crate::ValidationCode;
use edgebase_wire::{Field, FieldKind};
use serde_json::{json, Value};

use crate::field_error;

pub use modifier::{modify, Modifier};

/// Where relation ids are looked up: the local applied state, or a model in tests.
pub trait RecordLookup {
    /// Whether record `record_id` exists in collection `collection_id`.
    fn record_exists(&self, collection_id: &str, record_id: &str) -> bool;
}

impl<F: Fn(&str, &str) -> bool> RecordLookup for F {
    fn record_exists(&self, collection_id: &str, record_id: &str) -> bool {
        self(collection_id, record_id)
    }
}

/// The value a field shows when nothing was stored for it.
pub fn zero_value(kind: &FieldKind) -> Value {
    match kind {
        FieldKind::Number { .. } => json!(0),
        FieldKind::Bool {} => json!(false),
        FieldKind::Json { .. } => Value::Null,
        FieldKind::GeoPoint {} => geo_point::zero(),
        FieldKind::Select { .. } | FieldKind::Relation { .. } | FieldKind::File { .. }
            if kind.is_multiple() =>
        {
            json!([])
        }
        FieldKind::Text { .. }
        | FieldKind::Email { .. }
        | FieldKind::Url { .. }
        | FieldKind::Editor { .. }
        | FieldKind::Date { .. }
        | FieldKind::Autodate { .. }
        | FieldKind::Select { .. }
        | FieldKind::Relation { .. }
        | FieldKind::Password { .. }
        | FieldKind::File { .. } => json!(""),
    }
}

/// Cast request input to the field's type, as PocketBase's lenient casting does. The one
/// input casting refuses is a number spelled as infinity or NaN (the field's error).
pub fn cast(kind: &FieldKind, raw: &Value) -> Result<Value, Value> {
    if matches!(kind, FieldKind::Number { .. }) && number::names_non_finite(raw) {
        return Err(field_error(
            ValidationCode::NotANumber,
            "The submitted number is not properly formatted.",
            None,
        ));
    }
    Ok(cast_value(kind, raw))
}

fn cast_value(kind: &FieldKind, raw: &Value) -> Value {
    match kind {
        FieldKind::Text { .. }
        | FieldKind::Email { .. }
        | FieldKind::Url { .. }
        | FieldKind::Editor { .. }
        | FieldKind::Password { .. } => Value::String(text::cast_text(raw)),
        FieldKind::File { .. } => file::shape(kind, file::names(raw)),
        FieldKind::Number { .. } => number::number_value(number::cast_number(raw)),
        FieldKind::Bool {} => Value::Bool(cast_bool(raw)),
        FieldKind::Json { .. } => json::cast_json(raw),
        FieldKind::GeoPoint {} => geo_point::cast(raw),
        FieldKind::Date { .. } => Value::String(date::cast(raw)),
        FieldKind::Autodate { .. } => raw.clone(),
        FieldKind::Select { .. } | FieldKind::Relation { .. } => {
            list::shape(kind, list::cast_list(raw))
        }
    }
}

pub fn cast_bool(raw: &Value) -> bool {
    match raw {
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => matches!(text.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

fn is_blank(kind: &FieldKind, value: &Value) -> bool {
    if matches!(kind, FieldKind::Json { .. }) {
        // JSON `0` and `false` are values; only null, "", [] and {} are blank.
        return match value {
            Value::Null => true,
            Value::String(text) => text.is_empty(),
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            Value::Number(_) | Value::Bool(_) => false,
        };
    }
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::Bool(flag) => !flag,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => match kind {
            FieldKind::GeoPoint {} => geo_point::is_zero(value),
            _ => map.is_empty(),
        },
    }
}

/// Validate a cast value against the field's options: the first failure, as PocketBase's
/// `{code, message[, params]}`.
pub fn validate(field: &Field, value: &Value, lookup: &dyn RecordLookup) -> Option<Value> {
    if matches!(field.kind, FieldKind::Autodate { .. }) {
        return None;
    }
    if is_blank(&field.kind, value) {
        return field
            .required
            .then(|| field_error(ValidationCode::Required, "Cannot be blank.", None));
    }
    match &field.kind {
        FieldKind::Text {
            min, max, pattern, ..
        } => text::validate_text(value, *min, *max, pattern),
        FieldKind::Password {
            min, max, pattern, ..
        } => text::validate_password(value, *min, *max, pattern),
        FieldKind::Editor { max_size, .. } => text::validate_editor(value, *max_size),
        FieldKind::Number { min, max, only_int } => number::validate(value, *min, *max, *only_int),
        FieldKind::Json { max_size } => json::validate(value, *max_size),
        FieldKind::Email {
            except_domains,
            only_domains,
        } => address::validate_email(value, except_domains, only_domains),
        FieldKind::Url {
            except_domains,
            only_domains,
        } => address::validate_url(value, except_domains, only_domains),
        FieldKind::Date { min, max } => date::validate(value, min, max),
        FieldKind::GeoPoint {} => geo_point::validate(value),
        FieldKind::Select { values, max_select } => {
            list::validate_select(value, values, *max_select)
        }
        FieldKind::Relation {
            collection_id,
            max_select,
            min_select,
            ..
        } => list::validate_relation(value, collection_id, *min_select, *max_select, lookup),
        // File values are checked with the request's uploads (`record_values`).
        FieldKind::Bool {} | FieldKind::Autodate { .. } | FieldKind::File { .. } => None,
    }
}
