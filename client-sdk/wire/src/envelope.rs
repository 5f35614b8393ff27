//! PocketBase's response envelopes: errors, list pages, auth and health.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// PocketBase's error body: `{"status","message","data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub status: u16,
    pub message: String,
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// One entry of an error's `data`: `{"code":"validation_required","message":"Cannot be blank."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
}

/// One page of a list: PocketBase's `{"items","page","perPage","totalItems","totalPages"}`.
/// With `skipTotal` the totals are `-1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListResult<T> {
    pub items: Vec<T>,
    pub page: u64,
    #[serde(rename = "perPage")]
    pub per_page: u64,
    #[serde(rename = "totalItems")]
    pub total_items: i64,
    #[serde(rename = "totalPages")]
    pub total_pages: i64,
}

/// The answer to a successful login: a token and the auth record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthResponse {
    pub token: String,
    pub record: Map<String, Value>,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    pub message: String,
    pub code: u16,
    #[serde(default)]
    pub data: Map<String, Value>,
}
