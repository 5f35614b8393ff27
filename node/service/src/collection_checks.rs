//! Checks of a collection definition that need the other collections: its index statements
//! (names unique across collections, columns that exist) and its API rules (fields and
//! relations they name; an auth collection's authRule, manageRule and MFA rule too), as
//! PocketBase checks them when a collection is saved. Also the
//! answer when applying the definition was refused (a unique index over duplicate values).

use edgebase_model::ValidationCode;
use edgebase_storage::index::{validate_indexes, IndexError};
use edgebase_storage::query::parse_filter;
use edgebase_storage::schema::CollectionSchema;
use edgebase_storage::Rejection;
use edgebase_wire::{Collection, CollectionType};
use serde_json::{json, Map, Value};

use crate::app::App;
use crate::error::{field_error, FieldErrors, ServiceError};
use edgebase_model::auth_options;

/// The rules of a collection, by their JSON names.
fn rules(collection: &Collection) -> [(&'static str, &Option<String>); 5] {
    [
        ("listRule", &collection.list_rule),
        ("viewRule", &collection.view_rule),
        ("createRule", &collection.create_rule),
        ("updateRule", &collection.update_rule),
        ("deleteRule", &collection.delete_rule),
    ]
}

/// Check `collection`'s indexes and rules against the other collections of this node.
pub fn check(app: &App, collection: &Collection, failed: &str) -> Result<(), ServiceError> {
    let doc_json = serde_json::to_string(collection)
        .map_err(|source| ServiceError::internal_from("encode a document", source))?;
    let schema = CollectionSchema::from_doc_json(&doc_json)
        .map_err(|source| ServiceError::internal_from("read a collection schema", source))?;
    let mut others = Vec::new();
    for loaded in app.collections()? {
        if loaded.collection.id == collection.id {
            continue;
        }
        let json = serde_json::to_string(&*loaded.collection)
            .map_err(|source| ServiceError::internal_from("encode a document", source))?;
        others.push(
            CollectionSchema::from_doc_json(&json).map_err(|source| {
                ServiceError::internal_from("read a collection schema", source)
            })?,
        );
    }
    let mut errors = FieldErrors::new();
    let problems = validate_indexes(&schema, &others);
    if !problems.is_empty() {
        let mut by_position = Map::new();
        for problem in problems {
            // PocketBase words every statement it cannot parse the same way; the detail
            // goes to the log.
            let message = match &problem.error {
                IndexError::Syntax(detail) => {
                    tracing::debug!(detail, "index statement does not parse");
                    "Invalid CREATE INDEX expression.".to_string()
                }
                _ => problem.message(),
            };
            by_position.insert(
                problem.position.to_string(),
                field_error(
                    ValidationCode::from_code(problem.code())
                        .unwrap_or(ValidationCode::InvalidIndexExpression),
                    message,
                    None,
                ),
            );
        }
        errors.insert("indexes".into(), Value::Object(by_position));
    }
    let rule_error = |rule: &str| {
        parse_filter(rule)
            .map_err(|error| error.to_string())
            .and_then(|expr| match expr {
                None => Ok(()),
                Some(expr) => app
                    .state()
                    .validate_filter(&doc_json, &expr)
                    .map_err(|error| error.to_string()),
            })
            .err()
            .map(|reason| {
                field_error(
                    ValidationCode::InvalidRule,
                    format!("Invalid rule. Raw error: {reason}."),
                    None,
                )
            })
    };
    for (name, rule) in rules(collection) {
        let Some(rule) = rule else { continue };
        if let Some(error) = rule_error(rule) {
            errors.insert(name.into(), error);
        }
    }
    // An auth collection: its options' shapes and its rules (who may authenticate, who
    // manages records), then, when all of that holds, PocketBase's last checks in its order.
    if collection.kind == CollectionType::Auth {
        errors.extend(auth_options::shape_errors(collection));
        for name in ["authRule", "manageRule"] {
            if errors.contains_key(name) {
                continue;
            }
            if let Some(rule) = collection.options.get(name).and_then(Value::as_str) {
                if let Some(error) = rule_error(rule) {
                    errors.insert(name.into(), error);
                }
            }
        }
        if errors.is_empty() {
            if let Some((key, error)) = auth_options::mfa_methods_error(&collection.options) {
                errors.insert(key, error);
            }
        }
        let mfa = collection.options.get("mfa");
        let mfa_rule = mfa
            .and_then(|mfa| mfa.get("rule"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mfa_enabled = mfa
            .and_then(|mfa| mfa.get("enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if errors.is_empty() && mfa_enabled && !mfa_rule.is_empty() {
            if let Some(error) = rule_error(mfa_rule) {
                errors.insert("mfa".into(), json!({ "rule": error }));
            }
        }
        if errors.is_empty() {
            if let Some((key, error)) = auth_options::identity_fields_error(collection) {
                errors.insert(key, error);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::validation(failed, errors))
    }
}

/// The answer when applying a collection write was refused because of one of its indexes
/// (existing records break a new unique index, or an index cannot be built); None for other
/// rejections.
pub fn index_rejection(
    collection: &Collection,
    rejection: &Rejection,
    failed: &str,
) -> Option<ServiceError> {
    let (index, message) = match rejection {
        Rejection::InBatch { reason, .. } => return index_rejection(collection, reason, failed),
        Rejection::UniqueViolation { index, columns } => {
            let columns: Vec<String> = columns
                .iter()
                .map(|column| format!("{}.{column}", collection.name))
                .collect();
            (
                index.clone(),
                format!(
                    "Failed to create index {index} - constraint failed: UNIQUE constraint failed: {} (2067).",
                    columns.join(", ")
                ),
            )
        }
        Rejection::InvalidIndex { index, message } => (
            index.clone(),
            format!("Failed to create index {index} - {message}."),
        ),
        _ => return None,
    };
    let position = collection
        .indexes
        .iter()
        .position(|sql| sql.contains(&index))
        .unwrap_or(0);
    let mut data = FieldErrors::new();
    data.insert(
        "indexes".into(),
        json!({ position.to_string(): field_error(ValidationCode::InvalidIndexExpression, message, None) }),
    );
    Some(ServiceError::validation(failed, data))
}
