//! `PUT /api/collections/import`: create or update many collections, and optionally delete
//! the ones not named, as ONE replicated batch: every replica applies all of it or none.

use edgebase_model::ValidationCode;
use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::Collection;
use edgebase_storage::{CollectionExpect, Command, CommandResult, Rejection};
use serde_json::{json, Map, Value};

use crate::access::Superuser;
use crate::consistency::with_index;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::Body;
use edgebase_model::collection_schema;
use edgebase_model::ids;
use edgebase_model::time;
use edgebase_service::app::{App, LoadedCollection, Settled};
use edgebase_service::collections::{collection_exists, encode};

/// Most collections one import may carry.
const IMPORT_COLLECTIONS_MAX: usize = 1_000;

const LOAD_FAILED: &str = "An error occurred while loading the submitted data.";
const IMPORT_FAILED: &str = "Failed to import collections.";

struct ImportForm {
    collections: Vec<Map<String, Value>>,
    delete_missing: bool,
}

fn parse_form(body: &[u8]) -> Result<ImportForm, ApiError> {
    let Ok(Value::Object(mut form)) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::bad_request(LOAD_FAILED));
    };
    let delete_missing = match form.remove("deleteMissing") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => flag,
        Some(_) => return Err(ApiError::bad_request(LOAD_FAILED)),
    };
    let collections = match form.remove("collections") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(ApiError::bad_request(LOAD_FAILED)),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::bad_request(LOAD_FAILED)),
    };
    if collections.is_empty() {
        let mut data = FieldErrors::new();
        data.insert(
            "collections".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
        return Err(ApiError::validation(
            "An error occurred while validating the submitted data.",
            data,
        ));
    }
    if collections.len() > IMPORT_COLLECTIONS_MAX {
        return Err(ApiError::bad_request(format!(
            "An import may carry at most {IMPORT_COLLECTIONS_MAX} collections."
        )));
    }
    Ok(ImportForm {
        collections,
        delete_missing,
    })
}

/// PocketBase's import failure: one `collections` error whose message says what failed.
fn import_failure(message: String) -> ApiError {
    let mut data = FieldErrors::new();
    data.insert(
        "collections".into(),
        field_error(ValidationCode::CollectionsImportFailure, message, None),
    );
    ApiError::validation(IMPORT_FAILED, data)
}

/// A validation error of one collection, worded as PocketBase's import reports it.
fn invalid_collection(data: &Map<String, Value>, error: ApiError) -> ApiError {
    let name = data.get("name").and_then(Value::as_str).unwrap_or_default();
    let id = data.get("id").and_then(Value::as_str).unwrap_or_default();
    let details = serde_json::to_string_pretty(&messages_only(&Value::Object(error.data)))
        .unwrap_or_default();
    import_failure(format!(
        "Data validations failed for collection {name:?} ({id}):\n{details}."
    ))
}

/// `{"name": {"code": .., "message": "Must be ..."}}` as `{"name": "must be ..."}`.
fn messages_only(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(message) = map.get("message").and_then(Value::as_str) {
                if map.contains_key("code") {
                    let trimmed = message.trim_end_matches('.');
                    let mut chars = trimmed.chars();
                    let lowered = chars
                        .next()
                        .map(|first| first.to_lowercase().chain(chars).collect::<String>())
                        .unwrap_or_default();
                    return Value::String(lowered);
                }
            }
            Value::Object(
                map.iter()
                    .map(|(key, inner)| (key.clone(), messages_only(inner)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// The imported definition laid over an existing collection: imported keys replace, and
/// fields the import leaves out stay (unless `deleteMissing`, which keeps only system ones).
fn over_existing(
    current: &Collection,
    mut data: Map<String, Value>,
    delete_missing: bool,
) -> Map<String, Value> {
    if delete_missing && !data.contains_key("fields") {
        data.insert("fields".into(), json!([]));
    }
    if let Some(Value::Array(fields)) = data.get_mut("fields") {
        for existing in &current.fields {
            if delete_missing && !existing.system {
                continue;
            }
            let same_id = fields
                .iter()
                .any(|field| field.get("id").and_then(Value::as_str) == Some(&existing.id));
            if same_id {
                continue;
            }
            // A field imported under the same name and type keeps the existing id, so its
            // values are not taken for a new field's.
            let same_name = fields.iter_mut().find(|field| {
                field.get("name").and_then(Value::as_str) == Some(&existing.name)
                    && field.get("type").and_then(Value::as_str) == Some(existing.kind.type_name())
            });
            match same_name {
                Some(field) => {
                    if let Some(field) = field.as_object_mut() {
                        field.insert("id".into(), json!(existing.id));
                    }
                }
                None => {
                    if let Ok(value) = serde_json::to_value(existing) {
                        fields.push(value);
                    }
                }
            }
        }
    }
    data
}

/// The id a collection of the import will have: the given one, or the one derived from its
/// type and name.
fn import_id(data: &Map<String, Value>) -> String {
    match data.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => {
            let kind = data.get("type").and_then(Value::as_str).unwrap_or("base");
            let name = data.get("name").and_then(Value::as_str).unwrap_or_default();
            ids::collection_id(kind, name)
        }
    }
}

fn to_bytes(data: &Map<String, Value>) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(data).map_err(|_| ApiError::internal())
}

/// The commands of one import attempt against the collections as they are now.
fn plan(app: &App, form: &ImportForm) -> Result<Vec<Command>, ApiError> {
    let now = time::now_string();
    let mut deletes = Vec::new();
    let mut puts = Vec::new();
    let mut imported: HashSet<String> = HashSet::new();
    // Relations may point at collections this same import creates.
    let importing: HashSet<String> = form.collections.iter().map(import_id).collect();
    let known = collection_exists(app);
    let exists = |id: &str| importing.contains(id) || known(id);
    for data in &form.collections {
        let identifier = match data.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => data
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        let existing: Option<LoadedCollection> = if identifier.is_empty() {
            None
        } else {
            app.collection(&identifier)?
        };
        let (collection, expect) = match existing {
            Some(current) => {
                let merged = over_existing(&current.collection, data.clone(), form.delete_missing);
                let collection = collection_schema::patched_collection(
                    &current.collection,
                    &to_bytes(&merged)?,
                    &now,
                    &exists,
                )
                .map_err(|error| invalid_collection(data, error.into()))?;
                (collection, CollectionExpect::Version(current.version))
            }
            None => {
                let mut collection =
                    collection_schema::new_collection(&to_bytes(data)?, &now, &exists)
                        .map_err(|error| invalid_collection(data, error.into()))?;
                if let Some(id) = data
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                {
                    collection.id = id.to_string();
                }
                (collection, CollectionExpect::Absent)
            }
        };
        edgebase_service::collection_checks::check(
            app,
            &collection,
            "Failed to import collections.",
        )
        .map_err(|error| invalid_collection(data, error.into()))?;
        imported.insert(collection.id.clone());
        puts.push(Command::PutCollection {
            collection: encode(&collection)?,
            expect,
        });
    }
    if form.delete_missing {
        for existing in app.collections()? {
            let collection = &existing.collection;
            if !collection.system && !imported.contains(&collection.id) {
                deletes.push(Command::DeleteCollection {
                    collection_id: collection.id.clone(),
                });
            }
        }
    }
    // Deletes go first, so a deleted collection's name may be reused by the import.
    deletes.extend(puts);
    Ok(deletes)
}

fn names_in(commands: &[Command], position: u32) -> String {
    match commands.get(position as usize) {
        Some(Command::PutCollection { collection, .. }) => collection.name.clone(),
        Some(Command::DeleteCollection { collection_id }) => collection_id.clone(),
        _ => String::new(),
    }
}

pub async fn import(
    State(app): State<App>,
    _superuser: Superuser,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let form = parse_form(&body)?;
    let (app_ref, form) = (&app, &form);
    app.propose_planned(
        "The collections changed concurrently during the import; retry.",
        move || async move {
            let commands = plan(app_ref, form)?;
            Ok((Command::Batch(commands.clone()), commands))
        },
        |commands, outcome| match outcome.result {
            CommandResult::Applied { .. } => {
                Ok(Settled::Done(with_index(
                    StatusCode::NO_CONTENT.into_response(),
                    outcome.index,
                )))
            }
            CommandResult::Rejected(Rejection::InBatch { position, reason }) => match *reason {
                Rejection::CollectionNameTaken | Rejection::CollectionExists => {
                    Err(import_failure(format!(
                        "Failed to import the collections configuration. Raw error:\nfailed to save collection {:?}: the collection name or id is already taken.",
                        names_in(&commands, position)
                    )))
                }
                Rejection::MigrationTooLarge {
                    records,
                    records_max,
                } => {
                    Err(import_failure(format!(
                        "Failed to import the collections configuration. Raw error:\nfailed to save collection {:?}: it holds {records} records, more than the {records_max} one update may migrate.",
                        names_in(&commands, position)
                    )))
                }
                Rejection::UniqueViolation { index, .. } | Rejection::InvalidIndex { index, .. } => {
                    Err(import_failure(format!(
                        "Failed to import the collections configuration. Raw error:\nfailed to save collection {:?}: index {index} cannot be built over the existing records.",
                        names_in(&commands, position)
                    )))
                }
                other => {
                    // A collection changed between planning and applying: plan again.
                    tracing::debug!(?other, "collections changed during import; retrying");
                    Ok(Settled::Replan)
                }
            },
            CommandResult::Rejected(Rejection::TooManyCreates { commands_max }) => {
                Err(import_failure(format!(
                    "Failed to import the collections configuration. Raw error:\none import may create at most {commands_max} collections."
                )))
            }
            CommandResult::Rejected(rejection) => {
                tracing::error!(?rejection, "unexpected rejection importing collections");
                Err(ApiError::internal())
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_match_pocketbase() {
        for (body, message) in [
            ("[1]", LOAD_FAILED),
            (r#"{"collections":"x"}"#, LOAD_FAILED),
            (r#"{"collections":[1]}"#, LOAD_FAILED),
            (
                r#"{"collections":[]}"#,
                "An error occurred while validating the submitted data.",
            ),
            (
                "{}",
                "An error occurred while validating the submitted data.",
            ),
        ] {
            let error = parse_form(body.as_bytes()).err().expect(body);
            assert_eq!(error.message, message, "{body}");
        }
    }

    #[test]
    fn validation_messages_are_lowered_like_pocketbase() {
        let data = json!({"name": {"code": "validation_match_invalid", "message": "Must be in a valid format."}});
        assert_eq!(
            messages_only(&data),
            json!({"name": "must be in a valid format"})
        );
    }
}
