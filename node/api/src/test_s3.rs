//! `POST /api/settings/test/s3` (superusers): PocketBase's check of the S3 settings of the
//! file storage (`{"filesystem": "storage"}`) or of backups (`"backups"`): upload a test
//! file to the bucket, then list and delete it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use edgebase_bucket::Bucket;
use edgebase_model::record_values::text;
use edgebase_model::ValidationCode;
use edgebase_service::app::App;
use edgebase_service::bucket::config_of;

use crate::access::Superuser;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};

const FAILED: &str = "Failed to test the S3 filesystem.";

pub async fn test_s3(
    State(app): State<App>,
    _superuser: Superuser,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let input = if body.is_empty() {
        serde_json::Map::new()
    } else {
        json_object(&body).map_err(|_| {
            ApiError::bad_request("An error occurred while loading the submitted data.")
        })?
    };
    let filesystem = text(&input, "filesystem");
    let settings = app.settings()?;
    let s3 = match filesystem.as_str() {
        "storage" => &settings.s3,
        "backups" => &settings.backups.s3,
        _ => {
            let error = if filesystem.is_empty() {
                field_error(ValidationCode::Required, "Cannot be blank.", None)
            } else {
                field_error(ValidationCode::InInvalid, "Must be a valid value.", None)
            };
            let mut errors = FieldErrors::new();
            errors.insert("filesystem".into(), error);
            return Err(ApiError::validation(FAILED, errors));
        }
    };
    let raw = |error: &dyn std::fmt::Display| {
        ApiError::bad_request(format!("{FAILED} Raw error: \n{error}"))
    };
    if !s3.enabled {
        return Err(raw(&"S3 storage filesystem is not enabled."));
    }
    let bucket = Bucket::connect(&config_of(s3))
        .map_err(|error| raw(&format!("failed to initialize the S3 filesystem: {error}")))?;
    bucket.check().await.map_err(|error| raw(&error))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
