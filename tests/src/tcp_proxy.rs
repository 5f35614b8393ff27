//! A load balancer for tests: a TCP proxy on loopback that sends each new connection to the
//! first of its backends that accepts one, so a client keeps one address while the node
//! behind it changes (a killed node's connections end, and the client's next connection
//! goes to the next node). It can be closed to new connections for a while, to hold a
//! client off.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};

/// How long a backend may take to accept before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A running proxy; dropping it stops accepting (connections already made run on).
pub struct TcpProxy {
    addr: SocketAddr,
    /// While false, new connections are closed at once (connections already made run on).
    open: Arc<AtomicBool>,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl TcpProxy {
    /// Listen on a free loopback port in front of `backends`, tried in order.
    pub async fn start(backends: Vec<SocketAddr>) -> anyhow::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the proxy")?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let accepting = Arc::clone(&open);
        let accept_loop = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accepting.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let backends = backends.clone();
                tokio::spawn(async move {
                    if let Some(mut backend) = first_reachable(&backends).await {
                        let mut client = client;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
                    }
                });
            }
        });
        Ok(TcpProxy {
            addr,
            open,
            accept_loop,
        })
    }

    /// Close new connections at once (`false`), or forward them again (`true`).
    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::Release);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn first_reachable(backends: &[SocketAddr]) -> Option<TcpStream> {
    for backend in backends {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(backend)).await
        {
            return Some(stream);
        }
    }
    None
}
