//! `edgebase backup create|list|download`: the backups API of any node, as a superuser.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::api_http::{http, refused, url};
use super::cluster::{login, ConnectArgs};
use super::progress::Progress;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Back up the cluster's state and files (taken by the node asked, kept by the cluster).
    Create(CreateArgs),
    /// List the cluster's backups.
    List(ListArgs),
    /// Download a backup archive.
    Download(DownloadArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The backup's name (`[a-z0-9_-]+.zip`); generated when left out.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The backup's key, as listed.
    pub key: String,
    /// Where to write it (default: the key, in the current directory). An existing file is
    /// not replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct Listed {
    key: String,
    size: u64,
    modified: String,
}

pub async fn run(command: BackupCommand) -> anyhow::Result<()> {
    match command {
        BackupCommand::Create(args) => create(args).await,
        BackupCommand::List(args) => list(args).await,
        BackupCommand::Download(args) => download(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let client = login(&args.connect).await?;
    let token = client.token().context("no token after login")?;
    let body = match &args.name {
        Some(name) => json!({ "name": name }),
        None => json!({}),
    };
    let progress = Progress::spinner("creating the backup");
    let response = http()?
        .post(url(&args.connect, "api/backups"))
        .header(reqwest::header::AUTHORIZATION, &token)
        .json(&body)
        .send()
        .await
        .context("send the backup request")?;
    if !response.status().is_success() {
        progress.finish("backup failed");
        return Err(refused(response).await);
    }
    progress.finish("backup created");
    let listed = fetch_list(&args.connect, &token).await?;
    // The newest backup is the one just made (when no name was given).
    let made = match &args.name {
        Some(name) => listed.iter().find(|backup| &backup.key == name),
        None => listed.iter().max_by(|a, b| a.modified.cmp(&b.modified)),
    };
    match made {
        Some(backup) => println!("{} ({} bytes)", backup.key, backup.size),
        None => println!("created"),
    }
    Ok(())
}

async fn fetch_list(connect: &ConnectArgs, token: &str) -> anyhow::Result<Vec<Listed>> {
    let response = http()?
        .get(url(connect, "api/backups"))
        .header(reqwest::header::AUTHORIZATION, token)
        .send()
        .await
        .context("list backups")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    response.json().await.context("read the backup list")
}

async fn list(args: ListArgs) -> anyhow::Result<()> {
    let client = login(&args.connect).await?;
    let token = client.token().context("no token after login")?;
    let listed = fetch_list(&args.connect, &token).await?;
    if args.json {
        let rows: Vec<_> = listed
            .iter()
            .map(|b| json!({"key": b.key, "size": b.size, "modified": b.modified}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<60} {:>14} MODIFIED", "KEY", "SIZE");
    for backup in &listed {
        println!("{:<60} {:>14} {}", backup.key, backup.size, backup.modified);
    }
    Ok(())
}

async fn download(args: DownloadArgs) -> anyhow::Result<()> {
    let client = login(&args.connect).await?;
    let token = client.token().context("no token after login")?;
    let http = http()?;
    let response = http
        .post(url(&args.connect, "api/files/token"))
        .header(reqwest::header::AUTHORIZATION, &token)
        .send()
        .await
        .context("get a file token")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    #[derive(Deserialize)]
    struct FileToken {
        token: String,
    }
    let file_token: FileToken = response.json().await.context("read the file token")?;
    let mut response = http
        .get(url(&args.connect, &format!("api/backups/{}", args.key)))
        .query(&[("token", file_token.token)])
        .send()
        .await
        .context("download the backup")?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from(&args.key));
    if out.exists() {
        bail!("{} exists already; choose another --out", out.display());
    }
    let partial = out.with_extension("zip.part");
    let mut file = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("create {}", partial.display()))?;
    let progress = Progress::bytes(
        &format!("downloading {}", args.key),
        response.content_length().unwrap_or(0),
    );
    while let Some(chunk) = response.chunk().await.context("read the download")? {
        file.write_all(&chunk)
            .await
            .with_context(|| format!("write {}", partial.display()))?;
        progress.advance(chunk.len() as u64);
    }
    file.sync_all().await.context("sync the download")?;
    tokio::fs::rename(&partial, &out)
        .await
        .with_context(|| format!("move the download to {}", out.display()))?;
    progress.finish(&format!("downloaded {} to {}", args.key, out.display()));
    Ok(())
}
