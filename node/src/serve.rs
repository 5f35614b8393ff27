//! `edgebase serve`: start the node and serve HTTP until asked to stop.

use std::time::Duration;

use anyhow::Context;

use crate::admin_socket;
use crate::api;
use crate::api::http_server::{self, HttpLimits};
use crate::boot;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    api::panic::log_panics_with_tracing();
    let node = boot::start_node(&args).await?;
    let app = node.app.clone();
    admin_socket::serve(app.clone(), &args.dir)
        .await
        .context("open the admin socket")?;
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("listen on {}", args.http))?;
    tracing::info!(
        http = %args.http,
        raft = %args.raft_addr(),
        node_id = app.consensus().node_id(),
        "EdgeBase is serving"
    );
    let edge = &args.http_edge;
    let limits = HttpLimits {
        connections_max: edge.http_connections_max,
        header_read_timeout: Duration::from_millis(edge.http_header_read_timeout_ms),
    };
    let request_timeout = Duration::from_secs(edge.http_request_timeout_secs);
    let router = api::router(app, request_timeout);
    http_server::serve(listener, router, limits, shutdown_signal()).await;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                let _ = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
