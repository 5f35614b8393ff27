//! Outgoing mail: PocketBase's email templates rendered for a record (`template.rs`) and an
//! SMTP client over `lettre` fed by a bounded queue (`mailer.rs`), configured from the
//! replicated `smtp` and `meta` settings at the time of the request.

pub mod hooks;
pub mod mailer;
pub mod resend_guard;
pub mod template;

pub use hooks::{event_of, MailContext, MailHooks, MailMessage};
pub use mailer::{Mail, MailStats, Mailer};
pub use resend_guard::ResendGuard;
pub use template::{render, Placeholders};

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP is not enabled in the settings and no sendmail command was found")]
    SmtpDisabled,
    #[error("sendmail: {0}")]
    Sendmail(#[from] lettre::transport::sendmail::Error),
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("build message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the mail queue is full")]
    QueueFull,
}
