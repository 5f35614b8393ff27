//! `/api/collections/{collection}/records`: record CRUD and lists, PocketBase-shaped, with
//! filters, sorts, expands and API rules.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_service::rules::{self, Gate};
use edgebase_storage::query::{
    parse_filter, parse_sort, FilterPart, ListRequest, QueryError, RuleSubject, TotalCount,
};
use edgebase_storage::{CommandResult, Rule};
use serde_json::{Map, Value};

use crate::conditional::{if_match, with_etag};
use crate::consistency::{with_index, Fresh};
use crate::error::ApiError;
use crate::files::record_body::{read_record_body, RecordBody};
use crate::paging::ListQuery;
use edgebase_service::app::{App, LoadedCollection, Settled};
use edgebase_service::caller::Caller;
use edgebase_service::expand::Expander;
use edgebase_service::files;
use edgebase_service::precondition::VersionPrecondition;
use edgebase_service::record_writes::{decode, Answer, Pending, Planned, Planner, Verdict};

fn collection_context(app: &App, id_or_name: &str) -> Result<LoadedCollection, ApiError> {
    app.collection(id_or_name)?
        .ok_or_else(ApiError::missing_collection)
}

/// The `expand` parameter of any request (lists, views and writes all honour it).
fn expand_param(uri: &Uri) -> Option<String> {
    Query::<ListQuery>::try_from_uri(uri)
        .ok()
        .and_then(|Query(query)| query.expand)
        .filter(|expand| !expand.trim().is_empty())
}

/// The filter a rule adds for a non-superuser: `Err` when the rule is superusers-only.
fn rule_filter(caller: &Caller, rule: &Rule) -> Result<Option<FilterPart>, ApiError> {
    if caller.is_superuser() {
        return Ok(None);
    }
    match rules::gate(rule)? {
        Gate::SuperusersOnly => Err(ApiError::superusers_only()),
        Gate::Everyone => Ok(None),
        Gate::Filter(filter) => Ok(Some(filter)),
    }
}

pub async fn list(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let loaded = collection_context(&app, &collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    caller.check_query_fields()?;
    let mut filters: Vec<FilterPart> = rule_filter(&caller, &loaded.rules().list)?
        .into_iter()
        .collect();
    if let Some(expr) =
        parse_filter(query.filter.as_deref().unwrap_or_default()).map_err(QueryError::from)?
    {
        filters.push(FilterPart::new(expr, caller.filter_access()));
    }
    let sort = parse_sort(query.sort.as_deref().unwrap_or_default())?;
    let page = query.page()?;
    let request = ListRequest {
        collection_id: loaded.collection.id.clone(),
        filters,
        sort,
        sort_access: caller.filter_access(),
        offset: page.offset(),
        limit: page.per_page,
        total: if page.skip_total {
            TotalCount::Skip
        } else {
            TotalCount::Count
        },
        context: caller.context(&Map::new()),
        records_examined_max: app.limits().records_examined_max,
        random_seed: rand::random(),
    };
    // A list may scan many records: keep it off the async workers.
    let state = app.state().clone();
    let budget = caller.budget().clone();
    let found = tokio::task::spawn_blocking(move || {
        budget.run(|allowance| {
            state.list_records(&ListRequest {
                records_examined_max: allowance,
                ..request
            })
        })
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "list task failed");
        ApiError::internal()
    })??;
    let mut items = found
        .records
        .iter()
        .map(|stored| caller.shown_checked(&app, &loaded, &decode(stored)?))
        .collect::<Result<Vec<Map<String, Value>>, edgebase_service::ServiceError>>()?;
    if let Some(expand) = query.expand.as_deref() {
        Expander::new(&app, &caller).expand(&loaded.collection, &mut items, expand)?;
    }
    let body = page.result(items, found.total);
    // The index header is set after the read (see `consistency::index_header`).
    Ok(Json(body).into_response())
}

pub async fn view(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let loaded = collection_context(&app, &collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    caller.check_query_fields()?;
    let rule = rule_filter(&caller, &loaded.rules().view)?;
    let stored = app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .ok_or_else(ApiError::not_found)?;
    if let Some(rule) = rule {
        let context = caller.context(&Map::new());
        let check = caller.budget().run(|allowance| {
            app.state().check_record(
                RuleSubject::Stored(&stored),
                std::slice::from_ref(&rule),
                &context,
                allowance,
            )
        })?;
        if !check.matched {
            return Err(ApiError::not_found());
        }
    }
    let mut record = [caller.shown_checked(&app, &loaded, &decode(&stored)?)?];
    if let Some(expand) = expand_param(&uri) {
        Expander::new(&app, &caller).expand(&loaded.collection, &mut record, &expand)?;
    }
    let [record] = record;
    Ok(with_etag(Json(record).into_response(), stored.version))
}

/// Which write a request asks for.
#[derive(Clone, Copy)]
pub(crate) enum WriteKind<'a> {
    Create,
    Update(&'a str),
    Delete(&'a str),
}

/// Plan, propose and answer one record write, planning again (a bounded number of times)
/// when something the plan relied on changed before it applied.
pub(crate) async fn write(
    app: &App,
    caller: &Caller,
    uri: &Uri,
    loaded: &LoadedCollection,
    kind: WriteKind<'_>,
    body: &RecordBody,
    precondition: Option<&VersionPrecondition>,
) -> Result<Response, ApiError> {
    let pending = Pending::default();
    let planner = Planner {
        app,
        caller,
        pending: &pending,
        uploads: &body.uploads,
        precondition,
    };
    let planner = &planner;
    let data = &body.data;
    app.propose_planned(
        "The record changed concurrently too many times; retry.",
        move || async move {
            let planned: Planned = match kind {
                WriteKind::Create => planner.create(loaded, data).await?,
                WriteKind::Update(id) => planner.update(loaded, id, data).await?,
                WriteKind::Delete(id) => planner.delete(loaded, id).await?,
            };
            // Only a write whose files a majority of voters hold may be proposed.
            files::replicate_uploads(app, &planned, planner.uploads).await?;
            Ok::<_, ApiError>((planned.command(), planned))
        },
        |planned, outcome| match outcome.result {
            CommandResult::Applied { .. } => {
                let response = match planned.answer {
                    Answer::NoContent => StatusCode::NO_CONTENT.into_response(),
                    Answer::Record(record) => {
                        let mut record = [record];
                        if let Some(expand) = expand_param(uri) {
                            Expander::new(app, caller).expand(
                                &loaded.collection,
                                &mut record,
                                &expand,
                            )?;
                        }
                        let [record] = record;
                        // The record's version is the index of the entry that wrote it.
                        with_etag(Json(record).into_response(), outcome.index)
                    }
                };
                Ok(Settled::Done(with_index(response, outcome.index)))
            }
            CommandResult::Rejected(rejection) => match planned.verdict(&rejection) {
                Verdict::Failed(error) => Err(error.into()),
                Verdict::Stale => {
                    tracing::debug!(?rejection, "a record changed concurrently; planning again");
                    Ok(Settled::Replan)
                }
            },
        },
    )
    .await
}

pub async fn create(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let loaded = app
        .collection(&collection)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let input = read_record_body(app.consensus().blobs(), &loaded, &caller, &headers, body).await?;
    write(
        &app,
        &caller,
        &uri,
        &loaded,
        WriteKind::Create,
        &input,
        None,
    )
    .await
}

pub async fn update(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let loaded = app
        .collection(&collection)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let precondition = if_match(&headers)?;
    let input = read_record_body(app.consensus().blobs(), &loaded, &caller, &headers, body).await?;
    write(
        &app,
        &caller,
        &uri,
        &loaded,
        WriteKind::Update(&record_id),
        &input,
        precondition.as_ref(),
    )
    .await
}

pub async fn delete(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let loaded = collection_context(&app, &collection)?;
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    let precondition = if_match(&headers)?;
    write(
        &app,
        &caller,
        &uri,
        &loaded,
        WriteKind::Delete(&record_id),
        &RecordBody::default(),
        precondition.as_ref(),
    )
    .await
}
