//! `edgebase cluster status|add-learner|promote|remove|transfer-leader`: inspect the cluster
//! and change its membership through any node's `/api/cluster/*` endpoints.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use edgebase_client::wire::{ClusterStatus, ErrorEnvelope, MemberRole};
use edgebase_client::Client;
use serde_json::{json, Value};

/// Membership changes wait for commits and catch-up; a leader transfer for an election.
const CHANGE_TIMEOUT_MS: u64 = 120_000;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show every member: id, region, role, leader, term, applied index and lag.
    Status(StatusArgs),
    /// Add a running node (certificate from the cluster CA) as a non-voting learner.
    AddLearner(AddLearnerArgs),
    /// Make a learner a voter.
    Promote(MemberArgs),
    /// Remove a member (not the leader: transfer leadership first; never the last voter).
    Remove(MemberArgs),
    /// Hand leadership to a voter; returns once it leads.
    TransferLeader(MemberArgs),
}

/// Which node to ask, and the superuser to ask as.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// HTTP base URL of any node, e.g. http://127.0.0.1:8090.
    #[arg(long)]
    pub node: String,
    #[arg(long, env = "EDGEBASE_SUPERUSER_EMAIL")]
    pub email: String,
    #[arg(long, env = "EDGEBASE_SUPERUSER_PASSWORD", hide_env_values = true)]
    pub password: String,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddLearnerArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Node id (the one in the node's certificate).
    pub id: u64,
    /// The learner's QUIC address for Raft traffic (`ip:port`).
    #[arg(long)]
    pub raft_addr: String,
    /// The learner's HTTP address (`ip:port`), shown in `cluster status`.
    #[arg(long, default_value = "")]
    pub http_addr: String,
    /// The learner's region label.
    #[arg(long, default_value = "")]
    pub region: String,
}

#[derive(Debug, Args)]
pub struct MemberArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Node id of the member.
    pub id: u64,
}

pub async fn run(command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status(args) => {
            let client = login(&args.connect).await?;
            let status = client
                .cluster_status()
                .await
                .context("read cluster status")?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", table(&status));
            }
            Ok(())
        }
        ClusterCommand::AddLearner(args) => {
            let body = json!({
                "id": args.id,
                "raftAddr": args.raft_addr,
                "httpAddr": args.http_addr,
                "region": args.region,
            });
            send(
                &args.connect,
                reqwest::Method::POST,
                "api/cluster/learners",
                Some(body),
            )
            .await
            .context("add learner")?;
            println!("node {} added as a learner", args.id);
            Ok(())
        }
        ClusterCommand::Promote(args) => {
            let path = format!("api/cluster/members/{}/promote", args.id);
            send(&args.connect, reqwest::Method::POST, &path, None)
                .await
                .context("promote")?;
            println!("node {} is a voter", args.id);
            Ok(())
        }
        ClusterCommand::Remove(args) => {
            let path = format!("api/cluster/members/{}", args.id);
            send(&args.connect, reqwest::Method::DELETE, &path, None)
                .await
                .context("remove member")?;
            println!("node {} removed", args.id);
            Ok(())
        }
        ClusterCommand::TransferLeader(args) => {
            let body = json!({ "id": args.id });
            send(
                &args.connect,
                reqwest::Method::POST,
                "api/cluster/leader",
                Some(body),
            )
            .await
            .context("transfer leadership")?;
            println!("node {} leads", args.id);
            Ok(())
        }
    }
}

pub(crate) async fn login(connect: &ConnectArgs) -> anyhow::Result<Client> {
    let client = Client::new(&connect.node).context("client")?;
    client
        .superuser_login(&connect.email, &connect.password)
        .await
        .context("log in as superuser")?;
    Ok(client)
}

/// Send one superuser request to `connect.node` + `path`; a non-2xx answer becomes an error
/// carrying the server's message.
async fn send(
    connect: &ConnectArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<()> {
    let client = login(connect).await?;
    let token = client.token().context("no token after login")?;
    let url = format!("{}/{path}", connect.node.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(CHANGE_TIMEOUT_MS))
        .build()
        .context("HTTP client")?;
    let mut request = http
        .request(method, &url)
        .header(reqwest::header::AUTHORIZATION, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("send to {url}"))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(envelope) => bail!("{} {}", envelope.status, envelope.message),
        Err(_) => bail!("{status}: {text}"),
    }
}

fn table(status: &ClusterStatus) -> String {
    let dash = |value: Option<u64>| value.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "{} voters, quorum {}, {} more can fail now\n",
        status.voters, status.quorum, status.fault_tolerance
    );
    out.push_str(&format!(
        "{:<6} {:<10} {:<8} {:<6} {:<6} {:<10} {:<6} {:<8} {:<9} {:<22} {}\n",
        "ID",
        "REGION",
        "ROLE",
        "LEADER",
        "TERM",
        "APPLIED",
        "LAG",
        "LAG MS",
        "REACHABLE",
        "RAFT",
        "HTTP"
    ));
    for member in &status.members {
        let role = match member.role {
            MemberRole::Voter => "voter",
            MemberRole::Learner => "learner",
        };
        out.push_str(&format!(
            "{:<6} {:<10} {:<8} {:<6} {:<6} {:<10} {:<6} {:<8} {:<9} {:<22} {}\n",
            member.id,
            member.region,
            role,
            if member.is_leader { "*" } else { "" },
            dash(member.term),
            dash(member.last_applied_index),
            dash(member.lag),
            dash(member.lag_ms),
            if member.reachable { "yes" } else { "no" },
            member.raft_addr,
            member.http_addr,
        ));
    }
    for rtt in &status.region_rtts {
        out.push_str(&format!("rtt {} <-> {}: {} ms\n", rtt.from, rtt.to, rtt.ms));
    }
    out
}
