//! Record field values: casting request input the way PocketBase does, validating it
//! against the collection's fields, and shaping stored documents for responses.

use std::sync::LazyLock;

use edgebase_client::wire::{Collection, Field, FieldKind};
use regex::Regex;
use serde_json::{json, Map, Value};

use crate::api::error::{field_error, FieldErrors};
use crate::domain::ids;

/// Default and largest text length when a text field sets no `max`.
const TEXT_LENGTH_DEFAULT_MAX: i64 = 5_000;
/// Default JSON field size when a json field sets no `maxSize` (PocketBase's 1 MiB).
const JSON_SIZE_DEFAULT_MAX_BYTES: i64 = 1 << 20;
/// Patterns are user input: bound their compiled size.
const PATTERN_SIZE_LIMIT_BYTES: usize = 64 * 1024;

/// A stored record document: field name to value, `id` included.
pub type Document = Map<String, Value>;

/// Build the document a create stores from a request body. The id is taken from the body
/// if given, else generated here, on the proposing node.
pub fn document_for_create(
    collection: &Collection,
    body: &Map<String, Value>,
) -> Result<Document, FieldErrors> {
    let mut doc = Document::new();
    for field in &collection.fields {
        doc.insert(field.name.clone(), zero_value(&field.kind));
    }
    let id = body.get("id").map(cast_text).unwrap_or_default();
    let id = if id.is_empty() {
        ids::new_record_id()
    } else {
        id
    };
    doc.insert("id".into(), Value::String(id));
    assign_and_validate(collection, doc, body)
}

/// Build the document an update stores: the current document with the body's fields
/// replaced. The id never changes.
pub fn document_for_update(
    collection: &Collection,
    current: &Document,
    body: &Map<String, Value>,
) -> Result<Document, FieldErrors> {
    let mut doc = Document::new();
    for field in &collection.fields {
        let value = current
            .get(&field.name)
            .cloned()
            .unwrap_or_else(|| zero_value(&field.kind));
        doc.insert(field.name.clone(), value);
    }
    let mut body = body.clone();
    body.remove("id");
    assign_and_validate(collection, doc, &body)
}

fn assign_and_validate(
    collection: &Collection,
    mut doc: Document,
    body: &Map<String, Value>,
) -> Result<Document, FieldErrors> {
    for field in &collection.fields {
        if field.name == "id" || !is_writable(&field.kind) {
            continue;
        }
        if let Some(raw) = body.get(&field.name) {
            doc.insert(field.name.clone(), cast(&field.kind, raw));
        }
    }
    let mut errors = FieldErrors::new();
    for field in &collection.fields {
        let value = doc.get(&field.name).cloned().unwrap_or(Value::Null);
        if let Some(error) = validate(field, &value) {
            errors.insert(field.name.clone(), error);
        }
    }
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(errors)
    }
}

/// Fields set through the records API (system auth fields go through their own flows).
fn is_writable(kind: &FieldKind) -> bool {
    !matches!(
        kind,
        FieldKind::Password { .. } | FieldKind::Autodate { .. }
    )
}

/// The value a field shows when nothing was stored for it.
pub fn zero_value(kind: &FieldKind) -> Value {
    match kind {
        FieldKind::Text { .. } | FieldKind::Email { .. } | FieldKind::Password { .. } => json!(""),
        FieldKind::Autodate { .. } => json!(""),
        FieldKind::Number { .. } => json!(0),
        FieldKind::Bool {} => json!(false),
        FieldKind::Json { .. } => Value::Null,
    }
}

/// Cast request input to the field's type, as PocketBase's lenient casting does.
fn cast(kind: &FieldKind, raw: &Value) -> Value {
    match kind {
        FieldKind::Text { .. } | FieldKind::Email { .. } | FieldKind::Password { .. } => {
            Value::String(cast_text(raw))
        }
        FieldKind::Autodate { .. } => raw.clone(),
        FieldKind::Number { .. } => number_value(cast_number(raw)),
        FieldKind::Bool {} => Value::Bool(cast_bool(raw)),
        FieldKind::Json { .. } => cast_json(raw),
    }
}

fn cast_text(raw: &Value) -> String {
    match raw {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
    }
}

fn cast_number(raw: &Value) -> f64 {
    match raw {
        Value::Number(number) => number.as_f64().unwrap_or(0.0),
        Value::String(text) => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .unwrap_or(0.0),
        Value::Bool(flag) => f64::from(u8::from(*flag)),
        Value::Null | Value::Array(_) | Value::Object(_) => 0.0,
    }
}

/// Whole numbers are shown without a fraction, as PocketBase shows them.
fn number_value(number: f64) -> Value {
    const EXACT_INTEGER_MAX: f64 = 9_007_199_254_740_992.0;
    if number.fract() == 0.0 && number.abs() <= EXACT_INTEGER_MAX {
        json!(number as i64)
    } else {
        serde_json::Number::from_f64(number)
            .map(Value::Number)
            .unwrap_or(json!(0))
    }
}

fn cast_bool(raw: &Value) -> bool {
    match raw {
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => matches!(text.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

/// A string holding valid JSON (with no surrounding blanks) is stored as that JSON.
fn cast_json(raw: &Value) -> Value {
    match raw {
        Value::String(text) if !text.is_empty() && text.trim() == text => {
            serde_json::from_str(text).unwrap_or_else(|_| raw.clone())
        }
        _ => raw.clone(),
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::Bool(flag) => !flag,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

static EMAIL_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("static pattern"));

fn validate(field: &Field, value: &Value) -> Option<Value> {
    if is_blank(value) {
        return field
            .required
            .then(|| field_error("validation_required", "Cannot be blank.", None));
    }
    match &field.kind {
        FieldKind::Text {
            min, max, pattern, ..
        } => {
            let text = value.as_str().unwrap_or_default();
            let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
            let max = if *max <= 0 {
                TEXT_LENGTH_DEFAULT_MAX
            } else {
                *max
            };
            if length < *min {
                return Some(field_error(
                    "validation_min_text_constraint",
                    format!("Must be at least {min} character(s)."),
                    Some(json!({ "min": min })),
                ));
            }
            if length > max {
                return Some(field_error(
                    "validation_max_text_constraint",
                    format!("Must be no more than {max} character(s)."),
                    Some(json!({ "max": max })),
                ));
            }
            if !pattern.is_empty() && !matches_pattern(pattern, text) {
                return Some(field_error(
                    "validation_invalid_format",
                    "Invalid value format.",
                    None,
                ));
            }
            None
        }
        FieldKind::Number { min, max, only_int } => {
            let number = value.as_f64().unwrap_or_default();
            if *only_int && number.fract() != 0.0 {
                return Some(field_error(
                    "validation_only_int_constraint",
                    "Decimal numbers are not allowed.",
                    None,
                ));
            }
            if let Some(min) = min.filter(|min| number < *min) {
                return Some(field_error(
                    "validation_min_number_constraint",
                    format!("Must be larger or equal than {}.", number_value(min)),
                    Some(json!({ "min": number_value(min) })),
                ));
            }
            if let Some(max) = max.filter(|max| number > *max) {
                return Some(field_error(
                    "validation_max_number_constraint",
                    format!("Must be less or equal than {}.", number_value(max)),
                    Some(json!({ "max": number_value(max) })),
                ));
            }
            None
        }
        FieldKind::Json { max_size } => {
            let limit = if *max_size <= 0 {
                JSON_SIZE_DEFAULT_MAX_BYTES
            } else {
                *max_size
            };
            let size = serde_json::to_vec(value)
                .map(|bytes| bytes.len())
                .unwrap_or(usize::MAX);
            (i64::try_from(size).unwrap_or(i64::MAX) > limit).then(|| {
                field_error(
                    "validation_json_size_limit",
                    format!("The maximum allowed JSON size is {limit} bytes."),
                    Some(json!({ "maxSize": limit })),
                )
            })
        }
        FieldKind::Email { .. } => {
            let text = value.as_str().unwrap_or_default();
            (!EMAIL_PATTERN.is_match(text)).then(|| {
                field_error(
                    "validation_is_email",
                    "Must be a valid email address.",
                    None,
                )
            })
        }
        FieldKind::Bool {} | FieldKind::Password { .. } | FieldKind::Autodate { .. } => None,
    }
}

/// Compiled field patterns, so a create does not compile its `id` pattern again each time.
/// Bounded: past the limit it starts over.
static PATTERNS: LazyLock<std::sync::Mutex<std::collections::HashMap<String, Option<Regex>>>> =
    LazyLock::new(Default::default);
const PATTERNS_MAX: usize = 1_024;

fn matches_pattern(pattern: &str, text: &str) -> bool {
    let mut patterns = PATTERNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !patterns.contains_key(pattern) {
        if patterns.len() >= PATTERNS_MAX {
            patterns.clear();
        }
        let compiled = regex::RegexBuilder::new(pattern)
            .size_limit(PATTERN_SIZE_LIMIT_BYTES)
            .build()
            .ok();
        patterns.insert(pattern.to_string(), compiled);
    }
    // A `Regex` clone shares the compiled program; match outside the lock.
    let compiled = patterns.get(pattern).cloned().flatten();
    drop(patterns);
    compiled.is_some_and(|re| re.is_match(text))
}

/// The record as the API shows it: system keys, then every visible field (stored value or
/// the field's zero value). Hidden fields are shown to superusers only.
pub fn public_record(
    collection: &Collection,
    doc: &Document,
    show_hidden: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("collectionId".into(), json!(collection.id));
    out.insert("collectionName".into(), json!(collection.name));
    for field in &collection.fields {
        if matches!(field.kind, FieldKind::Password { .. }) || field.name == "tokenKey" {
            continue;
        }
        if field.hidden && !show_hidden {
            continue;
        }
        let value = doc
            .get(&field.name)
            .cloned()
            .unwrap_or_else(|| zero_value(&field.kind));
        out.insert(field.name.clone(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection() -> Collection {
        serde_json::from_value(json!({
            "id": "pbc_1", "name": "t2", "type": "base",
            "fields": [
                {"name": "id", "type": "text", "min": 15, "max": 15, "pattern": "^[a-z0-9]+$", "required": true, "system": true, "primaryKey": true},
                {"name": "s", "type": "text", "min": 2, "max": 4, "pattern": "^[a-z]+$"},
                {"name": "n", "type": "number", "min": 1, "max": 5, "onlyInt": true, "required": true},
                {"name": "b", "type": "bool", "required": true},
                {"name": "j", "type": "json", "maxSize": 20}
            ]
        }))
        .expect("valid collection")
    }

    /// Cases read off PocketBase 0.40.6: body -> the field error codes (or the stored values).
    #[test]
    fn create_matches_pocketbase() {
        let cases: &[(Value, Value)] = &[
            (
                json!({"s":"a","n":7,"b":false,"j":"x"}),
                json!({"b":"validation_required","n":"validation_max_number_constraint","s":"validation_min_text_constraint"}),
            ),
            (
                json!({"s":"abcdef","n":1.5,"b":true,"j":{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa":1}}),
                json!({"j":"validation_json_size_limit","n":"validation_only_int_constraint","s":"validation_max_text_constraint"}),
            ),
            (
                json!({"s":"AB1","n":0,"b":true}),
                json!({"n":"validation_required","s":"validation_invalid_format"}),
            ),
            (
                json!({"s":123,"n":"3","b":"1","j":"[1,2]"}),
                json!({"s":"validation_invalid_format"}),
            ),
            (
                json!({"s":null,"n":true,"b":"yes"}),
                json!({"b":"validation_required"}),
            ),
            (
                json!({"n":"  4 ","b":"t"}),
                json!({"n":"validation_required"}),
            ),
            (
                json!({"n":2,"b":true,"id":"UPPERCASEIDXXXX"}),
                json!({"id":"validation_invalid_format"}),
            ),
            (
                json!({"n":2,"b":true,"id":"short"}),
                json!({"id":"validation_min_text_constraint"}),
            ),
        ];
        for (body, expected) in cases {
            let errors = document_for_create(&collection(), body.as_object().unwrap())
                .expect_err(&body.to_string());
            let codes: Map<String, Value> = errors
                .iter()
                .map(|(key, error)| (key.clone(), error["code"].clone()))
                .collect();
            assert_eq!(&Value::Object(codes), expected, "{body}");
        }
    }

    #[test]
    fn casts_match_pocketbase() {
        let cases: &[(Value, Value)] = &[
            (
                json!({"s":"ab","n":3,"b":1,"j":"  "}),
                json!({"s":"ab","n":3,"b":true,"j":"  "}),
            ),
            (
                json!({"n":2,"b":true,"j":"{\"a\": 1}"}),
                json!({"s":"","n":2,"b":true,"j":{"a":1}}),
            ),
            (
                json!({"n":2,"b":true,"j":"12"}),
                json!({"s":"","n":2,"b":true,"j":12}),
            ),
            (
                json!({"n":2,"b":true,"j":" true "}),
                json!({"s":"","n":2,"b":true,"j":" true "}),
            ),
            (
                json!({"n":3,"b":true,"j":"abc"}),
                json!({"s":"","n":3,"b":true,"j":"abc"}),
            ),
        ];
        for (body, expected) in cases {
            let mut doc = document_for_create(&collection(), body.as_object().unwrap())
                .unwrap_or_else(|errors| panic!("{body}: {errors:?}"));
            doc.remove("id");
            assert_eq!(&Value::Object(doc), expected, "{body}");
        }
    }

    #[test]
    fn update_keeps_unsent_fields_and_the_id() {
        let created = document_for_create(
            &collection(),
            json!({"s":"ab","n":3,"b":true}).as_object().unwrap(),
        )
        .expect("valid");
        let updated = document_for_update(
            &collection(),
            &created,
            json!({"id":"zzzzzzzzzzzzzzz","n":4}).as_object().unwrap(),
        )
        .expect("valid");
        assert_eq!(updated["id"], created["id"]);
        assert_eq!(updated["s"], json!("ab"));
        assert_eq!(updated["n"], json!(4));
    }
}
