//! `GET /api/health`, and what the node answers before it is bootstrapped.

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ApiError;

pub async fn health() -> Json<Value> {
    Json(json!({"message": "API is healthy.", "code": 200, "data": {}}))
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
        .fallback(unavailable)
        .method_not_allowed_fallback(unavailable)
}
