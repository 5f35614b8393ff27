//! `POST /api/collections/{c}/request-otp` and `auth-with-otp`: a numeric one-time code is
//! stored hashed in the replicated `_otps` collection (so any node can check it) and mailed
//! from the node that took the request; an unknown email still gets an `otpId`, so the
//! answer does not tell whether the account exists. A code is single use cluster-wide: the
//! login that consumes it deletes the record conditioned on its version.

use edgebase_model::auth_config::MailTemplate;
use edgebase_model::ValidationCode;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_storage::{Command, CommandResult, RecordExpect, Rejection};
use rand::Rng;
use serde_json::{json, Value};

use crate::auth::auth_collection;
use crate::auth::check_auth_rule_in;
use crate::auth::mfa::{complete_auth, requested_mfa_id, METHOD_OTP};
use crate::auth::sign_in::SignIn;
use crate::auth::verification::{body_text, loading_error, validating_error};
use crate::consistency::Fresh;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use crate::idempotency;
use edgebase_auth::password;
use edgebase_model::ids;
use edgebase_model::record_values::text;
use edgebase_model::time;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::auth_sessions::{self, SessionKind};
use edgebase_service::record_mail::{
    email_errors, find_by_email, queue_tracked_template_mail, save_record, MailValues,
};
use edgebase_service::record_writes::decode;

/// Unexpired codes one record may hold; past it the newest is handed out again, unmailed
/// (PocketBase's limit).
const RECENT_OTPS_MAX: usize = 10;
/// Longest OTP id and code accepted (PocketBase's form).
const OTP_ID_LENGTH_MAX: usize = 255;
const OTP_PASSWORD_LENGTH_MAX: usize = 71;
/// Code attempts one record may make per interval (PocketBase's).
const OTP_ATTEMPTS_MAX: i64 = 5;
const OTP_ATTEMPTS_INTERVAL_SECS: i64 = 180;
/// Bounds on the configured code length.
const CODE_LENGTH_MAX: u64 = 64;

fn otp_enabled(loaded: &LoadedCollection) -> Result<(), ApiError> {
    if !loaded.auth.otp.enabled {
        return Err(ApiError::forbidden(
            "The collection is not configured to allow OTP authentication.",
        ));
    }
    Ok(())
}

fn duration_secs(loaded: &LoadedCollection) -> u64 {
    loaded.auth.otp.duration_secs
}

fn new_code(length: u64) -> String {
    let mut rng = rand::thread_rng();
    (0..length.clamp(1, CODE_LENGTH_MAX))
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

pub async fn request_otp(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    // Keyed, a retry gets the first code's id again and no second code or mail.
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let keyed = keyed.as_ref();
    let loaded = auth_collection(&app, &collection)?;
    otp_enabled(&loaded)?;
    let input = json_object(&body).map_err(|_| loading_error())?;
    let email = body_text(&input, "email");
    let errors = email_errors("email", &email);
    if !errors.is_empty() {
        return Err(validating_error(errors));
    }
    let answer = |id: String| Json(json!({ "otpId": id })).into_response();
    // PocketBase's default length when none is stored.
    let length = match loaded.auth.otp.length {
        0 => 8,
        length => length,
    };
    let Some(doc) = find_by_email(&app, &loaded, &email)? else {
        // An unknown email gets an id that leads nowhere, after the same hash a real code
        // costs (the write a real code also costs is not imitated).
        if let Err(error) = password::hash(new_code(length)).await {
            tracing::error!(%error, "hash OTP");
        }
        return Ok(answer(ids::new_record_id()));
    };
    let otps = auth_sessions::ensure(&app, SessionKind::Otp).await?;
    let record_id = text(&doc, "id");
    let mut recent = auth_sessions::prune_sessions(
        &app,
        &otps,
        &loaded.collection.id,
        &record_id,
        duration_secs(&loaded),
    )
    .await?;
    if recent.len() >= RECENT_OTPS_MAX {
        let (_, id) = recent.pop().ok_or_else(ApiError::internal)?;
        tracing::warn!(record = %record_id, otp = %id, "too many OTP requests, reusing the last issued");
        return Ok(answer(id));
    }
    let code = new_code(length);
    let hash = password::hash(code.clone()).await.map_err(|error| {
        tracing::error!(%error, "hash OTP");
        ApiError::internal()
    })?;
    let now = time::now_string();
    let id = ids::new_record_id();
    let sent_to = text(&doc, "email");
    let otp = json!({
        "id": id,
        "collectionRef": loaded.collection.id,
        "recordRef": record_id,
        "password": hash,
        "sentTo": sent_to,
        "created": now,
        "updated": now,
    });
    let command = idempotency::keep_answer(
        keyed,
        Command::PutRecord {
            collection_id: otps.collection.id.clone(),
            record_id: id.clone(),
            doc_json: otp.to_string(),
            expect: RecordExpect::Absent,
        },
        StatusCode::OK,
        Some(&json!({ "otpId": id })),
    )?;
    let outcome = app.propose(command).await?;
    match outcome.result {
        CommandResult::Applied { .. } => {}
        // An earlier attempt with the key stored a code and sent its mail.
        CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
            return idempotency::answer_of_key(&app, keyed);
        }
        CommandResult::Rejected(rejection) => {
            tracing::error!(?rejection, "store OTP");
            return Err(ApiError::internal());
        }
    }
    let delivered = queue_tracked_template_mail(
        &app,
        &loaded,
        MailTemplate::Otp,
        &sent_to,
        &doc,
        MailValues {
            otp: &code,
            otp_id: &id,
            ..MailValues::default()
        },
    )?;
    // As PocketBase: a code whose mail did not go out is deleted, so it cannot be guessed at.
    let cleanup_app = app.clone();
    let (otps_id, otp_id) = (otps.collection.id.clone(), id.clone());
    tokio::spawn(async move {
        if let Ok(false) = delivered.await {
            let delete = Command::DeleteRecord {
                collection_id: otps_id,
                record_id: otp_id.clone(),
                expect: RecordExpect::Exists,
            };
            if let Err(error) = cleanup_app.propose(delete).await {
                tracing::warn!(?error, otp = %otp_id, "delete the OTP whose mail failed");
            }
        }
    });
    Ok(answer(id))
}

fn form_errors(otp_id: &str, code: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (key, value, max) in [
        ("otpId", otp_id, OTP_ID_LENGTH_MAX),
        ("password", code, OTP_PASSWORD_LENGTH_MAX),
    ] {
        if value.is_empty() {
            errors.insert(
                key.into(),
                field_error(ValidationCode::Required, "Cannot be blank.", None),
            );
        } else if value.chars().count() > max {
            errors.insert(
                key.into(),
                field_error(
                    ValidationCode::LengthOutOfRange,
                    format!("The length must be between 1 and {max}."),
                    Some(json!({"min": 1, "max": max})),
                ),
            );
        }
    }
    errors
}

pub async fn auth_with_otp(
    sign_in: SignIn,
    method: Method,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let app = sign_in.app.clone();
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &sign_in.uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let outcome = auth_with_otp_once(sign_in, &body).await;
    idempotency::keep_login_answer(&app, keyed.as_ref(), outcome).await
}

/// The login itself (its key, if any, checked already).
async fn auth_with_otp_once(sign_in: SignIn, body: &[u8]) -> Result<Response, ApiError> {
    let SignIn {
        app,
        loaded,
        caller,
        client,
        uri,
    } = sign_in;
    otp_enabled(&loaded)?;
    let input = json_object(body).map_err(|_| loading_error())?;
    let (otp_id, code) = (body_text(&input, "otpId"), body_text(&input, "password"));
    let errors = form_errors(&otp_id, &code);
    if !errors.is_empty() {
        return Err(validating_error(errors));
    }
    // One answer for every failure, so codes cannot be told apart from ids.
    let invalid = || ApiError::bad_request("Invalid or expired OTP.");
    let Some(otps) = app.collection(auth_sessions::OTPS_NAME)? else {
        return Err(invalid());
    };
    let Some(stored) = app.state().record(&otps.collection.id, &otp_id)? else {
        return Err(invalid());
    };
    let otp = decode(&stored)?;
    if text(&otp, "collectionRef") != loaded.collection.id
        || auth_sessions::has_expired(&text(&otp, "created"), duration_secs(&loaded))
    {
        return Err(invalid());
    }
    let Some(record) = app
        .state()
        .record(&loaded.collection.id, &text(&otp, "recordRef"))?
    else {
        return Err(invalid());
    };
    let mut doc = decode(&record)?;
    // Codes are short digit strings: PocketBase allows a record 5 attempts per 3 minutes
    // (counted here per node, so a cluster of N nodes allows at most 5N).
    let settings = app.settings()?;
    let allowed = app.rate_limiter().allow(
        &settings,
        &format!("@pb_otp_{}", text(&doc, "id")),
        "",
        OTP_ATTEMPTS_MAX,
        OTP_ATTEMPTS_INTERVAL_SECS,
        chrono::Utc::now().timestamp(),
    );
    if !allowed {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts, please try again later with a new OTP.",
        ));
    }
    let stored_hash = Some(text(&otp, "password")).filter(|hash| !hash.is_empty());
    let matches = password::verify(code, stored_hash).await.map_err(|error| {
        tracing::error!(%error, "verify OTP");
        ApiError::internal()
    })?;
    if !matches {
        return Err(invalid());
    }
    // Used up before anything else: of two logins racing with one code, only the one whose
    // delete applies goes on.
    let consumed = app
        .propose(Command::DeleteRecord {
            collection_id: otps.collection.id.clone(),
            record_id: otp_id.clone(),
            expect: RecordExpect::Version(stored.version),
        })
        .await?;
    if let CommandResult::Rejected(_) = consumed.result {
        return Err(invalid());
    }
    // The code reached the record's current address: that proves it.
    let sent_to = text(&otp, "sentTo");
    if doc.get("verified").and_then(Value::as_bool) != Some(true)
        && !sent_to.is_empty()
        && text(&doc, "email") == sent_to
    {
        let record_id = text(&doc, "id");
        match save_record(&app, &loaded, &record_id, None, |doc| {
            doc.insert("verified".into(), Value::Bool(true));
        })
        .await
        {
            Ok(saved) => doc = saved,
            Err(_) => tracing::error!(record = %record_id, "mark verified after OTP"),
        }
    }
    check_auth_rule_in(&app, &loaded, &doc, &caller, METHOD_OTP)?;
    complete_auth(
        &app,
        &loaded,
        &doc,
        &caller,
        METHOD_OTP,
        &requested_mfa_id(&uri, &input),
        &client,
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_digits_of_the_configured_length() {
        for (length, expected) in [(8, 8), (6, 6), (0, 1), (1000, 64)] {
            let code = super::new_code(length);
            assert_eq!(code.len(), expected);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }
}
