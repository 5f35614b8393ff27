//! Leader placement by region with real processes: every node is started with
//! `--leader-regions region-2`. Node 1 starts the cluster and leads, outside the preferred
//! region, so it hands leadership to node 2. `kill -9` of node 2: another node leads meanwhile.
//! Node 2 restarts: leadership returns to the preferred region.

use std::time::Duration;

use edgebase_tests::{run_test, Cluster, NODE_START_TIMEOUT};

/// Placement checks every 3 s and a hand-over takes about 2.5 s; allow for a loaded machine.
const PLACEMENT_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_to_and_returns_to_the_preferred_region() {
    run_test(
        "leader_placement",
        Duration::from_secs(300),
        |context| async move {
            let mut cluster = Cluster::builder(context.root())
                .size(3)
                .extra_args(&["--leader-regions", "region-2"])
                .start()
                .await?;
            let leader = cluster
                .wait_for_leader(&[1, 2, 3], PLACEMENT_TIMEOUT)
                .await?;
            if leader != 2 {
                // Not there yet: placement moves it.
                wait_for_specific_leader(&cluster, &[1, 2, 3], 2).await?;
            }

            cluster.node_mut(2).kill9()?;
            let interim = cluster.wait_for_leader(&[1, 3], PLACEMENT_TIMEOUT).await?;
            eprintln!("while node 2 is down, node {interim} leads");

            cluster.node_mut(2).restart()?;
            cluster.node_mut(2).wait_healthy(NODE_START_TIMEOUT).await?;
            cluster.forget_token(2);
            wait_for_specific_leader(&cluster, &[1, 2, 3], 2).await?;
            Ok(())
        },
    )
    .await;
}

async fn wait_for_specific_leader(
    cluster: &Cluster,
    ids: &[u64],
    wanted: u64,
) -> anyhow::Result<()> {
    edgebase_tests::wait_until(
        &format!("node {wanted} to lead"),
        PLACEMENT_TIMEOUT,
        move || async move {
            let leader = cluster.wait_for_leader(ids, PLACEMENT_TIMEOUT).await?;
            Ok((leader == wanted).then_some(()))
        },
    )
    .await
}
