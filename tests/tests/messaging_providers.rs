//! The messaging providers against the test push services, without a node: Web Push
//! encrypted and VAPID-signed, FCM's token exchange and send, APNs over HTTP/2 without TLS,
//! and the SMS gateway; and what each service's refusals mean for a delivery.

use std::time::Duration;

use edgebase_messaging::providers::{
    generate_vapid_keys, http_client, send_sms, ApnsClient, FcmClient, Outcome, PushContent,
    WebPushClient, WebPushSubscription,
};
use edgebase_messaging::settings::{ApnsSettings, FcmSettings, SmsSettings, WebPushSettings};
use edgebase_tests::push_services::{
    ApnsService, FcmService, SmsSink, TestAnswer, TestSubscription, WebPushService, APNS_TOPIC,
};
use edgebase_tests::run_test;
use serde_json::{json, Value};

const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(10);

fn content(collapse_id: &str) -> PushContent {
    let mut data = serde_json::Map::new();
    data.insert("room".into(), json!("lobby"));
    data.insert("unread".into(), json!(3));
    PushContent {
        title: "New message".into(),
        body: "Hello from EdgeBase".into(),
        data,
        ttl_secs: 600,
        collapse_id: collapse_id.into(),
        message_id: "msg-1".into(),
    }
}

fn subscription(test: &TestSubscription) -> WebPushSubscription {
    WebPushSubscription {
        endpoint: test.endpoint.clone(),
        p256dh: test.p256dh.clone(),
        auth: test.auth.clone(),
    }
}

fn outcome_kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "sent",
        Outcome::Gone(_) => "gone",
        Outcome::Retry(_) => "retry",
        Outcome::Failed(_) => "failed",
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_push_decrypts_to_the_payload_and_vapid_verifies() {
    run_test("web-push-provider", TEST_TIMEOUT, |_| async move {
        let service = WebPushService::start().await?;
        let (public_key, private_key) = generate_vapid_keys();
        service.expect_vapid_key(&public_key);
        let settings = WebPushSettings {
            enabled: true,
            subject: "mailto:ops@example.com".into(),
            public_key: public_key.clone(),
            private_key,
        };
        let http = http_client();

        let browser = service.subscribe();
        let outcome = WebPushClient::new().send(&http, &settings, &subscription(&browser), &content("msg-1")).await;
        assert_eq!(outcome, Outcome::Sent);
        let received = service.wait_for(1, ARRIVAL_TIMEOUT).await?;
        let push = &received[0];
        assert_eq!(push.subscription, browser.id);
        let payload: Value = serde_json::from_str(&push.plaintext)?;
        let expected: Value = serde_json::from_slice(&content("msg-1").web_push_payload())?;
        assert_eq!(payload, expected);
        assert_eq!(payload["messageId"], "msg-1");
        assert_eq!(push.ttl, 600);
        assert_eq!(push.topic.as_deref(), Some("msg-1"));
        assert_eq!(push.urgency.as_deref(), Some("normal"));
        assert_eq!(push.vapid_subject, "mailto:ops@example.com");
        assert_eq!(push.vapid_key, public_key);
        assert_eq!(push.status, 201);

        // A collapse id that is no RFC 8030 topic goes as a 32-character digest.
        let odd = "a collapse id with spaces, longer than thirty-two";
        assert_eq!(
            WebPushClient::new().send(&http, &settings, &subscription(&browser), &content(odd)).await,
            Outcome::Sent
        );
        let topic = service.wait_for(2, ARRIVAL_TIMEOUT).await?[1].topic.clone();
        assert!(topic.as_ref().is_some_and(|topic| topic.len() == 32), "{topic:?}");

        // What the push service answers decides the delivery.
        let cases: &[(u16, &str, &str)] = &[
            (410, "", "gone"),
            (404, "", "gone"),
            (500, "", "retry"),
            (429, "", "retry"),
            (413, "too big", "failed"),
        ];
        for (status, body, expected) in cases {
            let target = service.subscribe();
            service.answer(&target.id, TestAnswer::new(*status, *body));
            let outcome = WebPushClient::new().send(&http, &settings, &subscription(&target), &content("m")).await;
            assert_eq!(outcome_kind(&outcome), *expected, "{status}: {outcome:?}");
            if *status == 413 {
                assert!(matches!(&outcome, Outcome::Failed(text) if text.starts_with("payload too large")));
            }
        }
        assert_eq!(service.received().len(), 2 + cases.len());

        // Signed with a key the subscription was not made for: the service refuses it.
        let (other_public, other_private) = generate_vapid_keys();
        let stranger = WebPushSettings {
            public_key: other_public,
            private_key: other_private,
            ..settings.clone()
        };
        let outcome = WebPushClient::new().send(&http, &stranger, &subscription(&browser), &content("m")).await;
        assert_eq!(outcome_kind(&outcome), "failed", "{outcome:?}");
        let rejected = service.rejected();
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert!(rejected[0].contains("is not the subscription's"), "{rejected:?}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_exchanges_a_token_then_sends() {
    run_test("fcm-provider", TEST_TIMEOUT, |_| async move {
        let service = FcmService::start().await?;
        let settings: FcmSettings = serde_json::from_value(service.settings("demo-project"))?;
        let http = http_client();
        let client = FcmClient::new();

        assert_eq!(client.send(&http, &settings, "token-a", &content("c-1")).await, Outcome::Sent);
        assert_eq!(service.token_exchanges(), 1);
        let message = service.wait_for(1, ARRIVAL_TIMEOUT).await?.remove(0);
        assert_eq!(message.project, "demo-project");
        assert_eq!(message.token, "token-a");
        assert_eq!(message.title, "New message");
        assert_eq!(message.body, "Hello from EdgeBase");
        let data: Vec<(&str, &str)> =
            message.data.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        assert_eq!(data, [("messageId", "msg-1"), ("room", "lobby"), ("unread", "3")]);
        assert_eq!(message.raw["message"]["android"]["ttl"], "600s");
        assert_eq!(message.raw["message"]["android"]["collapse_key"], "c-1");
        assert_eq!(message.raw["message"]["apns"]["headers"]["apns-collapse-id"], "c-1");

        // The access token is reused.
        assert_eq!(client.send(&http, &settings, "token-a", &content("c-2")).await, Outcome::Sent);
        assert_eq!(service.token_exchanges(), 1);

        let unregistered = json!({"error": {"code": 404, "status": "NOT_FOUND", "details": [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}
        ]}});
        let bad_payload = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid value at 'message.data'"}});
        let cases: &[(&str, u16, &Value, &str)] = &[
            ("token-gone", 404, &unregistered, "gone"),
            ("token-bad-payload", 400, &bad_payload, "failed"),
            ("token-busy", 503, &json!({}), "retry"),
            ("token-quota", 429, &json!({}), "retry"),
        ];
        for (token, status, body, expected) in cases {
            service.answer(token, TestAnswer::json(*status, (*body).clone()));
            let outcome = client.send(&http, &settings, token, &content("c")).await;
            assert_eq!(outcome_kind(&outcome), *expected, "{token}: {outcome:?}");
        }

        // A revoked access token: 401, a new token, the send goes through.
        service.revoke_access_tokens();
        assert_eq!(client.send(&http, &settings, "token-a", &content("c-3")).await, Outcome::Sent);
        assert_eq!(service.token_exchanges(), 2);
        let rejected = service.rejected();
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert!(rejected[0].contains("was not issued or was revoked"), "{rejected:?}");

        // The token endpoint failing: retried if it may pass, failed if it is refused.
        service.fail_token_exchanges(Some(TestAnswer::new(500, "")));
        let outcome = FcmClient::new().send(&http, &settings, "token-a", &content("c")).await;
        assert_eq!(outcome_kind(&outcome), "retry", "{outcome:?}");
        service.fail_token_exchanges(Some(TestAnswer::json(400, json!({"error": "invalid_grant"}))));
        let outcome = FcmClient::new().send(&http, &settings, "token-a", &content("c")).await;
        assert_eq!(outcome_kind(&outcome), "failed", "{outcome:?}");
        service.fail_token_exchanges(None);

        // An assertion the service cannot verify is refused and recorded.
        let stranger = FcmSettings {
            client_email: "someone-else@example.com".into(),
            ..settings.clone()
        };
        let outcome = FcmClient::new().send(&http, &stranger, "token-a", &content("c")).await;
        assert_eq!(outcome_kind(&outcome), "failed", "{outcome:?}");
        assert!(service.rejected().last().is_some_and(|reason| reason.contains("token exchange")));
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_over_cleartext_http2() {
    run_test("apns-provider", TEST_TIMEOUT, |_| async move {
        let service = ApnsService::start().await?;
        let settings: ApnsSettings = serde_json::from_value(service.settings())?;
        let http = http_client();
        let client = ApnsClient::new();
        let device = "0a".repeat(32);

        assert_eq!(
            client
                .send(&http, &settings, &device, &content("c-1"))
                .await,
            Outcome::Sent
        );
        let notification = service.wait_for(1, ARRIVAL_TIMEOUT).await?.remove(0);
        assert_eq!(notification.device, device);
        assert_eq!(notification.topic, APNS_TOPIC);
        assert_eq!(notification.push_type, "alert");
        assert_eq!(notification.priority.as_deref(), Some("10"));
        assert_eq!(notification.collapse_id.as_deref(), Some("c-1"));
        let expiration = notification.expiration.unwrap_or_default();
        let expected = now_secs() + 600;
        assert!(
            expiration + 5 >= expected && expiration <= expected,
            "{expiration}"
        );
        assert_eq!(
            notification.payload,
            json!({
                "aps": {"alert": {"title": "New message", "body": "Hello from EdgeBase"}},
                "messageId": "msg-1",
                "room": "lobby",
                "unread": 3,
            })
        );

        let cases: &[(&str, u16, Value, &str)] = &[
            ("0b0b", 410, json!({"reason": "Unregistered"}), "gone"),
            ("0c0c", 400, json!({"reason": "BadDeviceToken"}), "gone"),
            (
                "0d0d",
                500,
                json!({"reason": "InternalServerError"}),
                "retry",
            ),
            ("0e0e", 400, json!({"reason": "PayloadTooLarge"}), "failed"),
        ];
        for (device, status, body, expected) in cases {
            service.answer(device, TestAnswer::json(*status, body.clone()));
            let outcome = client.send(&http, &settings, device, &content("c")).await;
            assert_eq!(outcome_kind(&outcome), *expected, "{device}: {outcome:?}");
        }

        // An expired provider token is signed anew once; refused twice, the push fails.
        service.answer_once(
            &device,
            TestAnswer::json(403, json!({"reason": "ExpiredProviderToken"})),
        );
        assert_eq!(
            client
                .send(&http, &settings, &device, &content("c-2"))
                .await,
            Outcome::Sent
        );
        let statuses: Vec<u16> = service
            .received()
            .iter()
            .filter(|notification| notification.device == device)
            .map(|notification| notification.status)
            .collect();
        assert_eq!(statuses, [200, 403, 200]);
        let refused = TestAnswer::json(403, json!({"reason": "InvalidProviderToken"}));
        service.answer("0f0f", refused);
        let outcome = client.send(&http, &settings, "0f0f", &content("c")).await;
        assert_eq!(outcome_kind(&outcome), "failed", "{outcome:?}");
        assert_eq!(
            service
                .received()
                .iter()
                .filter(|n| n.device == "0f0f")
                .count(),
            2
        );

        // Not hex: failed without a request.
        let before = service.received().len();
        let outcome = client
            .send(&http, &settings, "not-a-token", &content("c"))
            .await;
        assert_eq!(outcome_kind(&outcome), "failed", "{outcome:?}");
        assert_eq!(service.received().len(), before);
        assert_eq!(service.rejected(), Vec::<String>::new());
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_goes_through_the_gateway() {
    run_test("sms-provider", TEST_TIMEOUT, |_| async move {
        let sink = SmsSink::start("AC-test", "auth-token").await?;
        let settings: SmsSettings = serde_json::from_value(sink.settings("+15550000"))?;
        let http = http_client();

        assert_eq!(
            send_sms(&http, &settings, "+15551111", "Your code is 123456").await,
            Outcome::Sent
        );
        let sms = sink.wait_for(1, ARRIVAL_TIMEOUT).await?.remove(0);
        assert_eq!(
            (
                sms.to.as_str(),
                sms.from.as_str(),
                sms.body.as_str(),
                sms.status
            ),
            ("+15551111", "+15550000", "Your code is 123456", 201)
        );

        // A slow gateway is waited for.
        let slow = Duration::from_millis(300);
        sink.set_delay(slow);
        let started = std::time::Instant::now();
        assert_eq!(
            send_sms(&http, &settings, "+15551111", "slow").await,
            Outcome::Sent
        );
        assert!(started.elapsed() >= slow, "{:?}", started.elapsed());
        sink.set_delay(Duration::ZERO);

        let cases: &[(&str, u16, &str)] = &[
            ("+15552222", 500, "retry"),
            ("+15553333", 429, "retry"),
            ("+15554444", 404, "failed"),
            ("+15555555", 400, "failed"),
        ];
        for (to, status, expected) in cases {
            sink.answer(to, TestAnswer::new(*status, "{}"));
            let outcome = send_sms(&http, &settings, to, "hi").await;
            assert_eq!(outcome_kind(&outcome), *expected, "{to}: {outcome:?}");
        }

        let wrong_password = SmsSettings {
            password: "wrong".into(),
            ..settings
        };
        let outcome = send_sms(&http, &wrong_password, "+15551111", "hi").await;
        assert_eq!(outcome_kind(&outcome), "failed", "{outcome:?}");
        let rejected = sink.rejected();
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert!(rejected[0].contains("basic auth"), "{rejected:?}");
        Ok(())
    })
    .await;
}
