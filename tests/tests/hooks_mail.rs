//! Mail and hooks on one node with a real SMTP sink: `onMailerRecordPasswordResetSend`
//! changes a reset mail's subject and body (seeing the record and the token in `e.meta`),
//! `onMailerRecordVerificationSend` keeps verification mails from going out, and a custom
//! route sends mail itself with `$mails.sendRecordPasswordReset` (through the same hook) and
//! `$app.newMailClient().send(new MailerMessage(...))`.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, wait_until, Cluster, RawBody, SmtpSink, NODE_START_TIMEOUT};
use serde_json::json;

const HOOKS: &str = r#"
onMailerRecordPasswordResetSend((e) => {
    e.message.subject = "Reset for " + e.record.getString("name")
    e.message.html = e.message.html + "<p>hooked, token " + (e.meta.token ? "present" : "missing") + "</p>"
    e.next()
}, "users")

onMailerRecordVerificationSend((e) => {
    // Not sent: the chain stops here.
}, "users")

routerAdd("POST", "/api/welcome/{id}", (e) => {
    const user = $app.findRecordById("users", e.request.pathValue("id"))
    $mails.sendRecordPasswordReset($app, user)
    $app.newMailClient().send(new MailerMessage({
        to: [{ address: user.email() }],
        subject: "Welcome " + user.getString("name"),
        html: "<p>Glad you are here.</p>",
    }))
    return e.noContent(204)
}, $apis.requireSuperuserAuth())
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailer_hooks_change_and_stop_mail_and_hooks_send_mail() {
    run_test("hooks_mail", Duration::from_secs(300), |context| async move {
        let sink = SmtpSink::start(context.root()).await?;
        let cluster = Cluster::builder(context.root()).size(1).start().await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let nodes = cluster.raw_admins().await?;
        let (http, token) = (&nodes[0].0, nodes[0].1.as_str());
        let folder = cluster.own_hooks_folder(ids[0])?;
        std::fs::write(folder.join("mail.pb.js"), HOOKS)?;
        let settings = http
            .send("PATCH", "/api/settings", Some(token), RawBody::Json(json!({
                "smtp": {"enabled": true, "host": "127.0.0.1", "port": sink.port},
                "meta": {"appName": "HookMail", "senderName": "Edge", "senderAddress": "noreply@edgebase.test"},
            })), &[])
            .await?;
        ensure!(settings.status == 200, "settings: {}", settings.text);
        let email = "ann@example.com";
        let user = http
            .send("POST", "/api/collections/users/records", None, RawBody::Json(json!({
                "email": email, "password": "password-123", "passwordConfirm": "password-123", "name": "Ann",
            })), &[])
            .await?;
        ensure!(user.status == 200, "sign up: {}", user.text);
        let user_id = user.json.as_ref().and_then(|body| body["id"].as_str()).context("user id")?.to_owned();
        // The folder is loaded (its route answers) before the flows start.
        wait_until("the hooks folder to load", Duration::from_secs(30), || async {
            let answer = http.send("POST", "/api/welcome/nobody", None, RawBody::Json(json!({})), &[]).await?;
            Ok((answer.status == 401).then_some(()))
        })
        .await?;

        for path in ["request-verification", "request-password-reset"] {
            let answer = http
                .send("POST", &format!("/api/collections/users/{path}"), None, RawBody::Json(json!({"email": email})), &[])
                .await?;
            ensure!(answer.status == 204, "{path}: {}", answer.text);
        }
        let reset = sink.wait_mail(email, 1).await?;
        ensure!(reset["subject"] == "Reset for Ann", "the reset mail: {reset}");
        ensure!(reset.to_string().contains("hooked, token present"), "the reset mail's body: {reset}");

        let welcome = http
            .send("POST", &format!("/api/welcome/{user_id}"), Some(token), RawBody::Json(json!({})), &[])
            .await?;
        ensure!(welcome.status == 204, "welcome: {}", welcome.text);
        let sent_by_hook = sink.wait_mail(email, 2).await?;
        ensure!(sent_by_hook["subject"] == "Reset for Ann", "$mails' reset passes the hook: {sent_by_hook}");
        let third = sink.wait_mail(email, 3).await?;
        ensure!(third["subject"] == "Welcome Ann", "the mail client's mail: {third}");
        ensure!(third["from"] == "noreply@edgebase.test", "sender: {third}");
        // The verification mail was asked for first; the mailer sends in order, so it would
        // have arrived before these: it never went out.
        let subjects: Vec<String> = sink
            .mails_to(email)?
            .iter()
            .map(|mail| mail["subject"].as_str().unwrap_or_default().to_owned())
            .collect();
        ensure!(subjects == ["Reset for Ann", "Reset for Ann", "Welcome Ann"], "mails: {subjects:?}");
        Ok(())
    })
    .await;
}
