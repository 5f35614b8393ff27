//! The `fields` query parameter on every JSON answer, as PocketBase applies it when it writes
//! a response: a list's `items` are picked one by one, any other object as a whole.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use edgebase_model::fields_param::FieldsPicker;

/// Largest response body the picker rewrites; larger ones pass unchanged. Pages are bounded
/// (1000 records of at most a few MiB), so this only guards against surprises.
const PICKED_BODY_BYTES_MAX: usize = 256 << 20;

pub async fn pick_fields(request: Request, next: Next) -> Response {
    let raw = Query::<HashMap<String, String>>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(params)| params.get("fields").cloned());
    let picker = match raw.as_deref().map(FieldsPicker::parse).transpose() {
        // A bad parameter is refused before the handler runs, so no write happens for it.
        Err(error) => return crate::error::ApiError::from(error).into_response(),
        Ok(picker) => picker.flatten(),
    };
    let response = next.run(request).await;
    let Some(picker) = picker else {
        return response;
    };
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !response.status().is_success() || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, PICKED_BODY_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "read a response to pick its fields");
            return crate::error::ApiError::internal().into_response();
        }
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    pick(&picker, &mut value);
    let rewritten = serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rewritten))
}

fn pick(picker: &FieldsPicker, value: &mut Value) {
    let is_list = value
        .as_object()
        .is_some_and(|map| map.contains_key("items") && map.contains_key("perPage"));
    let target = if is_list {
        value.get_mut("items")
    } else {
        Some(value)
    };
    match target {
        Some(Value::Object(map)) => picker.apply(map),
        Some(Value::Array(items)) => {
            for item in items {
                if let Value::Object(map) = item {
                    picker.apply(map);
                }
            }
        }
        _ => {}
    }
}
