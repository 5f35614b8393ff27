//! A write re-planned after a failed condition runs its hooks again: a request hook that
//! increments a counter from the record it sees (`e.record`), under concurrent updates of
//! the same record. Had a stale write been re-planned with what the hook decided on the old
//! record, increments would be lost; instead every acknowledged update counts once (an
//! update that ran out of passes answers 503 and counts nothing).

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, wait_until, Cluster, RawBody, RawClient, NODE_START_TIMEOUT};
use serde_json::json;

const HOOKS: &str = r#"
onRecordUpdateRequest((e) => {
    e.record.set("count", e.record.getInt("count") + 1)
    // Widen the window between reading the record and writing it.
    sleep(50)
    e.next()
}, "counters")
"#;

const UPDATES: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hooked_updates_lose_no_increment() {
    run_test("hooks_replan", Duration::from_secs(300), |context| async move {
        let cluster = Cluster::builder(context.root()).size(1).start().await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let nodes = cluster.raw_admins().await?;
        let (http, token) = (&nodes[0].0, nodes[0].1.as_str());
        let folder = cluster.own_hooks_folder(ids[0])?;
        std::fs::write(folder.join("counter.pb.js"), HOOKS)?;
        let created = http
            .send("POST", "/api/collections", Some(token), RawBody::Json(json!({
                "name": "counters", "type": "base", "viewRule": "", "createRule": "", "updateRule": "",
                "fields": [{"name": "count", "type": "number"}],
            })), &[])
            .await?;
        ensure!(created.status == 200, "collection: {}", created.text);
        let counter = http
            .send("POST", "/api/collections/counters/records", None, RawBody::Json(json!({"count": 0})), &[])
            .await?;
        let id = counter.json.as_ref().and_then(|body| body["id"].as_str()).context("id")?.to_owned();
        let path = format!("/api/collections/counters/records/{id}");
        // The folder is loaded once an update counts.
        wait_until("the hook to load", Duration::from_secs(30), || async {
            let answer = http.send("PATCH", &path, None, RawBody::Json(json!({})), &[]).await?;
            Ok((answer.json.as_ref().is_some_and(|body| body["count"] == 1)).then_some(()))
        })
        .await?;
        let url = cluster.node(ids[0]).http_url();
        let updates = (0..UPDATES).map(|_| {
            let (url, path) = (url.clone(), path.clone());
            tokio::spawn(async move {
                let http = RawClient::new(&url)?;
                http.send("PATCH", &path, None, RawBody::Json(json!({})), &[]).await
            })
        });
        let mut acknowledged = 0;
        for update in updates.collect::<Vec<_>>() {
            let answer = update.await??;
            match answer.status {
                200 => acknowledged += 1,
                503 => {}
                other => anyhow::bail!("an update answered {other}: {}", answer.text),
            }
        }
        let stored = http.send("GET", &path, None, RawBody::None, &[]).await?;
        let count = stored.json.as_ref().and_then(|body| body["count"].as_u64()).context("count")?;
        ensure!(acknowledged >= 1, "no update was acknowledged");
        ensure!(
            count == 1 + acknowledged as u64,
            "{acknowledged} acknowledged updates, but the counter says {count} (one before them)"
        );
        Ok(())
    })
    .await;
}
