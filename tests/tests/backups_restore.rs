//! A backup restored into the running three-node cluster, through Raft: after records are
//! added, one of the backed-up records deleted and the collection changed, `POST
//! /api/backups/{key}/restore` at a follower brings every node back to the backup's state
//! (the same state hash at the same index), with its files served by every node, while the
//! backup list (kept across a restore) still names the backup. A missing backup is refused
//! as PocketBase refuses it, and nothing changes.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::HEADER_AFTER;
use edgebase_tests::{
    run_test, wait_until, Cluster, MultipartBody, RawBody, RawClient, RawResponse,
    NODE_START_TIMEOUT,
};
use serde_json::{json, Value};

const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

async fn send(
    client: &RawClient,
    method: &str,
    path: &str,
    token: &str,
    body: RawBody,
) -> anyhow::Result<RawResponse> {
    client.send(method, path, Some(token), body, &[]).await
}

/// Titles of the records `client` serves, reading at or after `index`.
async fn titles(client: &RawClient, token: &str, index: u64) -> anyhow::Result<BTreeSet<String>> {
    let listed = client
        .send(
            "GET",
            "/api/collections/kept/records?perPage=500",
            Some(token),
            RawBody::None,
            &[(HEADER_AFTER, index.to_string())],
        )
        .await?;
    ensure!(
        listed.status == 200,
        "{} lists: {}",
        client.base_url(),
        listed.text
    );
    Ok(listed.json.as_ref().context("json")?["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["title"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_in_place_on_every_node() {
    run_test(
        "backups_restore",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admins = cluster.raw_admins().await?;
            let index_of = |id: u64| ids.iter().position(|each| *each == id).unwrap_or(0);
            let (http, token) = admins[index_of(leader)].clone();
            let follower = *ids.iter().find(|id| **id != leader).context("a follower")?;
            let (http_f, token_f) = admins[index_of(follower)].clone();

            let created = send(&http, "POST", "/api/collections", &token, RawBody::Json(json!({
            "name": "kept", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1048576}
            ]
        }))).await?;
            ensure!(created.status == 200, "create collection: {}", created.text);
            let mut before = Vec::new();
            for n in 0..5 {
                let body = MultipartBody::new()
                    .text("title", &format!("before-{n}"))
                    .file(
                        "doc",
                        &format!("doc{n}.txt"),
                        format!("content of {n}").as_bytes(),
                    )
                    .build();
                let made =
                    send(&http, "POST", "/api/collections/kept/records", &token, body).await?;
                ensure!(made.status == 200, "create: {}", made.text);
                before.push(made.json.context("json")?);
            }
            let made = send(
                &http,
                "POST",
                "/api/backups",
                &token,
                RawBody::Json(json!({"name": "point.zip"})),
            )
            .await?;
            ensure!(made.status == 204, "backup: {} {}", made.status, made.text);

            // Changes after the backup: new records, a deleted one, a new field.
            for n in 0..3 {
                let made = send(
                    &http,
                    "POST",
                    "/api/collections/kept/records",
                    &token,
                    RawBody::Json(json!({"title": format!("after-{n}")})),
                )
                .await?;
                ensure!(made.status == 200, "create after: {}", made.text);
            }
            let gone = before[0]["id"].as_str().context("id")?;
            let deleted = send(
                &http,
                "DELETE",
                &format!("/api/collections/kept/records/{gone}"),
                &token,
                RawBody::None,
            )
            .await?;
            ensure!(deleted.status == 204, "delete: {}", deleted.text);
            let changed = send(
                &http,
                "PATCH",
                "/api/collections/kept",
                &token,
                RawBody::Json(json!({
                    "fields": [
                        {"name": "title", "type": "text"},
                        {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1048576},
                        {"name": "extra", "type": "number"}
                    ]
                })),
            )
            .await?;
            ensure!(changed.status == 200, "change collection: {}", changed.text);

            // A missing backup: refused, nothing changes.
            let missing = send(
                &http_f,
                "POST",
                "/api/backups/missing.zip/restore",
                &token_f,
                RawBody::None,
            )
            .await?;
            ensure!(
                missing.status == 400,
                "restore missing: {} {}",
                missing.status,
                missing.text
            );
            ensure!(
                missing.text.contains("Missing or invalid backup file."),
                "{}",
                missing.text
            );

            // The restore, asked at a follower.
            let restored = send(
                &http_f,
                "POST",
                "/api/backups/point.zip/restore",
                &token_f,
                RawBody::None,
            )
            .await?;
            ensure!(
                restored.status == 204,
                "restore: {} {}",
                restored.status,
                restored.text
            );
            let index = restored.index().context("the restore's index")?;

            let expected: BTreeSet<String> = (0..5).map(|n| format!("before-{n}")).collect();
            for (client, token) in &admins {
                let (client, token) = (client.clone(), token.clone());
                wait_until(
                    &format!("{} back at the backup", client.base_url()),
                    SETTLE_TIMEOUT,
                    || {
                        let (client, token, expected) =
                            (client.clone(), token.clone(), expected.clone());
                        async move {
                            Ok((titles(&client, &token, index).await? == expected).then_some(()))
                        }
                    },
                )
                .await?;
                let collection = send(
                    &client,
                    "GET",
                    "/api/collections/kept",
                    &token,
                    RawBody::None,
                )
                .await?;
                let fields: Vec<&str> = collection.json.as_ref().context("json")?["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|field| field["name"].as_str())
                    .collect();
                ensure!(
                    !fields.contains(&"extra"),
                    "{} kept the field added after the backup",
                    client.base_url()
                );
                for (n, record) in before.iter().enumerate() {
                    let id = record["id"].as_str().context("id")?;
                    let doc = record["doc"].as_str().context("doc")?;
                    let file = wait_until(
                        &format!("file {n} at {}", client.base_url()),
                        SETTLE_TIMEOUT,
                        || {
                            let client = client.clone();
                            let path = format!("/api/files/kept/{id}/{doc}");
                            async move {
                                let got = client.get(&path, None).await?;
                                Ok((got.status == 200).then_some(got))
                            }
                        },
                    )
                    .await?;
                    ensure!(
                        file.bytes == format!("content of {n}").into_bytes(),
                        "file {n} differs"
                    );
                }
                let listed = send(&client, "GET", "/api/backups", &token, RawBody::None).await?;
                ensure!(
                    listed.text.contains("point.zip"),
                    "the backup list was not kept: {}",
                    listed.text
                );
            }
            // Every replica holds the same state.
            let hashes = wait_until("equal state hashes", SETTLE_TIMEOUT, || {
                let admins = admins.clone();
                async move {
                    let mut seen = BTreeSet::new();
                    for (client, token) in &admins {
                        let answer = send(
                            client,
                            "GET",
                            "/api/cluster/state-hash",
                            token,
                            RawBody::None,
                        )
                        .await?;
                        let json: Value = answer.json.context("json")?;
                        seen.insert((json["appliedIndex"].to_string(), json["sha256"].to_string()));
                    }
                    Ok((seen.len() == 1).then_some(seen))
                }
            })
            .await?;
            tracing::info!(?hashes, "replicas equal after the restore");
            // The cluster goes on taking writes.
            let after = send(
                &http,
                "POST",
                "/api/collections/kept/records",
                &token,
                RawBody::Json(json!({"title": "after-restore"})),
            )
            .await?;
            ensure!(
                after.status == 200,
                "write after the restore: {}",
                after.text
            );
            Ok(())
        },
    )
    .await;
}
