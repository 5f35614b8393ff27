//! `GET /api/health`.

use axum::Json;
use serde_json::{json, Value};

pub async fn health() -> Json<Value> {
    Json(json!({"message": "API is healthy.", "code": 200, "data": {}}))
}
