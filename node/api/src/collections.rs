//! `/api/collections`: collection management (superusers only).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_client::wire::{Collection, FieldKind};
use edgebase_model::ValidationCode;
use edgebase_storage::{CollectionExpect, Command, CommandResult, Rejection};
use serde_json::Value;

use crate::access::{superuser_request, Superuser};
use crate::consistency::with_index;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::Body;
use crate::idempotency;
use crate::paging::ListQuery;
use edgebase_model::collection_schema;
use edgebase_model::time;
use edgebase_service::app::{App, LoadedCollection, Settled};
use edgebase_service::collection_checks;
use edgebase_service::collections::{collection_exists, encode};
use edgebase_service::idempotency::IdempotentWrite;
use edgebase_service::superusers;

/// A collection as the API shows it: secrets stay inside.
pub fn collection_for_api(collection: &Collection) -> Value {
    let mut value = serde_json::to_value(collection).unwrap_or(Value::Null);
    edgebase_model::auth_options::without_secrets(&mut value);
    value
}

/// The answer when a collection update would migrate more records than one apply may.
fn migration_too_large(records: u64, records_max: u64) -> ApiError {
    ApiError::bad_request(format!(
        "Failed to update collection: it holds {records} records, more than the {records_max} \
         one update may migrate (renamed or removed fields, new or changed indexes)."
    ))
}

fn name_exists(message: &str) -> ApiError {
    let mut data = FieldErrors::new();
    data.insert(
        "name".into(),
        field_error(
            ValidationCode::CollectionNameExists,
            "Collection name must be unique (case insensitive).",
            None,
        ),
    );
    ApiError::validation(message, data)
}

pub async fn list(
    State(app): State<App>,
    _superuser: Superuser,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if query
        .filter
        .as_deref()
        .is_some_and(|f| !f.trim().is_empty())
    {
        return Err(ApiError::bad_request(
            "Filtering collections is not supported on this version of EdgeBase.",
        ));
    }
    let page = query.page()?;
    let all = app.collections()?;
    let total = all.len() as u64;
    let items: Vec<Value> = all
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.per_page as usize)
        .map(|loaded| collection_for_api(&loaded.collection))
        .collect();
    let body = page.result(items, (!page.skip_total).then_some(total));
    // The index header is set after the read (see `consistency::index_header`).
    Ok(Json(body).into_response())
}

pub async fn view(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
) -> Result<Response, ApiError> {
    let loaded = managed_collection(&app, &headers, &id_or_name).await?;
    Ok(Json(collection_for_api(&loaded.collection)).into_response())
}

pub async fn create(
    State(app): State<App>,
    _superuser: Superuser,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = create_collection(&app, &body, keyed.as_ref()).await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

/// The create itself (the key, if any, checked already).
async fn create_collection(
    app: &App,
    body: &[u8],
    keyed: Option<&IdempotentWrite>,
) -> Result<Response, ApiError> {
    const FAILED: &str = "Failed to create collection.";
    let exists = collection_exists(app);
    let collection = collection_schema::new_collection(body, &time::now_string(), &exists)?;
    if app.collection(&collection.name)?.is_some() {
        return Err(name_exists(FAILED));
    }
    collection_checks::check(app, &collection, FAILED)?;
    let answer = collection_for_api(&collection);
    let command = idempotency::keep_answer(
        keyed,
        Command::PutCollection {
            collection: encode(&collection)?,
            expect: CollectionExpect::Absent,
        },
        StatusCode::OK,
        Some(&answer),
    )?;
    let outcome = app.propose(command).await?;
    match outcome.result {
        CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
            idempotency::answer_of_key(app, keyed)
        }
        CommandResult::Applied { .. } => Ok(with_index(
            Json(collection_for_api(&collection)).into_response(),
            outcome.index,
        )),
        CommandResult::Rejected(Rejection::CollectionExists | Rejection::CollectionNameTaken) => {
            Err(name_exists(FAILED))
        }
        CommandResult::Rejected(rejection) => {
            if let Some(error) = collection_checks::index_rejection(&collection, &rejection, FAILED)
            {
                return Err(error.into());
            }
            tracing::error!(?rejection, "unexpected rejection creating a collection");
            Err(ApiError::internal())
        }
    }
}

pub async fn update(
    State(app): State<App>,
    _superuser: Superuser,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    const FAILED: &str = "Failed to update collection.";
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let keyed = keyed.as_ref();
    let (app_ref, id_or_name, body) = (&app, &id_or_name, &body);
    let outcome = app
        .propose_planned(
            "The collection changed concurrently; retry.",
            move || async move {
                let app = app_ref;
                let current = app
                    .collection(id_or_name)?
                    .ok_or_else(ApiError::not_found)?;
                let updated = collection_schema::patched_collection(
                    &current.collection,
                    body,
                    &time::now_string(),
                    &collection_exists(app),
                )?;
                if updated.name.to_lowercase() != current.collection.name.to_lowercase()
                    && app.collection(&updated.name)?.is_some()
                {
                    return Err(name_exists(FAILED));
                }
                collection_checks::check(app, &updated, FAILED)?;
                let command = idempotency::keep_answer(
                    keyed,
                    Command::PutCollection {
                        collection: encode(&updated)?,
                        expect: CollectionExpect::Version(current.version),
                    },
                    StatusCode::OK,
                    Some(&collection_for_api(&updated)),
                )?;
                Ok((command, updated))
            },
            |updated, outcome| match outcome.result {
                CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
                    idempotency::settle_key_used(app_ref, keyed)
                }
                CommandResult::Applied { .. } => Ok(Settled::Done(with_index(
                    Json(collection_for_api(&updated)).into_response(),
                    outcome.index,
                ))),
                CommandResult::Rejected(Rejection::CollectionNameTaken) => Err(name_exists(FAILED)),
                CommandResult::Rejected(Rejection::CollectionMissing) => Err(ApiError::not_found()),
                CommandResult::Rejected(Rejection::MigrationTooLarge {
                    records,
                    records_max,
                }) => Err(migration_too_large(records, records_max)),
                CommandResult::Rejected(rejection) => {
                    match collection_checks::index_rejection(&updated, &rejection, FAILED) {
                        Some(error) => Err(error.into()),
                        None => {
                            tracing::debug!(
                                ?rejection,
                                "collection changed concurrently; retrying"
                            );
                            Ok(Settled::Replan)
                        }
                    }
                }
            },
        )
        .await;
    idempotency::or_replay(&app, keyed, outcome).await
}

pub async fn delete(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
) -> Result<Response, ApiError> {
    superuser_request(&app, &headers).await?;
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &[])?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = async {
        // The superuser and the freshness were checked above, before the key.
        let current = app
            .collection(&id_or_name)?
            .ok_or_else(ApiError::not_found)?;
        if current.collection.system {
            let mut data = FieldErrors::new();
            data.insert(
                "id".into(),
                field_error(
                    ValidationCode::SystemCollection,
                    "System collections cannot be deleted.",
                    None,
                ),
            );
            return Err(ApiError::validation("Failed to delete collection.", data));
        }
        let referencing = app.collections()?.into_iter().find(|other| {
            other.collection.id != current.collection.id
                && other.collection.fields.iter().any(|field| {
                    matches!(&field.kind, FieldKind::Relation { collection_id, .. }
                    if *collection_id == current.collection.id)
                })
        });
        if let Some(other) = referencing {
            return Err(ApiError::bad_request(format!(
                "Failed to delete collection probably due to existing reference in {}.",
                other.collection.name
            )));
        }
        apply_to_collection(
            &app,
            keyed.as_ref(),
            Command::DeleteCollection {
                collection_id: current.collection.id.clone(),
            },
        )
        .await
    }
    .await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

/// `DELETE /api/collections/{c}/truncate`: delete every record, keep the collection.
pub async fn truncate(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
) -> Result<Response, ApiError> {
    superuser_request(&app, &headers).await?;
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &[])?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = async {
    // The superuser and the freshness were checked above, before the key.
    let current = app
        .collection(&id_or_name)?
        .ok_or_else(ApiError::not_found)?;
    if current.collection.name == superusers::SUPERUSERS_NAME {
        // PocketBase keeps at least one superuser, so it refuses this with these words.
        return Err(ApiError::bad_request(
            "Failed to truncate collection (most likely due to required cascade delete record references).",
        ));
    }
    apply_to_collection(
        &app,
        keyed.as_ref(),
        Command::TruncateCollection {
            collection_id: current.collection.id.clone(),
        },
    )
    .await
    }
    .await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

/// The collection a superuser-only request names, read once the requested freshness is
/// reached.
async fn managed_collection(
    app: &App,
    headers: &HeaderMap,
    id_or_name: &str,
) -> Result<LoadedCollection, ApiError> {
    superuser_request(app, headers).await?;
    app.collection(id_or_name)?.ok_or_else(ApiError::not_found)
}

/// Propose a command on a whole collection (once, under its key if keyed): 204 once
/// applied here, 404 if it is gone.
async fn apply_to_collection(
    app: &App,
    keyed: Option<&IdempotentWrite>,
    command: Command,
) -> Result<Response, ApiError> {
    let command = idempotency::keep_answer::<serde_json::Value>(
        keyed,
        command,
        StatusCode::NO_CONTENT,
        None,
    )?;
    let outcome = app.propose(command).await?;
    match outcome.result {
        CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
            idempotency::answer_of_key(app, keyed)
        }
        CommandResult::Applied { .. } => Ok(with_index(
            StatusCode::NO_CONTENT.into_response(),
            outcome.index,
        )),
        CommandResult::Rejected(_) => Err(ApiError::not_found()),
    }
}

/// `GET /api/collections/meta/scaffolds` (superusers only).
pub async fn scaffolds(
    State(_app): State<App>,
    _superuser: Superuser,
) -> Result<Response, ApiError> {
    Ok(Json(edgebase_model::scaffolds::scaffolds()).into_response())
}

/// `GET /api/collections/meta/oauth2-providers` (superusers only): the providers an auth
/// collection can offer, with display names and logos, for the console.
pub async fn oauth2_providers(
    State(_app): State<App>,
    _superuser: Superuser,
) -> Result<Response, ApiError> {
    Ok(Json(edgebase_model::oauth2_providers::listings()).into_response())
}
