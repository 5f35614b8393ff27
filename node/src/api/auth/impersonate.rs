//! `POST /api/collections/{c}/impersonate/{id}`: a superuser gets a non-refreshable token
//! for any record of an auth collection, valid for the given duration (or the collection's
//! token duration).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use crate::api::auth::{auth_answer, auth_collection, sign_for};
use crate::api::caller::Caller;
use crate::api::consistency::read_barrier;
use crate::api::error::{field_error, ApiError, FieldErrors};
use crate::api::extract::{json_object, Body};
use crate::api::record_writes::decode;
use crate::app::App;
use crate::auth::principal::Principal;
use crate::auth::token::Refresh;
use crate::domain::superusers;

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
                "validation_min_greater_equal_than_required",
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path((collection, record_id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let caller = Caller::resolve(&app, &method, &uri, &headers)?;
    match caller.principal {
        Principal::Anonymous => return Err(ApiError::unauthorized()),
        Principal::Record { .. } => {
            return Err(ApiError::forbidden(
                "The authorized record is not allowed to perform this action.",
            ))
        }
        Principal::Superuser { .. } => {}
    }
    let loaded = auth_collection(&app, &collection)?;
    let input = json_object(&body).map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let duration = match duration_secs(&input)? {
        0 => superusers::token_duration_secs(&loaded.collection),
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
