//! `/api/collections/{collection}/records`: record CRUD and lists, PocketBase-shaped.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_storage::{Command, CommandResult, RecordExpect, Rejection, StoredRecord};
use serde_json::{Map, Value};

use crate::api::access::check_rule;
use crate::api::consistency::{read_barrier, with_index};
use crate::api::error::{field_error, ApiError, FieldErrors};
use crate::api::extract::{json_object, Body};
use crate::api::paging::ListQuery;
use crate::app::{App, LoadedCollection};
use crate::auth::password;
use crate::auth::principal::{self, Principal};
use crate::domain::record_values::{self, Document, WriteContext, Writer};
use crate::domain::time;

fn collection_context(app: &App, id_or_name: &str) -> Result<LoadedCollection, ApiError> {
    app.collection(id_or_name)?
        .ok_or_else(ApiError::missing_collection)
}

fn decode(stored: &StoredRecord) -> Result<Document, ApiError> {
    serde_json::from_str(&stored.doc_json).map_err(|error| {
        tracing::error!(%error, record = %stored.id, "decode stored record");
        ApiError::internal()
    })
}

fn unsupported_query(query: &ListQuery) -> Result<(), ApiError> {
    let given = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    for (name, value) in [
        ("filter", &query.filter),
        ("sort", &query.sort),
        ("expand", &query.expand),
        ("fields", &query.fields),
    ] {
        if given(value) {
            return Err(ApiError::bad_request(format!(
                "The `{name}` query parameter is not supported on this version of EdgeBase."
            )));
        }
    }
    Ok(())
}

pub async fn list(
    State(app): State<App>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = collection_context(&app, &collection)?;
    let principal = principal::resolve(&app, &headers)?;
    check_rule(&loaded.collection.list_rule, &principal)?;
    unsupported_query(&query)?;
    let collection = &loaded.collection;
    let page = query.page()?;
    let stored = app
        .state()
        .records_page(&collection.id, page.offset(), page.per_page)?;
    let items = stored
        .iter()
        .map(|record| {
            Ok(record_values::public_record(
                collection,
                &decode(record)?,
                principal.is_superuser(),
            ))
        })
        .collect::<Result<Vec<Map<String, Value>>, ApiError>>()?;
    let total = if page.skip_total {
        None
    } else {
        Some(app.state().count_records(&collection.id)?)
    };
    let body = page.result(items, total);
    // The index header is set after the read (see `consistency::index_header`).
    Ok(Json(body).into_response())
}

pub async fn view(
    State(app): State<App>,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = collection_context(&app, &collection)?;
    let principal = principal::resolve(&app, &headers)?;
    check_rule(&loaded.collection.view_rule, &principal)?;
    let stored = app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .ok_or_else(ApiError::not_found)?;
    let record = record_values::public_record(
        &loaded.collection,
        &decode(&stored)?,
        principal.is_superuser(),
    );
    Ok(Json(record).into_response())
}

fn check_size(app: &App, doc_json: &str) -> Result<(), ApiError> {
    if doc_json.len() > app.limits().record_bytes_max {
        return Err(ApiError::bad_request(format!(
            "The record is larger than the {} bytes a record may hold.",
            app.limits().record_bytes_max
        )));
    }
    Ok(())
}

fn written(
    loaded: &LoadedCollection,
    doc: &Document,
    principal: &Principal,
    index: u64,
) -> Response {
    let record = record_values::public_record(&loaded.collection, doc, principal.is_superuser());
    with_index(Json(record).into_response(), index)
}

fn writer(principal: &Principal) -> Writer {
    if principal.is_superuser() {
        Writer::Superuser
    } else {
        Writer::Client
    }
}

/// Relation ids are checked against this node's applied state.
fn record_lookup(app: &App) -> impl Fn(&str, &str) -> bool + '_ {
    move |collection_id: &str, record_id: &str| match app.state().record(collection_id, record_id) {
        Ok(found) => found.is_some(),
        Err(error) => {
            tracing::error!(%error, collection_id, record_id, "look up a related record");
            false
        }
    }
}

/// Replace newly given passwords (validated as plain text) by their hashes.
async fn hash_passwords(
    loaded: &LoadedCollection,
    input: &serde_json::Map<String, Value>,
    principal: &Principal,
    doc: &mut Document,
) -> Result<(), ApiError> {
    for name in record_values::passwords_to_hash(&loaded.collection, input, writer(principal)) {
        let plain = doc
            .get(&name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let hashed = password::hash(plain).await.map_err(|error| {
            tracing::error!(%error, "hash a password field");
            ApiError::internal()
        })?;
        doc.insert(name, Value::String(hashed));
    }
    Ok(())
}

pub async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = app
        .collection(&collection)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let principal = principal::resolve(&app, &headers)?;
    check_rule(&loaded.collection.create_rule, &principal)?;
    const FAILED: &str = "Failed to create record.";
    let input = json_object(&body)?;
    let mut doc = {
        let now = time::now_string();
        let lookup = record_lookup(&app);
        let context = WriteContext {
            now: &now,
            lookup: &lookup,
            writer: writer(&principal),
        };
        record_values::document_for_create(&loaded.collection, &input, &context)
            .map_err(|errors| ApiError::validation(FAILED, errors))?
    };
    hash_passwords(&loaded, &input, &principal, &mut doc).await?;
    let record_id = doc
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let doc_json = serde_json::to_string(&doc).map_err(|_| ApiError::internal())?;
    check_size(&app, &doc_json)?;
    let outcome = app
        .propose(Command::PutRecord {
            collection_id: loaded.collection.id.clone(),
            record_id,
            doc_json,
            expect: RecordExpect::Absent,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { .. } => Ok(written(&loaded, &doc, &principal, outcome.index)),
        CommandResult::Rejected(Rejection::RecordExists) => {
            let mut data = FieldErrors::new();
            data.insert(
                "id".into(),
                field_error("validation_not_unique", "Value must be unique.", None),
            );
            Err(ApiError::validation(FAILED, data))
        }
        CommandResult::Rejected(Rejection::CollectionMissing) => {
            Err(ApiError::missing_or_invalid_collection())
        }
        CommandResult::Rejected(rejection) => {
            tracing::error!(?rejection, "unexpected rejection creating a record");
            Err(ApiError::internal())
        }
    }
}

pub async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = app
        .collection(&collection)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let principal = principal::resolve(&app, &headers)?;
    check_rule(&loaded.collection.update_rule, &principal)?;
    let input = json_object(&body)?;
    for _ in 0..app.limits().write_attempts_max {
        let stored = app
            .state()
            .record(&loaded.collection.id, &record_id)?
            .ok_or_else(ApiError::not_found)?;
        let mut doc = {
            let now = time::now_string();
            let lookup = record_lookup(&app);
            let context = WriteContext {
                now: &now,
                lookup: &lookup,
                writer: writer(&principal),
            };
            record_values::document_for_update(
                &loaded.collection,
                &decode(&stored)?,
                &input,
                &context,
            )
            .map_err(|errors| ApiError::validation("Failed to update record.", errors))?
        };
        hash_passwords(&loaded, &input, &principal, &mut doc).await?;
        let doc_json = serde_json::to_string(&doc).map_err(|_| ApiError::internal())?;
        check_size(&app, &doc_json)?;
        let outcome = app
            .propose(Command::PutRecord {
                collection_id: loaded.collection.id.clone(),
                record_id: record_id.clone(),
                doc_json,
                expect: RecordExpect::Version(stored.version),
            })
            .await?;
        match outcome.result {
            CommandResult::Applied { .. } => {
                return Ok(written(&loaded, &doc, &principal, outcome.index))
            }
            CommandResult::Rejected(Rejection::RecordMissing) => return Err(ApiError::not_found()),
            CommandResult::Rejected(Rejection::CollectionMissing) => {
                return Err(ApiError::missing_or_invalid_collection())
            }
            CommandResult::Rejected(rejection) => {
                // Someone else wrote the record since we read it: read again and re-apply.
                tracing::debug!(?rejection, "record changed concurrently; retrying");
            }
        }
    }
    Err(ApiError::unavailable(
        "The record changed concurrently too many times; retry.",
    ))
}

pub async fn delete(
    State(app): State<App>,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = collection_context(&app, &collection)?;
    let principal = principal::resolve(&app, &headers)?;
    check_rule(&loaded.collection.delete_rule, &principal)?;
    if app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .is_none()
    {
        return Err(ApiError::not_found());
    }
    let outcome = app
        .propose(Command::DeleteRecord {
            collection_id: loaded.collection.id.clone(),
            record_id,
            expect: RecordExpect::Exists,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { .. } => Ok(with_index(
            StatusCode::NO_CONTENT.into_response(),
            outcome.index,
        )),
        CommandResult::Rejected(_) => Err(ApiError::not_found()),
    }
}
