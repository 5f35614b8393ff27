//! A node killed (no CONNECTION_CLOSE sent: its runtime stops under it) and started again
//! on the same address with the same certificate answers its earlier incarnation's
//! connections with stateless resets its peers accept: a peer's connection ends with
//! `Reset` at its next keep-alive, not by timing out while requests go into it.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context};
use common::Ca;
use edgebase_consensus::tls::node_server_name;
use edgebase_consensus::transport::QuicTransport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_resets_its_earlier_connections() -> anyhow::Result<()> {
    common::bounded(scenario()).await
}

/// Run node 2's endpoint on a runtime of its own (one thread), accepting connections and
/// keeping them, until `crash` fires; then drop that runtime under it, so nothing is sent
/// on the way out.
fn start_doomed(
    tls: edgebase_consensus::tls::TlsMaterial,
) -> anyhow::Result<(
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
)> {
    let (crash, crashed) = tokio::sync::oneshot::channel::<()>();
    let (bound, bound_at) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let transport = runtime.block_on(async move {
            let transport = QuicTransport::bind("127.0.0.1:0".parse().expect("an address"), &tls)
                .expect("bind node 2");
            bound
                .send(transport.local_addr().expect("bound"))
                .expect("the test waits");
            let endpoint = transport.endpoint().clone();
            tokio::spawn(async move {
                // Kept open until the crash drops them with the runtime.
                let mut connections = Vec::new();
                while let Some(incoming) = endpoint.accept().await {
                    if let Ok(connection) = incoming.await {
                        connections.push(connection);
                    }
                }
            });
            let _ = crashed.await;
            transport
        });
        // Every task (the endpoint's driver, the connections') is dropped here, unpolled,
        // so nothing goes out; the socket closes with the last handle.
        drop(runtime);
        drop(transport);
    });
    let addr = bound_at
        .recv_timeout(Duration::from_secs(10))
        .context("node 2 bound")?;
    Ok((addr, crash, thread))
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let node2_paths = ca.issue(2, &dir.path().join("node2"))?;
    let (addr, crash, thread) = start_doomed(node2_paths.load()?)?;

    let node1 = ca.issue(1, &dir.path().join("node1"))?.load()?;
    let client = QuicTransport::bind("127.0.0.1:0".parse()?, &node1)?;
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(Duration::from_millis(200)))
        .max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
            30_000,
        ))));
    let config = node1.client_config(Arc::new(transport))?;
    let connection = client
        .endpoint()
        .connect_with(config, addr, &node_server_name(2))?
        .await
        .context("connect to node 2")?;

    // Until the handshake is confirmed the client still sends long-header packets, which
    // no endpoint answers with a reset; a cluster's connections are long past that.
    common::wait_until(
        "the handshake to be confirmed",
        Duration::from_secs(10),
        || connection.stats().frame_rx.handshake_done > 0,
    )
    .await?;

    // Node 2 dies without a word, then starts again where it was.
    crash.send(()).ok();
    thread.join().ok();
    // The stopped runtime's threads let go of the socket in the background.
    let node2 = node2_paths.load()?;
    let mut restarted = None;
    common::wait_until(
        "node 2's address to be free",
        Duration::from_secs(10),
        || {
            restarted = QuicTransport::bind(addr, &node2).ok();
            restarted.is_some()
        },
    )
    .await?;
    let restarted = restarted.context("node 2 bound again")?;

    let reason = tokio::time::timeout(Duration::from_secs(20), connection.closed())
        .await
        .context("the earlier connection was never closed")?;
    ensure!(
        matches!(reason, quinn::ConnectionError::Reset),
        "the earlier connection ended by {reason:?}, not by a stateless reset"
    );
    restarted.close();
    client.close();
    Ok(())
}
