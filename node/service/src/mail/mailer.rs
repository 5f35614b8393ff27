//! The SMTP client: mails are queued (bounded) by the node that handled the request and sent
//! off the request path by one worker task, so each mail leaves the cluster once. Failures
//! are logged with `tracing` and counted in [`MailStats`]; a full queue refuses the mail
//! (logged and counted) rather than growing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{
    Address, AsyncSendmailTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use tokio::sync::mpsc;

use crate::mail::MailError;
use edgebase_model::settings::{Settings, SmtpSettings};

/// Mails waiting to be sent, at most.
const QUEUE_LENGTH_MAX: usize = 256;
/// Longest one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One mail, with the SMTP settings and sender as they were when it was asked for.
#[derive(Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub smtp: SmtpSettings,
    pub sender_name: String,
    pub sender_address: String,
    /// Told whether the mail went out (true) or failed or was dropped (false), for a caller
    /// that must undo something when it did not.
    pub delivered: Option<tokio::sync::oneshot::Sender<bool>>,
    /// A record mail's context, for the hooks that see it before it goes out.
    pub hook: Option<crate::mail::MailContext>,
}

impl Mail {
    pub fn new(settings: &Settings, to: &str, subject: String, html: String) -> Mail {
        Mail {
            to: to.to_string(),
            subject,
            html,
            smtp: settings.smtp.clone(),
            sender_name: settings.meta.sender_name.clone(),
            sender_address: settings.meta.sender_address.clone(),
            delivered: None,
            hook: None,
        }
    }
}

/// Counts since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailStats {
    pub sent: u64,
    pub failed: u64,
    /// Refused because the queue was full.
    pub dropped: u64,
}

/// Cheap to clone; the worker starts with the first queued mail (inside the runtime).
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<MailerInner>,
}

struct MailerInner {
    sender: mpsc::Sender<Mail>,
    /// Taken by the worker when it starts.
    receiver: Mutex<Option<mpsc::Receiver<Mail>>>,
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    resend_guard: crate::mail::ResendGuard,
    /// The server-side hooks, once installed.
    hooks: std::sync::OnceLock<Arc<dyn crate::mail::MailHooks>>,
}

impl Default for Mailer {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_LENGTH_MAX);
        Mailer {
            inner: Arc::new(MailerInner {
                sender,
                receiver: Mutex::new(Some(receiver)),
                sent: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                resend_guard: crate::mail::ResendGuard::default(),
                hooks: std::sync::OnceLock::new(),
            }),
        }
    }
}

impl Mailer {
    pub fn stats(&self) -> MailStats {
        MailStats {
            sent: self.inner.sent.load(Ordering::Relaxed),
            failed: self.inner.failed.load(Ordering::Relaxed),
            dropped: self.inner.dropped.load(Ordering::Relaxed),
        }
    }

    /// Install the server-side hooks record mails pass before they go out (once).
    pub fn set_hooks(&self, hooks: Arc<dyn crate::mail::MailHooks>) {
        let _ = self.inner.hooks.set(hooks);
    }

    /// Whether a hook wants to see the mails of `template` for `collection`.
    pub fn hooks_handle(
        &self,
        template: edgebase_model::auth_config::MailTemplate,
        collection: &str,
    ) -> bool {
        self.inner
            .hooks
            .get()
            .is_some_and(|hooks| hooks.handles(template, collection))
    }

    /// This node's guard against mailing the same record again too soon.
    pub fn resend_guard(&self) -> &crate::mail::ResendGuard {
        &self.inner.resend_guard
    }

    /// Queue a mail to be sent in the background. Must be called inside the Tokio runtime.
    pub fn enqueue(&self, mail: Mail) -> Result<(), MailError> {
        self.start_worker();
        if let Err(refused) = self.inner.sender.try_send(mail) {
            let mut mail = match refused {
                mpsc::error::TrySendError::Full(mail) | mpsc::error::TrySendError::Closed(mail) => {
                    mail
                }
            };
            let dropped = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(subject = %mail.subject, dropped, "mail queue full, mail not sent");
            if let Some(delivered) = mail.delivered.take() {
                // The caller may have stopped waiting; nothing to do then.
                let _ = delivered.send(false);
            }
            return Err(MailError::QueueFull);
        }
        Ok(())
    }

    /// Send a mail now and say how it went (the test email endpoint).
    pub async fn send_now(&self, mail: Mail) -> Result<(), MailError> {
        let outcome = send(&mail).await;
        self.record(mail, &outcome);
        outcome
    }

    fn record(&self, mut mail: Mail, outcome: &Result<(), MailError>) {
        match outcome {
            Ok(()) => {
                self.inner.sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(subject = %mail.subject, "mail sent");
            }
            Err(error) => {
                let failed = self.inner.failed.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(%error, subject = %mail.subject, failed, "send mail");
            }
        }
        if let Some(delivered) = mail.delivered.take() {
            // The caller may have stopped waiting; nothing to do then.
            let _ = delivered.send(outcome.is_ok());
        }
    }

    /// `mail` as the hooks left it; `None` when a hook kept it from going out (the flow
    /// that asked for it is told it went, as the hook meant it not to).
    async fn hooked(&self, mut mail: Mail) -> Option<Mail> {
        let (Some(context), Some(hooks)) = (mail.hook.take(), self.inner.hooks.get()) else {
            return Some(mail);
        };
        let message = crate::mail::MailMessage {
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            html: mail.html.clone(),
        };
        match hooks.before_send(context, message).await {
            Some(message) => {
                mail.to = message.to;
                mail.subject = message.subject;
                mail.html = message.html;
                Some(mail)
            }
            None => {
                tracing::info!(subject = %mail.subject, "a mailer hook kept a mail from being sent");
                if let Some(delivered) = mail.delivered.take() {
                    let _ = delivered.send(true);
                }
                None
            }
        }
    }

    fn start_worker(&self) {
        let receiver = self
            .inner
            .receiver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let Some(mut receiver) = receiver else {
            return;
        };
        let mailer = self.clone();
        tokio::spawn(async move {
            while let Some(mail) = receiver.recv().await {
                let Some(mail) = mailer.hooked(mail).await else {
                    continue;
                };
                let outcome = send(&mail).await;
                mailer.record(mail, &outcome);
            }
        });
    }
}

fn mailbox(name: &str, address: &str) -> Result<Mailbox, MailError> {
    let parsed: Address = address
        .trim()
        .parse()
        .map_err(|_| MailError::Address(address.to_string()))?;
    let name = Some(name.trim().to_string()).filter(|name| !name.is_empty());
    Ok(Mailbox::new(name, parsed))
}

fn transport(smtp: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let port = u16::try_from(smtp.port).unwrap_or(587);
    let parameters = TlsParameters::new(smtp.host.clone())?;
    // PocketBase: `tls` means implicit TLS; otherwise STARTTLS when the server offers it.
    let tls = if smtp.tls {
        Tls::Wrapper(parameters)
    } else {
        Tls::Opportunistic(parameters)
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if !smtp.username.is_empty() {
        let mechanism = if smtp.auth_method.eq_ignore_ascii_case("LOGIN") {
            Mechanism::Login
        } else {
            Mechanism::Plain
        };
        builder = builder
            .credentials(Credentials::new(
                smtp.username.clone(),
                smtp.password.clone(),
            ))
            .authentication(vec![mechanism]);
    }
    if !smtp.local_name.is_empty() {
        builder = builder.hello_name(ClientId::Domain(smtp.local_name.clone()));
    }
    Ok(builder.build())
}

/// Where PocketBase looks for the local `sendmail` command, in order.
const SENDMAIL_PATHS: &[&str] = &["/usr/sbin/sendmail", "/usr/bin/sendmail"];

/// The local `sendmail` command, as PocketBase finds it: a usual path, else `sendmail` on
/// `PATH`.
fn sendmail_command() -> Option<std::path::PathBuf> {
    let usual = SENDMAIL_PATHS
        .iter()
        .map(std::path::PathBuf::from)
        .find(|path| path.is_file());
    usual.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("sendmail"))
                .find(|path| path.is_file())
        })
    })
}

/// Send through SMTP when the settings enable it, else through the local `sendmail` (as
/// PocketBase does).
async fn send(mail: &Mail) -> Result<(), MailError> {
    let message = Message::builder()
        .from(mailbox(&mail.sender_name, &mail.sender_address)?)
        .to(mailbox("", &mail.to)?)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_HTML)
        .body(mail.html.clone())?;
    if mail.smtp.enabled {
        transport(&mail.smtp)?.send(message).await?;
        return Ok(());
    }
    let command = sendmail_command().ok_or(MailError::SmtpDisabled)?;
    AsyncSendmailTransport::<Tokio1Executor>::new_with_command(command)
        .send(message)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disabled_smtp_without_sendmail_fails_and_is_counted() {
        if sendmail_command().is_some() {
            // This machine has a sendmail: the fallback would deliver.
            return;
        }
        let mailer = Mailer::default();
        let mail = Mail::new(&Settings::default(), "a@x.com", "s".into(), "b".into());
        assert!(matches!(
            mailer.send_now(mail).await,
            Err(MailError::SmtpDisabled)
        ));
        assert_eq!(mailer.stats().failed, 1);
    }

    #[test]
    fn addresses_are_checked() {
        for (address, valid) in [("a@x.com", true), (" a@x.com ", true), ("nope", false)] {
            assert_eq!(mailbox("N", address).is_ok(), valid, "{address}");
        }
    }
}
