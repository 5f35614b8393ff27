//! `edgebase certs`: the cluster CA and per-node certificates for mutual TLS.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use edgebase_consensus::tls;

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a new cluster CA (`ca.crt`, `ca.key`).
    Ca {
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a node certificate signed by the CA (`node.crt`, `node.key`, `ca.crt`).
    Node {
        /// Directory holding the CA's `ca.crt` and `ca.key`.
        #[arg(long)]
        ca: PathBuf,
        #[arg(long)]
        node_id: u64,
        #[arg(long)]
        out: PathBuf,
        /// Extra host names or IP addresses for the certificate.
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
}

pub fn run(command: CertsCommand) -> anyhow::Result<()> {
    match command {
        CertsCommand::Ca { out } => {
            tls::generate_ca(&out).context("create CA")?;
            eprintln!("CA written to {}", out.display());
        }
        CertsCommand::Node {
            ca,
            node_id,
            out,
            hosts,
        } => {
            tls::generate_node_cert(&ca, node_id, &hosts, &out)
                .context("create node certificate")?;
            eprintln!(
                "certificate for node {node_id} written to {}",
                out.display()
            );
        }
    }
    Ok(())
}
