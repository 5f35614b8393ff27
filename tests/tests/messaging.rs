//! Messaging end to end on a real node, every provider a local test server started by the
//! test: a push to a topic reaches the user's Web Push subscription (the push service
//! checks the VAPID JWT and decrypts the payload to the text sent), FCM device (OAuth2
//! token exchange checked) and APNs device (HTTP/2, ES256 provider token checked); an email
//! and an SMS reach their sinks; a push service answering 410 gets its target removed, one
//! answering 500 is tried `attemptsMax` times and the delivery marked failed; bad input
//! (a malformed subscription, unknown recipients, a payload over the push limit, a caller
//! who is not a superuser) is refused with PocketBase's error envelope and stores nothing;
//! a hook sends a message with `$app.sendMessage`; `/metrics` counts the deliveries.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::messages::{answer_id, settled_message, MESSAGE_SETTLE};
use edgebase_tests::push_services::{ApnsService, FcmService, SmsSink, TestAnswer, WebPushService};
use edgebase_tests::{
    run_test, wait_until, Cluster, RawBody, RawClient, SmtpSink, NODE_START_TIMEOUT,
};
use serde_json::{json, Value};

const SETTLE: Duration = MESSAGE_SETTLE;

const HOOKS: &str = r#"
routerAdd("POST", "/api/notify/{user}", (e) => {
    const message = $app.sendMessage({
        kind: "sms",
        to: { users: [{ collection: "users", id: e.request.pathValue("user") }] },
        text: "from a hook",
    })
    return e.json(200, { id: message.id, status: message.status })
})
"#;

async fn send(
    http: &RawClient,
    token: &str,
    body: Value,
) -> anyhow::Result<edgebase_tests::RawResponse> {
    http.send(
        "POST",
        "/api/messages",
        Some(token),
        RawBody::Json(body),
        &[],
    )
    .await
}

async fn accepted(http: &RawClient, token: &str, body: Value) -> anyhow::Result<String> {
    let answer = send(http, token, body).await?;
    ensure!(answer.status == 200, "send: {}", answer.text);
    Ok(answer
        .json
        .as_ref()
        .and_then(|m| m["id"].as_str())
        .context("message id")?
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_every_provider_and_bad_input_is_refused() {
    run_test("messaging", Duration::from_secs(300), |context| async move {
        let web_push = WebPushService::start().await?;
        let fcm = FcmService::start().await?;
        let apns = ApnsService::start().await?;
        let sms = SmsSink::start("AC-test", "sms-secret").await?;
        let smtp = SmtpSink::start(context.root()).await?;
        let cluster = Cluster::builder(context.root()).size(1).start().await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        std::fs::write(cluster.own_hooks_folder(ids[0])?.join("notify.pb.js"), HOOKS)?;
        let nodes = cluster.raw_admins().await?;
        let (http, token) = (&nodes[0].0, nodes[0].1.as_str());

        // Before messaging is set up, a message is refused and no collection appears.
        let early = send(http, token, json!({"kind": "push", "to": {"topics": ["news"]}, "title": "Hi"})).await?;
        ensure!(early.status == 400, "before setup: {}", early.text);
        ensure!(early.text.contains("No push provider is enabled"), "{}", early.text);
        let listed = http
            .send("GET", "/api/collections?perPage=200", Some(token), RawBody::None, &[])
            .await?;
        ensure!(listed.status == 200 && !listed.text.contains("_message"), "messaging's collections exist before setup: {}", listed.text);

        let pocketbase = http
            .send("PATCH", "/api/settings", Some(token), RawBody::Json(json!({
                "smtp": {"enabled": true, "host": "127.0.0.1", "port": smtp.port},
                "meta": {"senderName": "Edge", "senderAddress": "noreply@edgebase.test"},
            })), &[])
            .await?;
        ensure!(pocketbase.status == 200, "smtp settings: {}", pocketbase.text);
        let mut sms_settings = sms.settings("+15550000");
        sms_settings["phoneField"] = json!("phone");
        let settings = http
            .send("PATCH", "/api/messaging/settings", Some(token), RawBody::Json(json!({
                "webPush": {"enabled": true, "subject": "mailto:ops@edgebase.test"},
                "fcm": fcm.settings("edge-project"),
                "apns": apns.settings(),
                "sms": sms_settings,
                "email": {"enabled": true},
                "retry": {"attemptsMax": 3, "backoffMs": 200, "backoffMaxMs": 400},
            })), &[])
            .await?;
        ensure!(settings.status == 200, "messaging settings: {}", settings.text);
        let shown = settings.json.context("settings json")?;
        for section in ["webPush", "fcm", "apns"] {
            ensure!(shown[section]["privateKey"] == "", "{section}'s secret shown: {shown}");
        }
        ensure!(shown["sms"]["password"] == "", "the SMS secret shown: {shown}");
        let vapid = http
            .send("GET", "/api/messaging/vapid-public-key", None, RawBody::None, &[])
            .await?;
        let vapid_key = vapid.json.as_ref().and_then(|b| b["publicKey"].as_str()).context("vapid key")?;
        ensure!(vapid_key == shown["webPush"]["publicKey"], "the VAPID key differs");
        web_push.expect_vapid_key(vapid_key);

        // A user with a phone number, signed in.
        let users = http
            .send("PATCH", "/api/collections/users", Some(token), RawBody::Json(json!({
                "fields": [{"name": "phone", "type": "text"}],
            })), &[])
            .await?;
        ensure!(users.status == 200, "add phone: {}", users.text);
        let email = "ann@example.com";
        let user = http
            .send("POST", "/api/collections/users/records", None, RawBody::Json(json!({
                "email": email, "password": "password-123", "passwordConfirm": "password-123", "phone": "+15551234",
            })), &[])
            .await?;
        ensure!(user.status == 200, "sign up: {}", user.text);
        let user_id = answer_id(&user)?;
        let login = http
            .send("POST", "/api/collections/users/auth-with-password", None, RawBody::Json(json!({
                "identity": email, "password": "password-123",
            })), &[])
            .await?;
        let user_token = login.json.as_ref().and_then(|b| b["token"].as_str()).context("token")?.to_owned();
        let owner = json!({"collectionRef": "_pb_users_auth_", "recordRef": user_id});
        let register = |target: Value| {
            let mut body = owner.clone();
            body.as_object_mut().unwrap().extend(target.as_object().unwrap().clone());
            let user_token = user_token.clone();
            async move {
                http.send("POST", "/api/collections/_messageTargets/records", Some(&user_token), RawBody::Json(body), &[])
                    .await
            }
        };

        // Bad targets are refused with the field named, and stored nowhere.
        let subscription = web_push.subscribe();
        let bad = register(json!({"kind": "webpush", "endpoint": subscription.endpoint, "p256dh": "BAAA", "auth": subscription.auth})).await?;
        ensure!(bad.status == 400, "malformed subscription: {}", bad.text);
        ensure!(bad.json.as_ref().is_some_and(|b| b["data"]["p256dh"]["code"] == "validation_invalid_value"), "{}", bad.text);
        let bad = register(json!({"kind": "webpush", "endpoint": subscription.endpoint, "p256dh": subscription.p256dh})).await?;
        ensure!(bad.status == 400 && bad.text.contains("\"auth\""), "no auth secret: {}", bad.text);
        let bad = register(json!({"kind": "apns", "token": "not hex"})).await?;
        ensure!(bad.status == 400 && bad.text.contains("\"token\""), "apns token: {}", bad.text);
        let foreign = http
            .send("POST", "/api/collections/_messageTargets/records", Some(&user_token), RawBody::Json(json!({
                "collectionRef": "_pb_users_auth_", "recordRef": "someoneelse1234", "kind": "fcm", "token": "x",
            })), &[])
            .await?;
        ensure!(foreign.status == 400, "a target for another record: {}", foreign.text);
        let listed = http
            .send("GET", "/api/collections/_messageTargets/records", Some(token), RawBody::None, &[])
            .await?;
        ensure!(listed.json.as_ref().is_some_and(|b| b["totalItems"] == 0), "refused targets stored: {}", listed.text);

        // The user's three devices, and a topic it follows.
        let web_target = answer_id(&register(json!({"kind": "webpush", "endpoint": subscription.endpoint, "p256dh": subscription.p256dh, "auth": subscription.auth})).await?)?;
        answer_id(&register(json!({"kind": "fcm", "token": "fcm-device-1"})).await?)?;
        let apns_device = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
        answer_id(&register(json!({"kind": "apns", "token": apns_device})).await?)?;
        let topic = http
            .send("POST", "/api/collections/_messageTopics/records", Some(token), RawBody::Json(json!({"name": "news"})), &[])
            .await?;
        let topic_id = answer_id(&topic)?;
        let mut follow = owner.clone();
        follow["topic"] = json!(topic_id);
        let followed = http
            .send("POST", "/api/collections/_messageSubscriptions/records", Some(&user_token), RawBody::Json(follow), &[])
            .await?;
        ensure!(followed.status == 200, "subscribe to the topic: {}", followed.text);

        // A push to the topic reaches all three devices.
        let id = accepted(http, token, json!({
            "kind": "push", "to": {"topics": ["news"]}, "title": "Big news", "body": "Read all about it",
            "data": {"article": 42}, "ttl": 600,
        }))
        .await?;
        let message = settled_message(http, token, &id).await?;
        ensure!(message["status"] == "sent" && message["counts"]["sent"] == 3, "push: {message}");
        let pushes = web_push.wait_for(1, SETTLE).await?;
        let payload: Value = serde_json::from_str(&pushes[0].plaintext).context("decrypted payload")?;
        ensure!(payload["title"] == "Big news" && payload["body"] == "Read all about it", "{payload}");
        ensure!(payload["data"]["article"] == 42 && payload["messageId"] == id.as_str(), "{payload}");
        ensure!(pushes[0].ttl == 600 && pushes[0].vapid_subject == "mailto:ops@edgebase.test", "{:?}", pushes[0]);
        ensure!(pushes[0].topic.is_some(), "no Topic header: {:?}", pushes[0]);
        let fcm_sent = fcm.wait_for(1, SETTLE).await?;
        ensure!(fcm_sent[0].token == "fcm-device-1" && fcm_sent[0].title == "Big news", "{:?}", fcm_sent[0]);
        ensure!(fcm_sent[0].project == "edge-project" && fcm.token_exchanges() == 1, "{:?}", fcm_sent[0]);
        let apns_sent = apns.wait_for(1, SETTLE).await?;
        ensure!(apns_sent[0].device == apns_device && apns_sent[0].payload["aps"]["alert"]["title"] == "Big news", "{:?}", apns_sent[0]);
        ensure!(apns_sent[0].collapse_id.is_some(), "no collapse id: {:?}", apns_sent[0]);
        ensure!(web_push.rejected().is_empty() && fcm.rejected().is_empty() && apns.rejected().is_empty(), "a provider refused a request: {:?} {:?} {:?}", web_push.rejected(), fcm.rejected(), apns.rejected());

        // Email and SMS to the user, from its own fields.
        let id = accepted(http, token, json!({
            "kind": "email", "to": {"users": [{"collection": "users", "id": user_id}]},
            "subject": "Your weekly digest", "html": "<p>Hello</p>",
        }))
        .await?;
        ensure!(settled_message(http, token, &id).await?["status"] == "sent", "email");
        let mail = smtp.wait_mail(email, 1).await?;
        ensure!(mail.to_string().contains("Your weekly digest"), "{mail}");
        let id = accepted(http, token, json!({
            "kind": "sms", "to": {"users": [{"collection": "users", "id": user_id}]}, "text": "Your code is 1234",
        }))
        .await?;
        ensure!(settled_message(http, token, &id).await?["status"] == "sent", "sms");
        let texts = sms.wait_for(1, SETTLE).await?;
        ensure!(texts[0].to == "+15551234" && texts[0].from == "+15550000" && texts[0].body == "Your code is 1234", "{:?}", texts[0]);

        // Sent twice with one Idempotency-Key (a retry after a lost answer): one message.
        let keyed = json!({"kind": "sms", "to": {"users": [{"collection": "users", "id": user_id}]}, "text": "Once, keyed"});
        let mut keyed_ids = Vec::new();
        for _ in 0..2 {
            let answer = http
                .send("POST", "/api/messages", Some(token), RawBody::Json(keyed.clone()), &[("Idempotency-Key", "send-once-1".to_string())])
                .await?;
            ensure!(answer.status == 200, "keyed send: {}", answer.text);
            keyed_ids.push(answer_id(&answer)?);
        }
        ensure!(keyed_ids[0] == keyed_ids[1], "a keyed retry made a second message: {keyed_ids:?}");
        ensure!(settled_message(http, token, &keyed_ids[0]).await?["status"] == "sent", "keyed sms");
        let texts = sms.wait_for(2, SETTLE).await?;
        ensure!(texts.len() == 2 && texts[1].body == "Once, keyed", "{texts:?}");

        // A hook sends one.
        wait_until("the hooks folder to load", SETTLE, || async {
            let answer = http
                .send("POST", &format!("/api/notify/{user_id}"), None, RawBody::Json(json!({})), &[])
                .await?;
            Ok((answer.status == 200).then_some(answer))
        })
        .await?;
        let texts = sms.wait_for(3, SETTLE).await?;
        ensure!(texts.len() == 3 && texts[2].body == "from a hook", "{texts:?}");

        // A gone subscription (410) is removed; one whose service fails (500) is tried
        // attemptsMax times, then marked failed.
        let gone = web_push.subscribe();
        let failing = web_push.subscribe();
        web_push.answer(&gone.id, TestAnswer::new(410, "expired"));
        web_push.answer(&failing.id, TestAnswer::new(500, "down"));
        let gone_target = answer_id(&register(json!({"kind": "webpush", "endpoint": gone.endpoint, "p256dh": gone.p256dh, "auth": gone.auth})).await?)?;
        let failing_target = answer_id(&register(json!({"kind": "webpush", "endpoint": failing.endpoint, "p256dh": failing.p256dh, "auth": failing.auth})).await?)?;
        let before = web_push.received().len();
        let id = accepted(http, token, json!({
            "kind": "push", "to": {"targets": [web_target, gone_target, failing_target]}, "title": "Mixed",
        }))
        .await?;
        let message = settled_message(http, token, &id).await?;
        ensure!(message["status"] == "partial", "mixed: {message}");
        let counts = &message["counts"];
        ensure!(counts["sent"] == 1 && counts["removed"] == 1 && counts["failed"] == 1, "{message}");
        let deliveries = message["deliveries"].as_array().context("deliveries")?;
        let failed = deliveries.iter().find(|d| d["target"] == failing_target.as_str()).context("failing delivery")?;
        ensure!(failed["status"] == "failed" && failed["attempts"] == 3 && failed["error"].as_str().is_some_and(|e| e.contains("500")), "{failed}");
        let tries = web_push.received()[before..].iter().filter(|r| r.subscription == failing.id).count();
        ensure!(tries == 3, "the failing subscription was tried {tries} times");
        let removed = http
            .send("GET", &format!("/api/collections/_messageTargets/records/{gone_target}"), Some(token), RawBody::None, &[])
            .await?;
        ensure!(removed.status == 404, "the gone target is still there: {}", removed.text);

        // Bad messages: refused whole, nothing stored.
        let messages_before = http
            .send("GET", "/api/collections/_messages/records?perPage=1", Some(token), RawBody::None, &[])
            .await?
            .json
            .context("messages")?["totalItems"]
            .clone();
        for (body, field) in [
            (json!({"kind": "push", "to": {"targets": ["nosuchtarget123"]}, "title": "x"}), "targets"),
            (json!({"kind": "push", "to": {"topics": ["nosuchtopic"]}, "title": "x"}), "topics"),
            (json!({"kind": "push", "to": {"users": [{"collection": "users", "id": "nosuchuser12345"}]}, "title": "x"}), "users"),
            (json!({"kind": "push", "to": {"topics": ["news"]}, "title": "x", "body": "y".repeat(4000)}), "body"),
            (json!({"kind": "push", "to": {}, "title": "x"}), "to"),
            (json!({"kind": "fax", "to": {"topics": ["news"]}}), "kind"),
            (json!({"kind": "sms", "to": {"topics": ["news"]}, "text": ""}), "text"),
            (json!({"kind": "push", "to": {"topics": ["news"]}, "title": "x", "sendAt": "tomorrow"}), "sendAt"),
        ] {
            let answer = send(http, token, body.clone()).await?;
            ensure!(answer.status == 400, "{body}: {}", answer.text);
            ensure!(answer.text.contains(&format!("\"{field}\"")), "{body}: {} names no {field}", answer.text);
        }
        let as_user = http
            .send("POST", "/api/messages", Some(&user_token), RawBody::Json(json!({"kind": "push", "to": {"topics": ["news"]}, "title": "x"})), &[])
            .await?;
        ensure!(as_user.status == 403, "a user sending: {}", as_user.text);
        let messages_after = http
            .send("GET", "/api/collections/_messages/records?perPage=1", Some(token), RawBody::None, &[])
            .await?
            .json
            .context("messages")?["totalItems"]
            .clone();
        ensure!(messages_before == messages_after, "a refused message was stored");
        let missing = http.send("GET", "/api/messages/nosuchmessage12", Some(token), RawBody::None, &[]).await?;
        ensure!(missing.status == 404, "missing message: {}", missing.text);

        // A message a superuser wrote by hand through the records API that does not read as
        // one is marked failed, saying why, and the delivery of others goes on.
        let forged = http
            .send("POST", "/api/collections/_messages/records", Some(token), RawBody::Json(json!({
                "kind": "push", "status": "pending", "recipients": "everyone", "dueAt": 1,
            })), &[])
            .await?;
        ensure!(forged.status == 200, "forge: {}", forged.text);
        let message = settled_message(http, token, &answer_id(&forged)?).await?;
        ensure!(message["status"] == "failed" && message["error"].as_str().is_some_and(|e| e.contains("could not be read")), "{message}");

        // The Rust SDK sends and reads messages.
        let sdk = cluster.admin(ids[0]).await?;
        let view = sdk
            .messages()
            .send(&json!({"kind": "push", "to": {"targets": [web_target]}, "title": "From the SDK"}))
            .await?;
        let view = wait_until("the SDK's message to settle", SETTLE, || async {
            let view = sdk.messages().get(&view.id).await?;
            Ok((view.counts.sent == 1).then_some(view))
        })
        .await?;
        ensure!(view.deliveries[0].target == web_target, "{view:?}");

        // Deleting the user deletes its push targets and topic subscriptions with it.
        let deleted = http
            .send("DELETE", &format!("/api/collections/users/records/{user_id}"), Some(token), RawBody::None, &[])
            .await?;
        ensure!(deleted.status == 204, "delete the user: {}", deleted.text);
        for collection in ["_messageTargets", "_messageSubscriptions"] {
            let left = http
                .send("GET", &format!("/api/collections/{collection}/records"), Some(token), RawBody::None, &[])
                .await?;
            ensure!(left.json.as_ref().is_some_and(|b| b["totalItems"] == 0), "{collection} kept the user's records: {}", left.text);
        }

        let metrics = http.send("GET", "/metrics", None, RawBody::None, &[]).await?;
        for line in [
            "edgebase_messages_accepted_total{kind=\"push\"} 3",
            "edgebase_message_deliveries_total{channel=\"webpush\",outcome=\"removed\"} 1",
            "edgebase_message_deliveries_total{channel=\"webpush\",outcome=\"retry\"} 2",
            "edgebase_messages_unsettled 0",
        ] {
            ensure!(metrics.text.contains(line), "/metrics lacks {line}:\n{}", metrics.text);
        }
        Ok(())
    })
    .await
}
