//! `GET /api/health`, and what the node answers before it is bootstrapped.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use edgebase_service::app::App;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use crate::client_address::ClientAddress;

/// A follower is ready while it has heard from its leader within this long...
const READY_LEADER_CONTACT_MS_MAX: u64 = 3_000;
/// ... and has applied the log to within this many entries of what it knows is committed.
const READY_APPLY_LAG_ENTRIES_MAX: u64 = 1_000;

/// `GET /api/health`: the node serves (liveness). A superuser also sees PocketBase's
/// `canBackup`, `realIP` and `possibleProxyHeader`.
pub async fn health(
    State(app): State<App>,
    ClientAddress(client_ip): ClientAddress,
    headers: HeaderMap,
) -> Json<Value> {
    let is_superuser = crate::identity::principal(&app, &headers)
        .map(|principal| principal.is_superuser())
        .unwrap_or(false);
    let mut data = Map::new();
    if is_superuser {
        data.insert(
            "canBackup".into(),
            Value::Bool(edgebase_service::backups::can_backup(&app)),
        );
        data.insert("realIP".into(), Value::String(client_ip));
        data.insert(
            "possibleProxyHeader".into(),
            Value::String(possible_proxy_header(&app, &headers)),
        );
    }
    Json(json!({"message": "API is healthy.", "code": 200, "data": data}))
}

/// The first proxy header the request carries, of the trusted-proxy headers the settings
/// name and the common ones PocketBase looks for.
fn possible_proxy_header(app: &App, headers: &HeaderMap) -> String {
    let carried = |name: &str| headers.get(name).is_some_and(|value| !value.is_empty());
    let configured = app
        .settings()
        .map(|settings| settings.trusted_proxy.headers.clone())
        .unwrap_or_default();
    configured
        .into_iter()
        .chain(["CF-Connecting-IP", "Fly-Client-IP"].map(String::from))
        .find(|name| carried(name))
        .unwrap_or_default()
}

/// `GET /api/health/ready`: whether a load balancer should send this node requests: it
/// has a leader it heard from lately (or leads) and has applied the log nearly to the
/// commit it knows. PocketBase's health shape, 200 or 503 with the reason.
pub async fn ready(State(app): State<App>) -> (StatusCode, Json<Value>) {
    match not_ready_because(&app) {
        None => (
            StatusCode::OK,
            Json(json!({"message": "The node is ready.", "code": 200, "data": {}})),
        ),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"message": format!("The node is not ready: {reason}."), "code": 503, "data": {}}),
            ),
        ),
    }
}

fn not_ready_because(app: &App) -> Option<String> {
    if app.is_draining() {
        return Some("it is stopping".into());
    }
    let consensus = app.consensus();
    let metrics = consensus.local_metrics();
    if metrics.leader_id.is_none() {
        return Some("no leader is known".into());
    }
    match consensus.millis_since_leader_contact() {
        Some(ms) if ms <= READY_LEADER_CONTACT_MS_MAX => {}
        Some(ms) => return Some(format!("the leader was last heard {ms} ms ago")),
        None => return Some("the leader has not been heard from".into()),
    }
    let behind = metrics
        .committed_index
        .saturating_sub(metrics.applied_index);
    if behind > READY_APPLY_LAG_ENTRIES_MAX {
        return Some(format!("{behind} committed entries are not applied yet"));
    }
    None
}

/// `GET /api/health` before bootstrap is done: the same shape, 503.
async fn starting() -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "message": "The node is starting and does not serve requests yet.",
            "code": 503,
            "data": {}
        })),
    )
}

/// What the HTTP listener serves until the node has joined or created its cluster and its
/// system collections: health answers 503, every other request 503 in the error envelope.
pub fn starting_router() -> Router {
    let unavailable = || async { ApiError::unavailable("The node is starting; retry shortly.") };
    Router::new()
        .route("/api/health", get(starting))
        .route("/api/health/ready", get(starting))
        .fallback(unavailable)
        .method_not_allowed_fallback(unavailable)
}
