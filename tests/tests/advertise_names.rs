//! Nodes that advertise their Raft address by DNS name (`--advertise-raft`, as Kubernetes
//! pods do with their stable names while their IPs change): the membership holds the names,
//! peers reach each other through them, a write at the leader reaches every follower, and
//! after the leader is killed and started again the cluster elects, writes and takes it back.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::HEADER_AFTER;
use edgebase_tests::{run_test, Cluster, RawBody, RawClient, NODE_START_TIMEOUT};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_advertising_names_replicates_and_fails_over() {
    run_test(
        "advertise_names",
        Duration::from_secs(300),
        |context| async move {
            let mut cluster = Cluster::builder(context.root())
                .size(3)
                .advertise_names()
                .start()
                .await?;
            let ids = cluster.ids();
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let status = cluster.status(leader).await?;
            for member in &status.members {
                ensure!(
                    member.raft_addr.starts_with("localhost:"),
                    "node {} is known by {:?}, not its name",
                    member.id,
                    member.raft_addr
                );
            }

            let admins = cluster.raw_admins().await?;
            let index_of = |id: u64| ids.iter().position(|each| *each == id).unwrap_or(0);
            let (leader_http, leader_token) = &admins[index_of(leader)];
            let created = leader_http
            .send("POST", "/api/collections", Some(leader_token), RawBody::Json(json!({
                "name": "named", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "title", "type": "text"}]
            })), &[])
            .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);
            let write = |http: RawClient, token: String, title: &'static str| async move {
                let answer = http
                    .send(
                        "POST",
                        "/api/collections/named/records",
                        Some(&token),
                        RawBody::Json(json!({"title": title})),
                        &[],
                    )
                    .await?;
                ensure!(answer.status == 200, "write {title}: {}", answer.text);
                let id = answer
                    .json
                    .as_ref()
                    .and_then(|j| j["id"].as_str())
                    .context("id")?
                    .to_owned();
                Ok::<_, anyhow::Error>((id, answer.index().context("index header")?))
            };
            let (first, index) = write(leader_http.clone(), leader_token.clone(), "first").await?;
            for (http, token) in &admins {
                let read = http
                    .send(
                        "GET",
                        &format!("/api/collections/named/records/{first}"),
                        Some(token),
                        RawBody::None,
                        &[(HEADER_AFTER, index.to_string())],
                    )
                    .await?;
                ensure!(
                    read.status == 200,
                    "{} does not serve the write: {}",
                    http.base_url(),
                    read.text
                );
            }

            cluster.node_mut(leader).kill9()?;
            let survivors: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
            let next = cluster
                .wait_for_leader(&survivors, NODE_START_TIMEOUT)
                .await?;
            let (next_http, next_token) = &admins[index_of(next)];
            let (second, index) = write(next_http.clone(), next_token.clone(), "second").await?;
            cluster.node_mut(leader).restart()?;
            cluster
                .node_mut(leader)
                .wait_healthy(NODE_START_TIMEOUT)
                .await?;
            let (old_http, _) = &admins[index_of(leader)];
            cluster.forget_token(leader);
            let old_token = cluster.admin(leader).await?.token().context("token")?;
            let read = old_http
                .send(
                    "GET",
                    &format!("/api/collections/named/records/{second}"),
                    Some(&old_token),
                    RawBody::None,
                    &[(HEADER_AFTER, index.to_string())],
                )
                .await?;
            ensure!(
                read.status == 200,
                "the restarted node does not serve the write made without it: {}",
                read.text
            );
            Ok(())
        },
    )
    .await;
}
