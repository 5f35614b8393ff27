//! `EtcdCluster`: a three-member etcd cluster (Debian's `etcd-server`) on loopback ports,
//! started by the bench in a temporary directory, killed on drop.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::child_process::ChildProcess;
use crate::driver::read_bounded;
use crate::edgebase_cluster::path_arg;
use crate::ports::free_port;
use crate::wait::{wait_http_ok, wait_until};

const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct EtcdCluster {
    members: Vec<ChildProcess>,
    client_urls: Vec<String>,
    http: reqwest::Client,
    _root: tempfile::TempDir,
}

impl EtcdCluster {
    pub async fn start(binary: &Path, size: usize) -> anyhow::Result<EtcdCluster> {
        let root = tempfile::Builder::new()
            .prefix("etcd-bench-")
            .tempdir()
            .context("make a temporary directory")?;
        let mut ports = Vec::with_capacity(size);
        for _ in 0..size {
            ports.push((free_port()?, free_port()?));
        }
        let initial_cluster = ports
            .iter()
            .enumerate()
            .map(|(index, (_, peer))| format!("m{}=http://127.0.0.1:{peer}", index + 1))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::with_capacity(size);
        let mut client_urls = Vec::with_capacity(size);
        for (index, (client, peer)) in ports.iter().enumerate() {
            let name = format!("m{}", index + 1);
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let args = [
                "--name".to_owned(),
                name.clone(),
                "--data-dir".to_owned(),
                path_arg(&root.path().join(&name)),
                "--listen-client-urls".to_owned(),
                client_url.clone(),
                "--advertise-client-urls".to_owned(),
                client_url.clone(),
                "--listen-peer-urls".to_owned(),
                peer_url.clone(),
                "--initial-advertise-peer-urls".to_owned(),
                peer_url,
                "--initial-cluster".to_owned(),
                initial_cluster.clone(),
                "--initial-cluster-token".to_owned(),
                "edgebase-bench".to_owned(),
                "--initial-cluster-state".to_owned(),
                "new".to_owned(),
                "--logger".to_owned(),
                "zap".to_owned(),
                "--log-level".to_owned(),
                "warn".to_owned(),
            ];
            members.push(ChildProcess::spawn(
                &format!("etcd {name}"),
                binary,
                &args,
                &root.path().join(format!("{name}.log")),
            )?);
            client_urls.push(client_url);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        for (member, url) in members.iter_mut().zip(&client_urls) {
            wait_http_ok(&http, &format!("{url}/health"), member, START_TIMEOUT).await?;
        }
        let cluster = EtcdCluster {
            members,
            client_urls,
            http,
            _root: root,
        };
        wait_until("an etcd leader", START_TIMEOUT, || async {
            Ok(cluster.leader_and_follower().await.is_ok())
        })
        .await?;
        Ok(cluster)
    }

    /// The client URLs of the current leader and of one follower.
    pub async fn leader_and_follower(&self) -> anyhow::Result<(String, String)> {
        let mut leader = None;
        let mut follower = None;
        for url in &self.client_urls {
            let response = self
                .http
                .post(format!("{url}/v3/maintenance/status"))
                .json(&serde_json::json!({}))
                .send()
                .await?
                .error_for_status()?;
            let status: Value = serde_json::from_slice(&read_bounded(response).await?)?;
            let member_id = status["header"]["member_id"].as_str().unwrap_or_default();
            let leader_id = status["leader"].as_str().unwrap_or_default();
            if !leader_id.is_empty() && member_id == leader_id {
                leader = Some(url.clone());
            } else if follower.is_none() {
                follower = Some(url.clone());
            }
        }
        Ok((
            leader.context("no etcd member is the leader")?,
            follower.context("no etcd follower")?,
        ))
    }

    pub async fn stop(self) {
        for member in self.members {
            member.stop().await;
        }
    }
}
