//! What the email flows share: finding an auth record by email, mailing it one of its
//! collection's templates (queued on this node, so each mail leaves the cluster once), and
//! saving a changed auth record through consensus with its version as the condition.

use edgebase_model::auth_config::MailTemplate;
use edgebase_model::record_values::text;
use edgebase_model::ValidationCode;
use edgebase_storage::query::{FilterPart, ListRequest, RequestContext};
use edgebase_storage::{Command, CommandResult, RecordExpect, Rejection};
use edgebase_wire::FieldKind;
use serde_json::json;

use crate::app::{App, LoadedCollection, Settled};
use crate::error::{field_error, FieldErrors, ServiceError};
use crate::idempotency::IdempotentWrite;
use crate::mail::template::record_placeholders;
use crate::mail::{render, Mail, MailContext, Placeholders};
use crate::record_writes::decode;
use edgebase_auth::record_token::{self, RecordTokenKind, TokenSubject};
use edgebase_model::record_values::Document;
use edgebase_model::time;

/// Longest email PocketBase accepts in these forms.
pub const EMAIL_LENGTH_MAX: usize = 255;

/// A loose shape check like ozzo's `is.EmailFormat`: one `@`, a non-empty local part, a
/// dotted domain, no spaces.
pub fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// PocketBase's `email` field errors for a request form (`Cannot be blank.`, length, format).
pub fn email_errors(key: &str, value: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if value.is_empty() {
        errors.insert(
            key.into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    } else if value.chars().count() > EMAIL_LENGTH_MAX {
        errors.insert(
            key.into(),
            field_error(
                ValidationCode::LengthOutOfRange,
                format!("The length must be between 1 and {EMAIL_LENGTH_MAX}."),
                Some(json!({"min": 1, "max": EMAIL_LENGTH_MAX})),
            ),
        );
    } else if !is_email(value) {
        errors.insert(
            key.into(),
            field_error(
                ValidationCode::IsEmail,
                "Must be a valid email address.",
                None,
            ),
        );
    }
    errors
}

/// The auth record of `loaded` with exactly this email (PocketBase's `FindAuthRecordByEmail`
/// is case-sensitive: read off 0.40.6, `C@X.COM` does not find `c@x.com`); the email's
/// unique index serves the lookup.
pub fn find_by_email(
    app: &App,
    loaded: &LoadedCollection,
    email: &str,
) -> Result<Option<Document>, ServiceError> {
    let page = app.state().list_records(&ListRequest::matching(
        loaded.collection.id.clone(),
        vec![FilterPart::field_equals("email", email)],
        1,
        RequestContext::at(chrono::Utc::now().timestamp_millis()),
        app.limits().records_examined_max,
    ))?;
    page.records.first().map(decode).transpose()
}

/// The resend guard's key for `kind` mails to one record.
pub fn resend_key(kind: RecordTokenKind, collection_id: &str, record_id: &str) -> String {
    format!("{}:{collection_id}:{record_id}", kind.claim())
}

/// Mail `doc` a fresh `kind` token with the collection's `template`, unless this node mailed
/// it one within the resend guard's window (PocketBase's two minutes). Whether it was sent.
pub fn mail_token_once(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    kind: RecordTokenKind,
    template: MailTemplate,
) -> Result<bool, ServiceError> {
    let key = resend_key(kind, &loaded.collection.id, &text(doc, "id"));
    if !app
        .mailer()
        .resend_guard()
        .try_claim(&key, std::time::Instant::now())
    {
        return Ok(false);
    }
    let token = sign_record_token(loaded, doc, kind, None)?;
    let values = MailValues {
        token: &token,
        ..MailValues::default()
    };
    queue_template_mail(app, loaded, template, &text(doc, "email"), doc, values)?;
    Ok(true)
}

/// Sign a `kind` token for `doc` with the collection's secret and lifetime for it.
pub fn sign_record_token(
    loaded: &LoadedCollection,
    doc: &Document,
    kind: RecordTokenKind,
    new_email: Option<&str>,
) -> Result<String, ServiceError> {
    let (secret, duration_secs) =
        record_token::secret_and_duration(&loaded.auth, kind).ok_or_else(|| {
            tracing::error!(collection = %loaded.collection.name, kind = kind.option(), "auth collection without a token secret");
            ServiceError::internal("find the collection's token secret")
        })?;
    let (record_id, email, token_key) =
        (text(doc, "id"), text(doc, "email"), text(doc, "tokenKey"));
    if token_key.is_empty() {
        tracing::error!(collection = %loaded.collection.name, "auth record without a token key");
        return Err(ServiceError::internal("read the record's token key"));
    }
    record_token::sign(
        kind,
        &TokenSubject {
            record_id: &record_id,
            collection_id: &loaded.collection.id,
            email: &email,
            token_key: &token_key,
        },
        new_email,
        secret,
        duration_secs,
    )
    .map_err(|error| ServiceError::internal_from("sign record token", error))
}

/// The auth record a `kind` token names, if the token's signature, type and expiry check out
/// against the record's current `tokenKey` (with the record's collection).
pub fn find_by_token(
    app: &App,
    token: &str,
    kind: RecordTokenKind,
) -> Result<Option<(LoadedCollection, Document, record_token::RecordTokenClaims)>, ServiceError> {
    let Ok(claims) = record_token::unverified_claims(token) else {
        return Ok(None);
    };
    let Some(loaded) = app.collection(&claims.collection_id)? else {
        return Ok(None);
    };
    let Some((secret, _)) = record_token::secret_and_duration(&loaded.auth, kind) else {
        return Ok(None);
    };
    let Some(stored) = app.state().record(&loaded.collection.id, &claims.id)? else {
        return Ok(None);
    };
    let doc = decode(&stored)?;
    let token_key = text(&doc, "tokenKey");
    if token_key.is_empty() {
        return Ok(None);
    }
    match record_token::verify(token, kind, &token_key, secret) {
        Ok(claims) => Ok(Some((loaded, doc, claims))),
        Err(_) => Ok(None),
    }
}

/// The per-mail values of a template (the app's name and URL and the record's fields come
/// from the settings and the record).
#[derive(Debug, Default, Clone, Copy)]
pub struct MailValues<'a> {
    pub token: &'a str,
    pub otp: &'a str,
    pub otp_id: &'a str,
    pub alert_info: &'a str,
}

/// Render the collection's template at the option path `template_path` (`{subject, body}`)
/// for `doc` and queue it to `to`. A mail that cannot be queued is logged and counted by the
/// mailer; the request still succeeds, as the flows answer the same whatever happens to the
/// mail.
pub fn queue_template_mail(
    app: &App,
    loaded: &LoadedCollection,
    template: MailTemplate,
    to: &str,
    doc: &Document,
    values: MailValues<'_>,
) -> Result<(), ServiceError> {
    queue_tracked_template_mail(app, loaded, template, to, doc, values).map(drop)
}

/// [`queue_template_mail`], with a receiver that says whether the mail went out, for a flow
/// that undoes something when it did not.
pub fn queue_tracked_template_mail(
    app: &App,
    loaded: &LoadedCollection,
    kind: MailTemplate,
    to: &str,
    doc: &Document,
    values: MailValues<'_>,
) -> Result<tokio::sync::oneshot::Receiver<bool>, ServiceError> {
    let settings = app.settings()?;
    let template = loaded.auth.template(kind);
    let placeholders = Placeholders {
        app_name: &settings.meta.app_name,
        app_url: &settings.meta.app_url,
        token: values.token,
        otp: values.otp,
        otp_id: values.otp_id,
        alert_info: values.alert_info,
        record: record_placeholders(&loaded.collection, doc),
    };
    let mut mail = Mail::new(
        &settings,
        to,
        render(&template.subject, &placeholders),
        render(&template.body, &placeholders),
    );
    if app.mailer().hooks_handle(kind, &loaded.collection.name) {
        mail.hook = Some(mail_context(loaded, kind, doc, values));
    }
    let (delivered, outcome) = tokio::sync::oneshot::channel();
    mail.delivered = Some(delivered);
    if let Err(error) = app.mailer().enqueue(mail) {
        tracing::error!(%error, template = ?kind, "queue mail");
    }
    Ok(outcome)
}

/// What a record mail's hooks see: the record, its collection and PocketBase's `e.meta`.
fn mail_context(
    loaded: &LoadedCollection,
    template: MailTemplate,
    doc: &Document,
    values: MailValues<'_>,
) -> MailContext {
    let mut collection_json = serde_json::to_value(&*loaded.collection).unwrap_or_default();
    edgebase_model::auth_options::without_secrets(&mut collection_json);
    let mut record = doc.clone();
    record.insert("collectionId".into(), json!(loaded.collection.id));
    record.insert("collectionName".into(), json!(loaded.collection.name));
    let mut meta = serde_json::Map::new();
    for (key, value) in [
        ("token", values.token),
        ("otpId", values.otp_id),
        ("password", values.otp),
        ("info", values.alert_info),
    ] {
        if !value.is_empty() {
            meta.insert(key.into(), json!(value));
        }
    }
    MailContext {
        template,
        collection: loaded.collection.name.clone(),
        collection_json,
        record: serde_json::Value::Object(record),
        meta: serde_json::Value::Object(meta),
    }
}

/// Why a record save did not happen.
pub enum SaveError {
    /// Another record holds a unique value (the email, for instance).
    Unique,
    /// Another attempt with the write's `Idempotency-Key` applied first.
    KeyUsed,
    Api(ServiceError),
}

impl From<ServiceError> for SaveError {
    fn from(error: ServiceError) -> Self {
        SaveError::Api(error)
    }
}

/// The status a keyed save keeps as its answer.
const NO_CONTENT: u16 = 204;

/// Apply `change` to the stored record and write it through consensus, conditioned on the
/// version it read; a record changed meanwhile is read again (bounded attempts). The
/// `updated` autodate fields move to now. Returns the saved document. A keyed save applies
/// once for its key and keeps a 204 as its answer.
pub async fn save_record(
    app: &App,
    loaded: &LoadedCollection,
    record_id: &str,
    keyed: Option<&IdempotentWrite>,
    change: impl Fn(&mut Document),
) -> Result<Document, SaveError> {
    let change = &change;
    app.propose_planned(
        "The record changed concurrently; retry.",
        move || async move {
            let stored = app
                .state()
                .record(&loaded.collection.id, record_id)
                .map_err(ServiceError::from)?
                .ok_or_else(|| ServiceError::bad_request("The auth record no longer exists."))?;
            let mut doc = decode(&stored)?;
            change(&mut doc);
            let now = time::now_string();
            for field in &loaded.collection.fields {
                if let FieldKind::Autodate {
                    on_update: true, ..
                } = field.kind
                {
                    doc.insert(field.name.clone(), json!(now));
                }
            }
            let doc_json = serde_json::to_string(&doc)
                .map_err(|source| ServiceError::internal_from("encode a document", source))?;
            let command = Command::PutRecord {
                collection_id: loaded.collection.id.clone(),
                record_id: record_id.to_string(),
                doc_json,
                expect: RecordExpect::Version(stored.version),
            };
            let command = match keyed {
                Some(keyed) => keyed.wrap(command, NO_CONTENT, Vec::new()),
                None => command,
            };
            Ok::<_, SaveError>((command, doc))
        },
        |doc, outcome| match outcome.result {
            CommandResult::Applied { .. } => Ok(Settled::Done(doc)),
            CommandResult::Rejected(Rejection::UniqueViolation { .. }) => Err(SaveError::Unique),
            CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
                Err(SaveError::KeyUsed)
            }
            CommandResult::Rejected(rejection) => {
                tracing::debug!(?rejection, "auth record changed meanwhile, retrying");
                Ok(Settled::Replan)
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn email_shapes() {
        for (value, expected) in [
            ("a@x.com", true),
            ("a.b+c@sub.x.org", true),
            ("a@x", false),
            ("@x.com", false),
            ("a b@x.com", false),
            ("a@@x.com", false),
            ("ax.com", false),
        ] {
            assert_eq!(super::is_email(value), expected, "{value}");
        }
    }
}
