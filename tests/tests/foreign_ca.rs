//! A node whose certificate comes from another CA cannot join: its `serve --join` fails or
//! it never becomes a member, and the cluster's membership does not change. A control node
//! with the same id and command line but a certificate from the cluster's CA then joins, so
//! the CA alone made the difference.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use edgebase_tests::{
    free_addr, run_test, wait_until, Cluster, Node, NodeSpec, NODE_START_TIMEOUT,
};
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
            cluster.cli().certs_ca(&foreign_ca).await?;
            let spec = joiner_spec(&cluster, context.root(), "intruder", &foreign_ca).await?;
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
            eprintln!("{}", intruder.log_tail(10));
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

            // Control: node 3 with a certificate from the cluster's own CA joins.
            let ca = cluster.ca_dir().to_owned();
            let spec = joiner_spec(&cluster, context.root(), "legit", &ca).await?;
            let mut legit = Node::start(spec)?;
            legit.wait_healthy(NODE_START_TIMEOUT).await?;
            let cluster_ref = &cluster;
            wait_until(
                "the legitimate node 3 to become a member",
                NODE_START_TIMEOUT,
                move || async move {
                    let members = member_ids(cluster_ref, 1).await?;
                    Ok((members == vec![1, 2, 3]).then_some(()))
                },
            )
            .await?;
            Ok(())
        },
    )
    .await;
}

/// Node 3 joining through node 1, with a certificate signed by `ca`.
async fn joiner_spec(
    cluster: &Cluster,
    root: &Path,
    name: &str,
    ca: &Path,
) -> anyhow::Result<NodeSpec> {
    let certs = root.join(name).join("certs");
    cluster.cli().certs_node(ca, 3, &certs).await?;
    let mut spec = NodeSpec::single(root, name)?;
    spec.node_id = Some(3);
    spec.raft_addr = Some(free_addr()?);
    spec.certs_dir = Some(certs);
    spec.join = cluster.node(1).raft_addr();
    Ok(spec)
}

async fn member_ids(cluster: &Cluster, from: u64) -> anyhow::Result<Vec<u64>> {
    let status = cluster.status(from).await?;
    let mut ids: Vec<u64> = status.members.iter().map(|member| member.id).collect();
    ids.sort_unstable();
    Ok(ids)
}
