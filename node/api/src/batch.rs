//! `POST /api/batch`: several record writes as ONE replicated command. Each request is
//! planned as if the earlier ones had been applied (`record_writes::Pending`); all plans go
//! to the leader as one `Command::Batch`, so every replica applies all of them or none.
//! Off until a superuser enables it in the settings, as in PocketBase.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_model::ValidationCode;
use edgebase_storage::{Command, CommandResult, Rejection};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::conditional::if_match;
use crate::consistency::{with_index, Fresh};
use crate::error::{field_error, ApiError, FieldErrors};
use crate::files::batch_body::read_batch_body;
use crate::idempotency;
use edgebase_model::fields::file::Uploads;
use edgebase_model::fields_param::FieldsPicker;
use edgebase_model::record_values::NO_UPLOADS;
use edgebase_service::app::{App, LoadedCollection, Settled};
use edgebase_service::caller::Caller;
use edgebase_service::error::ServiceError;
use edgebase_service::expand::Expander;
use edgebase_service::files;
use edgebase_service::idempotency::Prior;
use edgebase_service::precondition::VersionPrecondition;
use edgebase_service::record_writes::{
    too_many_creates, Answer, Pending, Planned, Planner, Verdict,
};
use edgebase_storage::idempotency::IdempotencyEntry;
use std::collections::BTreeMap;

/// One request of a batch, in PocketBase's shape.
#[derive(Debug, Clone, Deserialize)]
struct BatchRequest {
    #[serde(default)]
    method: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    body: Option<Map<String, Value>>,
    /// The request's own headers (the JS SDK's `headers`); only `If-Match` means anything.
    #[serde(default)]
    headers: Option<Map<String, Value>>,
}

impl BatchRequest {
    /// The request's `If-Match`, read as a request's own header is (`conditional::if_match`).
    fn precondition(&self) -> Result<Option<VersionPrecondition>, ApiError> {
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers.iter().flatten() {
            if !name.eq_ignore_ascii_case("if-match") {
                continue;
            }
            let value = value
                .as_str()
                .and_then(|text| HeaderValue::from_str(text).ok())
                .ok_or_else(|| ApiError::bad_request("Invalid If-Match header."))?;
            headers.append(header::IF_MATCH, value);
        }
        if_match(&headers)
    }
}

#[derive(Debug, Deserialize)]
struct BatchForm {
    #[serde(default)]
    requests: Option<Vec<BatchRequest>>,
}

/// What a batch request asks for, read off its method and URL.
enum Action {
    Create { collection: String },
    Upsert { collection: String },
    Update { collection: String, id: String },
    Delete { collection: String, id: String },
}

fn parse_action(method: &str, url: &str) -> Option<(Action, String)> {
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, query.to_string()),
        None => (url, String::new()),
    };
    let rest = path.strip_prefix("/api/collections/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let segment_ok = |text: &str| !text.is_empty();
    let action = match (method.to_ascii_uppercase().as_str(), parts.as_slice()) {
        ("POST", [collection, "records"]) if segment_ok(collection) => Action::Create {
            collection: collection.to_string(),
        },
        ("PUT", [collection, "records"]) if segment_ok(collection) => Action::Upsert {
            collection: collection.to_string(),
        },
        ("PATCH", [collection, "records", id]) if segment_ok(collection) && segment_ok(id) => {
            Action::Update {
                collection: collection.to_string(),
                id: id.to_string(),
            }
        }
        ("DELETE", [collection, "records", id]) if segment_ok(collection) && segment_ok(id) => {
            Action::Delete {
                collection: collection.to_string(),
                id: id.to_string(),
            }
        }
        _ => return None,
    };
    Some((action, query))
}

/// PocketBase's answer when request `index` of a batch failed with `error`.
fn batch_failed(index: usize, error: ApiError) -> ApiError {
    let response = json!({
        "status": error.status.as_u16(),
        "message": error.message,
        "data": error.data,
    });
    let mut requests = Map::new();
    requests.insert(
        index.to_string(),
        json!({
            "code": "batch_request_failed",
            "message": "Batch request failed.",
            "response": response,
        }),
    );
    let mut data = FieldErrors::new();
    data.insert("requests".into(), Value::Object(requests));
    ApiError::validation("Batch transaction failed.", data)
}

/// The batch's JSON (the body, or a multipart body's `@jsonPayload`).
fn read_form(body: &[u8]) -> Result<BatchForm, ApiError> {
    const READ_FAILED: &str = "Failed to read the submitted batch data.";
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BatchForm { requests: None });
    }
    serde_json::from_slice(body).map_err(|_| ApiError::bad_request(READ_FAILED))
}

fn validate(form: BatchForm, max_requests: usize) -> Result<Vec<BatchRequest>, ApiError> {
    let requests = form.requests.unwrap_or_default();
    let error = if requests.is_empty() {
        Some(field_error(
            ValidationCode::Required,
            "Cannot be blank.",
            None,
        ))
    } else if requests.len() > max_requests {
        Some(field_error(
            ValidationCode::LengthTooLong,
            format!("The length must be no more than {max_requests}."),
            Some(json!({ "max": max_requests, "min": 0 })),
        ))
    } else {
        None
    };
    match error {
        Some(error) => {
            let mut data = FieldErrors::new();
            data.insert("requests".into(), error);
            Err(ApiError::validation("Invalid batch request data.", data))
        }
        None => Ok(requests),
    }
}

/// One planned request: its plan, where its commands sit in the batch, and its URL query.
struct PlannedRequest {
    loaded: LoadedCollection,
    planned: Planned,
    first_command: usize,
    query: String,
}

async fn plan_all(
    app: &App,
    caller: &Caller,
    requests: &[BatchRequest],
    uploads: &BTreeMap<usize, Uploads>,
) -> Result<Vec<PlannedRequest>, ApiError> {
    let mut pending = Pending::default();
    let mut plans = Vec::with_capacity(requests.len());
    let mut commands_so_far = 0;
    for (index, request) in requests.iter().enumerate() {
        let request_uploads = uploads.get(&index).unwrap_or(&NO_UPLOADS);
        let planned = plan_one(app, caller, &pending, request, request_uploads)
            .await
            .map_err(|error| batch_failed(index, error))?;
        // Only a batch whose files a majority of voters hold may be proposed.
        files::replicate_uploads(app, &planned.1, request_uploads).await?;
        pending.absorb(&planned.1);
        let count = planned.1.commands.len();
        plans.push(PlannedRequest {
            loaded: planned.0,
            planned: planned.1,
            first_command: commands_so_far,
            query: planned.2,
        });
        commands_so_far += count;
    }
    Ok(plans)
}

async fn plan_one(
    app: &App,
    caller: &Caller,
    pending: &Pending,
    request: &BatchRequest,
    uploads: &Uploads,
) -> Result<(LoadedCollection, Planned, String), ApiError> {
    let Some((action, query)) = parse_action(&request.method, &request.url) else {
        // PocketBase answers an action it has no route for with its generic 400.
        return Err(ApiError::invalid_body());
    };
    let precondition = request.precondition()?;
    let planner = Planner {
        app,
        caller,
        pending,
        uploads,
        precondition: precondition.as_ref(),
    };
    let mut body = request.body.clone().unwrap_or_default();
    // A request's files take the place of the same key in its JSON body.
    for key in uploads.keys() {
        body.remove(key);
    }
    let collection_of = |name: &str| {
        app.collection(name)?
            .ok_or_else(ApiError::missing_collection)
    };
    let (loaded, planned) = match action {
        Action::Create { collection } => {
            let loaded = collection_of(&collection)?;
            let planned = planner.create(&loaded, &body).await?;
            (loaded, planned)
        }
        Action::Upsert { collection } => {
            let loaded = collection_of(&collection)?;
            let id = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let planned = if !id.is_empty() && planner.exists(&loaded.collection.id, &id)? {
                planner.update(&loaded, &id, &body).await?
            } else {
                planner.create(&loaded, &body).await?
            };
            (loaded, planned)
        }
        Action::Update { collection, id } => {
            let loaded = collection_of(&collection)?;
            let planned = planner.update(&loaded, &id, &body).await?;
            (loaded, planned)
        }
        Action::Delete { collection, id } => {
            let loaded = collection_of(&collection)?;
            let planned = planner.delete(&loaded, &id).await?;
            (loaded, planned)
        }
    };
    Ok((loaded, planned, query))
}

/// What one applied request answers before its record is expanded and picked: its status
/// and record (none for a delete). This is what a keyed batch keeps for replay.
fn plain_result(planned: &Planned) -> (StatusCode, Option<&Map<String, Value>>) {
    match &planned.answer {
        Answer::NoContent => (StatusCode::NO_CONTENT, None),
        Answer::Record(record) => (StatusCode::OK, Some(record)),
    }
}

/// One request's answer, `{"body": .., "status": ..}`: its record expanded and picked as its
/// URL's `expand` and `fields` say.
fn shaped_result(
    app: &App,
    caller: &Caller,
    loaded: &LoadedCollection,
    query: &str,
    status: StatusCode,
    record: Option<Map<String, Value>>,
) -> Result<Value, ApiError> {
    let body = match record {
        None => Value::Null,
        Some(record) => {
            let mut record = [record];
            let params: Map<String, Value> = url_params(query);
            if let Some(expand) = params.get("expand").and_then(Value::as_str) {
                Expander::new(app, caller).expand(&loaded.collection, &mut record, expand)?;
            }
            let [mut record] = record;
            if let Some(fields) = params.get("fields").and_then(Value::as_str) {
                if let Some(picker) = FieldsPicker::parse(fields)? {
                    picker.apply(&mut record);
                }
            }
            Value::Object(record)
        }
    };
    Ok(json!({ "body": body, "status": status.as_u16() }))
}

/// The answer of one applied request.
fn result_of(app: &App, caller: &Caller, planned: &PlannedRequest) -> Result<Value, ApiError> {
    let (status, record) = plain_result(&planned.planned);
    shaped_result(
        app,
        caller,
        &planned.loaded,
        &planned.query,
        status,
        record.cloned(),
    )
}

/// The answers a keyed batch keeps: each request's status and plain record.
fn kept_answer(plans: &[PlannedRequest]) -> Result<Vec<u8>, ApiError> {
    let kept: Vec<Value> = plans
        .iter()
        .map(|plan| {
            let (status, record) = plain_result(&plan.planned);
            json!({"status": status.as_u16(), "body": record})
        })
        .collect();
    serde_json::to_vec(&kept)
        .map_err(|error| ServiceError::internal_from("encode a batch's answer", error).into())
}

/// A keyed batch's first answer again, each record expanded and picked as its request asks.
fn replay(
    app: &App,
    caller: &Caller,
    requests: &[BatchRequest],
    entry: &IdempotencyEntry,
) -> Result<Response, ApiError> {
    let kept: Vec<Value> = serde_json::from_slice(&entry.answer.body)
        .map_err(|error| ServiceError::internal_from("decode a kept batch answer", error))?;
    let mut results = Vec::with_capacity(kept.len());
    for (request, answer) in requests.iter().zip(kept) {
        let (collection, query) = match parse_action(&request.method, &request.url) {
            Some((
                Action::Create { collection }
                | Action::Upsert { collection }
                | Action::Update { collection, .. }
                | Action::Delete { collection, .. },
                query,
            )) => (collection, query),
            None => return Err(ApiError::internal()),
        };
        let loaded = app
            .collection(&collection)?
            .ok_or_else(ApiError::missing_collection)?;
        let status = answer["status"]
            .as_u64()
            .and_then(|status| u16::try_from(status).ok())
            .and_then(|status| StatusCode::from_u16(status).ok())
            .unwrap_or(StatusCode::OK);
        let record = match answer.get("body") {
            Some(Value::Object(record)) => Some(record.clone()),
            _ => None,
        };
        results.push(shaped_result(app, caller, &loaded, &query, status, record)?);
    }
    let body = serde_json::to_vec(&results)
        .map_err(|error| ServiceError::internal_from("encode a batch's answer", error))?;
    idempotency::replayed(entry, body)
}

fn url_params(query: &str) -> Map<String, Value> {
    let uri: Uri = match format!("/?{query}").parse() {
        Ok(uri) => uri,
        Err(_) => return Map::new(),
    };
    axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(&uri)
        .map(|axum::extract::Query(params)| {
            params
                .into_iter()
                .map(|(key, value)| (key, Value::String(value)))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn batch(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let mut settings = app.settings()?;
    if !settings.batch.enabled {
        // This node may not have applied the settings that turned batches on: refuse only
        // on state as fresh as the request.
        app.consensus()
            .linearizable_barrier()
            .await
            .map_err(ServiceError::from)?;
        settings = app.settings()?;
    }
    let max_requests = usize::try_from(settings.batch.max_requests).unwrap_or(0);
    if !settings.batch.enabled || max_requests == 0 {
        return Err(ApiError::forbidden("Batch requests are not allowed."));
    }
    let body = read_batch_body(
        app.consensus().blobs(),
        &headers,
        body,
        settings.batch_body_bytes_max(),
    )
    .await?;
    let requests = validate(read_form(&body.json)?, max_requests)?;
    let uploads = &body.uploads;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let mut uploads_fingerprint = Vec::new();
    for (index, request_uploads) in uploads {
        uploads_fingerprint.extend_from_slice(&(*index as u64).to_be_bytes());
        uploads_fingerprint.extend(idempotency::uploads_fingerprint(request_uploads));
    }
    let path = uri
        .path_and_query()
        .map_or(uri.path(), |path| path.as_str());
    let keyed = idempotency::keyed_write(
        &caller,
        &headers,
        &[
            method.as_str().as_bytes(),
            path.as_bytes(),
            &body.json,
            &uploads_fingerprint,
        ],
    )?;
    if let Some(keyed) = &keyed {
        match keyed.prior(&app)? {
            Prior::Unused => {}
            Prior::Applied(entry) => return replay(&app, &caller, &requests, &entry),
            Prior::OtherRequest => return Err(idempotency::reused()),
        }
    }
    let keyed = keyed.as_ref();
    let timeout = settings.batch_timeout();
    let (app_ref, caller_ref, requests) = (&app, &caller, &requests);
    app.propose_planned(
        "The batch's records changed concurrently too many times; retry.",
        move || async move {
            let plans =
                tokio::time::timeout(timeout, plan_all(app_ref, caller_ref, requests, uploads))
                    .await
                    .map_err(|_| {
                        ApiError::bad_request("Batch transaction failed: the batch timed out.")
                    })??;
            let commands: Vec<Command> = plans
                .iter()
                .flat_map(|plan| plan.planned.commands.iter().cloned())
                .collect();
            let command = match keyed {
                None => Command::Batch(commands),
                Some(keyed) => keyed.wrap(
                    Command::Batch(commands),
                    StatusCode::OK.as_u16(),
                    kept_answer(&plans)?,
                ),
            };
            Ok((command, plans))
        },
        |plans, outcome| match outcome.result {
            // Another attempt with this key applied first: its answer is here now.
            CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
                let keyed = keyed.ok_or_else(ApiError::internal)?;
                match keyed.prior(&app)? {
                    Prior::Applied(entry) => {
                        Ok(Settled::Done(replay(&app, &caller, requests, &entry)?))
                    }
                    Prior::OtherRequest => Err(idempotency::reused()),
                    Prior::Unused => Ok(Settled::Replan),
                }
            }
            CommandResult::Applied { .. } => {
                let results = plans
                    .iter()
                    .map(|plan| result_of(&app, &caller, plan))
                    .collect::<Result<Vec<Value>, ApiError>>()?;
                Ok(Settled::Done(with_index(
                    Json(results).into_response(),
                    outcome.index,
                )))
            }
            CommandResult::Rejected(Rejection::InBatch { position, reason }) => {
                let position = position as usize;
                let Some(index) = plans
                    .iter()
                    .rposition(|plan| plan.first_command <= position)
                else {
                    return Err(ApiError::internal());
                };
                match plans[index].planned.verdict(&reason) {
                    Verdict::Failed(error) => Err(batch_failed(index, error.into())),
                    Verdict::Stale => {
                        tracing::debug!(
                            ?reason,
                            "a batch's record changed concurrently; planning again"
                        );
                        Ok(Settled::Replan)
                    }
                }
            }
            CommandResult::Rejected(Rejection::TooManyCreates { commands_max }) => {
                Err(too_many_creates(commands_max).into())
            }
            CommandResult::Rejected(rejection) => {
                tracing::error!(?rejection, "unexpected rejection of a batch");
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
    fn actions_follow_pocketbase_routes() {
        let check = |method: &str, url: &str, expected: Option<&str>| {
            let got = parse_action(method, url).map(|(action, query)| {
                let kind = match action {
                    Action::Create { collection } => format!("create {collection}"),
                    Action::Upsert { collection } => format!("upsert {collection}"),
                    Action::Update { collection, id } => format!("update {collection} {id}"),
                    Action::Delete { collection, id } => format!("delete {collection} {id}"),
                };
                format!("{kind} ?{query}")
            });
            assert_eq!(got.as_deref(), expected, "{method} {url}");
        };
        check(
            "POST",
            "/api/collections/posts/records",
            Some("create posts ?"),
        );
        check(
            "post",
            "/api/collections/posts/records?expand=a",
            Some("create posts ?expand=a"),
        );
        check(
            "PUT",
            "/api/collections/posts/records",
            Some("upsert posts ?"),
        );
        check(
            "PATCH",
            "/api/collections/posts/records/abc",
            Some("update posts abc ?"),
        );
        check(
            "DELETE",
            "/api/collections/posts/records/abc",
            Some("delete posts abc ?"),
        );
        check("GET", "/api/collections/posts/records", None);
        check("POST", "/api/collections/posts", None);
        check("DELETE", "/api/collections/posts/records/", None);
        check("POST", "/api/batch", None);
    }

    #[test]
    fn form_errors() {
        assert_eq!(
            read_form(b"[1]").err().map(|e| e.message),
            Some("Failed to read the submitted batch data.".into())
        );
        let empty = validate(
            BatchForm {
                requests: Some(vec![]),
            },
            5,
        )
        .expect_err("empty");
        assert_eq!(empty.message, "Invalid batch request data.");
        let many = vec![
            BatchRequest {
                method: "POST".into(),
                url: "/api/collections/a/records".into(),
                body: None,
                headers: None,
            };
            6
        ];
        let error = validate(
            BatchForm {
                requests: Some(many),
            },
            5,
        )
        .expect_err("too many");
        assert_eq!(error.data["requests"]["code"], "validation_length_too_long");
    }
}
