//! Serving the router on a TCP listener until shutdown.

use std::future::Future;
use std::net::SocketAddr;

use edgebase_service::App;
use tokio::net::TcpListener;

/// Serve the public API on `listener` until `shutdown` completes, then finish the requests
/// in flight.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = crate::router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
