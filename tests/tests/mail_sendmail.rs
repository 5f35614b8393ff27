//! With SMTP off, mail goes through the local `sendmail` command, as in PocketBase: the same
//! test email sent to PocketBase 0.40.6 and to EdgeBase, each with a `sendmail` on its
//! `PATH` that records what it is given, reaches the command for the same recipient with
//! the app's name in its subject, and both answer the request alike.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::conformance::{Target, TargetKind};
use edgebase_tests::{run_test, wait_until, RawBody};
use serde_json::json;

const MAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// A `sendmail` that writes its arguments and its input to a new file in `dir/mails`.
fn fake_sendmail(dir: &Path) -> anyhow::Result<PathBuf> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(dir.join("mails"))?;
    std::fs::create_dir_all(&bin)?;
    let script = bin.join("sendmail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nout='{}'/mails/mail-$$.eml\nprintf 'ARGS: %s\\n' \"$*\" > \"$out\"\ncat >> \"$out\"\n",
            dir.display()
        ),
    )?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    Ok(bin)
}

/// The one mail recorded in `dir/mails`: its `To` and `Subject` header values.
async fn recorded_mail(dir: &Path) -> anyhow::Result<(String, String)> {
    let mails = dir.join("mails");
    wait_until("the mail to reach sendmail", MAIL_TIMEOUT, || {
        let mails = mails.clone();
        async move {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(&mails)? {
                found.push(std::fs::read_to_string(entry?.path())?);
            }
            let Some(text) = found.first() else {
                return Ok(None);
            };
            ensure!(found.len() == 1, "{} mails: {found:?}", found.len());
            let header = |name: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}: ")))
                    .map(|value| value.trim().to_owned())
            };
            match (header("To"), header("Subject")) {
                (Some(to), Some(subject)) => Ok(Some((to, subject))),
                // The script may still be writing.
                _ => Ok(None),
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_email_goes_through_sendmail_when_smtp_is_off() {
    run_test(
        "mail_sendmail",
        Duration::from_secs(180),
        |context| async move {
            let mut answers = Vec::new();
            let mut mails = Vec::new();
            for kind in [TargetKind::PocketBase, TargetKind::EdgeBase] {
                let dir = context.root().join(format!("{kind}-sendmail"));
                let bin = fake_sendmail(&dir)?;
                let path = format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                );
                let target = Target::start_with_env(
                    kind,
                    context.root(),
                    &format!("{kind}-server"),
                    vec![("PATH".into(), path)],
                )
                .await?;
                let answer = target
                    .client
                    .send(
                        "POST",
                        "/api/settings/test/email",
                        Some(&target.superuser_token),
                        RawBody::Json(
                            json!({"email": "someone@example.com", "template": "verification"}),
                        ),
                        &[],
                    )
                    .await?;
                answers.push((answer.status, answer.text.clone()));
                mails.push(
                    recorded_mail(&dir)
                        .await
                        .with_context(|| format!("{kind}'s mail"))?,
                );
            }
            eprintln!("answers {answers:?}, mails {mails:?}");
            ensure!(answers[0] == answers[1], "answers differ: {answers:?}");
            ensure!(answers[1].0 == 204, "EdgeBase answered {:?}", answers[1]);
            ensure!(
                mails[0].0.contains("someone@example.com")
                    && mails[1].0.contains("someone@example.com"),
                "recipients: {mails:?}"
            );
            // The default templates are each server's own words; both fill in the app's name.
            ensure!(
                mails.iter().all(|(_, subject)| subject.contains("Acme")),
                "subjects: {mails:?}"
            );
            Ok(())
        },
    )
    .await;
}
