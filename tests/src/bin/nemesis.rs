//! The nemesis campaign: `cargo run -p edgebase-tests --bin nemesis -- --seeds 100`. Runs
//! one seed after another on a fresh cluster each (root and `ip netns` needed), prints each
//! run's report, and writes the campaign's tables (for `tests/RELIABILITY.md`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use edgebase_tests::nemesis::{self, FaultKind, NemesisConfig};
use edgebase_tests::regions::Regions;

#[derive(Parser)]
#[command(about = "Run the nemesis suite over many seeds")]
struct Args {
    /// How many seeds (consecutive from --first-seed).
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// The first seed (random, and printed, when not given).
    #[arg(long)]
    first_seed: Option<u64>,
    /// How long each seed's clients run.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Faults to draw from, comma separated (all when not given).
    #[arg(long, value_delimiter = ',')]
    faults: Vec<String>,
    /// Start the nodes with the planted bug (the checker must then report violations).
    #[arg(long)]
    planted_bug: bool,
    /// Where each seed's nodes, logs and history go (kept for seeds with findings).
    #[arg(long, default_value = "/tmp/edgebase-nemesis-campaign")]
    dir: PathBuf,
    /// Write the campaign's Markdown tables here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The machine, for the tables.
    #[arg(long, default_value = "unnamed machine")]
    machine: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(reason) = Regions::unavailable_reason() {
        bail!("the nemesis suite needs network namespaces: {reason}");
    }
    let mut kinds = Vec::new();
    for name in &args.faults {
        let kind = FaultKind::parse(name).with_context(|| {
            let known: Vec<&str> = FaultKind::ALL.iter().map(|kind| kind.name()).collect();
            format!("unknown fault {name:?}; known: {}", known.join(", "))
        })?;
        kinds.push(kind);
    }
    let first_seed = args.first_seed.unwrap_or_else(rand::random);
    eprintln!(
        "nemesis campaign: seeds {first_seed}..{}",
        first_seed + args.seeds
    );
    let mut reports = Vec::new();
    for seed in first_seed..first_seed + args.seeds {
        let mut config = NemesisConfig::new(seed, Duration::from_secs(args.duration_secs));
        config.planted_bug = args.planted_bug;
        if !kinds.is_empty() {
            config.schedule.kinds = kinds.clone();
        }
        let dir = args.dir.join(format!("seed-{seed}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
        }
        let report = nemesis::run(&config, &dir).await.with_context(|| {
            format!("seed {seed} (its nodes' logs are under {})", dir.display())
        })?;
        eprintln!("{}", report.text());
        if report.is_clean() {
            std::fs::remove_dir_all(&dir).ok();
        }
        reports.push(report);
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let date = String::from_utf8_lossy(
        &std::process::Command::new("date")
            .arg("+%Y-%m-%d")
            .output()
            .context("date")?
            .stdout,
    )
    .trim()
    .to_owned();
    let tables = nemesis::campaign_markdown(&reports, &command, &args.machine, &date);
    println!("{tables}");
    if let Some(out) = &args.out {
        std::fs::write(out, &tables).with_context(|| format!("write {}", out.display()))?;
    }
    Ok(())
}
