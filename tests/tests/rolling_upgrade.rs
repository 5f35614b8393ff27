//! A rolling upgrade from the previous release: a three-node cluster of the binary built at
//! the commit in `tests/upgrade/previous-release` (`tests/upgrade/build-previous.sh`) is
//! upgraded node by node to the build under test, each with SIGTERM and a restart on the
//! same data dir, while the Rust SDK writes and reads back in a loop. Not one request fails
//! and every acknowledged write is on every node after (`edgebase_tests::rolling`). The two
//! releases speak one protocol with each other while mixed: cluster status, asked of each
//! node as it comes back, shows the upgraded members at this package version and peer
//! protocol, the others at the previous release's, and the cluster at the lower of the two
//! until the last node is upgraded.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::ClusterStatus;
use edgebase_tests::rolling::{rolling_restart, RestartWith};
use edgebase_tests::{previous_release_binary, run_test, Cluster};

const THIS_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The peer protocols of this release and of the previous one (`consensus/src/wire_version.rs`).
const WIRE_VERSION: u16 = 2;
const OLDEST_WIRE_VERSION: u16 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrading_node_by_node_from_the_previous_release_fails_no_request() {
    run_test(
        "rolling_upgrade",
        Duration::from_secs(600),
        |context| async move {
            let previous = previous_release_binary()?;
            tracing::info!(binary = %previous.display(), "starting the previous release");
            let mut cluster = Cluster::builder(context.root())
                .size(3)
                .binary(&previous)
                .start()
                .await
                .context("a cluster of the previous release")?;
            let before = cluster.status(1).await?;
            ensure!(
                before.wire_version.is_none() && before.members.iter().all(|m| m.version.is_none()),
                "the cluster did not start on the previous release: {before:#?}"
            );

            let report = rolling_restart(&mut cluster, RestartWith::BuildUnderTest).await?;
            let mut upgraded = Vec::new();
            for (id, status) in &report.statuses {
                upgraded.push(*id);
                check_mixed_status(status, &upgraded)
                    .with_context(|| format!("status from node {id} after its upgrade"))?;
            }
            let last = report.statuses.last().context("no node was restarted")?;
            ensure!(
                last.1.wire_version == Some(WIRE_VERSION),
                "every node runs this release, but the cluster speaks {:?}",
                last.1.wire_version
            );
            tracing::info!(writes = report.writes, "upgraded with no failed request");
            Ok(())
        },
    )
    .await;
}

/// Members in `upgraded` report this release; the others the previous one (no package
/// version, the oldest protocol); the cluster speaks the lowest member's protocol.
fn check_mixed_status(status: &ClusterStatus, upgraded: &[u64]) -> anyhow::Result<()> {
    for member in &status.members {
        let expected = if upgraded.contains(&member.id) {
            (Some(THIS_VERSION), Some(WIRE_VERSION))
        } else {
            (None, Some(OLDEST_WIRE_VERSION))
        };
        ensure!(
            (member.version.as_deref(), member.wire_version) == expected,
            "member {} reports version {:?} and protocol {:?}, expected {expected:?}",
            member.id,
            member.version,
            member.wire_version
        );
    }
    let all_upgraded = status.members.iter().all(|m| upgraded.contains(&m.id));
    let expected_cluster = if all_upgraded {
        WIRE_VERSION
    } else {
        OLDEST_WIRE_VERSION
    };
    ensure!(
        status.wire_version == Some(expected_cluster),
        "the cluster speaks {:?}, expected {expected_cluster}",
        status.wire_version
    );
    Ok(())
}
