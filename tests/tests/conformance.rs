//! Differential conformance: every scenario in `tests/conformance/scenarios/` is replayed
//! against real PocketBase 0.40.6 and against EdgeBase, and the normalised answers compared.
//! The first test runs PocketBase against itself, which checks the runner and scenarios.
//! `CONFORMANCE_SCENARIO=<part of a name>` runs only the matching scenarios.

use std::time::Duration;

use anyhow::ensure;
use edgebase_tests::conformance::{load_scenarios, run_conformance, Scenario, TargetKind};
use edgebase_tests::run_test;

fn scenarios() -> anyhow::Result<Vec<Scenario>> {
    let dir = edgebase_tests::package_dir()
        .join("conformance")
        .join("scenarios");
    let filter = std::env::var("CONFORMANCE_SCENARIO").ok();
    let scenarios = load_scenarios(&dir, filter.as_deref())?;
    ensure!(
        !scenarios.is_empty(),
        "no scenario in {} matches {filter:?}",
        dir.display()
    );
    Ok(scenarios)
}

async fn compare(name: &str, reference: TargetKind, candidate: TargetKind) {
    let name = name.to_owned();
    run_test(
        &name.clone(),
        Duration::from_secs(600),
        move |context| async move {
            let scenarios = scenarios()?;
            let report = run_conformance(&scenarios, reference, candidate, context.root()).await?;
            for mismatch in &report.mismatches {
                eprintln!("MISMATCH {mismatch}\n");
            }
            eprintln!(
                "{name}: {} scenarios, {} steps, {} mismatches",
                report.scenarios_run,
                report.steps_run,
                report.mismatches.len()
            );
            ensure!(
                report.mismatches.is_empty(),
                "{} mismatches (printed above)",
                report.mismatches.len()
            );
            Ok(())
        },
    )
    .await;
}

/// The runner itself: PocketBase against PocketBase must agree on every step, and every
/// `expect_status` must hold on the reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pocketbase_against_itself() {
    compare(
        "conformance_pb_vs_pb",
        TargetKind::PocketBase,
        TargetKind::PocketBase,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edgebase_matches_pocketbase() {
    compare(
        "conformance_pb_vs_edgebase",
        TargetKind::PocketBase,
        TargetKind::EdgeBase,
    )
    .await;
}
