//! `edgebase serve`: start the node and serve HTTP until asked to stop.

use anyhow::Context;

use edgebase_api::admin_socket;
use crate::boot;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
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
    edgebase_api::server::serve(listener, app, shutdown_signal())
        .await
        .context("serve HTTP")?;
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
