//! The cluster under test: three voters and a learner in the region harness's namespaces
//! (partitions are real packet drops), with the operator calls the faults need.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use edgebase_client::wire::{ClusterStatus, MemberRole};
use serde_json::{json, Value};

use super::client::{LEDGER_COLLECTION, RECORDS_COLLECTION};
use crate::raw::{RawBody, RawClient};
use crate::regions::Regions;
use crate::wait::wait_until;

/// Three voters in one region, a learner at the edge.
pub const TOPOLOGY: &str = "n1:eu:voter,n2:eu:voter,n3:eu:voter,n4:us:learner";
/// Take snapshots often, so catch-ups install them.
const SNAPSHOT_THRESHOLD: &str = "300";
const SUPERUSER_EMAIL: &str = "admin@regions.test";
const SUPERUSER_PASSWORD: &str = "regions-password-123";
/// How long an operator call may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct NemesisCluster {
    pub regions: Regions,
    admins: Vec<(String, RawClient)>,
    token: String,
}

impl NemesisCluster {
    /// Bring up the namespaces and nodes (with the planted bug when asked), log in, and
    /// make the two collections the workload uses.
    pub async fn start(state_dir: &Path, planted_bug: bool) -> anyhow::Result<NemesisCluster> {
        let mut regions = Regions::up(state_dir, Some(TOPOLOGY)).await?;
        let mut node_args = vec![
            "--snapshot-threshold",
            SNAPSHOT_THRESHOLD,
            "--fault-injection",
        ];
        if planted_bug {
            node_args.push("--planted-bug-stale-reads");
        }
        regions.set_node_args(&node_args);
        regions.start().await?;
        let admins = regions
            .nodes()
            .iter()
            .map(|node| {
                Ok((
                    node.name.clone(),
                    RawClient::with_timeout(&node.http_url(), ADMIN_TIMEOUT)?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let login = admins[0]
            .1
            .send(
                "POST",
                "/api/collections/_superusers/auth-with-password",
                None,
                RawBody::Json(
                    json!({ "identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD }),
                ),
                &[],
            )
            .await?;
        let token = login
            .json
            .as_ref()
            .and_then(|json| json.get("token"))
            .and_then(Value::as_str)
            .with_context(|| format!("superuser login: {} {}", login.status, login.text))?
            .to_owned();
        let cluster = NemesisCluster {
            regions,
            admins,
            token,
        };
        cluster.create_collections().await?;
        Ok(cluster)
    }

    async fn create_collections(&self) -> anyhow::Result<()> {
        let open_rules = json!({
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""
        });
        for (name, fields) in [
            (
                RECORDS_COLLECTION,
                json!([{ "name": "value", "type": "text" }]),
            ),
            (LEDGER_COLLECTION, json!([])),
        ] {
            let mut body = json!({ "name": name, "type": "base", "fields": fields });
            body.as_object_mut()
                .expect("an object")
                .extend(open_rules.as_object().expect("an object").clone());
            self.admin_call("n1", "POST", "/api/collections", body, &[200])
                .await?;
        }
        self.admin_call(
            "n1",
            "PATCH",
            "/api/settings",
            json!({ "batch": { "enabled": true, "maxRequests": 10, "timeout": 5 } }),
            &[200],
        )
        .await?;
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        self.admins.iter().map(|(name, _)| name.clone()).collect()
    }

    pub fn url(&self, name: &str) -> anyhow::Result<String> {
        Ok(self.regions.node(name)?.http_url())
    }

    pub fn id_of(&self, name: &str) -> anyhow::Result<u64> {
        Ok(self.regions.node(name)?.id)
    }

    pub fn name_of(&self, id: u64) -> anyhow::Result<String> {
        self.regions
            .nodes()
            .iter()
            .find(|node| node.id == id)
            .map(|node| node.name.clone())
            .with_context(|| format!("no node with id {id}"))
    }

    fn admin(&self, name: &str) -> anyhow::Result<&RawClient> {
        self.admins
            .iter()
            .find(|(node, _)| node == name)
            .map(|(_, client)| client)
            .with_context(|| format!("no node {name}"))
    }

    /// A superuser call at `node` that must answer one of `expected`.
    pub async fn admin_call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        body: Value,
        expected: &[u16],
    ) -> anyhow::Result<Option<Value>> {
        let body = if body.is_null() {
            RawBody::None
        } else {
            RawBody::Json(body)
        };
        let auth = format!("Bearer {}", self.token);
        let response = self
            .admin(node)?
            .send(method, path, Some(&auth), body, &[])
            .await?;
        if !expected.contains(&response.status) {
            bail!(
                "{method} {path} at {node}: {} {}",
                response.status,
                response.text
            );
        }
        Ok(response.json)
    }

    pub async fn status(&self, node: &str) -> anyhow::Result<ClusterStatus> {
        let json = self
            .admin_call(node, "GET", "/api/cluster/status", Value::Null, &[200])
            .await?
            .context("status without a body")?;
        Ok(serde_json::from_value(json)?)
    }

    /// The leader as the first of `among` that answers and names one sees it.
    pub async fn leader(&self, among: &[String], timeout: Duration) -> anyhow::Result<String> {
        wait_until("a node that names a leader", timeout, || async {
            for name in among {
                if let Ok(status) = self.status(name).await {
                    if let Some(leader) = status.leader_id {
                        return Ok(Some(self.name_of(leader)?));
                    }
                }
            }
            Ok(None)
        })
        .await
    }

    /// Names of the voters as `node` sees them.
    pub async fn voters(&self, node: &str) -> anyhow::Result<Vec<String>> {
        let status = self.status(node).await?;
        status
            .members
            .iter()
            .filter(|member| member.role == MemberRole::Voter)
            .map(|member| self.name_of(member.id))
            .collect()
    }

    /// `(applied index, sha256)` of `node`'s state.
    pub async fn state_hash(&self, node: &str) -> anyhow::Result<(u64, String)> {
        let json = self
            .admin_call(node, "GET", "/api/cluster/state-hash", Value::Null, &[200])
            .await?
            .context("state hash without a body")?;
        let index = json
            .get("appliedIndex")
            .and_then(Value::as_u64)
            .context("appliedIndex")?;
        let sha = json
            .get("sha256")
            .and_then(Value::as_str)
            .context("sha256")?
            .to_owned();
        Ok((index, sha))
    }
}
