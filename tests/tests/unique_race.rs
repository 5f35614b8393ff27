//! Two clients insert the same unique value through two different nodes at the same moment:
//! the unique index is enforced where every replica applies the log, so exactly one insert
//! wins, the other gets PocketBase's `validation_not_unique`, and all replicas agree.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use edgebase_client::{ClientError, Consistency};
use edgebase_tests::{
    all_records, run_test, seeded_rng, string_field, Cluster, NODE_START_TIMEOUT,
};
use rand::seq::SliceRandom;
use serde_json::json;

const COLLECTION: &str = "handles";
const ROUNDS: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_racing_unique_inserts_wins() {
    run_test(
        "unique_race",
        Duration::from_secs(300),
        |context| async move {
            let mut rng = seeded_rng("unique_race");
            let cluster = Cluster::builder(context.root()).size(3).start().await?;
            let ids = cluster.ids();
            let leader = cluster.wait_for_leader(&ids, NODE_START_TIMEOUT).await?;
            let admin = cluster.admin(leader).await?;
            admin
            .collections()
            .create(&json!({
                "name": COLLECTION,
                "type": "base",
                "fields": [{"name": "handle", "type": "text"}, {"name": "node", "type": "number"}],
                "indexes": ["CREATE UNIQUE INDEX idx_handles_handle ON handles (handle)"]
            }))
            .await
            .context("create the collection with a unique index")?;
            let created_at = admin.last_index();

            let mut winners = BTreeSet::new();
            for round in 0..ROUNDS {
                let pair: Vec<u64> = ids.choose_multiple(&mut rng, 2).copied().collect();
                let first = cluster.admin(pair[0]).await?;
                let second = cluster.admin(pair[1]).await?;
                // Both sessions must see the collection before racing on it.
                first.observe_index(created_at);
                second.observe_index(created_at);
                let handle = format!("handle-{round}");
                let (body_a, body_b) = (
                    json!({"handle": handle, "node": pair[0]}),
                    json!({"handle": handle, "node": pair[1]}),
                );
                let (records_a, records_b) =
                    (first.records(COLLECTION), second.records(COLLECTION));
                let (a, b) = tokio::join!(records_a.create(&body_a), records_b.create(&body_b));
                let outcomes = [(pair[0], a), (pair[1], b)];
                let mut won = Vec::new();
                for (node, outcome) in outcomes {
                    match outcome {
                        Ok(record) => won.push((node, string_field(&record, "id")?)),
                        Err(ClientError::Api(envelope))
                            if envelope.status == 400
                                && envelope.data["handle"]["code"]
                                    == json!("validation_not_unique") => {}
                        Err(other) => bail!("round {round}: node {node} answered {other}"),
                    }
                }
                ensure!(
                won.len() == 1,
                "round {round}: {} of the two racing inserts through nodes {pair:?} won: {won:?}",
                won.len()
            );
                winners.insert((handle, won[0].1.clone()));
            }

            // Every replica holds exactly the winners: one record per handle, the same ids.
            let last = admin.last_index();
            for id in &ids {
                let reader = cluster
                    .admin(*id)
                    .await?
                    .with_consistency(Consistency::Strong);
                reader.observe_index(last);
                let records = all_records(&reader, COLLECTION).await?;
                let held: BTreeSet<(String, String)> = records
                    .iter()
                    .map(|record| {
                        Ok((string_field(record, "handle")?, string_field(record, "id")?))
                    })
                    .collect::<anyhow::Result<_>>()?;
                ensure!(
                    held.len() == records.len(),
                    "node {id} holds duplicated handles: {records:?}"
                );
                ensure!(
                    held == winners,
                    "node {id} holds {held:?}, the winners were {winners:?}"
                );
            }
            eprintln!(
                "{ROUNDS} races, one winner each, {} replicas agree",
                ids.len()
            );
            Ok(())
        },
    )
    .await
}
