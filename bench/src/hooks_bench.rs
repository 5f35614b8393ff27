//! `edgebase-bench hooks`: what JavaScript hooks cost, EdgeBase against PocketBase in the same
//! run. Each server is started twice, without hooks and with a hooks folder holding a no-op
//! `onRecordCreateRequest` (it only calls `e.next()`) and a custom route answering a small
//! JSON; creates are timed on both, the route on the second.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::connection_tally::{self, ConnectionTally};
use crate::driver::{http_client, read_bounded, Driver};
use crate::edgebase_cluster::{path_arg, EdgebaseCluster};
use crate::measurement::{format_ms, Measurement};
use crate::pocketbase_server::PocketbaseServer;
use crate::records_driver::RecordsDriver;
use crate::workload::{run_load, LoadShape, Workload};

pub const BEGIN_MARKER: &str = "<!-- edgebase-bench hooks: begin (generated) -->";
pub const END_MARKER: &str = "<!-- edgebase-bench hooks: end -->";

const SUPERUSER_EMAIL: &str = "bench@example.com";
const SUPERUSER_PASSWORD: &str = "bench-password-123";
const ROUTE: &str = "/api/bench/ping";
const HOOKS: &str = r#"onRecordCreateRequest((e) => e.next())
routerAdd("GET", "/api/bench/ping", (e) => e.json(200, { "ok": true }))
"#;

pub struct HooksPlan {
    pub edgebase_bin: PathBuf,
    pub pocketbase_bin: PathBuf,
    pub shape: LoadShape,
}

/// One system's figures: creates without and with the no-op hook, and the route.
pub struct HooksRow {
    pub system: &'static str,
    pub create_plain: Measurement,
    pub create_hooked: Measurement,
    pub route: Measurement,
}

pub async fn run(plan: &HooksPlan) -> anyhow::Result<Vec<HooksRow>> {
    let folder = tempfile::Builder::new()
        .prefix("bench-hooks-")
        .tempdir()
        .context("make the hooks folder")?;
    std::fs::write(folder.path().join("bench.pb.js"), HOOKS).context("write the hooks")?;
    let mut rows = Vec::new();
    for system in ["EdgeBase (1 node)", "PocketBase"] {
        let mut measured = Vec::new();
        for hooks in [None, Some(folder.path())] {
            eprintln!("{system}, hooks: {}", hooks.is_some());
            let (url, stop) = start(plan, system, hooks).await?;
            let result = measure(plan, &url, hooks.is_some()).await;
            stop.await;
            measured.push(result?);
        }
        let (plain, _) = measured.remove(0);
        let (hooked, route) = measured.remove(0);
        rows.push(HooksRow {
            system,
            create_plain: plain,
            create_hooked: hooked,
            route: route.context("the route was not measured")?,
        });
    }
    Ok(rows)
}

type Stop = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn start(
    plan: &HooksPlan,
    system: &str,
    hooks: Option<&Path>,
) -> anyhow::Result<(String, Stop)> {
    if system.starts_with("EdgeBase") {
        let hooks_arg = hooks.map(path_arg);
        let mut args = vec!["--hooks-runtimes", "2"];
        if let Some(dir) = &hooks_arg {
            args.extend(["--hooks-dir", dir.as_str()]);
        }
        let node = EdgebaseCluster::start_with_args(
            &plan.edgebase_bin,
            1,
            SUPERUSER_EMAIL,
            SUPERUSER_PASSWORD,
            &args,
        )
        .await?;
        let url = node.http_urls()[0].clone();
        Ok((url, Box::pin(node.stop())))
    } else {
        let server = PocketbaseServer::start_with_hooks(
            &plan.pocketbase_bin,
            SUPERUSER_EMAIL,
            SUPERUSER_PASSWORD,
            hooks,
        )
        .await?;
        let url = server.url().to_owned();
        Ok((url, Box::pin(server.stop())))
    }
}

/// Creates at `url`, and with hooks the route too.
async fn measure(
    plan: &HooksPlan,
    url: &str,
    hooked: bool,
) -> anyhow::Result<(Measurement, Option<Measurement>)> {
    let http = http_client(plan.shape.connections)?;
    let records = RecordsDriver::create_collection(
        http.clone(),
        url,
        SUPERUSER_EMAIL,
        SUPERUSER_PASSWORD,
        "bench_hooks",
    )
    .await?;
    let driver = Arc::new(Driver::Records(records));
    let creates = run_load(driver, Workload::Create, Arc::new(Vec::new()), plan.shape).await?;
    eprintln!("  create: {}", creates.summary());
    if !hooked {
        return Ok((creates, None));
    }
    let route = route_load(&http, &format!("{url}{ROUTE}"), plan.shape).await?;
    eprintln!("  route: {}", route.summary());
    Ok((creates, Some(route)))
}

/// GET `url` from every connection, one request at a time, for the warm-up and the window.
async fn route_load(
    http: &reqwest::Client,
    url: &str,
    shape: LoadShape,
) -> anyhow::Result<Measurement> {
    let start = Instant::now();
    let warmup_end = start + shape.warmup;
    let end = warmup_end + shape.duration;
    let mut workers = Vec::with_capacity(shape.connections);
    for _ in 0..shape.connections {
        let (http, url) = (http.clone(), url.to_owned());
        workers.push(tokio::spawn(async move {
            let mut tally = ConnectionTally::default();
            while Instant::now() < end {
                let began = Instant::now();
                let outcome = async {
                    let response = http.get(&url).send().await?.error_for_status()?;
                    read_bounded(response).await
                }
                .await;
                if began >= warmup_end {
                    tally.record(began, outcome);
                }
            }
            tally
        }));
    }
    connection_tally::merge(workers, shape.duration.as_secs_f64()).await
}

/// The markdown section.
pub fn markdown(
    rows: &[HooksRow],
    date: &str,
    command: &str,
    machine: &[(String, String)],
    versions: &[(String, String)],
    shape: LoadShape,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN_MARKER}");
    let _ = writeln!(out, "## Hooks ({date})\n");
    let _ = writeln!(
        out,
        "Command (from the repository root):\n\n```sh\n{command}\n```\n"
    );
    let _ = writeln!(
        out,
        "Each server started twice: without hooks, then with a hooks folder holding a no-op \
         `onRecordCreateRequest((e) => e.next())` and `routerAdd(\"GET\", \"{ROUTE}\", (e) => \
         e.json(200, {{\"ok\": true}}))`. {} connections, {} s warm-up, {} s measured per run; \
         EdgeBase with 2 hook runtimes (the machine's cores).\n",
        shape.connections,
        shape.warmup.as_secs(),
        shape.duration.as_secs()
    );
    crate::report::machine_tables(&mut out, machine, versions);
    let _ = writeln!(
        out,
        "\n| system | creates/s, no hooks | creates/s, no-op hook | hook's cost | create p50 with hook | route requests/s | route p50 |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let plain = row.create_plain.throughput_per_sec();
        let hooked = row.create_hooked.throughput_per_sec();
        let cost = if plain > 0.0 {
            format!("{:+.0}%", (hooked / plain - 1.0) * 100.0)
        } else {
            "–".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {cost} | {} | {:.0} | {} |",
            row.system,
            plain,
            hooked,
            format_ms(row.create_hooked.p50_us),
            row.route.throughput_per_sec(),
            format_ms(row.route.p50_us)
        );
    }
    let errors: u64 = rows
        .iter()
        .map(|row| row.create_plain.errors + row.create_hooked.errors + row.route.errors)
        .sum();
    let _ = writeln!(out, "\nFailed requests in all runs: {errors}.");
    let _ = writeln!(out, "{END_MARKER}");
    out
}
