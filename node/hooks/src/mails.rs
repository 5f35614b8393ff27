//! Mail and hooks, both ways: the `onMailerRecord*Send` hooks see every record mail before
//! the node's mailer sends it ([`MailHooks`] for [`Hooks`]: change its subject, body or
//! recipient, or keep it from going out), and hooks send mail themselves: `$mails` (a
//! record's verification, password reset, email change, OTP and login alert mails, rendered
//! from the collection's templates as the API's own flows render them) and
//! `$app.newMailClient().send(message)`. Mail is queued on this node's mailer, as every
//! mail is, so it leaves the cluster once.

use edgebase_auth::record_token::RecordTokenKind;
use edgebase_model::auth_config::MailTemplate;
use edgebase_model::record_values::text;
use edgebase_service::app::App;
use edgebase_service::mail::{event_of, Mail, MailContext, MailHooks, MailMessage};
use edgebase_service::record_mail::{queue_template_mail, sign_record_token, MailValues};
use edgebase_service::record_writes::decode;
use futures::future::BoxFuture;
use rquickjs::{Ctx, Exception, Function, Object};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::Hooks;

impl MailHooks for Hooks {
    fn handles(&self, template: MailTemplate, collection: &str) -> bool {
        Hooks::handles(self, event_of(template), collection)
    }

    fn before_send(
        &self,
        context: MailContext,
        message: MailMessage,
    ) -> BoxFuture<'static, Option<MailMessage>> {
        let hooks = self.clone();
        Box::pin(async move { hooks.mail(context, message).await })
    }
}

#[derive(Deserialize)]
struct MailAnswer {
    #[serde(default)]
    completed: bool,
    #[serde(default)]
    message: Option<MailMessage>,
    #[serde(default)]
    failure: Option<crate::HookFailure>,
}

impl Hooks {
    /// Run the mail's `onMailerRecord*Send` handlers over `message`.
    async fn mail(&self, context: MailContext, message: MailMessage) -> Option<MailMessage> {
        let event = event_of(context.template);
        let loaded = self.current();
        let sources = loaded.registry.handlers(event, Some(&context.collection));
        if sources.is_empty() {
            return Some(message);
        }
        let shared = self.shared(&loaded.bundle);
        let event_json = json!({
            "collection": context.collection_json,
            "record": context.record,
            "meta": context.meta,
            "message": message,
        });
        let name = format!("{event}({})", context.collection);
        let args = vec![
            name.clone(),
            serde_json::to_string(&sources).unwrap_or_default(),
            event_json.to_string(),
        ];
        let answer = match self.call_entry(shared, "mailSend", args).await {
            Ok(Ok(json)) => serde_json::from_str::<MailAnswer>(&json).ok(),
            Ok(Err(error)) => {
                tracing::error!(hook = %name, %error, "a mailer hook failed; the mail is not sent");
                return None;
            }
            Err(error) => {
                tracing::error!(hook = %name, %error, "a mailer hook could not run; the mail is not sent");
                return None;
            }
        };
        match answer {
            Some(MailAnswer {
                failure: Some(failure),
                ..
            }) => {
                tracing::error!(hook = %name, answer = %failure.message, cause = ?failure.cause, "a mailer hook failed; the mail is not sent");
                None
            }
            Some(MailAnswer {
                completed: true,
                message,
                ..
            }) => message,
            _ => None,
        }
    }
}

/// `$mails`' and the mail client's natives.
pub fn bind<'js>(ctx: &Ctx<'js>, native: &Object<'js>, app: Option<App>) -> rquickjs::Result<()> {
    let with_app = app.clone();
    native.set(
        "mailRecord",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, kind: String, collection: String, id: String, extra: String| {
                let app = with_app.as_ref().ok_or_else(|| {
                    Exception::throw_message(&ctx, "$mails is not available here")
                })?;
                mail_record(app, &kind, &collection, &id, &extra)
                    .map_err(|message| Exception::throw_message(&ctx, &message))
            },
        )?,
    )?;
    native.set(
        "sendMail",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, message: String| {
            let app = app
                .as_ref()
                .ok_or_else(|| Exception::throw_message(&ctx, "mail is not available here"))?;
            send_mail(app, &message).map_err(|message| Exception::throw_message(&ctx, &message))
        })?,
    )?;
    Ok(())
}

/// Queue one of a record's template mails (`kind`: verification, passwordReset,
/// emailChange, otp, authAlert); `extra` carries the new email, the OTP or the alert's
/// info.
fn mail_record(
    app: &App,
    kind: &str,
    collection: &str,
    id: &str,
    extra: &str,
) -> Result<(), String> {
    let extra: Value = serde_json::from_str(extra).unwrap_or(Value::Null);
    let extra_text = |key: &str| extra.get(key).and_then(Value::as_str).unwrap_or_default();
    let loaded = app
        .collection(collection)
        .map_err(|error| error.to_string())?
        .filter(|loaded| loaded.collection.kind == edgebase_wire::CollectionType::Auth)
        .ok_or_else(|| format!("{collection} is not an auth collection"))?;
    let stored = app
        .state()
        .record(&loaded.collection.id, id)
        .map_err(|error| error.to_string())?
        .ok_or_else(|| format!("no record {id} in {collection}"))?;
    let doc = decode(&stored).map_err(|error| error.to_string())?;
    let email = text(&doc, "email");
    let (template, to, token) = match kind {
        "verification" => (
            MailTemplate::Verification,
            email,
            Some((RecordTokenKind::Verification, None)),
        ),
        "passwordReset" => (
            MailTemplate::PasswordReset,
            email,
            Some((RecordTokenKind::PasswordReset, None)),
        ),
        "emailChange" => {
            let new_email = extra_text("newEmail").to_owned();
            (
                MailTemplate::EmailChange,
                new_email.clone(),
                Some((RecordTokenKind::EmailChange, Some(new_email))),
            )
        }
        "otp" => (MailTemplate::Otp, email, None),
        "authAlert" => (MailTemplate::LoginAlert, email, None),
        other => return Err(format!("unknown record mail {other}")),
    };
    if to.is_empty() {
        return Err("the record has no email to send to".into());
    }
    let token = match token {
        Some((kind, new_email)) => sign_record_token(&loaded, &doc, kind, new_email.as_deref())
            .map_err(|error| error.to_string())?,
        None => String::new(),
    };
    let values = MailValues {
        token: &token,
        otp: extra_text("password"),
        otp_id: extra_text("otpId"),
        alert_info: extra_text("info"),
    };
    queue_template_mail(app, &loaded, template, &to, &doc, values)
        .map_err(|error| error.to_string())
}

#[derive(Deserialize)]
struct Address {
    #[serde(default)]
    address: String,
}

#[derive(Deserialize)]
struct Outgoing {
    #[serde(default)]
    to: Vec<Address>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    html: String,
    #[serde(default)]
    text: String,
}

/// Queue a hook's own mail (`$app.newMailClient().send(message)`), from the settings'
/// sender, one mail per recipient.
fn send_mail(app: &App, message: &str) -> Result<(), String> {
    let outgoing: Outgoing =
        serde_json::from_str(message).map_err(|error| format!("a mail message: {error}"))?;
    if outgoing.to.is_empty() {
        return Err("a mail needs at least one recipient".into());
    }
    let settings = app.settings().map_err(|error| error.to_string())?;
    let body = if outgoing.html.is_empty() {
        outgoing.text
    } else {
        outgoing.html
    };
    for recipient in outgoing.to {
        let mail = Mail::new(
            &settings,
            &recipient.address,
            outgoing.subject.clone(),
            body.clone(),
        );
        app.mailer()
            .enqueue(mail)
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}
