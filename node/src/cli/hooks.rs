//! `edgebase hooks deploy|status|withdraw`: the cluster's JavaScript hooks through any
//! node's `/api/hooks`, as a superuser. A deploy sends the folder's files as one bundle; the
//! cluster replicates it and every node swaps it in; `status` shows, node by node, which
//! bundle each runs.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use edgebase_hooks::Bundle;
use serde_json::Value;

use super::api_http::{http, refused, url};
use super::cluster::{login, ConnectArgs};

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Deploy a `pb_hooks` folder to every node (it replaces the nodes' own folders).
    Deploy(DeployArgs),
    /// Show the deployed bundle and the one each node runs.
    Status(StatusArgs),
    /// Withdraw the deployed bundle: every node goes back to its own `pb_hooks` folder.
    Withdraw(StatusArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The folder to deploy (its `*.pb.js` files and everything they `require()`).
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub async fn run(command: HooksCommand) -> anyhow::Result<()> {
    match command {
        HooksCommand::Deploy(args) => deploy(args).await,
        HooksCommand::Status(args) => status(args).await,
        HooksCommand::Withdraw(args) => withdraw(args).await,
    }
}

async fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    if !args.dir.is_dir() {
        bail!("{} is not a folder", args.dir.display());
    }
    let bundle =
        Bundle::read_dir(&args.dir).with_context(|| format!("read {}", args.dir.display()))?;
    if bundle.entries().next().is_none() {
        bail!(
            "{} has no *.pb.js file at its top level",
            args.dir.display()
        );
    }
    let client = login(&args.connect).await?;
    let token = client.token().context("no token after login")?;
    let response = http()?
        .post(url(&args.connect, "api/hooks"))
        .header(reqwest::header::AUTHORIZATION, &token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bundle.encode())
        .send()
        .await
        .context("send the bundle")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let deployed: Value = response.json().await.context("read the answer")?;
    println!(
        "deployed {} files, bundle {}",
        deployed["files"],
        deployed["hash"].as_str().unwrap_or_default()
    );
    Ok(())
}

async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let client = login(&args.connect).await?;
    let token = client.token().context("no token after login")?;
    let response = http()?
        .get(url(&args.connect, "api/hooks"))
        .header(reqwest::header::AUTHORIZATION, &token)
        .send()
        .await
        .context("ask for the hooks")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let hooks: Value = response.json().await.context("read the answer")?;
    match hooks["deployed"]["hash"].as_str() {
        Some(hash) => println!(
            "deployed bundle: {hash} ({} files, {})",
            hooks["deployed"]["files"],
            hooks["deployed"]["deployed"].as_str().unwrap_or_default()
        ),
        None => println!("no bundle deployed: each node runs its own pb_hooks folder"),
    }
    let cluster = client
        .cluster_status()
        .await
        .context("ask for the cluster status")?;
    println!("{:<6} {:<10} {:<10} BUNDLE", "NODE", "REGION", "SOURCE");
    for member in &cluster.members {
        println!(
            "{:<6} {:<10} {:<10} {}",
            member.id,
            member.region,
            member.hooks_source.as_deref().unwrap_or("-"),
            member.hooks_hash.as_deref().unwrap_or("-"),
        );
    }
    for error in hooks["running"]["errors"].as_array().into_iter().flatten() {
        println!(
            "this node could not load {}: {}",
            error["file"].as_str().unwrap_or_default(),
            error["message"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

async fn withdraw(args: StatusArgs) -> anyhow::Result<()> {
    let client = login(&args.connect).await?;
    let token = client.token().context("no token after login")?;
    let response = http()?
        .delete(url(&args.connect, "api/hooks"))
        .header(reqwest::header::AUTHORIZATION, &token)
        .send()
        .await
        .context("withdraw the bundle")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    println!("withdrawn: every node goes back to its own pb_hooks folder");
    Ok(())
}
