//! `POST /api/collections/{c}/request-verification` and `confirm-verification`: the
//! request answers 204 whatever the email (no user enumeration) and mails a verification
//! token to an unverified record; the confirmation marks the record verified.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use edgebase_service::idempotency::IdempotentWrite;

use crate::idempotency;
use axum::response::{IntoResponse, Response};
use edgebase_model::auth_config::MailTemplate;
use edgebase_model::ValidationCode;
use serde_json::{json, Value};

use crate::auth::auth_collection;
use crate::consistency::Fresh;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use edgebase_auth::record_token::{self, RecordTokenKind};
use edgebase_model::ids;
use edgebase_model::record_values::text;
use edgebase_service::app::App;
use edgebase_service::record_mail::{
    email_errors, find_by_email, find_by_token, mail_token_once, resend_key, save_record, SaveError,
};
use edgebase_service::superusers::{self, SUPERUSERS_NAME};

pub(crate) fn loading_error() -> ApiError {
    ApiError::bad_request("An error occurred while loading the submitted data.")
}

pub(crate) fn validating_error(errors: FieldErrors) -> ApiError {
    ApiError::validation(
        "An error occurred while validating the submitted data.",
        errors,
    )
}

pub(crate) fn body_text(body: &serde_json::Map<String, Value>, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub async fn request_verification(
    State(app): State<App>,
    _fresh: Fresh,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(&app, &collection)?;
    if loaded.collection.name == SUPERUSERS_NAME {
        return Err(ApiError::bad_request(
            "All superusers are verified by default.",
        ));
    }
    let input = json_object(&body).map_err(|_| loading_error())?;
    let email = body_text(&input, "email");
    let errors = email_errors("email", &email);
    if !errors.is_empty() {
        return Err(validating_error(errors));
    }
    let unverified = find_by_email(&app, &loaded, &email)?
        .filter(|doc| doc.get("verified").and_then(Value::as_bool) != Some(true));
    if let Some(doc) = unverified {
        mail_token_once(
            &app,
            &loaded,
            &doc,
            RecordTokenKind::Verification,
            MailTemplate::Verification,
        )?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PocketBase's token field error when the token is missing, invalid or for another
/// collection.
fn token_error(code: ValidationCode, message: &str) -> ApiError {
    let mut errors = FieldErrors::new();
    errors.insert("token".into(), field_error(code, message, None));
    validating_error(errors)
}

pub(crate) fn required_token(token: &str) -> Result<(), ApiError> {
    if token.is_empty() {
        return Err(token_error(ValidationCode::Required, "Cannot be blank."));
    }
    Ok(())
}

pub(crate) fn invalid_token() -> ApiError {
    token_error(ValidationCode::InvalidToken, "Invalid or expired token.")
}

pub(crate) fn other_collection_token() -> ApiError {
    token_error(
        ValidationCode::TokenCollectionMismatch,
        "The provided token is for different auth collection.",
    )
}

pub async fn confirm_verification(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = confirm_verification_once(&app, &collection, &body, keyed.as_ref()).await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

/// The confirmation itself (its key, if any, checked already).
async fn confirm_verification_once(
    app: &App,
    collection: &str,
    body: &[u8],
    keyed: Option<&IdempotentWrite>,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(app, collection)?;
    if loaded.collection.name == SUPERUSERS_NAME {
        return Err(ApiError::bad_request(
            "All superusers are verified by default.",
        ));
    }
    let input = json_object(body).map_err(|_| loading_error())?;
    let token = body_text(&input, "token");
    required_token(&token)?;
    let claimed_email = record_token::unverified_claims(&token)
        .map(|claims| claims.email)
        .unwrap_or_default();
    if claimed_email.is_empty() {
        return Err(token_error(
            ValidationCode::InvalidTokenClaims,
            "Missing email token claim.",
        ));
    }
    let Some((token_collection, doc, _)) =
        find_by_token(app, &token, RecordTokenKind::Verification)?
    else {
        return Err(invalid_token());
    };
    if token_collection.collection.id != loaded.collection.id {
        return Err(other_collection_token());
    }
    if text(&doc, "email") != claimed_email {
        return Err(token_error(
            ValidationCode::TokenEmailMismatch,
            "The record email doesn't match with the requested token claims.",
        ));
    }
    if doc.get("verified").and_then(Value::as_bool) != Some(true) {
        let password_auth = loaded.auth.password_auth.enabled;
        // As PocketBase: without password auth, a verified record gets a random password,
        // so an account pre-registered by someone else cannot later log in with theirs.
        let random_password = if password_auth {
            None
        } else {
            let hash = edgebase_auth::password::hash(ids::new_secret(30))
                .await
                .map_err(|error| {
                    tracing::error!(%error, "hash random password");
                    ApiError::internal()
                })?;
            Some(hash)
        };
        let record_id = text(&doc, "id");
        let saved = save_record(app, &loaded, &record_id, keyed, |doc| {
            doc.insert("verified".into(), json!(true));
            if let Some(hash) = &random_password {
                doc.insert("password".into(), json!(hash));
                doc.insert(
                    "tokenKey".into(),
                    json!(ids::new_secret(superusers::TOKEN_KEY_LENGTH)),
                );
            }
        })
        .await;
        match saved {
            Ok(_) => {}
            Err(SaveError::KeyUsed) => return idempotency::answer_of_key(app, keyed),
            Err(SaveError::Api(error)) => return Err(error.into()),
            Err(SaveError::Unique) => {
                return Err(ApiError::bad_request(
                    "An error occurred while saving the verified state.",
                ))
            }
        }
    }
    app.mailer().resend_guard().release(&resend_key(
        RecordTokenKind::Verification,
        &loaded.collection.id,
        &text(&doc, "id"),
    ));
    Ok(StatusCode::NO_CONTENT.into_response())
}
