//! Every node ends up holding every file the records name: a learner (an edge node) fetches
//! blobs in the background, then serves a download while every other node is paused, so
//! nothing but its own disk could have answered; a node whose disk was wiped rejoins and
//! fetches every referenced blob back, saying so in its log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::HEADER_AFTER;
use edgebase_tests::{
    blob_path, free_addr, run_test, seeded_rng, wait_until, Cluster, MultipartBody, Node, NodeSpec,
    RawBody, RawClient, NODE_START_TIMEOUT,
};
use rand::RngCore;
use serde_json::json;

const KEEPER_ARGS: [&str; 4] = [
    "--blob-sweep-interval-secs",
    "1",
    "--blob-grace-secs",
    "600",
];
const CATCH_UP: Duration = Duration::from_secs(60);

async fn wait_for_blobs(what: &str, data_dir: &Path, contents: &[&[u8]]) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = contents
        .iter()
        .map(|content| blob_path(data_dir, content))
        .collect();
    wait_until(what, CATCH_UP, || {
        let held = paths.iter().all(|path| path.exists());
        async move { Ok(held.then_some(())) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learners_and_wiped_nodes_hold_every_referenced_blob() {
    run_test(
        "files_catch_up",
        Duration::from_secs(300),
        |context| async move {
            let mut rng = seeded_rng("files_catch_up");
            let mut cluster = Cluster::builder(context.root())
                .size(3)
                .extra_args(&KEEPER_ARGS)
                .start()
                .await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;

            // Node 4 joins as a learner, as an edge node would.
            let certs = context.root().join("node4").join("certs");
            cluster
                .cli()
                .certs_node(cluster.ca_dir(), 4, &certs)
                .await?;
            let mut spec = NodeSpec::single(context.root(), "node4")?;
            spec.node_id = Some(4);
            spec.raft_addr = Some(free_addr()?);
            spec.certs_dir = Some(certs);
            spec.region = Some("edge".into());
            spec.join = cluster.node(ids[0]).raft_addr();
            spec.learner = true;
            spec.extra_args = KEEPER_ARGS.iter().map(|arg| arg.to_string()).collect();
            let mut learner = Node::start(spec)?;
            learner.wait_healthy(NODE_START_TIMEOUT).await?;

            let token = cluster.admin(ids[0]).await?.token().context("token")?;
            let http = RawClient::new(&cluster.node(ids[0]).http_url())?;
            let created = http
            .send("POST", "/api/collections", Some(&token), RawBody::Json(json!({
                "name": "media", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "clips", "type": "file", "maxSelect": 2, "maxSize": 5_000_000}]
            })), &[])
            .await?;
            ensure!(created.status == 200, "collection: {}", created.text);
            let mut clip = vec![0u8; 2_000_000];
            rng.fill_bytes(&mut clip);
            let poster = b"poster bytes".repeat(1000);
            let upload = MultipartBody::new()
                .file("clips", "clip.bin", &clip)
                .file("clips", "poster.txt", &poster)
                .build();
            let answer = http
                .send(
                    "POST",
                    "/api/collections/media/records",
                    Some(&token),
                    upload,
                    &[],
                )
                .await?;
            ensure!(answer.status == 200, "upload: {}", answer.text);
            let record = answer.json.clone().context("record")?;
            let id = record["id"].as_str().context("id")?.to_string();
            let clip_name = record["clips"][0].as_str().context("name")?.to_string();
            let index = answer.index().context("index")?;

            // The learner fetches both blobs on its own, in the background.
            wait_for_blobs(
                "the learner to hold the record's blobs",
                learner.data_dir(),
                &[&clip, &poster],
            )
            .await?;

            // With every other node paused, only the learner's own disk can answer.
            for id in &ids {
                cluster.node_mut(*id).pause()?;
            }
            let edge = RawClient::new(&learner.http_url())?;
            let served = edge
                .send(
                    "GET",
                    &format!("/api/files/media/{id}/{clip_name}"),
                    None,
                    RawBody::None,
                    &[(HEADER_AFTER, index.to_string())],
                )
                .await;
            for id in &ids {
                cluster.node_mut(*id).resume()?;
            }
            let served = served?;
            ensure!(
                served.status == 200 && served.bytes == clip,
                "the learner serves the clip locally: {}",
                served.status
            );

            // A wiped node rejoins and fetches every referenced blob back.
            let victim = ids[2];
            cluster.node_mut(victim).kill9()?;
            cluster.node_mut(victim).wipe_data()?;
            cluster.forget_token(victim);
            ensure!(
                cluster.node(victim).spec().join.is_some(),
                "the victim rejoins with --join"
            );
            cluster.node_mut(victim).restart()?;
            cluster
                .node_mut(victim)
                .wait_healthy(NODE_START_TIMEOUT)
                .await?;
            let victim_dir = cluster.node(victim).data_dir().to_path_buf();
            wait_for_blobs(
                "the wiped node to hold every referenced blob again",
                &victim_dir,
                &[&clip, &poster],
            )
            .await?;
            let log = cluster.node(victim).log_text()?;
            ensure!(
                log.contains("fetched referenced blobs this node lacked"),
                "the catch-up is in the log"
            );
            learner.terminate(Duration::from_secs(10)).await?;
            Ok(())
        },
    )
    .await;
}
