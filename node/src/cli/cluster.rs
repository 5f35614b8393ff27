//! `edgebase cluster status`: every member as a node sees it, as a table or JSON.

use anyhow::Context;
use clap::{Args, Subcommand};
use edgebase_client::wire::{ClusterStatus, MemberRole};
use edgebase_client::Client;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show every member: id, region, role, leader, term, applied index and lag.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// HTTP base URL of any node, e.g. http://127.0.0.1:8090.
    #[arg(long)]
    pub node: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, env = "EDGEBASE_SUPERUSER_EMAIL")]
    pub email: String,
    #[arg(long, env = "EDGEBASE_SUPERUSER_PASSWORD", hide_env_values = true)]
    pub password: String,
}

pub async fn run(command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status(args) => {
            let client = Client::new(&args.node).context("client")?;
            client
                .superuser_login(&args.email, &args.password)
                .await
                .context("log in as superuser")?;
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
    }
}

fn table(status: &ClusterStatus) -> String {
    let dash = |value: Option<u64>| value.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "{:<6} {:<10} {:<8} {:<6} {:<6} {:<10} {:<6} {:<9} {:<22} {}\n",
        "ID", "REGION", "ROLE", "LEADER", "TERM", "APPLIED", "LAG", "REACHABLE", "RAFT", "HTTP"
    );
    for member in &status.members {
        let role = match member.role {
            MemberRole::Voter => "voter",
            MemberRole::Learner => "learner",
        };
        out.push_str(&format!(
            "{:<6} {:<10} {:<8} {:<6} {:<6} {:<10} {:<6} {:<9} {:<22} {}\n",
            member.id,
            member.region,
            role,
            if member.is_leader { "*" } else { "" },
            dash(member.term),
            dash(member.last_applied_index),
            dash(member.lag),
            if member.reachable { "yes" } else { "no" },
            member.raft_addr,
            member.http_addr,
        ));
    }
    out
}
