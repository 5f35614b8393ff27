//! A panicking handler, behind the middleware stack the router uses, answers PocketBase's
//! 500 envelope, is logged once at error level through `tracing`, and the same service keeps
//! answering. Its own test binary, because it installs the process-wide panic hook.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use edgebase_api::{self as api, health, panic};
use edgebase_node::boot;
use edgebase_node::cli::ServeArgs;
use serde_json::{json, Value};
use tower::ServiceExt;

const PANIC_MESSAGE: &str = "a handler panicked on purpose";
const BODY_BYTES_MAX: usize = 64 * 1024;

/// Log lines written by the test's subscriber.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .expect("no writer panics holding the log lock");
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("no writer panics holding the log lock")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

async fn panics() -> &'static str {
    panic!("{PANIC_MESSAGE}")
}

fn free_udp_addr() -> io::Result<SocketAddr> {
    UdpSocket::bind("127.0.0.1:0")?.local_addr()
}

async fn get_json(service: &Router, path: &str) -> anyhow::Result<(StatusCode, Value)> {
    let request = Request::get(path).body(Body::empty())?;
    let response = service.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), BODY_BYTES_MAX).await?;
    Ok((status, serde_json::from_slice(&body)?))
}

/// What the stack answered: to the panicking route, then to health.
struct Answers {
    panic: (StatusCode, Value),
    health: (StatusCode, Value),
}

async fn panic_then_health() -> anyhow::Result<Answers> {
    let dir = tempfile::tempdir()?;
    let mut args = ServeArgs::defaults_for(dir.path());
    args.raft = Some(free_udp_addr()?);
    let node = boot::start_node(&args).await?;
    let routes = Router::new()
        .route("/panic", get(panics))
        .route("/api/health", get(health::health));
    let service = api::with_middleware(routes, node.app.clone());
    let panic = get_json(&service, "/panic").await?;
    let health = get_json(&service, "/api/health").await?;
    node.shutdown().await;
    Ok(Answers { panic, health })
}

// The test body runs on the test thread (spawned tasks go to the workers), so the handler
// panics where the subscriber below is the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_the_node_keeps_serving() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let answers = {
        let _default = tracing::subscriber::set_default(subscriber);
        panic::log_panics_with_tracing();
        panic_then_health().await
    };
    // Asserted once the subscriber is gone, so that a failed assertion prints as usual.
    let text = logs.text();
    let answers = answers.unwrap_or_else(|error| panic!("{error:#}\n{text}"));
    assert_eq!(answers.panic.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        answers.panic.1,
        json!({
            "status": 500,
            "message": "Something went wrong while processing your request.",
            "data": {}
        })
    );
    assert_eq!(answers.health.0, StatusCode::OK, "{}", answers.health.1);
    // Once, at error level, and nothing else at error level (a `TraceLayer` outside the
    // panic layer would add a "response failed" for the 500).
    let errors: Vec<&str> = text.lines().filter(|line| line.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one error line, the panic's:\n{text}");
    assert!(errors[0].contains(PANIC_MESSAGE), "{}", errors[0]);
    assert_eq!(text.matches(PANIC_MESSAGE).count(), 1, "{text}");
}
