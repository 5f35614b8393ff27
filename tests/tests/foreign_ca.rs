//! A node whose certificate comes from another CA cannot join: its `serve --join` fails or
//! it never becomes a member, and the cluster's membership does not change.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use edgebase_tests::{free_addr, run_test, Cluster, Node, NodeSpec};
use serde_json::json;

/// How long the intruder is watched; a join through a valid CA takes well under this.
const OBSERVATION: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_with_a_foreign_certificate_cannot_join() {
    run_test(
        "foreign_ca",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(2).start().await?;
            let members_before = member_ids(&cluster, 1).await?;
            ensure!(
                members_before == vec![1, 2],
                "members before: {members_before:?}"
            );

            // A certificate for node 3, signed by a CA the cluster never saw.
            let foreign_ca = context.root().join("foreign-ca");
            let intruder_certs = context.root().join("intruder").join("certs");
            cluster.cli().certs_ca(&foreign_ca).await?;
            cluster
                .cli()
                .certs_node(&foreign_ca, 3, &intruder_certs)
                .await?;
            let mut spec = NodeSpec::single(context.root(), "intruder")?;
            spec.node_id = Some(3);
            spec.raft_addr = Some(free_addr()?);
            spec.certs_dir = Some(intruder_certs);
            spec.join = cluster.node(1).raft_addr();
            let mut intruder = Node::start(spec)?;

            // Watch: the membership must never include the intruder, whether it exits or not.
            let started = Instant::now();
            let mut exit = None;
            while started.elapsed() < OBSERVATION {
                let members = member_ids(&cluster, 1).await?;
                ensure!(
                    members == members_before,
                    "membership changed to {members:?}"
                );
                if let Some(status) = intruder.exit_status() {
                    exit = Some(status);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            match exit {
                Some(status) => {
                    eprintln!("the intruder's serve --join exited with {status}");
                    ensure!(
                        !status.success(),
                        "a refused join must not exit successfully"
                    );
                }
                None => {
                    eprintln!("the intruder is still running after {OBSERVATION:?}, not a member")
                }
            }
            intruder.kill9()?;
            for id in cluster.ids() {
                let members = member_ids(&cluster, id).await?;
                ensure!(
                    members == members_before,
                    "node {id} reports members {members:?}"
                );
            }

            // The real cluster is unharmed: it still commits writes.
            let admin = cluster.admin(1).await?;
            admin
                .collections()
                .create(&json!({"name": "after_intrusion", "type": "base", "fields": []}))
                .await
                .context("a write after the refused join")?;
            Ok(())
        },
    )
    .await;
}

async fn member_ids(cluster: &Cluster, from: u64) -> anyhow::Result<Vec<u64>> {
    let status = cluster.status(from).await?;
    let mut ids: Vec<u64> = status.members.iter().map(|member| member.id).collect();
    ids.sort_unstable();
    Ok(ids)
}
