//! `/metrics` on three real nodes: the Raft series agree on term and leader and show the
//! log applied; writes show up in the HTTP, WAL sync and proposal series; and while a
//! follower is paused (SIGSTOP) the leader's lag series for it grows with every write, then
//! falls back to 0 once it is resumed. The cluster view (`/api/cluster/status`) shows the
//! quorum, how many voters can fail, and the members' contact and round-trip times.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{run_test, wait_until, Cluster, NODE_START_TIMEOUT};
use serde_json::json;

const COLLECTION: &str = "metered";
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

/// One scrape: every sample by its name with labels, as written (`name{a="b"}`).
type Samples = BTreeMap<String, f64>;

async fn scrape(http: &reqwest::Client, url: &str) -> anyhow::Result<Samples> {
    let response = http.get(format!("{url}/metrics")).send().await?;
    ensure!(
        response.status().is_success(),
        "GET /metrics: {}",
        response.status()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ensure!(
        content_type.starts_with("text/plain"),
        "content type {content_type}"
    );
    let text = response.text().await?;
    let mut samples = Samples::new();
    for line in text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .with_context(|| format!("a sample line without a value: {line}"))?;
        samples.insert(series.to_owned(), value.parse()?);
    }
    Ok(samples)
}

fn sample(samples: &Samples, series: &str) -> anyhow::Result<f64> {
    samples
        .get(series)
        .copied()
        .with_context(|| format!("no {series} in the scrape"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_raft_http_and_a_paused_followers_lag() {
    run_test(
        "metrics_cluster",
        Duration::from_secs(300),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let leader = cluster
                .wait_for_leader(&cluster.ids(), NODE_START_TIMEOUT)
                .await?;
            let http = reqwest::Client::new();
            let urls: BTreeMap<u64, String> = cluster
                .ids()
                .into_iter()
                .map(|id| (id, cluster.node(id).http_url()))
                .collect();
            let url = |id: u64| urls[&id].clone();

            // Every node agrees on the term and the leader, and has applied the log so far.
            let mut terms = Vec::new();
            for id in cluster.ids() {
                let samples = scrape(&http, &url(id)).await?;
                terms.push(sample(&samples, "edgebase_raft_term")?);
                ensure!(sample(&samples, "edgebase_raft_leader_id")? == leader as f64);
                ensure!(sample(&samples, "edgebase_raft_node_id")? == id as f64);
                ensure!(
                    sample(&samples, "edgebase_raft_is_leader")?
                        == f64::from(u8::from(id == leader))
                );
                ensure!(sample(&samples, "edgebase_raft_voters")? == 3.0);
                ensure!(sample(&samples, "edgebase_raft_applied_index")? > 0.0);
                ensure!(sample(&samples, "edgebase_raft_commit_index")? > 0.0);
                ensure!(
                    sample(&samples, "edgebase_raft_applied_index")?
                        <= sample(&samples, "edgebase_raft_last_log_index")?
                );
                ensure!(sample(&samples, "edgebase_http_connections_open")? >= 1.0);
            }
            ensure!(
                terms.iter().all(|term| *term == terms[0] && *term >= 1.0),
                "terms {terms:?}"
            );

            // Writes at the leader are counted by route, timed, synced and proposed.
            let admin = cluster.admin(leader).await?;
            admin
                .collections()
                .create(&json!({"name": COLLECTION, "fields": [{"name": "n", "type": "number"}]}))
                .await?;
            const WRITES: u64 = 20;
            for n in 0..WRITES {
                admin.records(COLLECTION).create(&json!({"n": n})).await?;
            }
            let samples = scrape(&http, &url(leader)).await?;
            let route = "route=\"/api/collections/{collection}/records\"";
            let created = sample(
                &samples,
                &format!("edgebase_http_requests_total{{method=\"POST\",{route},status=\"200\"}}"),
            )?;
            ensure!(created >= WRITES as f64, "{created} creates counted");
            let timed = sample(
                &samples,
                &format!("edgebase_http_request_duration_seconds_count{{method=\"POST\",{route}}}"),
            )?;
            ensure!(timed >= WRITES as f64, "{timed} creates timed");
            ensure!(sample(&samples, "edgebase_wal_sync_seconds_count")? >= 1.0);
            ensure!(sample(&samples, "edgebase_wal_sync_group_appends_sum")? >= 1.0);
            ensure!(sample(&samples, "edgebase_proposal_entry_writes_sum")? >= WRITES as f64);
            ensure!(sample(&samples, "edgebase_proposal_writes_total")? >= WRITES as f64);

            // A paused follower falls behind, write by write, in the leader's lag series.
            let follower = *cluster
                .ids()
                .iter()
                .find(|id| **id != leader)
                .context("a follower")?;
            let lag_series = format!("edgebase_raft_peer_lag_entries{{peer=\"{follower}\"}}");
            cluster.node_mut(follower).pause()?;
            let mut lags = Vec::new();
            for round in 0..3 {
                for n in 0..10 {
                    admin
                        .records(COLLECTION)
                        .create(&json!({"n": 1000 * (round + 1) + n}))
                        .await?;
                }
                lags.push(sample(&scrape(&http, &url(leader)).await?, &lag_series)?);
            }
            eprintln!("lag of paused node {follower}: {lags:?}");
            ensure!(
                lags[0] >= 10.0 && lags.windows(2).all(|pair| pair[1] >= pair[0] + 10.0),
                "the paused follower's lag did not grow with the writes: {lags:?}"
            );
            // The cluster view agrees: quorum 2 of 3, no voter to spare while one is paused,
            // and the paused member cannot be probed.
            let status = cluster.status(leader).await?;
            let paused = status
                .members
                .iter()
                .find(|member| member.id == follower)
                .context("the paused member in the status")?;
            ensure!(
                status.voters == 3 && status.quorum == 2 && status.fault_tolerance == 0,
                "voters {} quorum {} tolerance {}",
                status.voters,
                status.quorum,
                status.fault_tolerance
            );
            ensure!(
                !paused.reachable,
                "a paused member answered the status probe"
            );
            ensure!(
                !status.region_rtts.is_empty(),
                "no round trips between regions"
            );
            cluster.node_mut(follower).resume()?;
            let http_ref = &http;
            let leader_url = url(leader);
            let lag_series_ref = &lag_series;
            wait_until("the resumed follower to catch up", CATCH_UP_TIMEOUT, || {
                let leader_url = leader_url.clone();
                async move {
                    let lag = sample(&scrape(http_ref, &leader_url).await?, lag_series_ref)?;
                    Ok((lag == 0.0).then_some(()))
                }
            })
            .await?;
            let status = cluster.status(leader).await?;
            ensure!(
                status.fault_tolerance == 1,
                "tolerance {} after the resume",
                status.fault_tolerance
            );
            for member in &status.members {
                ensure!(
                    member.reachable && member.last_contact_ms.is_some() && member.rtt_ms.is_some(),
                    "member {} after the resume: {member:?}",
                    member.id
                );
            }
            Ok(())
        },
    )
    .await;
}
