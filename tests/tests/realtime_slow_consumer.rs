//! A realtime client that stops reading is cut off, and nobody else notices: a raw stream
//! subscribes and then never reads while large records are written; once its socket and
//! its bounded queue are full the node disconnects it (the reason in the log) and closes its
//! connection, while a subscriber that reads gets every event, in order, and the node keeps
//! serving.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, wait_until, Cluster, RawBody, RawClient, SseClient, NODE_START_TIMEOUT,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Records written, each with a body of `BODY_BYTES`: far more than the slow client's
/// socket buffers and queue hold together.
const RECORDS: usize = 300;
const BODY_BYTES: usize = 32 * 1024;
const QUEUE_EVENTS: &str = "16";
const WAIT: Duration = Duration::from_secs(60);

/// Open a stream by hand and read only up to `PB_CONNECT`; the client id.
async fn silent_stream(addr: std::net::SocketAddr) -> anyhow::Result<(TcpStream, String)> {
    let mut socket = TcpStream::connect(addr).await.context("connect")?;
    socket
        .write_all(
            b"GET /api/realtime HTTP/1.1\r\nHost: edgebase\r\nAccept: text/event-stream\r\n\r\n",
        )
        .await?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    let client_id = tokio::time::timeout(WAIT, async {
        loop {
            let read = socket.read(&mut buffer).await?;
            anyhow::ensure!(read > 0, "the stream ended before PB_CONNECT");
            seen.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&seen);
            if let Some(at) = text.find("\"clientId\":\"") {
                let rest = &text[at + 12..];
                if let Some(end) = rest.find('"') {
                    return Ok(rest[..end].to_string());
                }
            }
        }
    })
    .await
    .context("no PB_CONNECT in time")??;
    Ok((socket, client_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off() {
    run_test("realtime_slow_consumer", Duration::from_secs(300), |context| async move {
        let cluster = Cluster::builder(context.root())
            .size(1)
            .extra_args(&[
                "--realtime-queue-events",
                QUEUE_EVENTS,
                "--http-write-stall-timeout-ms",
                "3000",
            ])
            .start()
            .await?;
        cluster.wait_for_leader(&cluster.ids(), NODE_START_TIMEOUT).await?;
        let node = cluster.node(cluster.ids()[0]);
        let (admin, token) = &cluster.raw_admins().await?[0];
        let created = admin
            .send("POST", "/api/collections", Some(token), RawBody::Json(json!({
                "name": "feed", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "n", "type": "number"}, {"name": "body", "type": "text", "max": 100_000}]
            })), &[])
            .await?;
        ensure!(created.status == 200, "create collection: {}", created.text);

        let http = RawClient::new(&node.http_url())?;
        let subscribe = |client_id: String| {
            let http = http.clone();
            async move {
                let answer = http
                    .send("POST", "/api/realtime", None, RawBody::Json(json!({
                        "clientId": client_id, "subscriptions": ["feed/*"]
                    })), &[])
                    .await?;
                ensure!(answer.status == 204, "subscribe: {} {}", answer.status, answer.text);
                anyhow::Ok(())
            }
        };
        let (mut silent, silent_id) = silent_stream(node.http_addr()).await?;
        subscribe(silent_id.clone()).await?;
        let mut reader = SseClient::connect(&node.http_url()).await?;
        subscribe(reader.client_id.clone()).await?;

        let body = "x".repeat(BODY_BYTES);
        let writing = async {
            for n in 0..RECORDS {
                let answer = http
                    .send("POST", "/api/collections/feed/records", None, RawBody::Json(json!({"n": n, "body": body})), &[])
                    .await?;
                ensure!(answer.status == 200, "write {n}: {} {}", answer.status, answer.text);
            }
            anyhow::Ok(())
        };
        let reading = async {
            let mut numbers = Vec::with_capacity(RECORDS);
            while numbers.len() < RECORDS {
                let event = reader.next(WAIT).await.context("the reading subscriber stopped getting events")?;
                numbers.push(event.data["record"]["n"].as_u64().context("n")?);
            }
            anyhow::Ok(numbers)
        };
        let ((), numbers) = tokio::try_join!(writing, reading)?;
        let expected: Vec<u64> = (0..RECORDS as u64).collect();
        ensure!(numbers == expected, "the reading subscriber got every event, in order");

        wait_until("the node to let the silent client go", WAIT, || async {
            Ok(node.log_text()?.contains("too slow").then_some(()))
        })
        .await?;
        // Its connection is closed: reading what the socket held ends at the close, well
        // short of every event.
        let mut received = 0usize;
        let mut buffer = vec![0u8; 64 * 1024];
        tokio::time::timeout(WAIT, async {
            loop {
                match silent.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(read) => received += read,
                }
            }
        })
        .await
        .context("the silent client's connection stayed open")?;
        ensure!(
            received < RECORDS * BODY_BYTES,
            "the silent client was cut off ({received} bytes of its stream came)"
        );
        let health = http.get("/api/health", None).await?;
        ensure!(health.status == 200, "the node keeps serving: {}", health.status);
        Ok(())
    })
    .await;
}
