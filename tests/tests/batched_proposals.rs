//! Batched proposals on three real nodes: many writes sent at once through every node, with
//! conditions that conflict (If-Match updates of one record from one version, creates of one
//! id, creates of one unique value) beside independent creates. The leader packs them into
//! shared log entries (its `proposals` counters show entries holding several writes), and
//! still each write gets its own answer: exactly one winner per conflict, every independent
//! create applied, and the three replicas' states hash alike.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, wait_until, Cluster, RawBody, RawClient, NODE_START_TIMEOUT};
use futures::future::join_all;
use serde_json::json;

/// Rounds at most; the test stops early once the leader has packed several writes into an
/// entry and every round so far answered correctly.
const ROUNDS_MAX: usize = 20;
const RACING_UPDATES: usize = 12;
const RACING_CREATES: usize = 12;
const RACING_UNIQUE: usize = 8;
const INDEPENDENT: usize = 24;
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_entries_and_keep_their_own_answers() {
    run_test(
        "batched_proposals",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admins = cluster.raw_admins().await?;
            let token = admins[0].1.clone();
            let http: Vec<RawClient> = admins.iter().map(|(http, _)| http.clone()).collect();
            let created = http[0]
            .send("POST", "/api/collections", Some(&token), RawBody::Json(json!({
                "name": "items", "type": "base",
                "fields": [{"name": "n", "type": "number"}, {"name": "email", "type": "text"}],
                "indexes": ["CREATE UNIQUE INDEX idx_items_email ON items (email)"]
            })), &[])
            .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);

            let mut largest_entry = 0;
            for round in 0..ROUNDS_MAX {
                let target = http[0]
                    .send(
                        "POST",
                        "/api/collections/items/records",
                        Some(&token),
                        RawBody::Json(json!({"n": -1, "email": format!("target{round}@x")})),
                        &[],
                    )
                    .await?;
                ensure!(
                    target.status == 200,
                    "round {round}: create the target: {}",
                    target.text
                );
                let target_id = target
                    .json
                    .as_ref()
                    .and_then(|j| j["id"].as_str())
                    .context("id")?
                    .to_owned();
                let etag = target
                    .headers
                    .get("etag")
                    .context("ETag")?
                    .to_str()?
                    .to_owned();
                let path = format!("/api/collections/items/records/{target_id}");
                let after = target
                    .index()
                    .map(|index| index.to_string())
                    .unwrap_or_default();

                // (kind, request) for every write of the round, spread over the three nodes.
                let mut writes = Vec::new();
                for n in 0..RACING_UPDATES {
                    writes.push((
                        "update",
                        "PATCH",
                        path.clone(),
                        json!({"n": n}),
                        Some(etag.clone()),
                    ));
                }
                let same_id = format!("dup{round:012}");
                for n in 0..RACING_CREATES {
                    writes.push((
                        "same id",
                        "POST",
                        "/api/collections/items/records".to_owned(),
                        json!({"id": same_id, "n": n, "email": format!("dup{round}-{n}@x")}),
                        None,
                    ));
                }
                for n in 0..RACING_UNIQUE {
                    writes.push((
                        "same email",
                        "POST",
                        "/api/collections/items/records".to_owned(),
                        json!({"email": format!("r{round}@x"), "n": n}),
                        None,
                    ));
                }
                for n in 0..INDEPENDENT {
                    writes.push((
                        "independent",
                        "POST",
                        "/api/collections/items/records".to_owned(),
                        json!({"n": n, "email": format!("i{round}-{n}@x")}),
                        None,
                    ));
                }
                let answers = join_all(writes.iter().enumerate().map(
                    |(at, (kind, method, path, body, if_match))| {
                        let http = http[at % http.len()].clone();
                        let token = token.clone();
                        let after = after.clone();
                        async move {
                            let mut headers = vec![("X-Edgebase-After", after)];
                            if let Some(if_match) = if_match {
                                headers.push(("If-Match", if_match.clone()));
                            }
                            let answer = http
                                .send(
                                    method,
                                    path,
                                    Some(&token),
                                    RawBody::Json(body.clone()),
                                    &headers,
                                )
                                .await?;
                            anyhow::Ok((*kind, answer.status, answer.text))
                        }
                    },
                ))
                .await;
                let mut wins = std::collections::BTreeMap::<&str, usize>::new();
                for answer in answers {
                    let (kind, status, text) = answer?;
                    match (kind, status) {
                        (_, 200) => *wins.entry(kind).or_default() += 1,
                        ("update", 412) | ("same id", 400) | ("same email", 400) => {}
                        _ => anyhow::bail!("round {round}: {kind} answered {status}: {text}"),
                    }
                }
                let expected = [
                    ("independent", INDEPENDENT),
                    ("same email", 1),
                    ("same id", 1),
                    ("update", 1),
                ];
                for (kind, count) in expected {
                    ensure!(
                        wins.get(kind).copied().unwrap_or(0) == count,
                        "round {round}: {kind}: {:?} won, {count} expected",
                        wins.get(kind)
                    );
                }
                let stats = cluster.status(leader).await?.proposals;
                largest_entry = stats.largest_entry;
                tracing::info!(round, ?stats, "leader's proposals");
                if largest_entry > 1 {
                    break;
                }
            }
            ensure!(
                largest_entry > 1,
                "the leader never packed two writes into one entry"
            );

            // The replicas agree: same applied index, same state hash.
            wait_until("the replicas' states to hash alike", WAIT, || {
                let http = http.clone();
                let token = token.clone();
                async move {
                    let mut seen = std::collections::BTreeSet::new();
                    for node in &http {
                        let answer = node
                            .send(
                                "GET",
                                "/api/cluster/state-hash",
                                Some(&token),
                                RawBody::None,
                                &[],
                            )
                            .await?;
                        ensure!(answer.status == 200, "state hash: {}", answer.text);
                        let json = answer.json.context("json")?;
                        seen.insert((
                            json["appliedIndex"].as_u64(),
                            json["sha256"].as_str().map(str::to_owned),
                        ));
                    }
                    Ok((seen.len() == 1).then_some(()))
                }
            })
            .await?;
            Ok(())
        },
    )
    .await;
}
