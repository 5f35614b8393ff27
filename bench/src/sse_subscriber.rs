//! One realtime subscriber of the realtime benchmark: a bare HTTP/1 connection (hyper's
//! client connection, no pool) on `GET /api/realtime`, reading `PB_CONNECT`'s client id and
//! then every event, handing each event's data to a callback. Kept small, since the bench
//! holds ten thousand of them on the same two cores as the servers.

use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest one SSE event may be before the subscriber gives up on the stream.
const EVENT_BYTES_MAX: usize = 1 << 20;
/// How long a connection may take to answer `PB_CONNECT`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// An open stream whose `PB_CONNECT` has been read.
pub struct OpenStream {
    pub client_id: String,
    body: Incoming,
    pending: String,
    /// The connection's driver; aborted with the stream.
    connection: tokio::task::JoinHandle<()>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Open `base_url`'s realtime stream (`http://host:port`) and read up to `PB_CONNECT`.
pub async fn open(base_url: &str) -> anyhow::Result<OpenStream> {
    let authority = base_url
        .strip_prefix("http://")
        .context("an http:// URL")?
        .trim_end_matches('/')
        .to_string();
    let socket = TcpStream::connect(&authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    socket.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
        .await
        .context("HTTP handshake")?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = hyper::Request::get("/api/realtime")
        .header("host", &authority)
        .header("accept", "text/event-stream")
        .body(Empty::<Bytes>::new())?;
    let response = sender
        .send_request(request)
        .await
        .context("GET /api/realtime")?;
    anyhow::ensure!(
        response.status() == 200,
        "GET /api/realtime: {}",
        response.status()
    );
    let mut stream = OpenStream {
        client_id: String::new(),
        body: response.into_body(),
        pending: String::new(),
        connection,
    };
    let hello = tokio::time::timeout(CONNECT_TIMEOUT, stream.next_event())
        .await
        .context("no PB_CONNECT in time")??
        .context("the stream ended before PB_CONNECT")?;
    let data: serde_json::Value = serde_json::from_str(&hello).context("PB_CONNECT's data")?;
    stream.client_id = data["clientId"].as_str().context("clientId")?.to_string();
    Ok(stream)
}

impl OpenStream {
    /// The data of the next event (comments and keep-alives skipped); `None` at the end.
    pub async fn next_event(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let event: String = self.pending.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:").map(str::trim_start))
                    .collect();
                if data.is_empty() {
                    continue;
                }
                return Ok(Some(data.join("\n")));
            }
            anyhow::ensure!(
                self.pending.len() <= EVENT_BYTES_MAX,
                "an event over {EVENT_BYTES_MAX} bytes"
            );
            let Some(frame) = self.body.frame().await else {
                return Ok(None);
            };
            if let Ok(data) = frame.context("read the stream")?.into_data() {
                self.pending.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}
