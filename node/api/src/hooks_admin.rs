//! `/api/hooks` (superusers only): the hooks bundle deployed to the cluster and the one this
//! node runs. `POST` deploys a bundle (`{"files": {path: source}}`) through Raft; every node
//! swaps it in within moments (`edgebase_hooks::deployment`). `DELETE` withdraws it, putting
//! each node back on its own `pb_hooks` folder.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use edgebase_hooks::{Bundle, Hooks, HooksError};
use edgebase_service::app::App;
use edgebase_service::{hooks_deployment, hooks_outbox};
use serde_json::{json, Value};

use crate::access::Superuser;
use crate::error::ApiError;

/// `GET /api/hooks`: what is deployed, and what this node runs.
pub async fn view(
    State(app): State<App>,
    Extension(hooks): Extension<Hooks>,
    _superuser: Superuser,
) -> Result<Json<Value>, ApiError> {
    let deployed = hooks_deployment::deployed(&app)?;
    let loaded = hooks.current();
    let registry = &loaded.registry;
    // The outbox as this node has applied it: entries whose at-least-once hooks have not
    // completed yet (their write applied; delivery pending or being retried).
    let outbox: Vec<Value> = hooks_outbox::pending(&app, hooks_outbox::SWEEP_ENTRIES_MAX)?
        .into_iter()
        .map(|(id, entry)| {
            json!({
                "id": id,
                "event": entry.event,
                "collectionId": entry.collection_id,
                "recordId": entry.record_id,
                "attempts": entry.attempts,
            })
        })
        .collect();
    Ok(Json(json!({
        "deployed": deployed,
        "outbox": outbox,
        "running": {
            "source": loaded.source,
            "hash": loaded.hash,
            "files": loaded.bundle.files().keys().collect::<Vec<_>>(),
            "routes": registry.routes.iter().map(|route| json!({"method": route.method, "path": route.path})).collect::<Vec<_>>(),
            "hooks": registry.hooks.iter().map(|hook| json!({"event": hook.event, "tags": hook.tags, "atLeastOnce": hook.at_least_once})).collect::<Vec<_>>(),
            "crons": registry.active_crons().iter().map(|cron| json!({"id": cron.id, "expression": cron.expression})).collect::<Vec<_>>(),
            "notRun": registry.events_not_run(),
            "errors": loaded.errors,
        },
    })))
}

/// `POST /api/hooks`: deploy the bundle in the body to every node.
pub async fn deploy(
    State(app): State<App>,
    _superuser: Superuser,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let bundle = Bundle::decode(&body).map_err(|error| match error {
        HooksError::BadBundle(reason) | HooksError::TooLarge(reason) => {
            ApiError::bad_request(format!("The hooks bundle is invalid: {reason}."))
        }
        other => {
            tracing::error!(error = %other, "read a hooks bundle");
            ApiError::internal()
        }
    })?;
    if bundle.entries().next().is_none() {
        return Err(ApiError::bad_request(
            "The hooks bundle has no *.pb.js file at its top level.",
        ));
    }
    let deployed =
        hooks_deployment::deploy(&app, &bundle.encode(), bundle.hash(), bundle.files().len())
            .await?;
    Ok(Json(json!(deployed)))
}

/// `DELETE /api/hooks`: withdraw the deployed bundle.
pub async fn withdraw(State(app): State<App>, _superuser: Superuser) -> Result<Response, ApiError> {
    if !hooks_deployment::withdraw(&app).await? {
        return Err(ApiError::bad_request("No hooks bundle is deployed."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
