//! The unmodified JS SDK behind a load balancer (a TCP proxy in front of three real nodes,
//! `tests/conformance/sdk/realtime_failover.mjs`): the node holding the SDK's realtime stream
//! is killed (-9); the SDK reconnects through the balancer to another node, subscribes again
//! by itself, and receives the events of later writes.

use std::time::Duration;

use anyhow::Context;
use edgebase_tests::conformance::TargetKind;
use edgebase_tests::{run_test, wait_until, Cluster, NodeScript, TcpProxy, NODE_START_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reconnects_to_another_node_when_its_node_dies() {
    run_test(
        "realtime_failover",
        Duration::from_secs(300),
        |context| async move {
            let mut cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let backends = ids.iter().map(|id| cluster.node(*id).http_addr()).collect();
            let balancer = TcpProxy::start(backends).await?;
            let control = context.root().join("control");
            std::fs::create_dir_all(&control).context("make the control dir")?;

            let script = NodeScript {
                script: "realtime_failover.mjs",
                url: balancer.url(),
                kind: TargetKind::EdgeBase.to_string(),
                env: vec![("CONTROL_DIR".into(), control.display().to_string())],
            };
            let second_log = context
                .root()
                .join(format!("node{}", ids[1]))
                .join("node.log");
            let running = script.run(move || edgebase_tests::log_tail(&second_log, 40));
            let killing = async {
                wait_until(
                    "the script to be subscribed",
                    Duration::from_secs(120),
                    || async { Ok(control.join("ready").exists().then_some(())) },
                )
                .await?;
                // The balancer sends every connection to the first node while it is up.
                cluster.node_mut(ids[0]).kill9()?;
                std::fs::write(control.join("killed"), b"")?;
                anyhow::Ok(())
            };
            let (ran, killed) = tokio::join!(running, killing);
            killed?;
            ran
        },
    )
    .await;
}
