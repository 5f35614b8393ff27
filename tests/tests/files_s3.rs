//! S3 file storage on three real nodes, against a real S3-compatible server (moto) the test
//! starts: PocketBase's `POST /api/settings/test/s3` passes and fails as the settings say;
//! with S3 on, an upload at node A is answered only once the bucket holds it (a large one
//! as a multipart upload), so with A killed (-9) right after, B and C serve it byte for
//! byte (and a thumb of an image) from the bucket; local copies are a cache that ages out;
//! a file uploaded before S3 was turned on stays on the members and is still served; and
//! once a record is deleted and the grace period has passed, the leader has removed its
//! blobs from the bucket.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::HEADER_AFTER;
use edgebase_tests::{
    blob_path, bucket_key, png, png_size, run_test, seeded_rng, wait_until, Cluster, MultipartBody,
    RawBody, RawClient, RawResponse, S3Server, NODE_START_TIMEOUT,
};
use rand::RngCore;
use serde_json::json;

const GRACE_SECS: &str = "3";
const SWEEP_SECS: &str = "1";
/// Longer than one part of an S3 multipart upload (8 MiB), so the upload has several.
const LARGE_BYTES: usize = 9 << 20;

async fn send(
    client: &RawClient,
    method: &str,
    path: &str,
    token: &str,
    body: RawBody,
) -> anyhow::Result<RawResponse> {
    client.send(method, path, Some(token), body, &[]).await
}

fn message(response: &RawResponse) -> String {
    response
        .json
        .as_ref()
        .and_then(|json| json["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_the_bucket_when_s3_is_on() {
    run_test("files_s3", Duration::from_secs(300), |context| async move {
        let mut rng = seeded_rng("files_s3");
        let s3 = S3Server::start("edgebase-files").await?;
        let mut cluster = Cluster::builder(context.root())
            .size(3)
            .extra_args(&["--blob-sweep-interval-secs", SWEEP_SECS, "--blob-grace-secs", GRACE_SECS])
            .start()
            .await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let admins = cluster.raw_admins().await?;
        let [(http_a, token_a), (http_b, token_b), (http_c, _)] = <[_; 3]>::try_from(admins).ok().context("three nodes")?;
        let test_s3 = |client: RawClient, token: String| async move {
            send(&client, "POST", "/api/settings/test/s3", &token, RawBody::Json(json!({"filesystem": "storage"}))).await
        };

        let created = send(&http_a, "POST", "/api/collections", &token_a, RawBody::Json(json!({
            "name": "docs", "type": "base",
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "files", "type": "file", "maxSelect": 3, "maxSize": 20_000_000, "thumbs": ["10x10"]}
            ]
        }))).await?;
        ensure!(created.status == 200, "create collection: {}", created.text);

        // Before S3 is on, files go to the members.
        let early = b"uploaded before S3 storage was turned on".to_vec();
        let before_s3 = send(&http_a, "POST", "/api/collections/docs/records", &token_a,
            MultipartBody::new().text("title", "early").file("files", "early.txt", &early).build()).await?;
        ensure!(before_s3.status == 200, "upload before S3: {}", before_s3.text);
        let early_id = before_s3.json.as_ref().and_then(|j| j["id"].as_str()).context("id")?.to_string();
        let early_name = before_s3.json.as_ref().and_then(|j| j["files"][0].as_str()).context("name")?.to_string();

        let off = test_s3(http_a.clone(), token_a.clone()).await?;
        ensure!(off.status == 400 && message(&off).ends_with("S3 storage filesystem is not enabled."), "S3 off: {}", off.text);
        let mut wrong = s3.settings();
        wrong["bucket"] = json!("no-such-bucket");
        let saved = send(&http_a, "PATCH", "/api/settings", &token_a, RawBody::Json(json!({"s3": wrong}))).await?;
        ensure!(saved.status == 200, "save S3 settings: {}", saved.text);
        let failing = test_s3(http_a.clone(), token_a.clone()).await?;
        ensure!(failing.status == 400 && message(&failing).contains("Raw error"), "missing bucket: {}", failing.text);
        let saved = send(&http_a, "PATCH", "/api/settings", &token_a, RawBody::Json(json!({"s3": s3.settings()}))).await?;
        ensure!(saved.status == 200, "save S3 settings: {}", saved.text);
        let settings_after = [(HEADER_AFTER, saved.index().context("index")?.to_string())];
        let passing = http_b
            .send("POST", "/api/settings/test/s3", Some(&token_b), RawBody::Json(json!({"filesystem": "storage"})), &settings_after)
            .await?;
        ensure!(passing.status == 204, "the test passes at any node: {} {}", passing.status, passing.text);
        ensure!(s3.keys().await?.is_empty(), "the test leaves nothing in the bucket: {:?}", s3.keys().await?);

        // With S3 on, an upload is answered once the bucket holds it; the uploader may die.
        let image = png(40, 30);
        let mut large = vec![0u8; LARGE_BYTES];
        rng.fill_bytes(&mut large);
        let upload = MultipartBody::new()
            .text("title", "in the bucket")
            .file("files", "large.bin", &large)
            .file("files", "dot.png", &image[..])
            .build();
        let answer = send(&http_a, "POST", "/api/collections/docs/records", &token_a, upload).await?;
        cluster.node_mut(a).kill9()?;
        ensure!(answer.status == 200, "upload: {}", answer.text);
        let after = [(HEADER_AFTER, answer.index().context("index")?.to_string())];
        let record = answer.json.context("record")?;
        let id = record["id"].as_str().context("id")?.to_string();
        let names: Vec<String> = serde_json::from_value(record["files"].clone())?;
        let keys = s3.keys().await?;
        for content in [&large[..], &image[..]] {
            ensure!(keys.contains(&bucket_key(content)), "the bucket holds each file: {keys:?}");
        }
        ensure!(s3.object(&bucket_key(&large)).await?.as_deref() == Some(&large[..]), "the bucket's copy is whole");
        for id in [b, c] {
            ensure!(!blob_path(cluster.node(id).data_dir(), &large).exists(), "not pushed to the members");
        }
        let file_path = |name: &str| format!("/api/files/docs/{id}/{name}");
        for client in [&http_b, &http_c] {
            let got = client.send("GET", &file_path(&names[0]), None, RawBody::None, &after).await?;
            ensure!(got.status == 200 && got.bytes == large, "byte-identical at {}: {}", client.base_url(), got.status);
            let part = client
                .send("GET", &file_path(&names[0]), None, RawBody::None, &[("Range", "bytes=5-9".into())])
                .await?;
            ensure!(part.status == 206 && part.bytes == large[5..10], "a range: {}", part.status);
        }
        let thumb = http_c.get(&format!("{}?thumb=10x10", file_path(&names[1])), None).await?;
        ensure!(thumb.status == 200 && png_size(&thumb.bytes) == Some((10, 10)), "a thumb of a bucket image: {}", thumb.status);
        let early_got = http_b.get(&format!("/api/files/docs/{early_id}/{early_name}"), None).await?;
        ensure!(early_got.status == 200 && early_got.bytes == early, "a file on the members is still served");

        // Local copies of bucket files are a cache: they age out, and are copied again on demand.
        let dirs = [cluster.node(b).data_dir().to_path_buf(), cluster.node(c).data_dir().to_path_buf()];
        wait_until("local copies of bucket files age out", Duration::from_secs(60), || {
            let gone = dirs.iter().all(|dir| !blob_path(dir, &large).exists());
            async move { Ok(gone.then_some(())) }
        })
        .await?;
        for dir in &dirs {
            ensure!(blob_path(dir, &early).exists(), "a file on the members stays on {}", dir.display());
        }
        let again = http_b.get(&file_path(&names[0]), None).await?;
        ensure!(again.status == 200 && again.bytes == large, "served again from the bucket");

        // Deleting the record: after the grace period its blobs leave the bucket.
        let deleted = send(&http_b, "DELETE", &format!("/api/collections/docs/records/{id}"), &token_b, RawBody::None).await?;
        ensure!(deleted.status == 204, "delete: {} {}", deleted.status, deleted.text);
        wait_until("the leader removes unreferenced blobs from the bucket", Duration::from_secs(60), || {
            let s3 = &s3;
            let (large, image) = (bucket_key(&large), bucket_key(&image));
            async move {
                let keys = s3.keys().await?;
                Ok((!keys.contains(&large) && !keys.contains(&image)).then_some(()))
            }
        })
        .await?;
        ensure!(s3.bucket() == "edgebase-files" && s3.endpoint().starts_with("http://127.0.0.1:"), "moto on loopback");
        Ok(())
    })
    .await;
}
