//! Files on three real nodes: an upload at node A is answered only once a majority holds
//! its blobs, so with A killed (-9) right after the answer, B and C serve the files byte for
//! byte (with ranges and validators), and so does A once restarted. Bad uploads are refused
//! with PocketBase's errors and store nothing; a protected file needs a file token; a file
//! removed from its record leaves no blob on any node once the grace period has passed,
//! while the files still named stay everywhere.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::HEADER_AFTER;
use edgebase_tests::{
    blob_path, png, png_size, run_test, seeded_rng, wait_until, Cluster, MultipartBody, RawBody,
    RawClient, RawResponse, NODE_START_TIMEOUT,
};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const GRACE_SECS: &str = "2";
const SWEEP_SECS: &str = "1";

async fn send(
    client: &RawClient,
    method: &str,
    path: &str,
    token: &str,
    body: RawBody,
) -> anyhow::Result<RawResponse> {
    client.send(method, path, Some(token), body, &[]).await
}

fn code(response: &RawResponse, field: &str) -> String {
    response
        .json
        .as_ref()
        .and_then(|json| json["data"][field]["code"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_survive_the_uploader_and_leave_nothing_behind() {
    run_test("files_cluster", Duration::from_secs(300), |context| async move {
        let mut rng = seeded_rng("files_cluster");
        let mut cluster = Cluster::builder(context.root())
            .size(3)
            .extra_args(&["--blob-sweep-interval-secs", SWEEP_SECS, "--blob-grace-secs", GRACE_SECS])
            .start()
            .await?;
        let ids = cluster.ids();
        cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
        let (a, b) = (ids[0], ids[1]);
        let admins = cluster.raw_admins().await?;
        let [(http_a, token_a), (http_b, token_b), (http_c, token_c)] = <[_; 3]>::try_from(admins).ok().context("three nodes")?;

        let created = send(&http_a, "POST", "/api/collections", &token_a, RawBody::Json(json!({
            "name": "docs", "type": "base",
            "listRule": "", "viewRule": "@request.auth.id != ''", "createRule": "", "updateRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "files", "type": "file", "maxSelect": 3, "maxSize": 3_000_000},
                {"name": "small", "type": "file", "maxSize": 1000, "mimeTypes": ["text/plain"]},
                {"name": "secret", "type": "file", "protected": true}
            ]
        }))).await?;
        ensure!(created.status == 200, "create collection: {}", created.text);

        let mut report = vec![0u8; 1_000_000];
        rng.fill_bytes(&mut report);
        let notes = b"plain notes\n".repeat(100);
        let upload = MultipartBody::new()
            .text("title", "hello")
            .file("files", "Report Q1.pdf", &report)
            .file("files", "notes.txt", &notes)
            .build();
        let answer = send(&http_a, "POST", "/api/collections/docs/records", &token_a, upload).await?;
        // Right after the answer, the uploader dies.
        cluster.node_mut(a).kill9()?;
        ensure!(answer.status == 200, "upload: {}", answer.text);
        let written = answer.index().context("the answer names its index")?;
        let after = [(HEADER_AFTER, written.to_string())];
        let record = answer.json.context("record")?;
        let id = record["id"].as_str().context("id")?.to_string();
        let names: Vec<String> = serde_json::from_value(record["files"].clone())?;
        ensure!(names.len() == 2, "two files: {names:?}");
        ensure!(names[0].starts_with("report_q1_") && names[0].ends_with(".pdf"), "{names:?}");
        let file_path = |name: &str| format!("/api/files/docs/{id}/{name}");

        for client in [&http_b, &http_c] {
            // Read after the write, at nodes that may not have applied it yet.
            let got = client.send("GET", &file_path(&names[0]), None, RawBody::None, &after).await?;
            ensure!(got.status == 200, "download at {}: {}", client.base_url(), got.status);
            ensure!(got.bytes == report, "byte-identical report at {}", client.base_url());
            let etag = got.headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            ensure!(etag == format!("\"{:x}\"", Sha256::digest(&report)), "strong etag: {etag}");
            ensure!(got.headers.get("content-security-policy").is_some(), "PocketBase's CSP");
            let notes_got = client.get(&file_path(&names[1]), None).await?;
            ensure!(notes_got.bytes == notes, "byte-identical notes");
            let content_type = notes_got.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            ensure!(content_type == "text/plain; charset=utf-8", "sniffed type: {content_type}");
            let disposition = notes_got.headers.get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or_default();
            ensure!(disposition.starts_with("attachment;"), "text downloads: {disposition}");
            let part = client
                .send("GET", &file_path(&names[0]), None, RawBody::None, &[("Range", "bytes=100-199".into())])
                .await?;
            ensure!(part.status == 206 && part.bytes == report[100..200], "range: {}", part.status);
            let unchanged = client
                .send("GET", &file_path(&names[0]), None, RawBody::None, &[("If-None-Match", etag.clone())])
                .await?;
            ensure!(unchanged.status == 304 && unchanged.bytes.is_empty(), "304: {}", unchanged.status);
        }
        let missing = http_b.get(&file_path("nope.txt"), None).await?;
        ensure!(missing.status == 404, "an unnamed file is 404");

        cluster.node_mut(a).restart()?;
        cluster.node_mut(a).wait_healthy(NODE_START_TIMEOUT).await?;
        // A follower's cached connection to A's old process lives until its idle timeout (3 s),
        // and a write it forwards meanwhile answers 503: wait until writes go through B and C.
        cluster.wait_for_voters(&ids, NODE_START_TIMEOUT).await?;
        for (client, token) in [(&http_b, &token_b), (&http_c, &token_c)] {
            wait_until("writes go through every follower again", Duration::from_secs(30), || {
                let (client, token, path) = (client.clone(), token.clone(), format!("/api/collections/docs/records/{id}"));
                async move {
                    let answer = send(&client, "PATCH", &path, &token, RawBody::Json(json!({"title": "settled"}))).await?;
                    Ok((answer.status != 503).then_some(()))
                }
            })
            .await?;
        }
        wait_until("node A serves the report again", Duration::from_secs(30), || {
            let client = http_a.clone();
            let path = file_path(&names[0]);
            let report = report.clone();
            async move {
                let served = matches!(client.get(&path, None).await, Ok(got) if got.status == 200 && got.bytes == report);
                Ok(served.then_some(()))
            }
        })
        .await?;

        // Bad uploads: PocketBase's errors, nothing stored.
        let count = |client: RawClient, token: String| async move {
            let listed = client.get("/api/collections/docs/records", Some(&token)).await?;
            listed.json.and_then(|json| json["totalItems"].as_u64()).context("totalItems")
        };
        let before = count(http_b.clone(), token_b.clone()).await?;
        let refusals = [
            (MultipartBody::new().file("small", "big.txt", &[b'x'; 2000]).build(), "small", "validation_file_size_limit"),
            (MultipartBody::new().file("small", "img.txt", &report[..500]).build(), "small", "validation_invalid_mime_type"),
            (
                MultipartBody::new().file("files", "1.txt", b"1").file("files", "2.txt", b"2").file("files", "3.txt", b"3").file("files", "4.txt", b"4").build(),
                "files",
                "validation_too_many_files",
            ),
            (RawBody::Json(json!({"files": ["not-uploaded.txt"]})), "files", "validation_invalid_file"),
        ];
        for (body, field, expected) in refusals {
            let refused = send(&http_b, "POST", "/api/collections/docs/records", &token_b, body).await?;
            ensure!(refused.status == 400 && code(&refused, field) == expected, "{expected}: {} {}", refused.status, refused.text);
        }
        let cut = MultipartBody::new().text("title", "cut").file("files", "half.bin", &report[..200_000]).truncated(150_000);
        let refused = send(&http_b, "POST", "/api/collections/docs/records", &token_b, cut).await?;
        ensure!(refused.status == 400, "a body cut off is refused: {} {}", refused.status, refused.text);
        ensure!(count(http_b.clone(), token_b.clone()).await? == before, "nothing stored by bad uploads");
        let traversal = send(&http_b, "POST", "/api/collections/docs/records", &token_b,
            MultipartBody::new().file("files", "../../etc/passwd", b"root").build()).await?;
        ensure!(traversal.status == 200, "a hostile name is sanitised: {}", traversal.text);
        let stored_name = traversal.json.as_ref().and_then(|j| j["files"][0].as_str()).unwrap_or_default().to_string();
        ensure!(!stored_name.contains('/') && !stored_name.starts_with('.'), "sanitised: {stored_name}");

        // A thumb is made once per node from the image and served as PNG of the asked size.
        let image = png(120, 80);
        let with_image = send(&http_b, "POST", "/api/collections/docs/records", &token_b,
            MultipartBody::new().file("files", "photo.png", &image).build()).await?;
        ensure!(with_image.status == 200, "image upload: {}", with_image.text);
        let image_id = with_image.json.as_ref().and_then(|j| j["id"].as_str()).context("id")?.to_string();
        let image_name = with_image.json.as_ref().and_then(|j| j["files"][0].as_str()).context("name")?.to_string();
        let thumb_path = format!("/api/files/docs/{image_id}/{image_name}?thumb=100x100");
        for _ in 0..2 {
            let thumb = http_b.get(&thumb_path, None).await?;
            ensure!(thumb.status == 200, "thumb: {}", thumb.status);
            ensure!(png_size(&thumb.bytes) == Some((100, 100)), "a 100x100 thumb: {:?}", png_size(&thumb.bytes));
        }
        ensure!(
            cluster.node(b).data_dir().join("blobs").join("thumbs").exists(),
            "the thumb is kept on the node that made it"
        );

        // Protected files need a file token.
        let secret = b"top secret".to_vec();
        let with_secret = send(&http_c, "PATCH", &format!("/api/collections/docs/records/{id}"), &token_c,
            MultipartBody::new().file("secret", "s.txt", &secret).build()).await?;
        ensure!(with_secret.status == 200, "attach a protected file: {}", with_secret.text);
        let secret_name = with_secret.json.as_ref().and_then(|j| j["secret"].as_str()).unwrap_or_default().to_string();
        let denied = http_c.get(&file_path(&secret_name), Some(&token_c)).await?;
        ensure!(denied.status == 404, "no file token, no file (the Authorization header does not count): {}", denied.status);
        let issued = send(&http_c, "POST", "/api/files/token", &token_c, RawBody::None).await?;
        let file_token = issued.json.as_ref().and_then(|j| j["token"].as_str()).context("file token")?.to_string();
        let secret_after = [(HEADER_AFTER, with_secret.index().context("index")?.to_string())];
        let allowed = http_b
            .send("GET", &format!("{}?token={file_token}", file_path(&secret_name)), None, RawBody::None, &secret_after)
            .await?;
        ensure!(allowed.status == 200 && allowed.bytes == secret, "a file token opens it at any node: {}", allowed.status);
        let anonymous = http_c.send("POST", "/api/files/token", None, RawBody::None, &[]).await?;
        ensure!(anonymous.status == 401, "a token needs a signed-in caller");

        // Removing a file: after the grace period its blob is gone everywhere, the rest stay.
        let removed = send(&http_c, "PATCH", &format!("/api/collections/docs/records/{id}"), &token_c,
            RawBody::Json(json!({"files-": [names[0]]}))).await?;
        ensure!(removed.status == 200, "remove a file: {}", removed.text);
        let dirs: Vec<std::path::PathBuf> = ids.iter().map(|id| cluster.node(*id).data_dir().to_path_buf()).collect();
        wait_until("the removed blob is gone from every node", Duration::from_secs(60), || {
            let gone = dirs.iter().all(|dir| !blob_path(dir, &report).exists());
            async move { Ok(gone.then_some(())) }
        })
        .await?;
        for dir in &dirs {
            ensure!(blob_path(dir, &notes).exists(), "a named file stays on {}", dir.display());
            ensure!(blob_path(dir, &secret).exists(), "a named file stays on {}", dir.display());
        }
        let removed_after = [(HEADER_AFTER, removed.index().context("index")?.to_string())];
        let after: Value = http_b
            .send("GET", &format!("/api/collections/docs/records/{id}"), Some(&token_b), RawBody::None, &removed_after)
            .await?
            .json
            .context("record")?;
        ensure!(after["files"] == json!([names[1]]), "the record names what is left: {after}");
        Ok(())
    })
    .await;
}
