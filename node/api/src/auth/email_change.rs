//! `POST /api/collections/{c}/request-email-change` (the record itself, by its token) and
//! `confirm-email-change` (token plus current password): the new address gets a token by
//! mail, and the confirmation sets the email, marks it verified and gives the record a new
//! `tokenKey` (old auth tokens fail on every node, as in PocketBase).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use edgebase_service::idempotency::IdempotentWrite;

use crate::idempotency;
use axum::response::{IntoResponse, Response};
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
use crate::identity::bearer_token;
use edgebase_auth::record_token::{self, RecordTokenKind};
use edgebase_model::ids;
use edgebase_model::record_values::text;
use edgebase_service::app::App;
use edgebase_service::principal::verified;
use edgebase_service::record_mail::{
    email_errors, find_by_email, find_by_token, queue_tracked_template_mail, save_record,
    sign_record_token, MailValues, SaveError,
};
use edgebase_service::superusers::{self, SUPERUSERS_NAME};

/// Longest the request waits to learn whether its mail went out.
const DELIVERY_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(45);
/// Longest password the confirmation accepts (PocketBase's form).
const PASSWORD_LENGTH_MAX: usize = 100;

fn superusers_refused(name: &str) -> Result<(), ApiError> {
    if name == SUPERUSERS_NAME {
        return Err(ApiError::bad_request(
            "All superusers can change their emails directly.",
        ));
    }
    Ok(())
}

pub async fn request_email_change(
    State(app): State<App>,
    _fresh: Fresh,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(&app, &collection)?;
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The request requires valid record authorization token.",
        )
    };
    let raw = bearer_token(&headers).ok_or_else(unauthorized)?;
    let (_, doc) = verified(&app, raw)?.ok_or_else(unauthorized)?;
    let claims = edgebase_auth::token::unverified_claims(raw).map_err(|_| unauthorized())?;
    if claims.collection_id != loaded.collection.id {
        let token_collection = app
            .collection(&claims.collection_id)?
            .map(|other| other.collection.name.clone())
            .unwrap_or_default();
        return Err(ApiError::forbidden(format!(
            "The request requires auth record from {token_collection} collection."
        )));
    }
    superusers_refused(&loaded.collection.name)?;
    let input = json_object(&body).map_err(|_| loading_error())?;
    let new_email = body_text(&input, "newEmail");
    let mut errors = email_errors("newEmail", &new_email);
    if errors.is_empty() {
        let current = text(&doc, "email");
        if new_email == current {
            errors.insert(
                "newEmail".into(),
                field_error(ValidationCode::NotInInvalid, "Must not be in list.", None),
            );
        } else if let Some(other) = find_by_email(&app, &loaded, &new_email)? {
            if text(&other, "id") != text(&doc, "id") {
                errors.insert(
                    "newEmail".into(),
                    field_error(
                        ValidationCode::InvalidNewEmail,
                        "Invalid new email address.",
                        None,
                    ),
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(validating_error(errors));
    }
    let token = sign_record_token(
        &loaded,
        &doc,
        RecordTokenKind::EmailChange,
        Some(&new_email),
    )?;
    // As PocketBase, this request says whether the mail went out (it waits on the queue, at
    // most DELIVERY_WAIT_MAX).
    let delivered = queue_tracked_template_mail(
        &app,
        &loaded,
        MailTemplate::EmailChange,
        &new_email,
        &doc,
        MailValues {
            token: &token,
            ..MailValues::default()
        },
    )?;
    let sent = matches!(
        tokio::time::timeout(DELIVERY_WAIT_MAX, delivered).await,
        Ok(Ok(true))
    );
    if !sent {
        return Err(ApiError::bad_request("Failed to request email change."));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn confirm_email_change(
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
    let outcome = confirm_email_change_once(&app, &collection, &body, keyed.as_ref()).await;
    idempotency::or_replay(&app, keyed.as_ref(), outcome).await
}

/// The confirmation itself (its key, if any, checked already).
async fn confirm_email_change_once(
    app: &App,
    collection: &str,
    body: &[u8],
    keyed: Option<&IdempotentWrite>,
) -> Result<Response, ApiError> {
    let loaded = auth_collection(app, collection)?;
    superusers_refused(&loaded.collection.name)?;
    let input = json_object(body).map_err(|_| loading_error())?;
    let (token, given_password) = (body_text(&input, "token"), body_text(&input, "password"));
    let mut errors = FieldErrors::new();
    let mut found = None;
    if token.is_empty() {
        errors.insert(
            "token".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else {
        let new_email = record_token::unverified_claims(&token)
            .ok()
            .and_then(|claims| claims.new_email)
            .unwrap_or_default();
        if new_email.is_empty() {
            errors.insert(
                "token".into(),
                field_error(
                    ValidationCode::InvalidTokenPayload,
                    "Invalid token payload - newEmail must be set.",
                    None,
                ),
            );
        } else {
            match find_by_token(app, &token, RecordTokenKind::EmailChange)? {
                None => errors.extend(invalid_token().data),
                Some((other, _, _)) if other.collection.id != loaded.collection.id => {
                    errors.extend(other_collection_token().data)
                }
                Some((_, doc, _)) if find_by_email(app, &loaded, &new_email)?.is_some() => {
                    let _ = doc;
                    errors.insert(
                        "token".into(),
                        field_error(
                            ValidationCode::InvalidTokenEmail,
                            "The new email address is invalid.",
                            None,
                        ),
                    );
                }
                Some((_, doc, _)) => found = Some((doc, new_email)),
            }
        }
    }
    let password_error = || {
        field_error(
            ValidationCode::InvalidPassword,
            "Missing or invalid auth record password.",
            None,
        )
    };
    if given_password.is_empty() {
        errors.insert(
            "password".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if given_password.chars().count() > PASSWORD_LENGTH_MAX {
        errors.insert(
            "password".into(),
            field_error(
                ValidationCode::LengthOutOfRange,
                format!("The length must be between 1 and {PASSWORD_LENGTH_MAX}."),
                Some(json!({"min": 1, "max": PASSWORD_LENGTH_MAX})),
            ),
        );
    } else {
        let stored_hash = found
            .as_ref()
            .map(|(doc, _)| text(doc, "password"))
            .filter(|hash| !hash.is_empty());
        // Without a record this still pays for a hash, like a wrong password.
        let matches = edgebase_auth::password::verify(given_password, stored_hash)
            .await
            .map_err(|error| {
                tracing::error!(%error, "verify password");
                ApiError::internal()
            })?;
        if !matches {
            errors.insert("password".into(), password_error());
        }
    }
    let Some((doc, new_email)) = found.filter(|_| errors.is_empty()) else {
        return Err(validating_error(errors));
    };
    let record_id = text(&doc, "id");
    // As PocketBase: a new email comes with a new tokenKey, so every token issued for the
    // old address (auth tokens and this very confirmation) stops working everywhere.
    let token_key = ids::new_secret(superusers::TOKEN_KEY_LENGTH);
    let saved = save_record(app, &loaded, &record_id, keyed, |doc| {
        doc.insert("email".into(), json!(new_email));
        doc.insert("verified".into(), Value::Bool(true));
        doc.insert("tokenKey".into(), json!(token_key));
    })
    .await;
    match saved {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(SaveError::KeyUsed) => idempotency::answer_of_key(app, keyed),
        Err(SaveError::Api(error)) => Err(error.into()),
        Err(SaveError::Unique) => Err(ApiError::bad_request("Failed to confirm email change.")),
    }
}
