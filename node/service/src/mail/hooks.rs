//! Where the server-side hooks see a record's mail before it goes out
//! (`onMailerRecordVerificationSend` and the like): the mailer's worker hands each record
//! mail to the installed [`MailHooks`], which may change its subject, body and recipient or
//! keep it from being sent. The hooks live in a crate above this one, so they come in as a
//! trait object, installed once at startup.

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use edgebase_model::auth_config::MailTemplate;

/// What a record mail is about, for its hook.
#[derive(Debug, Clone)]
pub struct MailContext {
    pub template: MailTemplate,
    /// The auth collection's name (the hooks' tag).
    pub collection: String,
    /// The collection as hooks see it.
    pub collection_json: Value,
    /// The record the mail is for, as hooks see it.
    pub record: Value,
    /// PocketBase's `e.meta` of the mail (the token, the OTP id, ...).
    pub meta: Value,
}

/// The parts of a mail a hook may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailMessage {
    pub to: String,
    pub subject: String,
    pub html: String,
}

/// The server-side hooks, as the mailer sees them.
pub trait MailHooks: Send + Sync {
    /// Whether a hook wants to see mails of `template` for the collection `collection`.
    fn handles(&self, template: MailTemplate, collection: &str) -> bool;

    /// Run the hooks over `message`: the mail as they left it, or `None` when it is not to
    /// be sent.
    fn before_send(
        &self,
        context: MailContext,
        message: MailMessage,
    ) -> BoxFuture<'static, Option<MailMessage>>;
}

/// The hook event of each record mail, as PocketBase names it.
pub fn event_of(template: MailTemplate) -> &'static str {
    match template {
        MailTemplate::Verification => "onMailerRecordVerificationSend",
        MailTemplate::PasswordReset => "onMailerRecordPasswordResetSend",
        MailTemplate::EmailChange => "onMailerRecordEmailChangeSend",
        MailTemplate::Otp => "onMailerRecordOTPSend",
        MailTemplate::LoginAlert => "onMailerRecordAuthAlertSend",
    }
}
