//! File fields: a record stores file *names* (a string, or a list when `maxSelect` is above
//! 1), and beside them, under `@files`, each file's blob hash, size and sniffed type. New
//! files only come as uploads, already stored as blobs by the caller; a name in a body must
//! be one the record already has. What PocketBase does, value by value:
//! `F` replaces (with the body's names first when uploads come under `F` too), `F+` appends,
//! `+F` prepends, `F-` removes names; a single-file field keeps the last name.

pub mod mime;
pub mod name;

use std::collections::BTreeMap;

use edgebase_wire::{Field, FieldKind};
use serde_json::{json, Map, Value};

use crate::fields::Modifier;
use crate::{field_error, ValidationCode};

/// The document key of the files' contents (`edgebase_storage::FILES_KEY`, which the
/// storage engine reads to keep blob references).
pub const FILES_KEY: &str = "@files";
/// An entry's `store` when its blob is in the S3 bucket (`edgebase_storage::BUCKET_STORE`,
/// which indexes it).
pub const BUCKET_STORE: &str = "s3";
/// PocketBase's per-file bound when `maxSize` is 0.
pub const MAX_SIZE_DEFAULT_BYTES: u64 = 5 << 20;
/// Longest stored file name.
const NAME_BYTES_MAX: usize = 150;
/// Longest file name quoted in an error.
const QUOTED_NAME_BYTES_MAX: usize = 300;
const INVALID_NAME_BYTES_MAX: usize = 250;

/// A file uploaded with this request and already held as a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The stored name ([`name::stored_name`]).
    pub name: String,
    pub original_name: String,
    pub size_bytes: u64,
    /// As sniffed from the content ([`mime::sniff`]).
    pub content_type: String,
    /// SHA-256 of the content, hex.
    pub blob: String,
}

/// A request's uploads by body key (`F`, `F+`, `+F`), in the order they came.
pub type Uploads = BTreeMap<String, Vec<Upload>>;

/// PocketBase's request body bound before a collection's fields add theirs.
pub const BODY_BYTES_BASE: u64 = 32 << 20;

/// The largest create or update body for `collection`, as PocketBase derives it: the base,
/// plus every file field's `maxSize` × `maxSelect`, every JSON field's `maxSize` (1 MiB when
/// unset) and every editor field's (5 MiB when unset). A view collection takes the base.
pub fn record_body_limit_bytes(collection: &edgebase_wire::Collection) -> u64 {
    if collection.kind == edgebase_wire::CollectionType::View {
        return BODY_BYTES_BASE;
    }
    let sized = |max_size: i64, unset: u64| if max_size > 0 { max_size as u64 } else { unset };
    collection
        .fields
        .iter()
        .fold(BODY_BYTES_BASE, |total, field| {
            let add = match &field.kind {
                FieldKind::File { .. } => {
                    max_size_bytes(&field.kind).saturating_mul(max_files(&field.kind) as u64)
                }
                FieldKind::Json { max_size } => sized(*max_size, 1 << 20),
                FieldKind::Editor { max_size, .. } => sized(*max_size, 5 << 20),
                _ => 0,
            };
            total.saturating_add(add)
        })
}

/// The bytes one file of this field may have.
pub fn max_size_bytes(kind: &FieldKind) -> u64 {
    match kind {
        FieldKind::File { max_size, .. } if *max_size > 0 => *max_size as u64,
        _ => MAX_SIZE_DEFAULT_BYTES,
    }
}

/// The files this field may hold.
pub fn max_files(kind: &FieldKind) -> usize {
    match kind {
        FieldKind::File { max_select, .. } => (*max_select).max(1) as usize,
        _ => 1,
    }
}

/// The names a raw value lists, as PocketBase normalises file values: `""` and null are
/// none, a string holding a JSON list is that list, anything else one name; empty names
/// dropped, repeats removed (the first kept).
pub fn names(raw: &Value) -> Vec<String> {
    let listed: Vec<String> = match raw {
        Value::Null => Vec::new(),
        Value::String(text) if text.is_empty() => Vec::new(),
        Value::String(text) if text.contains('[') => {
            match serde_json::from_str::<Vec<String>>(text) {
                Ok(list) => list,
                Err(_) => vec![text.clone()],
            }
        }
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
            .collect(),
        Value::Number(number) => vec![number.to_string()],
        Value::Bool(_) | Value::Object(_) => Vec::new(),
    };
    unique(listed.into_iter().filter(|name| !name.is_empty()).collect())
}

fn unique(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|name| seen.insert(name.clone()))
        .collect()
}

/// The names as the field stores them: the list, or the last name (`""` for none).
pub fn shape(kind: &FieldKind, names: Vec<String>) -> Value {
    if kind.is_multiple() {
        json!(names)
    } else {
        json!(names.last().cloned().unwrap_or_default())
    }
}

/// The field's value after the body and the uploads, or `None` when neither touches it.
/// `current` is the stored value (the zero value on a create).
pub fn merged(
    field: &Field,
    current: &Value,
    body: &Map<String, Value>,
    uploads: &Uploads,
) -> Option<Value> {
    let plain = body.get(&field.name);
    let modifiers: Vec<(Modifier, &Value)> = body
        .iter()
        .filter_map(|(key, raw)| match Modifier::parse(key) {
            Some((name, modifier)) if name == field.name && modifier != Modifier::Autogenerate => {
                Some((modifier, raw))
            }
            _ => None,
        })
        .collect();
    let uploaded = |key: String| uploads.get(&key).filter(|list| !list.is_empty());
    let (replace, append, prepend) = (
        uploaded(field.name.clone()),
        uploaded(format!("{}+", field.name)),
        uploaded(format!("+{}", field.name)),
    );
    if plain.is_none()
        && modifiers.is_empty()
        && replace.is_none()
        && append.is_none()
        && prepend.is_none()
    {
        return None;
    }
    // The body's names and modifiers first, as PocketBase rewrites them into the body.
    let mut value = match plain {
        Some(raw) => names(raw),
        None => names(current),
    };
    for (modifier, raw) in modifiers {
        value = apply(value, modifier, names(raw));
    }
    let upload_names = |list: &Vec<Upload>| {
        list.iter()
            .map(|upload| upload.name.clone())
            .collect::<Vec<_>>()
    };
    if let Some(list) = replace {
        let kept = match plain {
            Some(raw) if !raw.is_null() => value.clone(),
            _ => Vec::new(),
        };
        value = kept.into_iter().chain(upload_names(list)).collect();
    }
    if let Some(list) = append {
        value = apply(value, Modifier::Append, upload_names(list));
    }
    if let Some(list) = prepend {
        value = apply(value, Modifier::Prepend, upload_names(list));
    }
    Some(shape(&field.kind, unique(value)))
}

fn apply(current: Vec<String>, modifier: Modifier, given: Vec<String>) -> Vec<String> {
    match modifier {
        Modifier::Append => current.into_iter().chain(given).collect(),
        Modifier::Prepend => given.into_iter().chain(current).collect(),
        Modifier::Remove => current
            .into_iter()
            .filter(|name| !given.contains(name))
            .collect(),
        Modifier::Autogenerate => current,
    }
}

/// Check a file field's value: `stored` are the names the record had (none on a create);
/// every other name must be an upload of this request. The first failure, as PocketBase
/// reports it.
pub fn validate(
    field: &Field,
    value: &Value,
    stored: &[String],
    uploads: &Uploads,
) -> Option<Value> {
    let FieldKind::File { mime_types, .. } = &field.kind else {
        return None;
    };
    let listed = names(value);
    if listed.is_empty() {
        return field
            .required
            .then(|| field_error(ValidationCode::Required, "Cannot be blank.", None));
    }
    let uploaded: BTreeMap<&str, &Upload> = uploads
        .values()
        .flatten()
        .map(|upload| (upload.name.as_str(), upload))
        .collect();
    let invalid: Vec<String> = listed
        .iter()
        .filter(|name| !stored.contains(name) && !uploaded.contains_key(name.as_str()))
        .map(|name| cut(name, INVALID_NAME_BYTES_MAX))
        .collect();
    if !invalid.is_empty() {
        return Some(field_error(
            ValidationCode::InvalidFile,
            format!("Invalid new files: [{}].", invalid.join(" ")),
            Some(json!({ "invalidFiles": invalid })),
        ));
    }
    let max = max_files(&field.kind);
    if listed.len() > max {
        return Some(field_error(
            ValidationCode::TooManyFiles,
            format!("The maximum allowed files is {max}."),
            Some(json!({ "maxSelect": max })),
        ));
    }
    let max_size = max_size_bytes(&field.kind);
    for upload in listed.iter().filter_map(|name| uploaded.get(name.as_str())) {
        if upload.name.is_empty() || upload.name.len() > NAME_BYTES_MAX {
            return Some(field_error(
                ValidationCode::LengthOutOfRange,
                format!("The length must be between 1 and {NAME_BYTES_MAX}."),
                Some(json!({"min": 1, "max": NAME_BYTES_MAX})),
            ));
        }
        if !name_is_safe(&upload.name) {
            return Some(field_error(
                ValidationCode::MatchInvalid,
                "Must be in a valid format.",
                None,
            ));
        }
        if upload.size_bytes > max_size {
            let file = cut(&upload.original_name, QUOTED_NAME_BYTES_MAX);
            return Some(field_error(
                ValidationCode::FileSizeLimit,
                format!(
                    "Failed to upload {file} - the maximum allowed file size is {max_size} bytes."
                ),
                Some(json!({"file": file, "maxSize": max_size})),
            ));
        }
        if !mime::allowed(&upload.content_type, mime_types) {
            return Some(field_error(
                ValidationCode::InvalidMimeType,
                format!(
                    "{:?} mime type must be one of: {}.",
                    upload.name,
                    mime_types.join(", ")
                ),
                None,
            ));
        }
    }
    None
}

/// `^[^./\\][^/\\]+$`: no leading dot or slash, no slashes at all, two bytes at least.
fn name_is_safe(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && !matches!(bytes[0], b'.' | b'/' | b'\\')
        && !bytes.iter().any(|byte| matches!(byte, b'/' | b'\\'))
}

fn cut(text: &str, bytes_max: usize) -> String {
    let mut end = text.len().min(bytes_max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// The `@files` entries a document's file fields name: kept from `stored_files` (the
/// record's entries before this write) or new from `uploads`. `None` when it names none.
/// A new entry records `now` as the file's modification time, the same on every node, and
/// when `in_bucket` that its blob goes to the S3 bucket (`"store": "s3"`).
pub fn files_entries(
    fields: &[Field],
    doc: &Map<String, Value>,
    stored_files: Option<&Map<String, Value>>,
    uploads: &Uploads,
    now: &str,
    in_bucket: bool,
) -> Option<Map<String, Value>> {
    let mut entries = Map::new();
    let uploaded: BTreeMap<&str, &Upload> = uploads
        .values()
        .flatten()
        .map(|upload| (upload.name.as_str(), upload))
        .collect();
    for field in fields
        .iter()
        .filter(|field| matches!(field.kind, FieldKind::File { .. }))
    {
        for name in names(doc.get(&field.name).unwrap_or(&Value::Null)) {
            let entry = match uploaded.get(name.as_str()) {
                Some(upload) => {
                    let mut entry = json!({
                        "blob": upload.blob,
                        "size": upload.size_bytes,
                        "type": upload.content_type,
                        "modified": now,
                    });
                    if in_bucket {
                        entry["store"] = BUCKET_STORE.into();
                    }
                    entry
                }
                None => match stored_files.and_then(|files| files.get(&name)) {
                    Some(entry) => entry.clone(),
                    None => continue,
                },
            };
            entries.insert(name, entry);
        }
    }
    (!entries.is_empty()).then_some(entries)
}

#[cfg(test)]
mod tests;
