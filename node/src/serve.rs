//! `edgebase serve`: listen for HTTP (and HTTPS, `crate::https`), start the node and serve
//! the API until asked to stop.
//!
//! The listeners come up first and answers 503 (health included) until the node has started,
//! joined or created its cluster, and has its system collections; a node that cannot get
//! there logs why and exits with an error instead of serving.

use std::time::Duration;

use anyhow::Context;
use futures::FutureExt;

use edgebase_api as api;
use edgebase_api::admin_socket;
use edgebase_api::http_server::{self, HttpLimits, RouterSlot};
use edgebase_service::superusers;

use crate::boot::{self, StartedNode};
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    api::panic::log_panics_with_tracing();
    if args.fault_injection {
        crate::fault_injection::toggle_slow_disk_on_sigusr1()
            .context("listen for SIGUSR1 (--fault-injection)")?;
    }
    let edge = &args.http_edge;
    let limits = HttpLimits {
        connections_max: edge.http_connections_max,
        header_read_timeout: Duration::from_millis(edge.http_header_read_timeout_ms),
        write_stall_timeout: Duration::from_millis(edge.http_write_stall_timeout_ms),
    };
    // Before any connection is accepted: a connection counted by no recorder would be
    // uncounted when it closes, and the open-connections gauge would read low.
    api::metrics::install().context("start metrics")?;
    let routers = RouterSlot::new(api::health::starting_router());
    let listeners = crate::https::public_listeners(&args, &routers).await?;
    let shutdown = shutdown_signal().boxed().shared();
    // The listeners close only once the node has stepped down (`crate::stop`).
    let (close_listeners, listeners_closed) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http_server::serve(listeners, limits, async move {
        let _ = listeners_closed.await;
    }));
    tracing::info!(
        http = %args.http,
        https = ?args.https.https,
        "listening; the API is served once the node has started"
    );
    let node = tokio::select! {
        started = start(&args) => match started {
            Ok(node) => node,
            Err(error) => {
                let reason = format!("{error:#}");
                tracing::error!(%reason, "the node cannot start; exiting");
                return Err(error);
            }
        },
        () = shutdown.clone() => {
            tracing::info!("stopped while starting");
            let _ = close_listeners.send(());
            server.await.context("serve HTTP")?;
            return Ok(());
        }
    };
    let app = node.app.clone();
    let request_timeout = Duration::from_secs(edge.http_request_timeout_secs);
    routers.set_ready(api::router(
        app.clone(),
        node.hub.clone(),
        node.hooks.clone(),
        request_timeout,
        &edge.origins,
    ));
    tracing::info!(
        http = %args.http,
        raft = %args.raft_addr(),
        node_id = app.consensus().node_id(),
        "EdgeBase is serving"
    );
    let console_url = console_url(&args);
    tracing::info!(url = %console_url, "the admin console");
    if args.join.is_none() && !args.wait_to_be_added {
        match superusers::installer_token(&app).await {
            Ok(Some(token)) => tracing::warn!(
                url = %format!("{console_url}#/pbinstall/{token}"),
                "no superuser yet: open this link within 30 minutes to create the first one \
                 (or run `edgebase superuser upsert EMAIL PASSWORD`)"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not make the first-run installer link"),
        }
    }
    shutdown.await;
    crate::stop::step_down(&app, &node.hub).await;
    let _ = close_listeners.send(());
    server.await.context("serve HTTP")?;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

/// Start the node and open the admin socket.
async fn start(args: &ServeArgs) -> anyhow::Result<StartedNode> {
    let node = boot::start_node(args).await?;
    admin_socket::serve(node.app.clone(), &args.dir)
        .await
        .context("open the admin socket")?;
    Ok(node)
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

/// The console's address on this node: on HTTPS when it is on (by the first ACME name, if
/// any), else on HTTP; a wildcard listen address is shown as loopback.
fn console_url(args: &ServeArgs) -> String {
    let (scheme, addr) = match args.https.https {
        Some(https) => ("https", https),
        None => ("http", args.http),
    };
    let host = match (args.https.https, args.https.acme_domains.first(), addr.ip()) {
        (Some(_), Some(domain), _) => domain.clone(),
        (_, _, ip) if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        (_, _, ip) if ip.is_unspecified() => "[::1]".to_owned(),
        (_, _, std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        (_, _, ip) => ip.to_string(),
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    if addr.port() == default_port {
        format!("{scheme}://{host}/_/")
    } else {
        format!("{scheme}://{host}:{}/_/", addr.port())
    }
}
