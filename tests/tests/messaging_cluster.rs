//! Messaging on three real nodes, against a local Web Push service started by the test:
//! a message accepted at a follower that is killed (kill -9) right after its answer is
//! delivered once, by the leader; a message scheduled a few seconds ahead, whose leader is
//! killed before it is due, is delivered once, after its time, by the next leader; a
//! leader killed while its push is in flight (claimed, not yet recorded) loses nothing: the
//! next leader takes the message over once the claim's lease ran out and sends it again
//! (at most twice in all, with the same `Topic`, as `deliver.rs` says); every node ends
//! with the same view of all three.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::messages::{answer_id, settled_message, MESSAGE_SETTLE};
use edgebase_tests::push_services::WebPushService;
use edgebase_tests::{run_test, wait_until, Cluster, RawBody, NODE_START_TIMEOUT};
use serde_json::{json, Value};

const SETTLE: Duration = MESSAGE_SETTLE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_message_is_delivered_once_whichever_node_dies() {
    run_test("messaging_cluster", Duration::from_secs(420), |context| async move {
        let web_push = WebPushService::start().await?;
        let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
        let ids = cluster.ids();
        let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let nodes = cluster.raw_admins().await?;
        let at = |id: u64| ids.iter().position(|&known| known == id).expect("a member");
        let (http, token) = (&nodes[at(leader)].0, nodes[at(leader)].1.as_str());

        let settings = http
            .send("PATCH", "/api/messaging/settings", Some(token), RawBody::Json(json!({
                "webPush": {"enabled": true, "subject": "mailto:ops@edgebase.test"},
            })), &[])
            .await?;
        ensure!(settings.status == 200, "settings: {}", settings.text);
        let user = http
            .send("POST", "/api/collections/users/records", None, RawBody::Json(json!({
                "email": "ann@example.com", "password": "password-123", "passwordConfirm": "password-123",
            })), &[])
            .await?;
        let user_id = answer_id(&user)?;
        let mut targets = Vec::new();
        let mut subscriptions = Vec::new();
        for _ in 0..3 {
            let subscription = web_push.subscribe();
            let target = http
                .send("POST", "/api/collections/_messageTargets/records", Some(token), RawBody::Json(json!({
                    "collectionRef": "_pb_users_auth_", "recordRef": user_id, "kind": "webpush",
                    "endpoint": subscription.endpoint, "p256dh": subscription.p256dh, "auth": subscription.auth,
                })), &[])
                .await?;
            targets.push(answer_id(&target)?);
            subscriptions.push(subscription);
        }
        let received_by = |subscription: &str| {
            web_push.received().iter().filter(|push| push.subscription == subscription).count()
        };

        // Accepted at a follower, which dies right after answering.
        let follower = *ids.iter().find(|&&id| id != leader).context("a follower")?;
        let (follower_http, follower_token) = (&nodes[at(follower)].0, nodes[at(follower)].1.as_str());
        let body = json!({"kind": "push", "to": {"targets": [targets[0]]}, "title": "Once", "body": "only once"});
        let answer = follower_http
            .send("POST", "/api/messages", Some(follower_token), RawBody::Json(body), &[])
            .await?;
        ensure!(answer.status == 200, "send at the follower: {}", answer.text);
        cluster.node_mut(follower).kill9()?;
        let first = answer_id(&answer)?;
        let message = settled_message(http, token, &first).await?;
        ensure!(message["status"] == "sent", "after the follower's death: {message}");
        ensure!(message["deliveries"][0]["attempts"] == 1, "{message}");
        ensure!(received_by(&subscriptions[0].id) == 1, "delivered {} times", received_by(&subscriptions[0].id));
        let plaintext: Value = serde_json::from_str(&web_push.received()[0].plaintext)?;
        ensure!(plaintext["title"] == "Once", "{plaintext}");

        cluster.node_mut(follower).restart()?;
        cluster.node_mut(follower).wait_healthy(NODE_START_TIMEOUT).await?;
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;

        // Scheduled ahead; the leader dies before it is due; the next leader sends it once.
        let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let survivor = *ids.iter().find(|&&id| id != leader).context("a survivor")?;
        let (survivor_http, survivor_token) = (&nodes[at(survivor)].0, nodes[at(survivor)].1.as_str());
        let send_at = chrono::Utc::now() + chrono::Duration::seconds(5);
        let body = json!({
            "kind": "push", "to": {"targets": [targets[1]]}, "title": "Later",
            "sendAt": send_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        let answer = survivor_http
            .send("POST", "/api/messages", Some(survivor_token), RawBody::Json(body), &[])
            .await?;
        ensure!(answer.status == 200, "schedule: {}", answer.text);
        let scheduled = answer_id(&answer)?;
        ensure!(answer.json.as_ref().is_some_and(|m| m["status"] == "scheduled"), "{}", answer.text);
        cluster.node_mut(leader).kill9()?;
        let alive: Vec<u64> = ids.iter().copied().filter(|&id| id != leader).collect();
        cluster.wait_for_leader(&alive, NODE_START_TIMEOUT).await?;
        let message = settled_message(survivor_http, survivor_token, &scheduled).await?;
        ensure!(message["status"] == "sent", "after the leader's death: {message}");
        ensure!(received_by(&subscriptions[1].id) == 1, "scheduled delivered {} times", received_by(&subscriptions[1].id));
        let sent_at = message["deliveries"][0]["sentAt"].as_str().context("sentAt")?;
        let sent_at = chrono::NaiveDateTime::parse_from_str(sent_at, "%Y-%m-%d %H:%M:%S%.3fZ")?.and_utc();
        ensure!(sent_at >= send_at - chrono::Duration::milliseconds(1), "sent at {sent_at}, due at {send_at}");

        cluster.node_mut(leader).restart()?;
        cluster.node_mut(leader).wait_healthy(NODE_START_TIMEOUT).await?;

        // The leader dies with its push in flight: claimed (the message is `sending`
        // everywhere), not yet recorded. The next leader waits out the claim's lease and
        // sends it again; the message is sent.
        let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let survivor = *ids.iter().find(|&&id| id != leader).context("a survivor")?;
        let (survivor_http, survivor_token) = (&nodes[at(survivor)].0, nodes[at(survivor)].1.as_str());
        web_push.set_delay(Duration::from_secs(5));
        let answer = survivor_http
            .send("POST", "/api/messages", Some(survivor_token), RawBody::Json(json!({
                "kind": "push", "to": {"targets": [targets[2]]}, "title": "In flight",
            })), &[])
            .await?;
        ensure!(answer.status == 200, "send: {}", answer.text);
        let in_flight = answer_id(&answer)?;
        wait_until("the leader to claim the message", SETTLE, || async {
            let seen = survivor_http
                .send("GET", &format!("/api/messages/{in_flight}"), Some(survivor_token), RawBody::None, &[])
                .await?;
            Ok(seen.json.as_ref().is_some_and(|m| m["status"] == "sending").then_some(()))
        })
        .await?;
        cluster.node_mut(leader).kill9()?;
        web_push.set_delay(Duration::ZERO);
        let message = settled_message(survivor_http, survivor_token, &in_flight).await?;
        ensure!(message["status"] == "sent", "after the in-flight leader's death: {message}");
        let copies: Vec<_> = web_push
            .received()
            .into_iter()
            .filter(|push| push.subscription == subscriptions[2].id)
            .collect();
        ensure!((1..=2).contains(&copies.len()), "the in-flight push arrived {} times", copies.len());
        ensure!(copies.iter().all(|copy| copy.topic == copies[0].topic), "copies differ in Topic: {copies:?}");
        cluster.node_mut(leader).restart()?;
        cluster.node_mut(leader).wait_healthy(NODE_START_TIMEOUT).await?;

        // Every node, the killed leaders back, has the same view.
        for (node_http, node_token) in &nodes {
            for id in [&first, &scheduled, &in_flight] {
                let seen = settled_message(node_http, node_token, id).await?;
                ensure!(seen["status"] == "sent" && seen["counts"]["sent"] == 1, "{seen}");
            }
        }
        ensure!(web_push.rejected().is_empty(), "refused: {:?}", web_push.rejected());
        Ok(())
    })
    .await
}
