//! `edgebase superuser upsert EMAIL PASSWORD`: through the running node's admin socket
//! when it is up, else by starting the node in-process just for the write.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::boot;
use crate::cli::ServeArgs;
use edgebase_api::admin_socket;
use edgebase_service::superusers;

#[derive(Debug, Subcommand)]
pub enum SuperuserCommand {
    /// Create a superuser, or set the password of an existing one.
    Upsert {
        email: String,
        password: String,
        /// Data directory of the node.
        #[arg(long, default_value = "./eb_data")]
        dir: PathBuf,
    },
}

pub async fn run(command: SuperuserCommand) -> anyhow::Result<()> {
    match command {
        SuperuserCommand::Upsert {
            email,
            password,
            dir,
        } => {
            if let Some(result) = admin_socket::upsert_superuser(&dir, &email, &password).await {
                result?;
            } else {
                std::fs::create_dir_all(&dir).context("create data dir")?;
                let args = ServeArgs::load(&dir)?.unwrap_or_else(|| ServeArgs::defaults_for(&dir));
                let booted = boot::start_node(&args).await?;
                let outcome = superusers::upsert(&booted.app, &email, &password).await;
                booted.shutdown().await;
                if let Err(error) = outcome {
                    bail!("{error}");
                }
            }
            eprintln!("Successfully saved superuser \"{email}\"!");
            Ok(())
        }
    }
}
