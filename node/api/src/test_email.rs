//! `POST /api/settings/test/email` (superusers): send one of an auth collection's templates
//! to an address now, with the current SMTP settings, and say whether it went out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use edgebase_client::wire::CollectionType;
use edgebase_model::auth_config::MailTemplate;
use edgebase_model::record_values::text;
use edgebase_model::ValidationCode;

use crate::access::Superuser;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::{json_object, Body};
use edgebase_service::app::App;
use edgebase_service::mail::{render, Mail, Placeholders};
use edgebase_service::record_mail::is_email;
use edgebase_service::superusers::SUPERUSERS_NAME;

pub async fn test_email(
    State(app): State<App>,
    _superuser: Superuser,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let input = json_object(&body).map_err(|_| {
        ApiError::bad_request("An error occurred while loading the submitted data.")
    })?;
    let (email, template, collection) = (
        text(&input, "email"),
        text(&input, "template"),
        text(&input, "collection"),
    );
    let mut errors = FieldErrors::new();
    if email.is_empty() {
        errors.insert(
            "email".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if !is_email(&email) {
        errors.insert(
            "email".into(),
            field_error(
                ValidationCode::IsEmail,
                "Must be a valid email address.",
                None,
            ),
        );
    }
    let kind = MailTemplate::from_test_name(&template);
    if template.is_empty() {
        errors.insert(
            "template".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if kind.is_none() {
        errors.insert(
            "template".into(),
            field_error(ValidationCode::InInvalid, "Must be a valid value.", None),
        );
    }
    let collection = if collection.is_empty() {
        SUPERUSERS_NAME.to_string()
    } else {
        collection
    };
    let loaded = app
        .collection(&collection)?
        .filter(|loaded| loaded.collection.kind == CollectionType::Auth);
    if loaded.is_none() {
        errors.insert(
            "collection".into(),
            field_error(
                ValidationCode::InvalidAuthCollection,
                "Must be a valid auth collection id or name.",
                None,
            ),
        );
    }
    let (Some(loaded), Some(kind), true) = (loaded, kind, errors.is_empty()) else {
        return Err(ApiError::validation(
            "Failed to send the test email.",
            errors,
        ));
    };
    let template = loaded.auth.template(kind);
    let settings = app.settings()?;
    // PocketBase fills a test mail with sample values.
    let values = Placeholders {
        app_name: &settings.meta.app_name,
        app_url: &settings.meta.app_url,
        token: "__TEST_TOKEN__",
        otp: "123456",
        otp_id: "__TEST_OTP_ID__",
        alert_info: "test alert info",
        record: Vec::new(),
    };
    let mail = Mail::new(
        &settings,
        &email,
        render(&template.subject, &values),
        render(&template.body, &values),
    );
    match app.mailer().send_now(mail).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(error) => Err(ApiError::bad_request(format!(
            "Failed to send the test email. Raw error: \n{error}"
        ))),
    }
}
