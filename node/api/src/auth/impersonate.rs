//! `POST /api/collections/{c}/impersonate/{id}`: a superuser gets a non-refreshable token
//! for any record of an auth collection, valid for the given duration (or the collection's
//! token duration).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use edgebase_model::ValidationCode;
use serde_json::{json, Value};

use crate::auth::auth_answer;
use crate::auth::auth_collection;
use crate::auth::sign_for;
use crate::consistency::Fresh;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use edgebase_auth::token::Refresh;
use edgebase_service::app::App;
use edgebase_service::principal::Principal;
use edgebase_service::record_writes::decode;

/// The body's `duration` in seconds: 0 (or none) means the collection's own duration.
fn duration_secs(input: &serde_json::Map<String, Value>) -> Result<u64, ApiError> {
    let duration = match input.get("duration") {
        None | Some(Value::Null) => 0.0,
        Some(Value::Number(number)) => number.as_f64().unwrap_or(0.0),
        Some(Value::String(text)) => text.trim().parse::<f64>().unwrap_or(0.0),
        Some(_) => {
            return Err(ApiError::bad_request(
                "An error occurred while loading the submitted data.",
            ))
        }
    };
    if duration < 0.0 {
        let mut errors = FieldErrors::new();
        errors.insert(
            "duration".into(),
            field_error(
                ValidationCode::MinGreaterEqualThanRequired,
                "Must be no less than 0.",
                Some(json!({"threshold": 0})),
            ),
        );
        return Err(ApiError::validation(
            "An error occurred while validating the submitted data.",
            errors,
        ));
    }
    Ok(duration as u64)
}

pub async fn impersonate(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    match caller.principal() {
        Principal::Anonymous => return Err(ApiError::unauthorized()),
        Principal::Record { .. } => {
            return Err(ApiError::forbidden(
                "The authorized record is not allowed to perform this action.",
            ))
        }
        Principal::Superuser { .. } | Principal::System(_) => {}
    }
    let loaded = auth_collection(&app, &collection)?;
    let input = json_object(&body).map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let duration = match duration_secs(&input)? {
        0 => loaded.auth.auth_token_duration_secs(),
        given => given,
    };
    let stored = app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .ok_or_else(ApiError::not_found)?;
    let doc = decode(&stored)?;
    let token = sign_for(&loaded, &doc, duration, Refresh::Refused)?;
    Ok(auth_answer(&loaded, &doc, token, &caller))
}
