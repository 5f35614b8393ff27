//! One `edgebase serve` on an empty dir: superuser, collection and record CRUD through the
//! SDK, then a graceful restart and a `kill -9` restart keep every acknowledged change.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::{Client, Totals};
use edgebase_tests::{
    all_records, run_test, string_field, Cli, Node, NodeSpec, NODE_START_TIMEOUT, SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
};
use serde_json::json;

const COLLECTION: &str = "notes";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_survives_graceful_and_kill9_restarts() {
    run_test(
        "single_node",
        Duration::from_secs(300),
        |context| async move {
            let mut node = Node::start(NodeSpec::single(context.root(), "node")?)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            Cli::edgebase()?
                .superuser_upsert(node.data_dir(), SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
                .await?;
            let client = login(&node).await?;

            let collection = client
                .collections()
                .create(&json!({
                    "name": COLLECTION,
                    "type": "base",
                    "fields": [
                        {"name": "title", "type": "text", "required": true},
                        {"name": "rank", "type": "number"},
                        {"name": "done", "type": "bool"},
                        {"name": "meta", "type": "json"}
                    ]
                }))
                .await
                .context("create the collection")?;
            ensure!(collection.name == COLLECTION, "created {collection:?}");
            for field in ["id", "title", "rank", "done", "meta"] {
                ensure!(
                    collection.field(field).is_some(),
                    "no field {field} in {collection:?}"
                );
            }
            let fetched = client.collections().get(COLLECTION).await?;
            ensure!(fetched.id == collection.id, "get by name gave {fetched:?}");

            let records = client.records(COLLECTION);
            let mut ids = Vec::new();
            for rank in 1..=5 {
                let created = records
                    .create(&json!({
                        "title": format!("note {rank}"),
                        "rank": rank,
                        "done": rank % 2 == 0,
                        "meta": {"tags": ["a", rank]}
                    }))
                    .await?;
                ensure!(created["rank"] == json!(rank), "created {created:?}");
                ensure!(
                    created["collectionName"] == json!(COLLECTION),
                    "created {created:?}"
                );
                ids.push(string_field(&created, "id")?);
            }
            ensure!(
                client.last_index() > 0,
                "no X-Edgebase-Index seen on writes"
            );

            let got = records.get(&ids[0]).await?;
            ensure!(
                got["title"] == json!("note 1") && got["meta"] == json!({"tags": ["a", 1]}),
                "{got:?}"
            );

            let page = records.list(1, 2, Totals::Count).await?;
            ensure!(page.items.len() == 2, "page 1 of 2: {page:?}");
            ensure!(
                page.total_items == 5 && page.total_pages == 3,
                "totals: {page:?}"
            );
            let skipped = records.list(3, 2, Totals::Skip).await?;
            ensure!(
                skipped.items.len() == 1 && skipped.total_items == -1,
                "skipTotal: {skipped:?}"
            );

            let updated = records
                .update(&ids[1], &json!({"title": "edited", "done": false}))
                .await?;
            ensure!(
                updated["title"] == json!("edited") && updated["rank"] == json!(2),
                "{updated:?}"
            );
            records.delete(&ids[2]).await?;
            match records.get(&ids[2]).await {
                Err(error) if error.status() == Some(404) => {}
                other => anyhow::bail!("a deleted record answered {other:?}"),
            }
            let before = all_records(&client, COLLECTION).await?;
            ensure!(
                before.len() == 4,
                "4 records expected, found {}",
                before.len()
            );

            // Graceful stop: SIGTERM, then start again on the same dir.
            let status = node.terminate(Duration::from_secs(30)).await?;
            eprintln!("node exited after SIGTERM with {status}");
            node.restart()?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let client = login(&node).await?;
            ensure!(
                client.collections().get(COLLECTION).await?.id == collection.id,
                "collection lost"
            );
            let after_graceful = all_records(&client, COLLECTION).await?;
            ensure!(
                after_graceful == before,
                "after a graceful restart:\n{after_graceful:?}\nbefore:\n{before:?}"
            );

            // Acknowledged writes just before kill -9 must survive it.
            let last = client
                .records(COLLECTION)
                .create(&json!({"title": "last words", "rank": 99}))
                .await?;
            client
                .records(COLLECTION)
                .update(&ids[0], &json!({"rank": 100}))
                .await?;
            let expected = all_records(&client, COLLECTION).await?;
            ensure!(
                expected.len() == 5,
                "5 records expected, found {}",
                expected.len()
            );
            node.kill9()?;
            node.restart()?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let client = login(&node).await?;
            let after_kill = all_records(&client, COLLECTION).await?;
            ensure!(
                after_kill == expected,
                "after kill -9:\n{after_kill:?}\nexpected:\n{expected:?}"
            );
            let last_id = string_field(&last, "id")?;
            ensure!(
                client.records(COLLECTION).get(&last_id).await?["title"] == json!("last words")
            );

            // The node keeps working after both restarts.
            client
                .records(COLLECTION)
                .create(&json!({"title": "after"}))
                .await?;
            client.collections().delete(COLLECTION).await?;
            match client.collections().get(COLLECTION).await {
                Err(error) if error.status() == Some(404) => Ok(()),
                other => anyhow::bail!("a deleted collection answered {other:?}"),
            }
        },
    )
    .await;
}

async fn login(node: &Node) -> anyhow::Result<Client> {
    let client = node.client()?;
    client
        .superuser_login(SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        .await
        .context("superuser login")?;
    Ok(client)
}
