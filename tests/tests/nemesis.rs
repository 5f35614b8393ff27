//! The nemesis suite's smoke (what CI runs; the long campaign is `tests/nemesis-campaign.sh`):
//! two seeds of about 25 s each on three voters and a learner under a seeded schedule of
//! kills, pauses, partitions, loss, leader transfers and member replacements, each judged
//! linearizable with nothing acknowledged lost and the replicas equal; then the planted-bug
//! self-test: nodes whose strong reads skip the read index must be reported as violating.
//! Skips (passes with a printed reason) only when not root or `ip netns` is unavailable.

use std::time::Duration;

use anyhow::ensure;
use edgebase_tests::nemesis::{self, FaultKind, NemesisConfig, ScheduleConfig};
use edgebase_tests::regions::Regions;
use edgebase_tests::run_test;

/// Replays a run: the seed of the first smoke run (the second is seed + 1).
const SEED_VARIABLE: &str = "EDGEBASE_NEMESIS_SEED";
const SMOKE_SEEDS: u64 = 2;
const SMOKE_RUN: Duration = Duration::from_secs(25);
const PLANTED_RUN: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nemesis_smoke_and_planted_bug() {
    if let Some(reason) = Regions::unavailable_reason() {
        eprintln!("SKIPPED nemesis: {reason}");
        return;
    }
    run_test("nemesis", Duration::from_secs(900), |context| async move {
        let first_seed = std::env::var(SEED_VARIABLE)
            .ok()
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or_else(rand::random);
        eprintln!("[nemesis] first seed {first_seed} (replay with {SEED_VARIABLE}={first_seed})");
        for seed in first_seed..first_seed + SMOKE_SEEDS {
            let config = NemesisConfig::new(seed, SMOKE_RUN);
            let report =
                nemesis::run(&config, &context.root().join(format!("seed-{seed}"))).await?;
            eprintln!("{}", report.text());
            ensure!(
                report.is_clean(),
                "seed {seed} found problems:\n{}",
                report.text()
            );
        }

        // The checker must be able to fail: strong reads served from a cut-off node's own
        // state are stale, and the history must say so.
        let mut config = NemesisConfig::new(first_seed, PLANTED_RUN);
        config.planted_bug = true;
        config.schedule = ScheduleConfig {
            kinds: vec![FaultKind::IsolateNode, FaultKind::IsolateLeader],
            hold: Duration::from_secs(3)..Duration::from_secs(5),
            quiet: Duration::from_secs(1)..Duration::from_secs(2),
        };
        let report = nemesis::run(&config, &context.root().join("planted")).await?;
        eprintln!("{}", report.text());
        ensure!(
            !report.findings.violations.is_empty(),
            "the planted bug (strong reads without the read index) went unreported:\n{}",
            report.text()
        );
        Ok(())
    })
    .await;
}
