//! The `edgebase` binary: parse the command line, set up logging, run the command.

use std::io::IsTerminal;

use clap::Parser;
use edgebase_node::cli::{self, Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let default_level = match cli.command {
        // openraft narrates every election and membership step at info.
        Command::Serve(_) => "info,openraft=warn",
        _ => "warn",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    match cli.command {
        Command::Serve(args) => edgebase_node::serve::run(*args).await,
        Command::Superuser(command) => cli::superuser::run(command).await,
        Command::Certs(command) => cli::certs::run(command),
        Command::Cluster(command) => cli::cluster::run(command).await,
        Command::Backup(command) => cli::backup::run(command).await,
        Command::Hooks(command) => cli::hooks::run(command).await,
        Command::Restore(args) => cli::restore::run(args).await,
    }
}
