//! The `edgebase` command line: `serve`, `superuser`, `certs`, `cluster`, `backup`,
//! `restore`.

mod api_http;
pub mod backup;
pub mod certs;
pub mod cluster;
pub mod hooks;
pub mod hooks_args;
pub mod https_args;
mod progress;
pub mod restore;
pub mod serve_args;
pub mod superuser;

use clap::{Parser, Subcommand};

pub use serve_args::ServeArgs;

#[derive(Debug, Parser)]
#[command(
    name = "edgebase",
    version,
    about = "A replicated, PocketBase-compatible backend in one binary"
)]
pub struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one object a line,
    /// with the span fields) for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "EDGEBASE_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a node (a single-node cluster by default).
    Serve(Box<ServeArgs>),
    /// Manage superusers.
    #[command(subcommand)]
    Superuser(superuser::SuperuserCommand),
    /// Create the cluster CA and node certificates.
    #[command(subcommand)]
    Certs(certs::CertsCommand),
    /// Inspect and change cluster membership.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Make, list and download backups of a running cluster.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Deploy JavaScript hooks (a `pb_hooks` folder) to every node, or inspect them.
    #[command(subcommand)]
    Hooks(hooks::HooksCommand),
    /// Seed a new data dir from a backup archive (a node started on it founds a new
    /// cluster with the backup's state and files).
    Restore(restore::RestoreArgs),
}
