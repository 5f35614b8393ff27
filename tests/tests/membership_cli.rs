//! Operator membership commands through the real CLI against real processes: a node started
//! with `--wait-to-be-added` is added as a learner (`cluster add-learner`), receives the data,
//! is promoted (`cluster promote`), takes the leadership (`cluster transfer-leader`), and an old
//! voter is removed (`cluster remove`); removing the leader is refused.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::wire::{ClusterStatus, MemberRole};
use edgebase_tests::{
    all_records, free_addr, run_test, wait_until, Cluster, Node, NodeSpec, NODE_START_TIMEOUT,
    SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
use serde_json::json;

const CHANGE_TIMEOUT: Duration = Duration::from_secs(60);

fn role_of(status: &ClusterStatus, id: u64) -> Option<MemberRole> {
    status
        .members
        .iter()
        .find(|member| member.id == id)
        .map(|member| member.role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_is_added_promoted_leads_and_a_voter_is_removed() {
    run_test(
        "membership_cli",
        Duration::from_secs(300),
        |context| async move {
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let admin = cluster.admin(1).await?;
            admin
                .collections()
                .create(&json!({"name": "notes", "listRule": "", "viewRule": "", "fields": [{"name": "text", "type": "text"}]}))
                .await?;
            for i in 0..20 {
                admin.records("notes").create(&json!({ "text": format!("n{i}") })).await?;
            }

            // Node 4 waits to be added instead of starting a cluster of its own.
            let certs = context.root().join("node4").join("certs");
            cluster.cli().certs_node(cluster.ca_dir(), 4, &certs).await?;
            let mut spec = NodeSpec::single(context.root(), "node4")?;
            spec.node_id = Some(4);
            spec.raft_addr = Some(free_addr()?);
            spec.certs_dir = Some(certs);
            spec.region = Some("ap".into());
            spec.extra_args = vec!["--wait-to-be-added".into()];
            let raft_addr = spec.raft_addr.expect("set above").to_string();
            let http_addr = spec.http_addr.to_string();
            let mut node4 = Node::start(spec)?;

            let env = [
                ("EDGEBASE_SUPERUSER_EMAIL", SUPERUSER_EMAIL),
                ("EDGEBASE_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD),
            ];
            let url = cluster.node(1).http_url();
            let cli = cluster.cli();
            cli.run_with_env(
                [
                    "cluster", "add-learner", "--node", &url, "4", "--raft-addr", &raft_addr,
                    "--http-addr", &http_addr, "--region", "ap",
                ],
                &env,
            )
            .await
            .context("add-learner")?;
            node4.wait_healthy(NODE_START_TIMEOUT).await?;
            let status = cluster.status(1).await?;
            ensure!(
                role_of(&status, 4) == Some(MemberRole::Learner),
                "node 4 is a learner: {status:?}"
            );

            // The learner has every record (its reads are local).
            let node4_client = node4.client()?;
            let node4_ref = &node4_client;
            wait_until("node 4 to have every record", CHANGE_TIMEOUT, move || async move {
                let records = all_records(node4_ref, "notes").await?;
                Ok((records.len() == 20).then_some(()))
            })
            .await?;

            cli.run_with_env(["cluster", "promote", "--node", &url, "4"], &env)
                .await
                .context("promote")?;
            let cluster_ref = &cluster;
            wait_until("node 4 to be a voter", CHANGE_TIMEOUT, move || async move {
                let status = cluster_ref.status(1).await?;
                Ok((role_of(&status, 4) == Some(MemberRole::Voter)).then_some(()))
            })
            .await?;

            cli.run_with_env(["cluster", "transfer-leader", "--node", &url, "4"], &env)
                .await
                .context("transfer-leader")?;
            wait_until("node 4 to lead", CHANGE_TIMEOUT, move || async move {
                let status = cluster_ref.status(2).await?;
                Ok((status.leader_id == Some(4)).then_some(()))
            })
            .await?;

            // The leader cannot be removed; another voter can.
            let refused = cli
                .run_with_env(["cluster", "remove", "--node", &url, "4"], &env)
                .await;
            ensure!(refused.is_err(), "removing the leader must be refused");
            cli.run_with_env(["cluster", "remove", "--node", &url, "3"], &env)
                .await
                .context("remove node 3")?;
            wait_until("node 3 to be gone", CHANGE_TIMEOUT, move || async move {
                let status = cluster_ref.status(1).await?;
                Ok(role_of(&status, 3).is_none().then_some(()))
            })
            .await?;

            // The reshaped cluster (1, 2, 4) still commits, led from node 4.
            let written = admin.records("notes").create(&json!({"text": "after"})).await?;
            let id = written
                .get("id")
                .and_then(|id| id.as_str())
                .context("created record id")?
                .to_string();
            node4_client.observe_index(admin.last_index());
            node4_client.records("notes").get(&id).await.context("read back at node 4")?;
            node4.kill9()?;
            Ok(())
        },
    )
    .await;
}
