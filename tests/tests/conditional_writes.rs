//! Conditional writes on three real nodes: a record's answers carry an `ETag` of its version
//! at every node; `PATCH`/`DELETE` with `If-Match` apply only at that version (412 in
//! PocketBase's envelope otherwise, nothing written); and in seeded rounds of concurrent
//! conditional updates through different nodes from the same version, exactly one wins.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, seeded_rng, Cluster, RawBody, RawClient, RawResponse, NODE_START_TIMEOUT,
};
use rand::Rng;
use serde_json::json;

const ROUNDS: usize = 20;

fn etag(answer: &RawResponse) -> anyhow::Result<String> {
    Ok(answer
        .headers
        .get("etag")
        .context("an ETag")?
        .to_str()?
        .to_string())
}

fn index(answer: &RawResponse) -> String {
    answer
        .index()
        .map(|index| index.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_lets_one_of_racing_writes_win() {
    run_test(
        "conditional_writes",
        Duration::from_secs(300),
        |context| async move {
            let mut rng = seeded_rng("conditional_writes");
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admins = cluster.raw_admins().await?;
            let (http_a, token) = &admins[0];
            let token = token.as_str();
            let created = http_a
                .send(
                    "POST",
                    "/api/collections",
                    Some(token),
                    RawBody::Json(json!({
                        "name": "docs", "type": "base",
                        "fields": [{"name": "n", "type": "number"}, {"name": "by", "type": "text"}]
                    })),
                    &[],
                )
                .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);
            let record = http_a
                .send(
                    "POST",
                    "/api/collections/docs/records",
                    Some(token),
                    RawBody::Json(json!({"n": 0})),
                    &[],
                )
                .await?;
            ensure!(record.status == 200, "create: {}", record.text);
            let id = record
                .json
                .as_ref()
                .and_then(|j| j["id"].as_str())
                .context("id")?
                .to_string();
            let first = etag(&record)?;
            ensure!(
                first == format!("\"{}\"", index(&record)),
                "a new record's ETag is its write's index: {first}"
            );
            let path = format!("/api/collections/docs/records/{id}");

            // Every node shows the same version.
            for (http, _) in &admins {
                let seen = http
                    .send(
                        "GET",
                        &path,
                        Some(token),
                        RawBody::None,
                        &[("X-Edgebase-After", index(&record))],
                    )
                    .await?;
                ensure!(
                    seen.status == 200 && etag(&seen)? == first,
                    "{}: {} {:?}",
                    http.base_url(),
                    seen.status,
                    seen.headers.get("etag")
                );
            }

            let patch = |http: &RawClient, if_match: &str, n: i64| {
                let http = http.clone();
                let path = path.clone();
                let if_match = if_match.to_string();
                async move {
                    http.send(
                        "PATCH",
                        &path,
                        Some(token),
                        RawBody::Json(json!({"n": n, "by": http.base_url()})),
                        &[("If-Match", if_match)],
                    )
                    .await
                }
            };
            let (http_b, _) = &admins[1];
            let updated = patch(http_b, &first, 1).await?;
            ensure!(
                updated.status == 200,
                "a matching If-Match: {}",
                updated.text
            );
            let second = etag(&updated)?;
            ensure!(second != first, "a new version, a new ETag");
            let stale = patch(http_a, &first, 2).await?;
            ensure!(
                stale.status == 412,
                "a stale If-Match: {} {}",
                stale.status,
                stale.text
            );
            let envelope = stale.envelope().context("PocketBase's envelope")?;
            ensure!(
                envelope.status == 412 && envelope.data.is_empty(),
                "{envelope:?}"
            );
            for (if_match, status) in [
                (format!("W/{second}"), 412),
                ("\"not-ours\"".to_string(), 412),
                (format!("\"1\", {second}"), 200),
                ("*".to_string(), 200),
                ("garbage".to_string(), 400),
            ] {
                let answer = patch(http_a, &if_match, 3).await?;
                ensure!(
                    answer.status == status,
                    "If-Match {if_match}: {} {}",
                    answer.status,
                    answer.text
                );
            }
            let now = http_a
                .send("GET", &path, Some(token), RawBody::None, &[])
                .await?;
            let deleted = http_a
                .send(
                    "DELETE",
                    &path,
                    Some(token),
                    RawBody::None,
                    &[("If-Match", second.clone())],
                )
                .await?;
            ensure!(deleted.status == 412, "a stale delete: {}", deleted.text);
            let still = http_a
                .send("GET", &path, Some(token), RawBody::None, &[])
                .await?;
            ensure!(
                still.status == 200 && etag(&still)? == etag(&now)?,
                "a refused write changed nothing"
            );

            // In a batch, each request's own `headers` may carry If-Match: a stale one fails
            // the whole batch with the request's 412 inside, and nothing changes.
            let enabled = http_a
                .send("PATCH", "/api/settings", Some(token), RawBody::Json(json!({"batch": {"enabled": true}})), &[])
                .await?;
            ensure!(enabled.status == 200, "enable batches: {}", enabled.text);
            let batch = |if_match: String| {
                json!({"requests": [
                    {"method": "POST", "url": "/api/collections/docs/records", "body": {"n": 100}},
                    {"method": "PATCH", "url": path.clone(), "headers": {"If-Match": if_match}, "body": {"n": 101}}
                ]})
            };
            let stale_batch = http_a
                .send("POST", "/api/batch", Some(token), RawBody::Json(batch(second.clone())), &[])
                .await?;
            let inner = stale_batch.json.as_ref().and_then(|j| j.pointer("/data/requests/1/response/status")).and_then(|s| s.as_u64());
            ensure!(stale_batch.status == 400 && inner == Some(412), "a batch with a stale If-Match: {} {}", stale_batch.status, stale_batch.text);
            let unchanged = http_a.send("GET", &path, Some(token), RawBody::None, &[]).await?;
            ensure!(etag(&unchanged)? == etag(&now)?, "a refused batch changed the record");
            let fresh_batch = http_a
                .send("POST", "/api/batch", Some(token), RawBody::Json(batch(etag(&now)?)), &[])
                .await?;
            ensure!(fresh_batch.status == 200, "a batch with the current If-Match: {} {}", fresh_batch.status, fresh_batch.text);

            // Racing conditional updates from one version, through every node at once.
            for round in 0..ROUNDS {
                let current = http_a
                    .send(
                        "GET",
                        &path,
                        Some(token),
                        RawBody::None,
                        &[("X-Edgebase-Consistency", "strong".into())],
                    )
                    .await?;
                let version = etag(&current)?;
                let mut racers = Vec::new();
                for (http, _) in &admins {
                    // Seeded jitter so the racers do not always start in the same order.
                    let delay = Duration::from_millis(rng.gen_range(0..5));
                    let write = patch(http, &version, round as i64 * 10);
                    racers.push(async move {
                        tokio::time::sleep(delay).await;
                        write.await
                    });
                }
                let (first, second, third) = match <[_; 3]>::try_from(racers) {
                    Ok([a, b, c]) => (a, b, c),
                    Err(_) => anyhow::bail!("three nodes race"),
                };
                let answers = {
                    let (a, b, c) = tokio::join!(first, second, third);
                    [a, b, c]
                };
                let mut statuses = Vec::new();
                for answer in answers {
                    statuses.push(answer?.status);
                }
                let wins = statuses.iter().filter(|status| **status == 200).count();
                let refused = statuses.iter().filter(|status| **status == 412).count();
                ensure!(
                    wins == 1 && refused == admins.len() - 1,
                    "round {round}: {statuses:?}"
                );
            }
            Ok(())
        },
    )
    .await;
}
