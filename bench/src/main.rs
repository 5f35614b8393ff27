//! `edgebase-bench`: an HTTP load generator for the records API of EdgeBase or PocketBase.
//! A fixed number of connections runs a workload for a warm-up, then for the measured
//! duration; it prints throughput and latency percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Workload {
    /// Create records.
    Create,
    /// Get records by id (created up front).
    Get,
    /// 90% gets, 10% creates.
    Mixed,
}

#[derive(Debug, Parser)]
#[command(about = "Load generator for PocketBase-compatible records APIs")]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:8090.
    #[arg(long)]
    url: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    password: String,
    #[arg(long, value_enum, default_value = "create")]
    workload: Workload,
    /// Concurrent connections (each runs one request at a time).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Records created before a get or mixed run.
    #[arg(long, default_value_t = 1_000)]
    preload: usize,
}

struct Target {
    http: reqwest::Client,
    url: String,
    token: String,
    collection: String,
}

impl Target {
    async fn create(&self, title: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!(
                "{}/api/collections/{}/records",
                self.url, self.collection
            ))
            .header("authorization", &self.token)
            .json(&json!({ "title": title, "views": 1 }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("create: HTTP {}", response.status());
        }
        let body: Value = response.json().await?;
        Ok(body["id"].as_str().unwrap_or_default().to_string())
    }

    async fn get(&self, id: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .get(format!(
                "{}/api/collections/{}/records/{id}",
                self.url, self.collection
            ))
            .header("authorization", &self.token)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("get: HTTP {}", response.status());
        }
        response.bytes().await?;
        Ok(())
    }
}

async fn connect(args: &Args) -> anyhow::Result<Target> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let login: Value = http
        .post(format!(
            "{}/api/collections/_superusers/auth-with-password",
            args.url
        ))
        .json(&json!({ "identity": args.email, "password": args.password }))
        .send()
        .await?
        .error_for_status()
        .context("log in")?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("no token in login answer")?
        .to_string();
    let collection = format!("bench_{}", std::process::id());
    http.post(format!("{}/api/collections", args.url))
        .header("authorization", &token)
        .json(&json!({
            "name": collection,
            "listRule": "", "viewRule": "", "createRule": "",
            "fields": [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}]
        }))
        .send()
        .await?
        .error_for_status()
        .context("create bench collection")?;
    Ok(Target {
        http,
        url: args.url.clone(),
        token,
        collection,
    })
}

/// Latencies in microseconds, 1 µs to 60 s, 3 significant digits.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds are valid")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = Arc::new(connect(&args).await?);
    let mut ids = Vec::new();
    if !matches!(args.workload, Workload::Create) {
        for i in 0..args.preload {
            ids.push(target.create(&format!("preload {i}")).await?);
        }
    }
    let ids = Arc::new(ids);
    let start = Instant::now();
    let warmup_end = start + Duration::from_secs(args.warmup_secs);
    let end = warmup_end + Duration::from_secs(args.duration_secs);
    let mut workers = Vec::new();
    for worker in 0..args.connections {
        let (target, ids, workload) = (target.clone(), ids.clone(), args.workload);
        workers.push(tokio::spawn(async move {
            let mut histogram = latency_histogram();
            let mut errors = 0u64;
            let mut n = 0usize;
            while Instant::now() < end {
                n += 1;
                let began = Instant::now();
                let outcome = match workload {
                    Workload::Create => target.create(&format!("w{worker} {n}")).await.map(|_| ()),
                    Workload::Get => target.get(&ids[(worker * 7919 + n) % ids.len()]).await,
                    Workload::Mixed if n.is_multiple_of(10) => {
                        target.create(&format!("w{worker} {n}")).await.map(|_| ())
                    }
                    Workload::Mixed => target.get(&ids[(worker * 7919 + n) % ids.len()]).await,
                };
                if began >= warmup_end {
                    match outcome {
                        Ok(()) => histogram.saturating_record(began.elapsed().as_micros() as u64),
                        Err(_) => errors += 1,
                    }
                }
            }
            (histogram, errors)
        }));
    }
    let mut total = latency_histogram();
    let mut errors = 0;
    for worker in workers {
        let (histogram, worker_errors) = worker.await?;
        total.add(histogram)?;
        errors += worker_errors;
    }
    let seconds = args.duration_secs as f64;
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "workload={:?} connections={} requests={} errors={} throughput={:.0}/s p50={:.2}ms p90={:.2}ms p99={:.2}ms p99.9={:.2}ms",
        args.workload,
        args.connections,
        total.len(),
        errors,
        total.len() as f64 / seconds,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999)
    );
    Ok(())
}
