//! Resumable uploads (tus 1.0) on three real nodes: an upload created at node A is filled
//! in chunks, one of them cut off mid-way over a raw connection (what arrived is kept and
//! the client resumes from `HEAD`'s offset), survives A being killed (-9) and restarted
//! between chunks, refuses a wrong offset (409), a wrong checksum (460, nothing kept) and a
//! chunk past its length (413), and once whole becomes a file of the record through the
//! replicated write: B serves it byte for byte. Only its creator may see it; termination
//! removes it; the protocol's version and capability headers are PocketBase-free tus.

use std::time::Duration;

use anyhow::{ensure, Context};
use base64::Engine;
use edgebase_client::wire::{HEADER_AFTER, HEADER_FILE_NAME};
use edgebase_tests::{
    run_test, seeded_rng, wait_until, Cluster, RawBody, RawClient, RawResponse, NODE_START_TIMEOUT,
};
use rand::RngCore;
use serde_json::json;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

const FILE_BYTES: usize = 5 << 20;
const CHUNK_BYTES: usize = 1 << 20;
const MAX_SIZE: u64 = 30_000_000;

fn header(response: &RawResponse, name: &str) -> String {
    response
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn offset_of(response: &RawResponse) -> anyhow::Result<u64> {
    header(response, "upload-offset").parse().with_context(|| {
        format!(
            "Upload-Offset in {} {:?}",
            response.status, response.headers
        )
    })
}

/// A tus request: the protocol header, the caller's token, more headers, and a chunk.
async fn tus(
    client: &RawClient,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, String)],
    chunk: Option<&[u8]>,
) -> anyhow::Result<RawResponse> {
    let mut headers = vec![("Tus-Resumable", "1.0.0".to_string())];
    headers.extend(extra.iter().cloned());
    let body = match chunk {
        Some(bytes) => RawBody::Typed {
            content_type: "application/offset+octet-stream".into(),
            bytes: bytes.to_vec(),
        },
        None => RawBody::None,
    };
    client.send(method, path, token, body, &headers).await
}

/// A PATCH whose connection is closed after `sent` of the `chunk` bytes it announced.
async fn cut_patch(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    offset: u64,
    chunk: &[u8],
    sent: usize,
) -> anyhow::Result<()> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {token}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        chunk.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&chunk[..sent]).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_upload_resumes_and_becomes_a_file() {
    run_test(
        "files_resumable",
        Duration::from_secs(300),
        |context| async move {
            let mut rng = seeded_rng("files_resumable");
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let (a, b) = (ids[0], ids[1]);
            let token_a = cluster.admin(a).await?.token().context("token")?;
            let token_b = cluster.admin(b).await?.token().context("token")?;
            let http_a = RawClient::new(&cluster.node(a).http_url())?;
            let http_b = RawClient::new(&cluster.node(b).http_url())?;

            let created = http_a
                .send(
                    "POST",
                    "/api/collections",
                    Some(&token_a),
                    RawBody::Json(json!({
                        "name": "docs", "type": "base",
                        "listRule": "", "viewRule": "", "createRule": "",
                        "fields": [
                            {"name": "title", "type": "text"},
                            {"name": "files", "type": "file", "maxSelect": 3, "maxSize": MAX_SIZE}
                        ]
                    })),
                    &[],
                )
                .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);
            let record = http_a
                .send(
                    "POST",
                    "/api/collections/docs/records",
                    Some(&token_a),
                    RawBody::Json(json!({"title": "with a large file"})),
                    &[],
                )
                .await?;
            let record_id = record
                .json
                .as_ref()
                .and_then(|j| j["id"].as_str())
                .context("id")?
                .to_string();
            let target = format!("/api/tus/docs/{record_id}/files");

            // What the server supports.
            let options = http_a
                .send("OPTIONS", &target, None, RawBody::None, &[])
                .await?;
            ensure!(options.status == 204, "OPTIONS: {}", options.status);
            ensure!(
                header(&options, "tus-version") == "1.0.0",
                "{:?}",
                options.headers
            );
            ensure!(
                header(&options, "tus-extension").contains("creation")
                    && header(&options, "tus-extension").contains("checksum"),
                "extensions"
            );
            ensure!(
                header(&options, "tus-max-size") == MAX_SIZE.to_string(),
                "the field's bound: {:?}",
                options.headers
            );

            // Refusals at creation.
            let metadata = format!(
                "filename {}",
                base64::engine::general_purpose::STANDARD.encode("Big Report.bin")
            );
            let no_version = http_a
                .send(
                    "POST",
                    &target,
                    Some(&token_a),
                    RawBody::None,
                    &[("Upload-Length", "10".into())],
                )
                .await?;
            ensure!(
                no_version.status == 412 && header(&no_version, "tus-resumable") == "1.0.0",
                "no version: {}",
                no_version.status
            );
            let no_length = tus(&http_a, "POST", &target, Some(&token_a), &[], None).await?;
            ensure!(no_length.status == 400, "no length: {}", no_length.status);
            let too_long = tus(
                &http_a,
                "POST",
                &target,
                Some(&token_a),
                &[("Upload-Length", (MAX_SIZE + 1).to_string())],
                None,
            )
            .await?;
            ensure!(too_long.status == 413, "past maxSize: {}", too_long.status);
            let anonymous = tus(
                &http_a,
                "POST",
                &target,
                None,
                &[("Upload-Length", "10".into())],
                None,
            )
            .await?;
            ensure!(
                anonymous.status == 404,
                "the update rule (superusers only) refuses: {}",
                anonymous.status
            );
            let not_file = tus(
                &http_a,
                "POST",
                &format!("/api/tus/docs/{record_id}/title"),
                Some(&token_a),
                &[("Upload-Length", "10".into())],
                None,
            )
            .await?;
            ensure!(
                not_file.status == 400,
                "not a file field: {}",
                not_file.status
            );

            let mut content = vec![0u8; FILE_BYTES];
            rng.fill_bytes(&mut content);
            let made = tus(
                &http_a,
                "POST",
                &target,
                Some(&token_a),
                &[
                    ("Upload-Length", FILE_BYTES.to_string()),
                    ("Upload-Metadata", metadata.clone()),
                ],
                None,
            )
            .await?;
            ensure!(made.status == 201, "create: {} {}", made.status, made.text);
            let location = header(&made, "location");
            ensure!(
                location.starts_with("/api/tus/uploads/"),
                "Location: {location}"
            );
            ensure!(
                offset_of(&made)? == 0 && !header(&made, "upload-expires").is_empty(),
                "a new upload"
            );

            // First chunk, then one cut off half-way: what arrived is kept.
            let first = tus(
                &http_a,
                "PATCH",
                &location,
                Some(&token_a),
                &[("Upload-Offset", "0".into())],
                Some(&content[..CHUNK_BYTES]),
            )
            .await?;
            ensure!(
                first.status == 204 && offset_of(&first)? == CHUNK_BYTES as u64,
                "first chunk: {} {}",
                first.status,
                first.text
            );
            let half = CHUNK_BYTES / 2;
            cut_patch(
                cluster.node(a).http_addr(),
                &location,
                &token_a,
                CHUNK_BYTES as u64,
                &content[CHUNK_BYTES..2 * CHUNK_BYTES],
                half,
            )
            .await?;
            let resumed_at = wait_until(
                "the cut chunk's bytes are counted",
                Duration::from_secs(30),
                || {
                    let (client, location, token) =
                        (http_a.clone(), location.clone(), token_a.clone());
                    async move {
                        let head = tus(&client, "HEAD", &location, Some(&token), &[], None).await?;
                        let offset = offset_of(&head)?;
                        // The cut connection's bytes may still be arriving: wait for all
                        // of them, then check none beyond them was counted.
                        Ok(
                            (head.status == 200 && offset >= (CHUNK_BYTES + half) as u64)
                                .then_some(offset),
                        )
                    }
                },
            )
            .await?;
            ensure!(
                resumed_at == (CHUNK_BYTES + half) as u64,
                "HEAD says where to resume: {resumed_at}"
            );

            // The node dies and comes back: the upload is where it was.
            cluster.node_mut(a).kill9()?;
            cluster.node_mut(a).restart()?;
            cluster.node_mut(a).wait_healthy(NODE_START_TIMEOUT).await?;
            let head = tus(&http_a, "HEAD", &location, Some(&token_a), &[], None).await?;
            ensure!(
                head.status == 200 && offset_of(&head)? == resumed_at,
                "after a restart: {} {:?}",
                head.status,
                head.headers
            );
            ensure!(
                header(&head, "upload-length") == FILE_BYTES.to_string()
                    && header(&head, "upload-metadata") == metadata,
                "HEAD describes it"
            );
            ensure!(
                header(&head, "cache-control") == "no-store",
                "HEAD is not cached"
            );

            // Wrong offset, wrong checksum, too much: refused, nothing kept.
            let at = resumed_at as usize;
            let stale = tus(
                &http_a,
                "PATCH",
                &location,
                Some(&token_a),
                &[("Upload-Offset", "0".into())],
                Some(&content[..10]),
            )
            .await?;
            ensure!(stale.status == 409, "a wrong offset: {}", stale.status);
            let wrong_sum = format!(
                "sha1 {}",
                base64::engine::general_purpose::STANDARD.encode(sha1_of(b"other bytes"))
            );
            let refused = tus(
                &http_a,
                "PATCH",
                &location,
                Some(&token_a),
                &[
                    ("Upload-Offset", at.to_string()),
                    ("Upload-Checksum", wrong_sum),
                ],
                Some(&content[at..at + 1000]),
            )
            .await?;
            ensure!(
                refused.status == 460,
                "a checksum mismatch: {} {}",
                refused.status,
                refused.text
            );
            let too_much = tus(
                &http_a,
                "PATCH",
                &location,
                Some(&token_a),
                &[("Upload-Offset", at.to_string())],
                Some(&vec![0u8; FILE_BYTES - at + 1]),
            )
            .await?;
            ensure!(
                too_much.status == 413,
                "past Upload-Length: {}",
                too_much.status
            );
            let head = tus(&http_a, "HEAD", &location, Some(&token_a), &[], None).await?;
            ensure!(
                offset_of(&head)? == resumed_at,
                "nothing kept from refused chunks"
            );
            let stranger = tus(&http_a, "HEAD", &location, None, &[], None).await?;
            ensure!(
                stranger.status == 404,
                "only its creator sees an upload: {}",
                stranger.status
            );
            let wrong_type = http_a
                .send(
                    "PATCH",
                    &location,
                    Some(&token_a),
                    RawBody::Bytes(vec![1]),
                    &[
                        ("Tus-Resumable", "1.0.0".into()),
                        ("Upload-Offset", at.to_string()),
                    ],
                )
                .await?;
            ensure!(
                wrong_type.status == 415,
                "a chunk must be offset+octet-stream: {}",
                wrong_type.status
            );

            // The rest, in checksummed chunks; the last one makes the file.
            let mut offset = at;
            let mut last = None;
            while offset < FILE_BYTES {
                let end = (offset + CHUNK_BYTES).min(FILE_BYTES);
                let sum = format!(
                    "sha1 {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(sha1_of(&content[offset..end]))
                );
                let sent = tus(
                    &http_a,
                    "PATCH",
                    &location,
                    Some(&token_a),
                    &[
                        ("Upload-Offset", offset.to_string()),
                        ("Upload-Checksum", sum),
                    ],
                    Some(&content[offset..end]),
                )
                .await?;
                ensure!(
                    sent.status == 204 && offset_of(&sent)? == end as u64,
                    "chunk at {offset}: {} {}",
                    sent.status,
                    sent.text
                );
                offset = end;
                last = Some(sent);
            }
            let last = last.context("a last chunk")?;
            let name = header(&last, HEADER_FILE_NAME);
            ensure!(
                name.starts_with("big_report_") && name.ends_with(".bin"),
                "the stored name: {name:?}"
            );
            let after = [(
                HEADER_AFTER,
                last.index().context("the write's index")?.to_string(),
            )];
            let read = http_b
                .send(
                    "GET",
                    &format!("/api/collections/docs/records/{record_id}"),
                    Some(&token_b),
                    RawBody::None,
                    &after,
                )
                .await?;
            ensure!(
                read.json.as_ref().map(|j| j["files"].clone()) == Some(json!([name])),
                "the record names it: {}",
                read.text
            );
            let downloaded = http_b
                .send(
                    "GET",
                    &format!("/api/files/docs/{record_id}/{name}"),
                    None,
                    RawBody::None,
                    &after,
                )
                .await?;
            ensure!(
                downloaded.status == 200 && downloaded.bytes == content,
                "byte-identical at another node: {}",
                downloaded.status
            );
            let done = tus(&http_a, "HEAD", &location, Some(&token_a), &[], None).await?;
            ensure!(
                offset_of(&done)? == FILE_BYTES as u64 && header(&done, HEADER_FILE_NAME) == name,
                "HEAD of a finished upload"
            );

            // Termination: a second upload, ended half-way, is gone.
            let second = tus(
                &http_a,
                "POST",
                &target,
                Some(&token_a),
                &[("Upload-Length", "100".into())],
                None,
            )
            .await?;
            let second_location = header(&second, "location");
            let ended = tus(
                &http_a,
                "DELETE",
                &second_location,
                Some(&token_a),
                &[],
                None,
            )
            .await?;
            ensure!(ended.status == 204, "terminate: {}", ended.status);
            let gone = tus(&http_a, "HEAD", &second_location, Some(&token_a), &[], None).await?;
            ensure!(
                gone.status == 404,
                "a terminated upload is gone: {}",
                gone.status
            );
            let elsewhere = tus(&http_b, "HEAD", &location, Some(&token_b), &[], None).await?;
            ensure!(
                elsewhere.status == 404,
                "an upload lives on the node that made it: {}",
                elsewhere.status
            );
            Ok(())
        },
    )
    .await;
}

fn sha1_of(bytes: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(bytes).to_vec()
}
