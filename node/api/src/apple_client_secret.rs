//! `POST /api/settings/apple/generate-client-secret` (superusers): PocketBase's form that
//! makes the client secret Apple's OAuth2 provider needs from the app's "Sign in with
//! Apple" key, with its checks and answers.

use axum::Json;
use edgebase_auth::apple_client_secret::{client_secret, AppleSecretRequest};
use edgebase_model::ValidationCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::Superuser;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::Body;

const INVALID: &str = "Invalid client secret data.";
const LOAD_FAILED: &str = "An error occurred while loading the submitted data.";
/// Longest a secret may be valid (about six months, Apple's bound).
const DURATION_SECS_MAX: i64 = 15_777_000;
/// Length of Apple's team and key ids.
const APPLE_ID_CHARS: usize = 10;

/// The form, as PocketBase binds it: text fields and a whole number of seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SecretForm {
    client_id: Option<String>,
    team_id: Option<String>,
    key_id: Option<String>,
    private_key: Option<String>,
    duration: Option<i64>,
}

pub async fn generate(_superuser: Superuser, Body(body): Body) -> Result<Json<Value>, ApiError> {
    let form: SecretForm = if body.iter().all(u8::is_ascii_whitespace) {
        SecretForm::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| ApiError::bad_request(LOAD_FAILED))?
    };
    let request = AppleSecretRequest {
        client_id: form.client_id.as_deref().unwrap_or_default(),
        team_id: form.team_id.as_deref().unwrap_or_default(),
        key_id: form.key_id.as_deref().unwrap_or_default(),
        private_key_pem: form.private_key.as_deref().unwrap_or_default(),
        duration_secs: form.duration.unwrap_or_default(),
    };
    let errors = form_errors(&request);
    if !errors.is_empty() {
        return Err(ApiError::validation(INVALID, errors));
    }
    let secret = client_secret(&request, chrono::Utc::now().timestamp()).map_err(|error| {
        ApiError::bad_request(format!(
            "Failed to generate client secret. Raw error: \n{error}."
        ))
    })?;
    Ok(Json(json!({ "secret": secret })))
}

/// PocketBase's checks, each field's first failure.
fn form_errors(request: &AppleSecretRequest<'_>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let blank = || field_error(ValidationCode::Required, "Cannot be blank.", None);
    let exactly_ten = || {
        field_error(
            ValidationCode::LengthInvalid,
            format!("The length must be exactly {APPLE_ID_CHARS}."),
            Some(json!({"max": APPLE_ID_CHARS, "min": APPLE_ID_CHARS})),
        )
    };
    if request.client_id.is_empty() {
        errors.insert("clientId".into(), blank());
    }
    for (key, value) in [("teamId", request.team_id), ("keyId", request.key_id)] {
        if value.is_empty() {
            errors.insert(key.into(), blank());
        } else if value.chars().count() != APPLE_ID_CHARS {
            errors.insert(key.into(), exactly_ten());
        }
    }
    if request.private_key_pem.is_empty() {
        errors.insert("privateKey".into(), blank());
    } else if !looks_like_pkcs8_pem(request.private_key_pem) {
        errors.insert(
            "privateKey".into(),
            field_error(
                ValidationCode::MatchInvalid,
                "Must be in a valid format.",
                None,
            ),
        );
    }
    let duration = request.duration_secs;
    if duration == 0 {
        errors.insert("duration".into(), blank());
    } else if duration < 1 {
        errors.insert(
            "duration".into(),
            field_error(
                ValidationCode::MinGreaterEqualThanRequired,
                "Must be no less than 1.",
                Some(json!({"threshold": 1})),
            ),
        );
    } else if duration > DURATION_SECS_MAX {
        errors.insert(
            "duration".into(),
            field_error(
                ValidationCode::MaxLessEqualThanRequired,
                format!("Must be no greater than {DURATION_SECS_MAX}."),
                Some(json!({"threshold": DURATION_SECS_MAX})),
            ),
        );
    }
    errors
}

/// PocketBase's pattern for the key: a `BEGIN PRIVATE KEY` line, something, then the
/// matching `END` line.
fn looks_like_pkcs8_pem(text: &str) -> bool {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY----";
    const END: &str = "-----END PRIVATE KEY-----";
    text.find(BEGIN)
        .and_then(|at| text.get(at + BEGIN.len() + 1..))
        .is_some_and(|rest| rest.contains(END))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_pattern_is_pocketbases() {
        for (text, matches) in [
            (
                "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
                true,
            ),
            (
                "x -----BEGIN PRIVATE KEY-----a-----END PRIVATE KEY----- y",
                true,
            ),
            ("-----BEGIN PRIVATE KEY----x-----END PRIVATE KEY-----", true),
            ("-----BEGIN PRIVATE KEY----", false),
            ("-----BEGIN PRIVATE KEY-----END PRIVATE KEY-----", false),
            (
                "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----",
                false,
            ),
            ("abc", false),
        ] {
            assert_eq!(looks_like_pkcs8_pem(text), matches, "{text}");
        }
    }
}
