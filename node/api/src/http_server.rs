//! The HTTP edge: the accept loops of the public listeners, plain or TLS (a cap on
//! connections, a header-read timeout, a write-stall timeout, graceful shutdown), the request
//! timeout, and the switch from the starting answers to the node's router.
//!
//! When `connections_max` connections are open (all listeners together) the loops stop
//! accepting: new connections wait in the kernel's accept backlog (and once that is full the
//! kernel drops their SYNs, so clients retry) until one ends. Waiting rather than closing them lets a burst through a
//! moment later instead of failing it; clients bound their own connect and request times.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::error::ApiError;

/// How long a failed `accept` (out of file descriptors, say) pauses the loop.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// Longest shutdown waits for open connections to finish their requests.
const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds at the HTTP edge (`serve --http-*`).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub connections_max: u32,
    /// Longest a client may take to send a request's headers. hyper starts it whenever the
    /// connection waits for a request, so it also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Longest a write to the client may stay blocked (a client that stops reading a long
    /// answer or a realtime stream); past it the connection is closed.
    pub write_stall_timeout: Duration,
}

/// The router requests go to: the starting one until the node is bootstrapped, then the
/// node's own. A slot that is never set serves its first router throughout (the HTTP
/// listener's redirect while HTTPS is on).
#[derive(Clone)]
pub struct RouterSlot {
    starting: Router,
    ready: Arc<OnceLock<Router>>,
}

impl RouterSlot {
    pub fn new(starting: Router) -> Self {
        RouterSlot {
            starting,
            ready: Arc::new(OnceLock::new()),
        }
    }

    /// From now on every request goes to `router`.
    pub fn set_ready(&self, router: Router) {
        let installed = self.ready.set(router).is_ok();
        assert!(installed, "the node's router is installed once");
    }

    pub(crate) fn current(&self) -> Router {
        self.ready.get().unwrap_or(&self.starting).clone()
    }
}

/// How a listener's connections speak: plain HTTP, or HTTP inside TLS.
#[derive(Clone)]
pub enum Transport {
    Plain,
    /// The handshake must finish within the header-read timeout, as a plain client must
    /// send its headers within it.
    Tls(TlsAcceptor),
}

/// One listening socket with the way its connections speak and the router they reach.
pub struct Listener {
    pub socket: TcpListener,
    pub transport: Transport,
    pub routers: RouterSlot,
}

/// Serve HTTP/1 on every listener until `shutdown` resolves; then stop accepting, let open
/// connections finish their requests (at most [`SHUTDOWN_DRAIN_TIMEOUT`]) and return.
/// `limits.connections_max` bounds the connections of all listeners together: they share
/// the process's file descriptors.
pub async fn serve(
    listeners: Vec<Listener>,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let connections_max = limits.connections_max.max(1);
    let permits = Arc::new(Semaphore::new(connections_max as usize));
    // Dropping the sender tells every connection to shut down gracefully.
    let (stop_sender, stop) = watch::channel(());
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let accepting = futures::future::join_all(listeners.into_iter().map(|listener| {
        accept_loop(
            listener,
            limits,
            builder.clone(),
            permits.clone(),
            stop.clone(),
        )
    }));
    // The accept loops never end by themselves; dropping them closes the listening sockets.
    tokio::select! {
        _ = accepting => {}
        () = shutdown => {}
    }
    drop(stop_sender);
    let drained = tokio::time::timeout(
        SHUTDOWN_DRAIN_TIMEOUT,
        permits.acquire_many(connections_max),
    )
    .await;
    if drained.is_err() {
        tracing::warn!(
            drain_timeout_s = SHUTDOWN_DRAIN_TIMEOUT.as_secs(),
            "HTTP connections still open at shutdown; closing them"
        );
    }
}

async fn accept_loop(
    listener: Listener,
    limits: HttpLimits,
    builder: http1::Builder,
    permits: Arc<Semaphore>,
    stop: watch::Receiver<()>,
) {
    loop {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        let (stream, remote) = match listener.socket.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept an HTTP connection");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let routers = listener.routers.clone();
        let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_stall_timeout));
        let stream = Box::pin(stream);
        let transport = listener.transport.clone();
        let builder = builder.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _open = crate::metrics::OpenConnection::new();
            let result = match transport {
                Transport::Plain => serve_connection(&builder, stream, routers, remote, stop).await,
                Transport::Tls(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => serve_connection(&builder, tls, routers, remote, stop).await,
                        Ok(Err(error)) => {
                            // Clients that do not trust the certificate land here; routine.
                            tracing::debug!(%remote, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(error) = result {
                // Header timeouts and clients that hang up land here; each is routine.
                tracing::debug!(%remote, %error, "HTTP connection ended");
            }
        });
    }
}

/// Serve one connection's requests until it ends, or until `stop` says to shut down (the
/// request under way is finished first).
async fn serve_connection<I>(
    builder: &http1::Builder,
    io: I,
    routers: RouterSlot,
    remote: SocketAddr,
    mut stop: watch::Receiver<()>,
) -> Result<(), hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<_>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        routers.current().oneshot(request)
    });
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    }
}

/// Middleware: a request that takes longer than the given time (reading its body included)
/// is stopped and answered 504 in PocketBase's envelope. A write it proposed may still be
/// applied, so the message says to read before retrying.
pub async fn request_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_s = timeout.as_secs(), "request timed out");
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "The request took longer than {} s and was stopped; a write it made may or \
                     may not have been applied, so read before retrying.",
                    timeout.as_secs()
                ),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use serde_json::{json, Value};

    use super::*;

    #[tokio::test]
    async fn a_request_over_its_time_is_answered_504_in_the_envelope() {
        let timeout = Duration::from_millis(50);
        let router: Router = Router::new()
            .route("/stuck", get(std::future::pending::<()>))
            .route("/quick", get(|| async { "done" }))
            .route_layer(axum::middleware::from_fn_with_state(
                timeout,
                request_timeout,
            ));
        let call = |path: &'static str| {
            let request = Request::get(path)
                .body(Body::empty())
                .expect("a GET with no body is a valid request");
            router.clone().oneshot(request)
        };
        let quick = call("/quick").await.expect("a router never fails");
        assert_eq!(quick.status(), StatusCode::OK);
        let stuck = call("/stuck").await.expect("a router never fails");
        assert_eq!(stuck.status(), StatusCode::GATEWAY_TIMEOUT);
        let body = axum::body::to_bytes(stuck.into_body(), 64 * 1024)
            .await
            .expect("read the body");
        let body: Value = serde_json::from_slice(&body).expect("the body is JSON");
        assert_eq!(body["status"], json!(504));
        assert_eq!(body["data"], json!({}));
    }
}
