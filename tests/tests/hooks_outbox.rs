//! At-least-once after-success hooks through the replicated outbox, on three real nodes with
//! a deployed bundle: a hook registered with `{ atLeastOnce: true }` records each delivery.
//! An order created at any node is delivered once and leaves the outbox empty; a hook that
//! throws is run again (with backoff) until it completes; and when the proposing node is
//! killed (kill -9) while its hook runs, after the write applied, the leader delivers the
//! order anyway. Every acknowledged order ends delivered.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, wait_until, Cli, Cluster, RawBody, RawClient, NODE_START_TIMEOUT};
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(90);

const HOOKS: &str = r#"
onRecordAfterCreateSuccess((e) => {
    const order = e.record.id
    const attempt = new Record($app.findCollectionByNameOrId("attempts"))
    attempt.set("order", order)
    $app.save(attempt)
    const attempts = $app.countRecords("attempts", $dbx.hashExp({ "order": order }))
    if (attempts <= e.record.getInt("failures")) {
        throw new Error("failing on purpose, attempt " + attempts)
    }
    if (e.record.getBool("stall") && attempts === 1) {
        // The test kills this node while it waits here.
        sleep(25000)
    }
    // Idempotent, as at-least-once hooks must be: one delivery record per order.
    try {
        $app.findFirstRecordByFilter("deliveries", "order = {:order}", { "order": order })
    } catch (_) {
        const delivery = new Record($app.findCollectionByNameOrId("deliveries"))
        delivery.set("order", order)
        $app.save(delivery)
    }
    e.next()
}, { atLeastOnce: true }, "orders")
"#;

async fn collection(
    client: &RawClient,
    token: &str,
    name: &str,
    fields: Value,
) -> anyhow::Result<()> {
    let created = client
        .send(
            "POST",
            "/api/collections",
            Some(token),
            RawBody::Json(json!({
                "name": name, "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                "fields": fields,
            })),
            &[],
        )
        .await?;
    ensure!(created.status == 200, "create {name}: {}", created.text);
    Ok(())
}

/// How many `collection` records name `order`, as `client`'s node has them.
async fn count(client: &RawClient, collection: &str, order: &str) -> anyhow::Result<u64> {
    let path =
        format!("/api/collections/{collection}/records?filter=order%3D%27{order}%27&perPage=1");
    let answer = client.send("GET", &path, None, RawBody::None, &[]).await?;
    answer
        .json
        .as_ref()
        .and_then(|body| body["totalItems"].as_u64())
        .with_context(|| format!("count {collection}: {}", answer.text))
}

/// Wait until `order` is delivered (as `client`'s node sees it), then check it was once.
async fn delivered_once(client: &RawClient, order: &str) -> anyhow::Result<()> {
    wait_until(&format!("order {order} delivered"), SETTLE, || async move {
        Ok((count(client, "deliveries", order).await? >= 1).then_some(()))
    })
    .await?;
    ensure!(
        count(client, "deliveries", order).await? == 1,
        "order {order} delivered more than once"
    );
    Ok(())
}

async fn outbox_len(client: &RawClient, token: &str) -> anyhow::Result<usize> {
    let answer = client
        .send("GET", "/api/hooks", Some(token), RawBody::None, &[])
        .await?;
    answer
        .json
        .as_ref()
        .and_then(|body| body["outbox"].as_array())
        .map(Vec::len)
        .with_context(|| format!("the outbox: {}", answer.text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_hooks_survive_failures_and_a_killed_proposer() {
    run_test(
        "hooks_outbox",
        Duration::from_secs(420),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let nodes = cluster.raw_admins().await?;
            let (first, token) = (&nodes[0].0, nodes[0].1.as_str());
            collection(
                first,
                token,
                "orders",
                json!([
                    {"name": "failures", "type": "number"},
                    {"name": "stall", "type": "bool"},
                ]),
            )
            .await?;
            for name in ["attempts", "deliveries"] {
                collection(
                    first,
                    token,
                    name,
                    json!([{"name": "order", "type": "text"}]),
                )
                .await?;
            }
            let folder = context.root().join("pb_hooks");
            std::fs::create_dir_all(&folder)?;
            std::fs::write(folder.join("outbox.pb.js"), HOOKS)?;
            let node1 = cluster.node(ids[0]).http_url();
            let deployed = Cli::edgebase()?.deploy_hooks(&node1, &folder).await?;
            ensure!(
                deployed.stdout.contains("deployed 1 file"),
                "deploy said: {}",
                deployed.stdout
            );
            for (client, token) in &nodes {
                wait_until("every node to run the bundle", SETTLE, || async move {
                    let hooks = client
                        .send("GET", "/api/hooks", Some(token), RawBody::None, &[])
                        .await?;
                    Ok(hooks
                        .json
                        .as_ref()
                        .is_some_and(|body| body["running"]["source"] == "deployed")
                        .then_some(()))
                })
                .await?;
            }

            // An order at each node: delivered once, by its proposer, right after its write.
            let mut known: Vec<String> = Vec::new();
            for (client, _) in &nodes {
                let order = client
                    .send(
                        "POST",
                        "/api/collections/orders/records",
                        None,
                        RawBody::Json(json!({})),
                        &[],
                    )
                    .await?;
                ensure!(order.status == 200, "order: {}", order.text);
                let id = order
                    .json
                    .as_ref()
                    .and_then(|body| body["id"].as_str())
                    .context("order id")?;
                delivered_once(client, id).await?;
                known.push(id.to_owned());
            }

            // A hook that throws twice runs a third time and completes.
            let flaky = first
                .send(
                    "POST",
                    "/api/collections/orders/records",
                    None,
                    RawBody::Json(json!({"failures": 2})),
                    &[],
                )
                .await?;
            ensure!(flaky.status == 200, "flaky order: {}", flaky.text);
            let flaky_id: String = flaky
                .json
                .as_ref()
                .and_then(|body| body["id"].as_str())
                .context("id")?
                .to_owned();
            delivered_once(first, &flaky_id).await?;
            ensure!(
                count(first, "attempts", &flaky_id).await? == 3,
                "attempts of the flaky order"
            );

            // The proposer dies while its hook runs, after its write applied: another node
            // delivers the order.
            let victim = ids[1];
            let victim_url = cluster.node(victim).http_url();
            let stalled = tokio::spawn(async move {
                let client = RawClient::new(&victim_url)?;
                client
                    .send(
                        "POST",
                        "/api/collections/orders/records",
                        None,
                        RawBody::Json(json!({"stall": true})),
                        &[],
                    )
                    .await
            });
            let survivor = &nodes[2].0;
            known.push(flaky_id.clone());
            let known = &known;
            let stalled_id =
                wait_until("the stalled order's first attempt", SETTLE, || async move {
                    let answer = survivor
                        .send(
                            "GET",
                            "/api/collections/attempts/records?perPage=100",
                            None,
                            RawBody::None,
                            &[],
                        )
                        .await?;
                    let items = answer
                        .json
                        .as_ref()
                        .and_then(|body| body["items"].as_array())
                        .cloned()
                        .unwrap_or_default();
                    Ok(items
                        .iter()
                        .filter_map(|item| item["order"].as_str())
                        .find(|order| !known.iter().any(|seen| seen == order))
                        .map(str::to_owned))
                })
                .await?;
            cluster.node_mut(victim).kill9()?;
            ensure!(
                stalled.await?.is_err(),
                "the stalled create answered though its node was killed"
            );
            delivered_once(survivor, &stalled_id).await?;
            let survivor_token = nodes[2].1.as_str();
            wait_until("the outbox to empty", SETTLE, || async move {
                Ok((outbox_len(survivor, survivor_token).await? == 0).then_some(()))
            })
            .await?;
            Ok(())
        },
    )
    .await;
}
