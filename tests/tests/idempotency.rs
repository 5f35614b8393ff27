//! Idempotent writes on three real nodes: a write retried with its `Idempotency-Key` at
//! another node applies once and gets the first answer replayed (status, body, index); the
//! key reused for another request is refused with 422; keys of different callers never meet;
//! and in seeded rounds a create is sent to a follower that is killed (-9) a moment later,
//! then retried with the same key at the other nodes until answered: every round leaves
//! exactly one record, whether the first attempt had applied or not. Collection and settings
//! writes are keyed the same way.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, seeded_rng, wait_until, Cluster, RawBody, RawClient, RawResponse, NODE_START_TIMEOUT,
};
use rand::Rng;
use serde_json::{json, Value};

const KILL_ROUNDS: u64 = 8;
const WAIT: Duration = Duration::from_secs(60);

fn header<'a>(answer: &'a RawResponse, name: &str) -> &'a str {
    answer
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

async fn create(
    http: &RawClient,
    token: &str,
    key: &str,
    body: Value,
) -> anyhow::Result<RawResponse> {
    http.send(
        "POST",
        "/api/collections/notes/records",
        Some(token),
        RawBody::Json(body),
        &[("Idempotency-Key", key.to_string())],
    )
    .await
}

/// How many records of `round` the cluster holds (a strong read through `http`).
async fn records_of(http: &RawClient, token: &str, round: u64) -> anyhow::Result<usize> {
    let answer = http
        .send(
            "GET",
            &format!("/api/collections/notes/records?filter=round%3D{round}&perPage=50"),
            Some(token),
            RawBody::None,
            &[("X-Edgebase-Consistency", "strong".to_string())],
        )
        .await?;
    ensure!(
        answer.status == 200,
        "list: {} {}",
        answer.status,
        answer.text
    );
    let items = answer
        .json
        .as_ref()
        .and_then(|j| j["items"].as_array())
        .context("items")?;
    Ok(items.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_applies_once_wherever_it_lands() {
    run_test("idempotency", Duration::from_secs(600), |context| async move {
        let mut rng = seeded_rng("idempotency");
        let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let admins = cluster.raw_admins().await?;
        let token = admins[0].1.clone();
        let http: Vec<RawClient> = admins.iter().map(|(http, _)| http.clone()).collect();
        let created = http[0]
            .send("POST", "/api/collections", Some(&token), RawBody::Json(json!({
                "name": "notes", "type": "base", "listRule": "", "viewRule": "", "createRule": "", "deleteRule": "",
                "fields": [{"name": "round", "type": "number"}, {"name": "text", "type": "text"}]
            })), &[])
            .await?;
        ensure!(created.status == 200, "create collection: {}", created.text);

        // Replayed at another node: same status, body and index, and one record.
        let first = create(&http[0], &token, "k-replay", json!({"round": 1000, "text": "a"})).await?;
        ensure!(first.status == 200, "first: {}", first.text);
        let again = create(&http[1], &token, "k-replay", json!({"round": 1000, "text": "a"})).await?;
        ensure!(again.status == 200 && header(&again, "idempotent-replayed") == "true", "replay: {} {:?}", again.status, again.headers);
        ensure!(again.json == first.json, "the first answer: {} vs {}", first.text, again.text);
        ensure!(header(&again, "x-edgebase-index") == header(&first, "x-edgebase-index"), "the first write's index");
        ensure!(header(&again, "etag") == header(&first, "etag"), "the first write's version");
        ensure!(records_of(&http[2], &token, 1000).await? == 1, "one record");

        // A create with its own id retried at once at another node, which may not have
        // applied it yet (and would find the id taken once it has): the first answer again,
        // never a "not unique" refusal.
        let own_id = json!({"id": "keyedrecord0001", "round": 1500, "text": "own id"});
        let first_own = create(&http[0], &token, "k-own-id", own_id.clone()).await?;
        ensure!(first_own.status == 200, "create with an id: {}", first_own.text);
        let again_own = create(&http[2], &token, "k-own-id", own_id).await?;
        ensure!(again_own.status == 200 && again_own.json == first_own.json, "retry with an id: {} {}", again_own.status, again_own.text);

        // The key on another request is refused.
        let other = create(&http[2], &token, "k-replay", json!({"round": 1000, "text": "b"})).await?;
        ensure!(other.status == 422, "reused key: {} {}", other.status, other.text);
        ensure!(other.envelope().is_some_and(|e| e.status == 422), "{}", other.text);
        let bad = create(&http[2], &token, "", json!({"round": 1001})).await?;
        ensure!(bad.status == 400, "an empty key: {} {}", bad.status, bad.text);

        // Another caller's key of the same name is another key.
        let guest = RawClient::new(http[0].base_url())?;
        let as_guest = guest
            .send("POST", "/api/collections/notes/records", None, RawBody::Json(json!({"round": 1000, "text": "a"})), &[("Idempotency-Key", "k-replay".to_string())])
            .await?;
        ensure!(as_guest.status == 200 && header(&as_guest, "idempotent-replayed").is_empty(), "a guest's own key: {}", as_guest.text);
        ensure!(records_of(&http[2], &token, 1000).await? == 2, "the guest's record too");

        // A delete retried after its answer was lost answers as the first did, not 404.
        let id = first.json.as_ref().and_then(|j| j["id"].as_str()).context("id")?.to_string();
        let path = format!("/api/collections/notes/records/{id}");
        let key = [("Idempotency-Key", "k-delete".to_string())];
        let deleted = http[1].send("DELETE", &path, Some(&token), RawBody::None, &key).await?;
        ensure!(deleted.status == 204, "delete: {}", deleted.text);
        let deleted_again = http[2].send("DELETE", &path, Some(&token), RawBody::None, &key).await?;
        ensure!(deleted_again.status == 204 && header(&deleted_again, "idempotent-replayed") == "true", "delete again: {} {}", deleted_again.status, deleted_again.text);

        // A keyed batch applies once; its retry gets the first answer, fields picked again.
        let enabled = http[0]
            .send("PATCH", "/api/settings", Some(&token), RawBody::Json(json!({"batch": {"enabled": true}})), &[])
            .await?;
        ensure!(enabled.status == 200, "enable batches: {}", enabled.text);
        let batch = json!({"requests": [
            {"method": "POST", "url": "/api/collections/notes/records?fields=round,text", "body": {"round": 2000, "text": "one"}},
            {"method": "POST", "url": "/api/collections/notes/records", "body": {"round": 2000, "text": "two"}}
        ]});
        let key = [("Idempotency-Key", "k-batch".to_string())];
        let first_batch = http[0].send("POST", "/api/batch", Some(&token), RawBody::Json(batch.clone()), &key).await?;
        ensure!(first_batch.status == 200, "batch: {}", first_batch.text);
        let batch_again = http[2].send("POST", "/api/batch", Some(&token), RawBody::Json(batch), &key).await?;
        ensure!(batch_again.status == 200 && header(&batch_again, "idempotent-replayed") == "true", "batch again: {} {}", batch_again.status, batch_again.text);
        ensure!(batch_again.json == first_batch.json, "the first batch answer: {} vs {}", first_batch.text, batch_again.text);
        ensure!(records_of(&http[1], &token, 2000).await? == 2, "the batch's two records, once");

        // Collections and settings: each keyed write applies once; its retry at another
        // node gets the first answer; a delete retried answers 204 again, not 404.
        let send = |at: usize, method: &'static str, path: &'static str, key: &'static str, body: RawBody| {
            let (http, token) = (http[at].clone(), token.clone());
            async move { http.send(method, path, Some(&token), body, &[("Idempotency-Key", key.to_string())]).await }
        };
        let replays = |first: &RawResponse, again: &RawResponse| {
            again.status == first.status && header(again, "idempotent-replayed") == "true" && again.json == first.json
        };
        let collection = json!({"name": "keyed", "type": "base", "fields": [{"name": "n", "type": "number"}]});
        let first = send(0, "POST", "/api/collections", "k-collection", RawBody::Json(collection.clone())).await?;
        ensure!(first.status == 200, "create a collection: {}", first.text);
        let again = send(1, "POST", "/api/collections", "k-collection", RawBody::Json(collection)).await?;
        ensure!(replays(&first, &again), "create a collection again: {} {}", again.status, again.text);
        let other = send(2, "POST", "/api/collections", "k-collection", RawBody::Json(json!({"name": "keyed2", "type": "base"}))).await?;
        ensure!(other.status == 422, "the key on another collection: {} {}", other.status, other.text);
        let patch = json!({"listRule": ""});
        let first = send(1, "PATCH", "/api/collections/keyed", "k-collection-update", RawBody::Json(patch.clone())).await?;
        ensure!(first.status == 200, "update a collection: {}", first.text);
        let again = send(2, "PATCH", "/api/collections/keyed", "k-collection-update", RawBody::Json(patch)).await?;
        ensure!(replays(&first, &again), "update a collection again: {} {}", again.status, again.text);
        let settings = json!({"meta": {"appName": "Keyed"}});
        let first = send(0, "PATCH", "/api/settings", "k-settings", RawBody::Json(settings.clone())).await?;
        ensure!(first.status == 200, "settings: {}", first.text);
        let again = send(2, "PATCH", "/api/settings", "k-settings", RawBody::Json(settings)).await?;
        ensure!(replays(&first, &again), "settings again: {} {}", again.status, again.text);
        let first = send(0, "DELETE", "/api/collections/keyed/truncate", "k-truncate", RawBody::None).await?;
        ensure!(first.status == 204, "truncate: {} {}", first.status, first.text);
        let again = send(1, "DELETE", "/api/collections/keyed/truncate", "k-truncate", RawBody::None).await?;
        ensure!(replays(&first, &again), "truncate again: {} {}", again.status, again.text);
        let first = send(2, "DELETE", "/api/collections/keyed", "k-collection-delete", RawBody::None).await?;
        ensure!(first.status == 204, "delete a collection: {} {}", first.status, first.text);
        let again = send(0, "DELETE", "/api/collections/keyed", "k-collection-delete", RawBody::None).await?;
        ensure!(replays(&first, &again), "delete a collection again: {} {}", again.status, again.text);
        let unkeyed = http[0].send("DELETE", "/api/collections/keyed", Some(&token), RawBody::None, &[]).await?;
        ensure!(unkeyed.status == 404, "the collection is gone: {} {}", unkeyed.status, unkeyed.text);

        // Kill the node taking a create a moment after sending it; retry elsewhere.
        let mut replayed = 0;
        for round in 0..KILL_ROUNDS {
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let victim = *ids.iter().find(|id| **id != leader).context("a follower")?;
            let position = ids.iter().position(|id| *id == victim).context("its position")?;
            let key = format!("k-kill-{round}");
            let body = json!({"round": round, "text": "kill"});
            let sending = {
                let http = http[position].clone();
                let (token, key, body) = (token.clone(), key.clone(), body.clone());
                tokio::spawn(async move { create(&http, &token, &key, body).await })
            };
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..25))).await;
            cluster.node_mut(victim).kill9()?;
            let first_outcome = sending.await.context("the sending task")?;
            let answered = wait_until(&format!("round {round} to be answered"), WAIT, || {
                let survivors: Vec<RawClient> = http
                    .iter()
                    .enumerate()
                    .filter(|(at, _)| *at != position)
                    .map(|(_, http)| http.clone())
                    .collect();
                let (token, key, body) = (token.clone(), key.clone(), body.clone());
                async move {
                    for http in &survivors {
                        if let Ok(answer) = create(http, &token, &key, body.clone()).await {
                            if answer.status == 200 {
                                return Ok(Some(answer));
                            }
                        }
                    }
                    Ok(None)
                }
            })
            .await?;
            if header(&answered, "idempotent-replayed") == "true" {
                replayed += 1;
            }
            let survivor = http.iter().enumerate().find(|(at, _)| *at != position).map(|(_, http)| http).context("a survivor")?;
            let count = records_of(survivor, &token, round).await?;
            ensure!(count == 1, "round {round}: {count} records (first attempt: {:?})", first_outcome.map(|answer| answer.status));
            cluster.node_mut(victim).restart()?;
            cluster.node_mut(victim).wait_healthy(NODE_START_TIMEOUT).await?;
        }
        eprintln!("{replayed} of {KILL_ROUNDS} retries replayed a first attempt that had applied");
        Ok(())
    })
    .await;
}
