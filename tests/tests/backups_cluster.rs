//! Backups of a three-node cluster, as an operator uses them: a backup made through the CLI
//! while a follower takes a steady stream of writes (with files) holds every write
//! acknowledged before the backup began, whole; downloaded with the CLI (progress shown), it
//! seeds a new cluster with `edgebase restore` that serves the same records and files. A
//! damaged or cut archive is refused by the upload API and by `restore`, changing nothing.
//! Scheduled backups run once per tick across a leader kill: every tick between the first
//! and the last has exactly one backup.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, superuser_env, wait_until, Cli, Cluster, MultipartBody, Node, NodeSpec, RawBody,
    RawClient, RawResponse, NODE_START_TIMEOUT, SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
use serde_json::{json, Value};

/// A scheduler minute in this test (a tick every 3 s instead of 60).
const MINUTE_MS: &str = "3000";
const SCHEDULE_TIMEOUT: Duration = Duration::from_secs(180);

async fn send(
    client: &RawClient,
    method: &str,
    path: &str,
    token: &str,
    body: RawBody,
) -> anyhow::Result<RawResponse> {
    client.send(method, path, Some(token), body, &[]).await
}

/// The file content of record `n`.
fn file_bytes(n: u64) -> Vec<u8> {
    format!("ledger entry {n}\n").repeat(50).into_bytes()
}

/// Keys of the scheduled backups listed by `client`.
async fn auto_backups(client: &RawClient, token: &str) -> anyhow::Result<Vec<String>> {
    let listed = send(client, "GET", "/api/backups", token, RawBody::None).await?;
    ensure!(listed.status == 200, "list backups: {}", listed.text);
    Ok(listed
        .json
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|backup| backup["key"].as_str())
        .filter(|key| key.starts_with("@auto_pb_backup_"))
        .map(str::to_owned)
        .collect())
}

/// The tick a scheduled backup's name stands for (its calendar minute, `YYYYMMDDhhmmss`).
fn tick_of(key: &str) -> anyhow::Result<i64> {
    let stamp = key
        .trim_end_matches(".zip")
        .rsplit('_')
        .next()
        .context("a scheduled backup name without a time")?;
    let at = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S")
        .with_context(|| format!("the time in {key}"))?;
    Ok(at.and_utc().timestamp() / 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_restore_a_new_cluster_and_run_once_per_tick() {
    run_test(
        "backups_cluster",
        Duration::from_secs(600),
        |context| async move {
            let mut cluster = Cluster::builder(context.root())
                .size(3)
                .extra_args(&["--scheduler-minute-ms", MINUTE_MS])
                .start()
                .await?;
            let ids = cluster.ids();
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let follower = *ids.iter().find(|id| **id != leader).context("a follower")?;
            let admins = cluster.raw_admins().await?;
            let by_id = |id: u64| -> (RawClient, String) {
                let index = ids.iter().position(|each| *each == id).unwrap_or(0);
                admins[index].clone()
            };
            let (http_l, token_l) = by_id(leader);
            let (http_f, token_f) = by_id(follower);

            let created = send(
                &http_l,
                "POST",
                "/api/collections",
                &token_l,
                RawBody::Json(json!({
                    "name": "ledger", "type": "base",
                    "listRule": "", "viewRule": "", "createRule": "",
                    "fields": [
                        {"name": "n", "type": "number", "required": true},
                        {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 1048576}
                    ]
                })),
            )
            .await?;
            ensure!(created.status == 200, "create collection: {}", created.text);

            // A steady stream of writes through a follower, each with a file; the numbers
            // acknowledged, with when.
            let acknowledged: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let writer = {
                let (http, token) = (http_f.clone(), token_f.clone());
                let acknowledged = Arc::clone(&acknowledged);
                let stop = Arc::clone(&stop);
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        n += 1;
                        let body = MultipartBody::new()
                            .text("n", &n.to_string())
                            .file("doc", &format!("entry{n}.txt"), &file_bytes(n))
                            .build();
                        match send(
                            &http,
                            "POST",
                            "/api/collections/ledger/records",
                            &token,
                            body,
                        )
                        .await
                        {
                            Ok(response) if response.status == 200 => acknowledged
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push((n, Instant::now())),
                            Ok(response) => {
                                anyhow::bail!("write {n}: {} {}", response.status, response.text)
                            }
                            Err(error) => anyhow::bail!("write {n}: {error:#}"),
                        }
                    }
                    Ok(n)
                })
            };
            wait_until(
                "some writes acknowledged",
                Duration::from_secs(60),
                || async {
                    Ok(
                        (acknowledged.lock().unwrap_or_else(|p| p.into_inner()).len() >= 20)
                            .then_some(()),
                    )
                },
            )
            .await?;

            // The backup, through the CLI at the leader, while the writes go on.
            let cli = Cli::edgebase()?;
            let began = Instant::now();
            let leader_url = cluster.node(leader).http_url();
            let made = cli
                .run_with_env(
                    [
                        "backup",
                        "create",
                        "--node",
                        leader_url.as_str(),
                        "--name",
                        "under-load.zip",
                    ],
                    &superuser_env(),
                )
                .await?;
            ensure!(
                made.stdout.contains("under-load.zip"),
                "backup create said {:?}",
                made.stdout
            );
            let before: Vec<u64> = acknowledged
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .filter(|(_, at)| *at < began)
                .map(|(n, _)| *n)
                .collect();
            // A few more writes after it, then stop.
            let count_after = before.len() + 10;
            wait_until(
                "writes after the backup",
                Duration::from_secs(60),
                || async {
                    Ok(
                        (acknowledged.lock().unwrap_or_else(|p| p.into_inner()).len()
                            >= count_after)
                            .then_some(()),
                    )
                },
            )
            .await?;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let written = writer.await??;
            tracing::info!(before = before.len(), written, "writes around the backup");

            // Listed the same by every node; downloaded through the CLI from a follower.
            for id in &ids {
                let (http, token) = by_id(*id);
                let listed = send(&http, "GET", "/api/backups", &token, RawBody::None).await?;
                ensure!(
                    listed.text.contains("under-load.zip"),
                    "node {id} lists {}",
                    listed.text
                );
            }
            let archive = context.root().join("under-load.zip");
            let follower_url = cluster.node(follower).http_url();
            let downloaded = cli
                .run_with_env(
                    [
                        "backup",
                        "download",
                        "--node",
                        follower_url.as_str(),
                        "under-load.zip",
                        "--out",
                        archive.to_str().context("path")?,
                    ],
                    &superuser_env(),
                )
                .await?;
            ensure!(
                downloaded.stderr.contains("100%")
                    && downloaded.stderr.contains("downloaded under-load.zip"),
                "download progress: {:?}",
                downloaded.stderr
            );
            let archive_bytes = std::fs::read(&archive)?;

            // Damaged and cut archives: refused by the upload API and by `restore`, nothing kept.
            // One byte of a file's content changed (blobs are stored uncompressed, so the
            // content is in the archive as written): a bit flip on disk or in transfer.
            let mut damaged = archive_bytes.clone();
            let content = file_bytes(5);
            let at = damaged
                .windows(content.len())
                .position(|window| window == content.as_slice())
                .context("a file's content in the archive")?;
            damaged[at + 3] ^= 0x01;
            let cut = archive_bytes[..archive_bytes.len() * 2 / 3].to_vec();
            for (name, bytes) in [("damaged.zip", &damaged), ("cut.zip", &cut)] {
                let upload = MultipartBody::new().file("file", name, bytes).build();
                let answer = send(&http_l, "POST", "/api/backups/upload", &token_l, upload).await?;
                ensure!(
                    answer.status == 400,
                    "upload {name}: {} {}",
                    answer.status,
                    answer.text
                );
                let path = context.root().join(name);
                std::fs::write(&path, bytes)?;
                let target = context.root().join(format!("restore-{name}"));
                let refused = cli
                    .run([
                        "restore",
                        path.to_str().context("path")?,
                        "--dir",
                        target.to_str().context("path")?,
                    ])
                    .await;
                ensure!(refused.is_err(), "restore of {name} was not refused");
            }
            let listed = send(&http_l, "GET", "/api/backups", &token_l, RawBody::None).await?;
            ensure!(
                !listed.text.contains("damaged.zip") && !listed.text.contains("cut.zip"),
                "a refused upload is listed: {}",
                listed.text
            );
            // The whole archive uploads under another name.
            let copy_name = "copy-of-under-load.zip";
            let upload = MultipartBody::new()
                .file("file", copy_name, &archive_bytes)
                .build();
            let answer = send(&http_l, "POST", "/api/backups/upload", &token_l, upload).await?;
            ensure!(
                answer.status == 204,
                "upload the archive: {} {}",
                answer.status,
                answer.text
            );

            // A new cluster seeded from the archive.
            let seeded = context.root().join("seeded");
            let restored = cli
                .run([
                    "restore",
                    archive.to_str().context("path")?,
                    "--dir",
                    seeded.join("data").to_str().context("path")?,
                ])
                .await?;
            ensure!(
                restored.stdout.contains("restored the state"),
                "restore said {:?}",
                restored.stdout
            );
            ensure!(
                restored.stderr.contains("state restored"),
                "restore progress {:?}",
                restored.stderr
            );
            let mut spec = NodeSpec::single(context.root(), "seeded")?;
            spec.data_dir = seeded.join("data");
            let mut fresh = Node::start(spec)?;
            fresh.wait_healthy(NODE_START_TIMEOUT).await?;
            let fresh_http = RawClient::new(&fresh.http_url())?;
            let login = fresh_http
                .send(
                    "POST",
                    "/api/collections/_superusers/auth-with-password",
                    None,
                    RawBody::Json(
                        json!({"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}),
                    ),
                    &[],
                )
                .await?;
            ensure!(
                login.status == 200,
                "the restored superuser logs in: {}",
                login.text
            );
            let fresh_token = login
                .json
                .as_ref()
                .and_then(|j| j["token"].as_str())
                .context("token")?
                .to_owned();
            let mut restored_numbers = BTreeSet::new();
            let mut page = 1;
            loop {
                let listed = send(
                    &fresh_http,
                    "GET",
                    &format!("/api/collections/ledger/records?perPage=500&page={page}&sort=n"),
                    &fresh_token,
                    RawBody::None,
                )
                .await?;
                ensure!(
                    listed.status == 200,
                    "list restored records: {}",
                    listed.text
                );
                let json = listed.json.context("json")?;
                let items = json["items"].as_array().cloned().unwrap_or_default();
                for item in &items {
                    let n = item["n"].as_u64().context("n")?;
                    let doc = item["doc"]
                        .as_str()
                        .context("a restored record without its file")?;
                    restored_numbers.insert(n);
                    // Spot-check files: every tenth, byte for byte.
                    if n % 10 == 0 {
                        let id = item["id"].as_str().context("id")?;
                        let file = fresh_http
                            .get(&format!("/api/files/ledger/{id}/{doc}"), None)
                            .await?;
                        ensure!(
                            file.status == 200 && file.bytes == file_bytes(n),
                            "file of record {n}"
                        );
                    }
                }
                if items.len() < 500 {
                    break;
                }
                page += 1;
            }
            for n in &before {
                ensure!(
                    restored_numbers.contains(n),
                    "write {n} was acknowledged before the backup began but is not in it"
                );
            }
            tracing::info!(
                restored = restored_numbers.len(),
                before = before.len(),
                "restored records"
            );
            // The new cluster has no backups of its own, and takes writes.
            let listed = send(
                &fresh_http,
                "GET",
                "/api/backups",
                &fresh_token,
                RawBody::None,
            )
            .await?;
            ensure!(
                listed.text.trim() == "[]",
                "the new cluster lists {}",
                listed.text
            );
            let write = send(
                &fresh_http,
                "POST",
                "/api/collections/ledger/records",
                &fresh_token,
                RawBody::Json(json!({"n": 1_000_000})),
            )
            .await?;
            ensure!(
                write.status == 200,
                "write to the restored cluster: {}",
                write.text
            );
            fresh.terminate(Duration::from_secs(30)).await?;

            // Scheduled backups every tick, across a leader kill.
            let scheduled = send(
                &http_f,
                "PATCH",
                "/api/settings",
                &token_f,
                RawBody::Json(json!({
                    "backups": {"cron": "* * * * *", "cronMaxKeep": 1000}
                })),
            )
            .await?;
            ensure!(
                scheduled.status == 200,
                "schedule backups: {}",
                scheduled.text
            );
            wait_until("two scheduled backups", SCHEDULE_TIMEOUT, || async {
                Ok((auto_backups(&http_f, &token_f).await?.len() >= 2).then_some(()))
            })
            .await?;
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            cluster.node_mut(leader).kill9()?;
            tracing::info!(leader, "killed the leader");
            let survivor = *ids.iter().find(|id| **id != leader).context("a survivor")?;
            let (http_s, token_s) = by_id(survivor);
            let at_kill = auto_backups(&http_s, &token_s)
                .await
                .unwrap_or_default()
                .len();
            wait_until(
                "three more scheduled backups after the kill",
                SCHEDULE_TIMEOUT,
                || async {
                    let listed = auto_backups(&http_s, &token_s)
                        .await
                        .map(|keys| keys.len())
                        .unwrap_or(0);
                    Ok((listed >= at_kill + 3).then_some(()))
                },
            )
            .await?;
            let stop = send(
                &http_s,
                "PATCH",
                "/api/settings",
                &token_s,
                RawBody::Json(json!({
                    "backups": {"cron": ""}
                })),
            )
            .await?;
            ensure!(stop.status == 200, "unschedule backups: {}", stop.text);
            let keys = auto_backups(&http_s, &token_s).await?;
            let ticks: Vec<i64> = keys
                .iter()
                .map(|key| tick_of(key))
                .collect::<anyhow::Result<_>>()?;
            let distinct: BTreeSet<i64> = ticks.iter().copied().collect();
            ensure!(
                distinct.len() == ticks.len(),
                "a tick backed up twice: {keys:?}"
            );
            let (first, last) = (
                *distinct.first().context("no ticks")?,
                *distinct.last().context("no ticks")?,
            );
            ensure!(
                distinct.len() as i64 == last - first + 1,
                "a tick was skipped between {first} and {last}: {keys:?}"
            );
            tracing::info!(
                ticks = distinct.len(),
                "one scheduled backup per tick across the leader kill"
            );
            Ok(())
        },
    )
    .await;
}
