//! Backups kept in S3 (`backups.s3`), on three real nodes and a real S3-compatible server
//! (moto) the test starts: a backup made at one node is uploaded to the bucket under its
//! name and the members do not keep it (their copies age out); every node lists it, and a
//! node that never held it serves the bucket's bytes; an uploaded archive goes to the
//! bucket too; a restore in place from the bucket brings every node back to the backup's
//! records; a deleted backup leaves the bucket. Backups made before S3 was turned on stay
//! on the members and are still served.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, wait_until, Cluster, MultipartBody, RawBody, RawClient, RawResponse, S3Server,
    NODE_START_TIMEOUT,
};
use serde_json::{json, Value};

const GRACE_SECS: &str = "3";
const SWEEP_SECS: &str = "1";
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

/// The archive of backup `key` as node `client` serves it.
async fn download(client: &RawClient, token: &str, key: &str) -> anyhow::Result<Vec<u8>> {
    let file_token = send(client, "POST", "/api/files/token", token, RawBody::None).await?;
    let file_token = file_token.json.as_ref().context("file token json")?["token"]
        .as_str()
        .context("file token")?
        .to_owned();
    let got = client
        .get(&format!("/api/backups/{key}?token={file_token}"), None)
        .await?;
    ensure!(
        got.status == 200,
        "download {key} from {}: {} {}",
        client.base_url(),
        got.status,
        got.text
    );
    Ok(got.bytes)
}

/// The titles of `notes` node `client` lists.
async fn titles(client: &RawClient, token: &str) -> anyhow::Result<Vec<String>> {
    let listed = send(
        client,
        "GET",
        "/api/collections/notes/records?perPage=500&sort=title",
        token,
        RawBody::None,
    )
    .await?;
    ensure!(listed.status == 200, "list notes: {}", listed.text);
    Ok(listed.json.as_ref().context("json")?["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["title"].as_str().map(str::to_owned))
        .collect())
}

fn listed_keys(answer: &RawResponse) -> Vec<String> {
    answer
        .json
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|backup| backup["key"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_live_in_the_bucket_when_backups_s3_is_on() {
    run_test("backups_s3", Duration::from_secs(300), |context| async move {
        let s3 = S3Server::start("edgebase-backups").await?;
        let cluster = Cluster::builder(context.root())
            .size(3)
            .extra_args(&[
                "--blob-sweep-interval-secs",
                SWEEP_SECS,
                "--blob-grace-secs",
                GRACE_SECS,
            ])
            .start()
            .await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let admins = cluster.raw_admins().await?;
        let [(http_a, token_a), (http_b, token_b), (http_c, token_c)] =
            <[_; 3]>::try_from(admins.clone())
                .ok()
                .context("three nodes")?;

        let created = send(&http_a, "POST", "/api/collections", &token_a, RawBody::Json(json!({
            "name": "notes", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "title", "type": "text"}]
        }))).await?;
        ensure!(created.status == 200, "create collection: {}", created.text);
        for n in 0..5 {
            let note = send(&http_a, "POST", "/api/collections/notes/records", &token_a,
                RawBody::Json(json!({"title": format!("before-{n}")}))).await?;
            ensure!(note.status == 200, "note {n}: {}", note.text);
        }

        // A backup made before S3 is on stays with the members.
        let local = send(&http_a, "POST", "/api/backups", &token_a,
            RawBody::Json(json!({"name": "on_members.zip"}))).await?;
        ensure!(local.status == 204, "backup on members: {}", local.text);

        let turned_on = send(&http_a, "PATCH", "/api/settings", &token_a,
            RawBody::Json(json!({"backups": {"s3": s3.settings()}}))).await?;
        ensure!(turned_on.status == 200, "turn backups.s3 on: {}", turned_on.text);
        let tested = send(&http_b, "POST", "/api/settings/test/s3", &token_b,
            RawBody::Json(json!({"filesystem": "backups"}))).await?;
        ensure!(tested.status == 204, "test the backups bucket: {}", tested.text);

        let made = send(&http_a, "POST", "/api/backups", &token_a,
            RawBody::Json(json!({"name": "in_bucket.zip"}))).await?;
        ensure!(made.status == 204, "backup to the bucket: {}", made.text);
        let keys = s3.keys().await?;
        ensure!(
            keys.contains(&"in_bucket.zip".to_owned()),
            "the bucket lacks in_bucket.zip: {keys:?}"
        );
        let in_bucket = s3.object("in_bucket.zip").await?.context("read in_bucket.zip")?;
        ensure!(in_bucket.starts_with(b"PK"), "the bucket's object is not a zip");
        ensure!(
            s3.object("on_members.zip").await?.is_none(),
            "a backup made before S3 was on went to the bucket"
        );

        // Listed by every node with the bucket object's size.
        for (client, token) in &admins {
            let listed = send(client, "GET", "/api/backups", token, RawBody::None).await?;
            let entry = listed.json.as_ref().and_then(Value::as_array).into_iter().flatten()
                .find(|backup| backup["key"] == "in_bucket.zip")
                .with_context(|| format!("{} lists no in_bucket.zip: {}", client.base_url(), listed.text))?;
            ensure!(
                entry["size"].as_u64() == Some(in_bucket.len() as u64),
                "listed size {} but the bucket holds {} bytes",
                entry["size"],
                in_bucket.len()
            );
        }
        // The members keep no copy: the one made at A ages out of every data dir.
        let archive_paths: Vec<_> = ids
            .iter()
            .map(|id| edgebase_tests::blob_path(cluster.node(*id).data_dir(), &in_bucket))
            .collect();
        wait_until("the members' copies of the archive to age out", SETTLE_TIMEOUT, || {
            let archive_paths = archive_paths.clone();
            async move { Ok(archive_paths.iter().all(|path| !path.exists()).then_some(())) }
        })
        .await?;
        // A node that never held it serves the bucket's bytes; the members' backup is still
        // served too.
        ensure!(
            download(&http_c, &token_c, "in_bucket.zip").await? == in_bucket,
            "node C served other bytes than the bucket holds"
        );
        let on_members = download(&http_b, &token_b, "on_members.zip").await?;
        ensure!(on_members.starts_with(b"PK"), "the members' backup is not a zip");

        // An uploaded archive goes to the bucket under its file name.
        let upload = MultipartBody::new()
            .file("file", "uploaded.zip", &in_bucket)
            .build();
        let uploaded = send(&http_b, "POST", "/api/backups/upload", &token_b, upload).await?;
        ensure!(uploaded.status == 204, "upload: {} {}", uploaded.status, uploaded.text);
        ensure!(
            s3.object("uploaded.zip").await?.as_deref() == Some(in_bucket.as_slice()),
            "the uploaded archive is not in the bucket as sent"
        );

        // Restore in place from the bucket, asked at C: the note written after the backup
        // is gone on every node.
        let later = send(&http_a, "POST", "/api/collections/notes/records", &token_a,
            RawBody::Json(json!({"title": "after-backup"}))).await?;
        ensure!(later.status == 200, "note after the backup: {}", later.text);
        let restored = send(&http_c, "POST", "/api/backups/in_bucket.zip/restore", &token_c,
            RawBody::None).await?;
        ensure!(restored.status == 204, "restore: {} {}", restored.status, restored.text);
        let expected: Vec<String> = (0..5).map(|n| format!("before-{n}")).collect();
        for (client, token) in &admins {
            let (client, token, expected) = (client.clone(), token.clone(), expected.clone());
            wait_until(&format!("{} back at the backup", client.base_url()), SETTLE_TIMEOUT, || {
                let (client, token, expected) = (client.clone(), token.clone(), expected.clone());
                async move { Ok((titles(&client, &token).await? == expected).then_some(())) }
            })
            .await?;
        }

        // Deleted at B: gone from the bucket and from every node's list.
        let deleted = send(&http_b, "DELETE", "/api/backups/in_bucket.zip", &token_b, RawBody::None).await?;
        ensure!(deleted.status == 204, "delete: {} {}", deleted.status, deleted.text);
        ensure!(
            s3.object("in_bucket.zip").await?.is_none(),
            "the deleted backup is still in the bucket: {:?}",
            s3.keys().await?
        );
        for (client, token) in &admins {
            let listed = send(client, "GET", "/api/backups", token, RawBody::None).await?;
            let keys = listed_keys(&listed);
            ensure!(
                !keys.contains(&"in_bucket.zip".to_owned()) && keys.contains(&"uploaded.zip".to_owned()),
                "{} lists {keys:?}",
                client.base_url()
            );
        }
        Ok(())
    })
    .await;
}
