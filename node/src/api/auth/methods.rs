//! `GET /api/collections/{c}/auth-methods`: which ways to log in the collection offers, in
//! PocketBase 0.40's shape (with its legacy keys). OAuth2 is not built yet, so its provider
//! list is empty even when the option is on.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::api::auth::auth_collection;
use crate::api::consistency::read_barrier;
use crate::api::error::ApiError;
use crate::app::App;

fn option<'a>(
    options: &'a serde_json::Map<String, Value>,
    name: &str,
    key: &str,
) -> Option<&'a Value> {
    options.get(name).and_then(|option| option.get(key))
}

fn enabled(options: &serde_json::Map<String, Value>, name: &str) -> bool {
    option(options, name, "enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The answer for one collection's options.
pub fn auth_methods_body(options: &serde_json::Map<String, Value>) -> Value {
    let password_enabled = enabled(options, "passwordAuth");
    let identity_fields: Vec<Value> = if password_enabled {
        option(options, "passwordAuth", "identityFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let has_identity = |name: &str| {
        password_enabled
            && identity_fields
                .iter()
                .any(|field| field.as_str() == Some(name))
    };
    let duration_if_enabled = |name: &str| {
        if enabled(options, name) {
            option(options, name, "duration")
                .cloned()
                .unwrap_or(json!(0))
        } else {
            json!(0)
        }
    };
    json!({
        "password": {"identityFields": identity_fields, "enabled": password_enabled},
        "oauth2": {"providers": [], "enabled": enabled(options, "oauth2")},
        "mfa": {"enabled": enabled(options, "mfa"), "duration": duration_if_enabled("mfa")},
        "otp": {"enabled": enabled(options, "otp"), "duration": duration_if_enabled("otp")},
        "authProviders": [],
        "usernamePassword": has_identity("username"),
        "emailPassword": has_identity("email"),
    })
}

pub async fn auth_methods(
    State(app): State<App>,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = auth_collection(&app, &collection)?;
    Ok(Json(auth_methods_body(&loaded.collection.options)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options -> answer, read off PocketBase 0.40.6.
    #[test]
    fn shape_matches_pocketbase() {
        let defaults = crate::domain::auth_collection::default_options();
        assert_eq!(
            auth_methods_body(&defaults),
            json!({"password":{"identityFields":["email"],"enabled":true},"oauth2":{"providers":[],"enabled":false},"mfa":{"enabled":false,"duration":0},"otp":{"enabled":false,"duration":0},"authProviders":[],"usernamePassword":false,"emailPassword":true})
        );
    }
}
