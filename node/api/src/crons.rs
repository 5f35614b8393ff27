//! `/api/crons`: PocketBase's scheduled jobs (superusers only). The list is the same on
//! every node; a run asked for here runs on this node, in the background.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_service::app::App;
use edgebase_service::scheduler;
use serde_json::{json, Value};

use crate::access::Superuser;
use crate::error::ApiError;

pub async fn list(State(app): State<App>, _superuser: Superuser) -> Result<Response, ApiError> {
    let jobs: Vec<Value> = scheduler::list(&app)?
        .into_iter()
        .map(|job| json!({"id": job.id, "expression": job.expression}))
        .collect();
    Ok(Json(jobs).into_response())
}

pub async fn run(
    State(app): State<App>,
    _superuser: Superuser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !scheduler::run_now(&app, &id)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid cron job.",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
