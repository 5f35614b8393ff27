//! `/api/logs`: this node's request logs, PocketBase-shaped (superusers only). Logs are kept
//! per node and never replicated: each node lists the requests it served itself. `DELETE
//! /api/logs` (EdgeBase's own) empties this node's logs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_service::app::App;
use edgebase_service::request_logs::{shown, LOG_ENTRIES_MAX};
use edgebase_storage::query::{parse_filter, parse_sort, FilterAccess};
use edgebase_storage::{FilterPart, ListRequest, QueryError, RequestContext, TotalCount};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::access::Superuser;
use crate::error::ApiError;
use crate::paging::ListQuery;

/// Logs one list or stats request may examine.
const LOGS_EXAMINED_MAX: u64 = 2 * LOG_ENTRIES_MAX;

/// Run a blocking read of the log store off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "log store task failed");
        ApiError::internal()
    })?
}

pub async fn list(
    State(app): State<App>,
    _superuser: Superuser,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let page = query.page()?;
    let filters = match parse_filter(query.filter.as_deref().unwrap_or_default())
        .map_err(QueryError::from)?
    {
        Some(expr) => vec![FilterPart::new(expr, FilterAccess::Unrestricted)],
        None => Vec::new(),
    };
    let request = ListRequest {
        collection_id: String::new(),
        filters,
        sort: parse_sort(query.sort.as_deref().unwrap_or_default())?,
        sort_access: FilterAccess::Unrestricted,
        offset: page.offset(),
        limit: page.per_page,
        total: if page.skip_total {
            TotalCount::Skip
        } else {
            TotalCount::Count
        },
        context: RequestContext::at(chrono::Utc::now().timestamp_millis()),
        records_examined_max: LOGS_EXAMINED_MAX,
        random_seed: rand::random(),
    };
    let logs = app.request_logs().clone();
    let (items, total) = blocking(move || {
        let found = logs.store().list(request)?;
        let items = found
            .records
            .iter()
            .map(shown)
            .collect::<Result<Vec<Map<String, Value>>, _>>()?;
        Ok((items, found.total))
    })
    .await?;
    Ok(Json(page.result(items, total)).into_response())
}

#[derive(Serialize)]
struct StatsItem {
    date: String,
    total: u64,
}

pub async fn stats(
    State(app): State<App>,
    _superuser: Superuser,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let filter = match parse_filter(query.filter.as_deref().unwrap_or_default()) {
        Ok(expr) => expr.map(|expr| FilterPart::new(expr, FilterAccess::Unrestricted)),
        Err(_) => return Err(ApiError::bad_request("Invalid filter format.")),
    };
    let logs = app.request_logs().clone();
    let buckets = blocking(move || Ok(logs.store().stats(filter, LOGS_EXAMINED_MAX)?)).await?;
    let items: Vec<StatsItem> = buckets
        .into_iter()
        .map(|bucket| StatsItem {
            date: bucket.date,
            total: bucket.total,
        })
        .collect();
    Ok(Json(items).into_response())
}

pub async fn view(
    State(app): State<App>,
    _superuser: Superuser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let logs = app.request_logs().clone();
    let found = blocking(move || Ok(logs.store().get(&id)?)).await?;
    match found {
        Some(log) => Ok(Json(log).into_response()),
        None => Err(ApiError::not_found()),
    }
}

pub async fn clear(State(app): State<App>, _superuser: Superuser) -> Result<Response, ApiError> {
    let logs = app.request_logs().clone();
    let deleted = blocking(move || {
        Ok(logs
            .store()
            .delete_matching(None, u64::MAX, LOGS_EXAMINED_MAX)?)
    })
    .await?;
    tracing::info!(deleted, "request logs cleared");
    Ok(StatusCode::NO_CONTENT.into_response())
}
