//! `POST /api/collections/{c}/request-password-reset` and `confirm-password-reset`: the
//! request answers 204 whatever the email and mails a reset token; the confirmation sets the
//! new password with a new `tokenKey`, so the reset token and every auth token of the record
//! stop working on every node.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use edgebase_service::idempotency::IdempotentWrite;

use crate::idempotency;
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::FieldKind;
use edgebase_model::auth_config::MailTemplate;
use edgebase_model::ValidationCode;
use serde_json::{json, Value};

use crate::auth::auth_collection;
use crate::auth::verification::{
    body_text, invalid_token, loading_error, other_collection_token, validating_error,
};
use crate::consistency::Fresh;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use edgebase_auth::record_token::RecordTokenKind;
use edgebase_model::fields::text::validate_password;
use edgebase_model::ids;
use edgebase_model::record_values::text;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::record_mail::{
    email_errors, find_by_email, find_by_token, mail_token_once, resend_key, save_record, SaveError,
};
use edgebase_service::superusers;

/// Longest password these forms accept.
const PASSWORD_LENGTH_MAX: usize = 255;

pub async fn request_password_reset(
    State(app): State<App>,
    _fresh: Fresh,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(&app, &collection)?;
    let input = json_object(&body).map_err(|_| loading_error())?;
    let email = body_text(&input, "email");
    let errors = email_errors("email", &email);
    if !errors.is_empty() {
        return Err(validating_error(errors));
    }
    if let Some(doc) = find_by_email(&app, &loaded, &email)? {
        mail_token_once(
            &app,
            &loaded,
            &doc,
            RecordTokenKind::PasswordReset,
            MailTemplate::PasswordReset,
        )?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The password field's `min` (at least 1), as PocketBase's form reads it.
fn password_min(loaded: &LoadedCollection) -> usize {
    loaded
        .collection
        .fields
        .iter()
        .find_map(|field| match field.kind {
            FieldKind::Password { min, .. } if field.name == "password" => Some(min),
            _ => None,
        })
        .map(|min| min.max(1) as usize)
        .unwrap_or(1)
}

/// The password field's own checks on the new password, as PocketBase's save runs them:
/// past bcrypt's 72 bytes the hash itself fails ("Invalid value."), else length and pattern.
fn password_field_error(loaded: &LoadedCollection, new_password: &str) -> Option<Value> {
    const BCRYPT_BYTES_MAX: usize = 72;
    if new_password.len() > BCRYPT_BYTES_MAX {
        return Some(field_error(
            ValidationCode::InvalidValue,
            "Invalid value.",
            None,
        ));
    }
    loaded
        .collection
        .fields
        .iter()
        .find_map(|field| match &field.kind {
            FieldKind::Password {
                min, max, pattern, ..
            } if field.name == "password" => {
                validate_password(&json!(new_password), *min, *max, pattern)
            }
            _ => None,
        })
}

pub async fn confirm_password_reset(
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
    let outcome = confirm_password_reset_once(&app, &collection, &body, keyed.as_ref()).await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

/// The confirmation itself (its key, if any, checked already).
async fn confirm_password_reset_once(
    app: &App,
    collection: &str,
    body: &[u8],
    keyed: Option<&IdempotentWrite>,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(app, collection)?;
    let input = json_object(body).map_err(|_| loading_error())?;
    let (token, new_password, confirm) = (
        body_text(&input, "token"),
        body_text(&input, "password"),
        body_text(&input, "passwordConfirm"),
    );
    let mut errors = FieldErrors::new();
    let mut found = None;
    if token.is_empty() {
        errors.insert(
            "token".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else {
        match find_by_token(app, &token, RecordTokenKind::PasswordReset)? {
            None => {
                errors.extend(invalid_token().data);
            }
            Some((token_collection, _, _))
                if token_collection.collection.id != loaded.collection.id =>
            {
                errors.extend(other_collection_token().data);
            }
            Some(found_record) => found = Some(found_record),
        }
    }
    let min = password_min(&loaded);
    let length = new_password.chars().count();
    if new_password.is_empty() {
        errors.insert(
            "password".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if length < min || length > PASSWORD_LENGTH_MAX {
        errors.insert(
            "password".into(),
            field_error(
                ValidationCode::LengthOutOfRange,
                format!("The length must be between {min} and {PASSWORD_LENGTH_MAX}."),
                Some(json!({"min": min, "max": PASSWORD_LENGTH_MAX})),
            ),
        );
    }
    if confirm.is_empty() {
        errors.insert(
            "passwordConfirm".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if confirm != new_password {
        errors.insert(
            "passwordConfirm".into(),
            field_error(ValidationCode::ValuesMismatch, "Values don't match.", None),
        );
    }
    let Some((_, doc, claims)) = found.filter(|_| errors.is_empty()) else {
        return Err(validating_error(errors));
    };
    if let Some(error) = password_field_error(&loaded, &new_password) {
        let mut errors = FieldErrors::new();
        errors.insert("password".into(), error);
        return Err(ApiError::validation("Failed to set new password.", errors));
    }
    let hash = edgebase_auth::password::hash(new_password)
        .await
        .map_err(|error| {
            tracing::error!(%error, "hash new password");
            ApiError::internal()
        })?;
    let record_id = text(&doc, "id");
    let token_key = ids::new_secret(superusers::TOKEN_KEY_LENGTH);
    let saved = save_record(app, &loaded, &record_id, keyed, |doc| {
        doc.insert("password".into(), json!(hash));
        doc.insert("tokenKey".into(), json!(token_key));
        // The reset proved the mailbox: verified, unless the email changed meanwhile.
        if doc.get("verified").and_then(Value::as_bool) != Some(true)
            && text(doc, "email") == claims.email
        {
            doc.insert("verified".into(), json!(true));
        }
    })
    .await;
    match saved {
        Ok(_) => {
            app.mailer().resend_guard().release(&resend_key(
                RecordTokenKind::PasswordReset,
                &loaded.collection.id,
                &record_id,
            ));
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(SaveError::KeyUsed) => idempotency::answer_of_key(app, keyed),
        Err(SaveError::Api(error)) => Err(error.into()),
        Err(SaveError::Unique) => Err(ApiError::bad_request("Failed to set new password.")),
    }
}
