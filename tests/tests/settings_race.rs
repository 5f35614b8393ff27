//! Two `PATCH /api/settings` of different sections through two nodes, back to back, the
//! second through a follower that has not applied the first yet (it was paused with SIGSTOP
//! while the first committed, and its PATCH waited in its socket). A PATCH merges into the
//! settings its node read, so without a condition the follower would write back the old value
//! of the first PATCH's section; with one, its write is rejected and planned again on fresher
//! state. Both changes must hold on every node.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::HEADER_AFTER;
use edgebase_tests::{run_test, seeded_rng, Cluster, RawBody, RawClient, NODE_START_TIMEOUT};
use rand::seq::SliceRandom;
use serde_json::{json, Value};

const ROUNDS: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_through_a_lagging_follower_keep_each_other() {
    run_test(
        "settings_race",
        Duration::from_secs(300),
        |context| async move {
            let mut rng = seeded_rng("settings_race");
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let followers: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
            let mut tokens = Vec::new();
            for id in &ids {
                let admin = cluster.admin(*id).await?;
                tokens.push((
                    *id,
                    admin.token().context("a superuser session has a token")?,
                ));
            }
            let token = |id: u64| {
                tokens
                    .iter()
                    .find(|(node, _)| *node == id)
                    .map(|(_, token)| token.clone())
                    .expect("a token per node")
            };
            let leader_http = RawClient::new(&cluster.node(leader).http_url())?;

            for round in 0..ROUNDS {
                let follower = *followers.choose(&mut rng).expect("two followers");
                let app_name = format!("race-{round}");
                let max_days = 10 + round;

                cluster.node_mut(follower).pause()?;
                // Sent now, read by the follower only once it runs again.
                let follower_http = RawClient::new(&cluster.node(follower).http_url())?;
                let follower_token = token(follower);
                let lagging = tokio::spawn(async move {
                    follower_http
                        .send(
                            "PATCH",
                            "/api/settings",
                            Some(&follower_token),
                            RawBody::Json(json!({"logs": {"maxDays": max_days}})),
                            &[],
                        )
                        .await
                });
                let first = leader_http
                    .send(
                        "PATCH",
                        "/api/settings",
                        Some(&token(leader)),
                        RawBody::Json(json!({"meta": {"appName": app_name}})),
                        &[],
                    )
                    .await;
                cluster.node_mut(follower).resume()?;
                let first = first.context("PATCH through the leader")?;
                ensure!(
                    first.status == 200,
                    "round {round}: leader PATCH: {}",
                    first.text
                );
                let second = lagging
                    .await
                    .context("the follower PATCH task")?
                    .context("PATCH through the follower")?;
                ensure!(
                    second.status == 200,
                    "round {round}: follower {follower} PATCH: {}",
                    second.text
                );
                let last = first
                    .index()
                    .max(second.index())
                    .context("an index header")?;

                for id in &ids {
                    let read = RawClient::new(&cluster.node(*id).http_url())?
                        .send(
                            "GET",
                            "/api/settings",
                            Some(&token(*id)),
                            RawBody::None,
                            &[(HEADER_AFTER, last.to_string())],
                        )
                        .await?;
                    let settings = read.json.unwrap_or(Value::Null);
                    ensure!(
                        settings["meta"]["appName"] == json!(app_name)
                            && settings["logs"]["maxDays"] == json!(max_days),
                        "round {round} (leader {leader}, lagging follower {follower}): node {id} \
                         holds appName {} and maxDays {}, wanted {app_name:?} and {max_days}",
                        settings["meta"]["appName"],
                        settings["logs"]["maxDays"]
                    );
                }
            }
            Ok(())
        },
    )
    .await
}
