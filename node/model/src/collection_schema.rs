//! Turning a collection create or update request into a valid PocketBase-shaped definition.

use crate::ValidationCode;
use std::sync::LazyLock;

use edgebase_wire::{Collection, CollectionType, Field, FieldKind};
use regex::Regex;
use serde_json::{json, Map, Value};

use crate::fields::settings::{self, SettingsContext};
use crate::{auth_collection, auth_options, ids};
use crate::{field_error, FieldErrors, ModelError};

/// Longest collection or field name.
const NAME_LENGTH_MAX: usize = 255;
/// Longest field name.
const FIELD_NAME_LENGTH_MAX: usize = 100;
/// Most fields a collection may have.
const FIELDS_MAX: usize = 1_000;
/// Field names a record's JSON uses for itself.
const RESERVED_FIELD_NAMES: &[&str] = &["collectionId", "collectionName", "expand"];

static NAME_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_]+$").expect("static pattern"));

/// Parse the body of `POST /api/collections` into a new collection, stamped `now`.
/// `collection_exists` answers whether a collection id exists (for relation fields).
pub fn new_collection(
    body: &[u8],
    now: &str,
    collection_exists: &dyn Fn(&str) -> bool,
) -> Result<Collection, ModelError> {
    let object = parse_object(body)?;
    let mut collection = deserialize(Value::Object(object))?;
    collection.id = ids::collection_id(collection.kind.as_str(), &collection.name);
    collection.system = false;
    collection.created = now.to_string();
    collection.updated = now.to_string();
    let errors = match collection.kind {
        CollectionType::Auth => auth_options_errors(auth_collection::prepare_new(&mut collection))?,
        _ => FieldErrors::new(),
    };
    finish(
        &mut collection,
        None,
        errors,
        collection_exists,
        "Failed to create collection.",
    )?;
    Ok(collection)
}

/// Apply the body of `PATCH /api/collections/{c}` to `current`: given keys replace the
/// current ones (`fields`, when given, is the whole new field list).
pub fn patched_collection(
    current: &Collection,
    body: &[u8],
    now: &str,
    collection_exists: &dyn Fn(&str) -> bool,
) -> Result<Collection, ModelError> {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(body) else {
        return Err(ModelError::bad_request(
            "Failed to load the submitted data due to invalid formatting.",
        ));
    };
    let encoded = serde_json::to_value(current).map_err(|source| ModelError::Encode {
        what: "collection",
        source,
    })?;
    let Value::Object(mut merged) = encoded else {
        unreachable!("a Collection serialises to a JSON object");
    };
    for (key, value) in patch {
        match key.as_str() {
            // Identity and bookkeeping are not the client's to change.
            "id" | "created" | "updated" | "system" => {}
            "type" if value != json!(current.kind.as_str()) => {
                let mut data = FieldErrors::new();
                data.insert(
                    "type".into(),
                    field_error(
                        ValidationCode::CollectionTypeChange,
                        "Collection type cannot be changed.",
                        None,
                    ),
                );
                return Err(ModelError::validation("Failed to update collection.", data));
            }
            _ => {
                merged.insert(key, value);
            }
        }
    }
    let mut collection = deserialize(Value::Object(merged))?;
    collection.id = current.id.clone();
    collection.system = current.system;
    collection.created = current.created.clone();
    collection.updated = now.to_string();
    if current.system && collection.name != current.name {
        let mut data = FieldErrors::new();
        data.insert(
            "name".into(),
            field_error(
                ValidationCode::CollectionSystemNameChange,
                "System collection name cannot be changed.",
                None,
            ),
        );
        return Err(ModelError::validation("Failed to update collection.", data));
    }
    let errors = match collection.kind {
        CollectionType::Auth => {
            auth_options_errors(auth_collection::prepare_update(&mut collection, current))?
        }
        _ => FieldErrors::new(),
    };
    finish(
        &mut collection,
        Some(&current.fields),
        errors,
        collection_exists,
        "Failed to update collection.",
    )?;
    Ok(collection)
}

/// An auth collection's option errors to merge with the others, or the format error.
fn auth_options_errors(outcome: Result<(), FieldErrors>) -> Result<FieldErrors, ModelError> {
    match outcome {
        Ok(()) => Ok(FieldErrors::new()),
        Err(errors) if auth_options::is_format_error(&errors) => Err(ModelError::bad_request(
            "Failed to load the submitted data due to invalid formatting.",
        )),
        Err(errors) => Ok(errors),
    }
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ModelError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ModelError::bad_request(
            "Failed to load the collection type data due to invalid formatting.",
        )),
    }
}

fn deserialize(value: Value) -> Result<Collection, ModelError> {
    serde_json::from_value(value).map_err(|_| {
        ModelError::bad_request("Failed to load the submitted data due to invalid formatting.")
    })
}

/// Validate and normalise: names, the system `id` field, field ids and options,
/// unsupported features. `previous` is the field list before an update. An auth
/// collection's option errors (`option_errors`) are reported here only with other errors;
/// alone, `api::collection_checks` reports them with the rules, as PocketBase reports them
/// together.
fn finish(
    collection: &mut Collection,
    previous: Option<&[Field]>,
    option_errors: FieldErrors,
    collection_exists: &dyn Fn(&str) -> bool,
    message: &str,
) -> Result<(), ModelError> {
    let mut errors = FieldErrors::new();
    if let Some(error) = name_error(&collection.name) {
        errors.insert("name".into(), error);
    }
    if collection.kind == CollectionType::View {
        errors.insert(
            "type".into(),
            field_error(
                ValidationCode::UnsupportedCollectionType,
                "View collections cannot be created on this version of EdgeBase.",
                None,
            ),
        );
    }
    let fields = std::mem::take(&mut collection.fields);
    // A collection is not yet there while it is being created, so it cannot relate to
    // itself until an update (as in PocketBase).
    let context = SettingsContext { collection_exists };
    match normalise_fields(fields, previous, &context) {
        Ok(fields) => collection.fields = fields,
        Err(field_errors) => {
            errors.insert("fields".into(), Value::Object(field_errors));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.extend(option_errors);
        Err(ModelError::validation(message, errors))
    }
}

fn name_error(name: &str) -> Option<Value> {
    if name.is_empty() {
        Some(field_error(
            ValidationCode::Required,
            "Cannot be blank.",
            None,
        ))
    } else if name.len() > NAME_LENGTH_MAX {
        Some(field_error(
            ValidationCode::LengthTooLong,
            format!("The length must be no more than {NAME_LENGTH_MAX}."),
            Some(json!({ "max": NAME_LENGTH_MAX })),
        ))
    } else if !NAME_PATTERN.is_match(name) {
        Some(field_error(
            ValidationCode::MatchInvalid,
            "Must be in a valid format.",
            None,
        ))
    } else {
        None
    }
}

/// A field name's error: PocketBase allows 1 to 100 word characters.
fn field_name_error(name: &str) -> Option<Value> {
    if name.is_empty() {
        Some(field_error(
            ValidationCode::Required,
            "Cannot be blank.",
            None,
        ))
    } else if name.chars().count() > FIELD_NAME_LENGTH_MAX {
        Some(field_error(
            ValidationCode::LengthOutOfRange,
            format!("The length must be between 1 and {FIELD_NAME_LENGTH_MAX}."),
            Some(json!({ "min": 1, "max": FIELD_NAME_LENGTH_MAX })),
        ))
    } else if !NAME_PATTERN.is_match(name) {
        Some(field_error(
            ValidationCode::MatchInvalid,
            "Must be in a valid format.",
            None,
        ))
    } else {
        None
    }
}

/// The system `id` field as PocketBase defines it.
pub fn system_id_field() -> Field {
    Field {
        id: ids::field_id("text", "id"),
        name: "id".into(),
        help: String::new(),
        hidden: false,
        presentable: false,
        required: true,
        system: true,
        kind: FieldKind::Text {
            min: 15,
            max: 15,
            pattern: "^[a-z0-9]+$".into(),
            autogenerate_pattern: "[a-z0-9]{15}".into(),
            primary_key: true,
        },
    }
}

/// Give fields their ids, put the system `id` field first, and merge fields that share an
/// id or a name (the later definition wins, as in PocketBase); then check each field's
/// options. Errors are keyed by the field's position in the resulting list.
fn normalise_fields(
    fields: Vec<Field>,
    previous: Option<&[Field]>,
    context: &SettingsContext<'_>,
) -> Result<Vec<Field>, Map<String, Value>> {
    let mut errors = Map::new();
    if fields.len() > FIELDS_MAX {
        errors.insert(
            "0".into(),
            field_error(
                ValidationCode::TooManyFields,
                format!("A collection may have at most {FIELDS_MAX} fields."),
                None,
            ),
        );
        return Err(errors);
    }
    let mut out: Vec<Field> = vec![system_id_field()];
    for mut field in fields {
        if field.name == "id" && matches!(field.kind, FieldKind::Text { .. }) {
            // The primary key keeps its role and stays visible; its text options are taken
            // as given (missing ones are zero), and an empty pattern is the default one.
            let id_field = &mut out[0];
            id_field.presentable = field.presentable;
            id_field.help = field.help;
            if let FieldKind::Text {
                min,
                max,
                pattern,
                autogenerate_pattern,
                ..
            } = field.kind
            {
                let default_pattern = match &id_field.kind {
                    FieldKind::Text { pattern, .. } => pattern.clone(),
                    _ => String::new(),
                };
                id_field.kind = FieldKind::Text {
                    min,
                    max,
                    pattern: if pattern.is_empty() {
                        default_pattern
                    } else {
                        pattern
                    },
                    autogenerate_pattern,
                    primary_key: true,
                };
            }
            continue;
        }
        if field.id.is_empty() {
            // A field without an id takes the id of an earlier one of its name (so the
            // later definition replaces it), else one derived from its type and name.
            field.id = out
                .iter()
                .skip(1)
                .find(|existing| existing.name == field.name)
                .map(|existing| existing.id.clone())
                .unwrap_or_else(|| ids::field_id(field.kind.type_name(), &field.name));
        }
        settings::normalise(&mut field);
        match out.iter().position(|existing| existing.id == field.id) {
            Some(index) => out[index] = field,
            None => out.push(field),
        }
    }
    if let Some(previous) = previous {
        let kept = |old: &Field| {
            out.iter()
                .any(|field| field.id == old.id && field.name == old.name)
        };
        if previous
            .iter()
            .any(|old| old.system && old.name != "id" && !kept(old))
        {
            let error = field_error(
                ValidationCode::SystemFieldChange,
                "System fields cannot be deleted or renamed.",
                None,
            );
            return Err(error.as_object().cloned().unwrap_or_default());
        }
    }
    let mut primary_keys = 0;
    for (index, field) in out.iter().enumerate() {
        let old = previous.and_then(|previous| previous.iter().find(|old| old.id == field.id));
        if old.is_some_and(|old| old.kind.type_name() != field.kind.type_name()) {
            errors.insert(
                index.to_string(),
                field_error(
                    ValidationCode::FieldTypeChange,
                    "Field type cannot be changed.",
                    None,
                ),
            );
            continue;
        }
        if matches!(
            field.kind,
            FieldKind::Text {
                primary_key: true,
                ..
            }
        ) {
            primary_keys += 1;
        }
        let mut field_errors = settings::validate(field, context);
        if let Some(error) = field_name_error(&field.name) {
            field_errors.insert("name".into(), error);
        } else if RESERVED_FIELD_NAMES.contains(&field.name.as_str()) {
            field_errors.insert(
                "name".into(),
                field_error(ValidationCode::NotInInvalid, "Must not be in list.", None),
            );
        } else if out[..index]
            .iter()
            .any(|earlier| earlier.name.eq_ignore_ascii_case(&field.name))
        {
            // Fields with different ids may not share a name, whatever its case.
            field_errors.insert(
                "name".into(),
                field_error(
                    ValidationCode::DuplicatedFieldName,
                    format!("Duplicated or invalid field name {}.", field.name),
                    Some(json!({ "fieldName": field.name })),
                ),
            );
        }
        if let (
            Some(FieldKind::Relation {
                collection_id: old_target,
                ..
            }),
            FieldKind::Relation { collection_id, .. },
        ) = (old.map(|old| &old.kind), &field.kind)
        {
            if old_target != collection_id {
                field_errors.insert(
                    "collectionId".into(),
                    field_error(
                        ValidationCode::FieldRelationChange,
                        "The relation collection cannot be changed.",
                        None,
                    ),
                );
            }
        }
        if !field_errors.is_empty() {
            errors.insert(index.to_string(), Value::Object(field_errors));
        }
    }
    if primary_keys > 1 {
        errors
            .entry("0")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|first| first.insert("primaryKey".into(), settings::composite_primary_key()));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: Value) -> Result<Collection, ModelError> {
        new_collection(
            body.to_string().as_bytes(),
            "2026-01-01 00:00:00.000Z",
            &|_: &str| false,
        )
    }

    #[test]
    fn create_derives_ids_and_adds_the_id_field() {
        let collection =
            create(json!({"name": "posts", "fields": [{"name": "title", "type": "text"}]}))
                .expect("valid");
        assert_eq!(collection.id, "pbc_1125843985");
        assert_eq!(collection.fields[0].name, "id");
        assert_eq!(collection.fields[1].id, "text724990059");
        assert_eq!(collection.list_rule, None);
    }

    #[test]
    fn rejects_bad_names_and_reserved_fields() {
        let cases = [
            (json!({"name": "x y"}), "name"),
            (json!({"name": ""}), "name"),
            (
                json!({"name": "ok", "fields": [{"name": "collectionId", "type": "text"}]}),
                "fields",
            ),
            (json!({"name": "ok", "type": "view"}), "type"),
            (
                json!({"name": "ok", "fields": [{"name": "f", "type": "file", "thumbs": ["1x"]}]}),
                "fields",
            ),
        ];
        for (body, key) in cases {
            let error = create(body.clone()).expect_err("invalid");
            let errors = error.field_errors();
            assert!(errors.contains_key(key), "{body}: {errors:?}");
        }
    }

    /// Read off PocketBase 0.40.6: the system fields follow the given ones, the two system
    /// indexes are named after the collection id, and every token kind gets a secret.
    #[test]
    fn auth_collections_get_system_fields_indexes_and_secrets() {
        let collection = create(json!({
            "name": "members", "type": "auth",
            "fields": [{"name": "username", "type": "text"}]
        }))
        .expect("valid");
        let names: Vec<&str> = collection.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "username",
                "password",
                "tokenKey",
                "email",
                "emailVisibility",
                "verified"
            ]
        );
        assert_eq!(
            collection.indexes,
            [
                "CREATE UNIQUE INDEX `idx_tokenKey_pbc_2620428958` ON `members` (`tokenKey`)",
                "CREATE UNIQUE INDEX `idx_email_pbc_2620428958` ON `members` (`email`) WHERE `email` != ''"
            ]
        );
        for token in crate::auth_options::TOKEN_OPTIONS {
            let secret = collection.options[token]["secret"]
                .as_str()
                .unwrap_or_default();
            assert_eq!(secret.len(), crate::auth_options::SECRET_LENGTH, "{token}");
        }
    }

    #[test]
    fn unknown_field_type_is_a_format_error() {
        let error = create(json!({"name": "ok", "fields": [{"name": "a", "type": "weird"}]}))
            .expect_err("invalid");
        assert_eq!(
            error.message(),
            "Failed to load the submitted data due to invalid formatting."
        );
    }
}
