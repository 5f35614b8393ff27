//! The HTTP edge holds against slow and greedy clients: a client that trickles its headers is
//! cut off after the header-read timeout while others are served, and
//! `--http-connections-max` caps the connections served at once, the node serving again
//! once they end. Before the node has joined its cluster it answers 503 (health included),
//! and a node that cannot join within `--join-timeout-secs` exits with an error.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use edgebase_tests::{
    free_addr, run_test, wait_until, Node, NodeSpec, RawClient, NODE_START_TIMEOUT,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEALTH_REQUEST: &[u8] = b"GET /api/health HTTP/1.1\r\nHost: edgebase\r\n\r\n";
/// Longest a test waits for an answer it expects.
const ANSWER_DEADLINE: Duration = Duration::from_secs(10);

fn node_with(context_root: &std::path::Path, flags: &[&str]) -> anyhow::Result<NodeSpec> {
    let mut spec = NodeSpec::single(context_root, "node")?;
    spec.extra_args = flags.iter().map(|flag| (*flag).to_owned()).collect();
    Ok(spec)
}

/// Where one HTTP/1.1 response with a `Content-Length` body ends in `bytes`, once it is all
/// there.
fn response_end(bytes: &[u8]) -> Option<usize> {
    let head_end = bytes.windows(4).position(|window| window == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let length: usize = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })?;
    (bytes.len() >= head_end + length).then_some(head_end + length)
}

/// Read one response from `stream` within `timeout`.
async fn read_response(stream: &mut TcpStream, timeout: Duration) -> anyhow::Result<String> {
    let read = async {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = response_end(&bytes) {
                return Ok(String::from_utf8_lossy(&bytes[..end]).into_owned());
            }
            let count = stream.read(&mut chunk).await.context("read a response")?;
            ensure!(
                count > 0,
                "the connection closed after {} bytes",
                bytes.len()
            );
            bytes.extend_from_slice(&chunk[..count]);
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .with_context(|| format!("no complete response within {timeout:?}"))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_while_others_are_served() {
    const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(1_500);
    const TRICKLE_INTERVAL: Duration = Duration::from_millis(200);
    const PROBE_INTERVAL: Duration = Duration::from_millis(100);
    run_test(
        "http_edge_slow_headers",
        Duration::from_secs(120),
        |context| async move {
            let timeout_ms = HEADER_READ_TIMEOUT.as_millis().to_string();
            let spec = node_with(
                context.root(),
                &["--http-header-read-timeout-ms", &timeout_ms],
            )?;
            let mut node = Node::start(spec)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;
            let raw = RawClient::new(&node.http_url())?;

            let slow = TcpStream::connect(node.http_addr()).await?;
            let opened = Instant::now();
            let (mut reader, mut writer) = slow.into_split();
            writer
                .write_all(b"GET /api/health HTTP/1.1\r\nHost: edgebase\r\n")
                .await?;
            // A header line one byte at a time, never finished: each byte arrives well within
            // the timeout, so only a bound on the whole header stops it.
            let trickle = tokio::spawn(async move {
                while writer.write_all(b"X").await.is_ok() {
                    tokio::time::sleep(TRICKLE_INTERVAL).await;
                }
            });
            let closed = tokio::spawn(async move {
                let mut chunk = [0u8; 1024];
                let mut answer = Vec::new();
                loop {
                    match reader.read(&mut chunk).await {
                        Ok(0) | Err(_) => return (Instant::now(), answer),
                        Ok(count) => answer.extend_from_slice(&chunk[..count]),
                    }
                }
            });
            let mut healthy_answers = 0;
            while !closed.is_finished() {
                ensure!(
                    opened.elapsed() < ANSWER_DEADLINE,
                    "the trickling connection was still open after {ANSWER_DEADLINE:?}"
                );
                let health = raw.get("/api/health", None).await?;
                ensure!(
                    health.status == 200,
                    "health answered {} while a client trickled its headers: {}",
                    health.status,
                    health.text
                );
                healthy_answers += 1;
                tokio::time::sleep(PROBE_INTERVAL).await;
            }
            trickle.abort();
            let (closed_at, answer) = closed.await?;
            let open_for = closed_at - opened;
            ensure!(
                open_for >= HEADER_READ_TIMEOUT - Duration::from_millis(100),
                "the trickling connection closed after {open_for:?}, before the header timeout"
            );
            ensure!(
                !answer.starts_with(b"HTTP/1.1 200"),
                "the unfinished request was answered 200"
            );
            ensure!(
                healthy_answers >= 3,
                "only {healthy_answers} health checks ran while the connection was open"
            );
            ensure!(node.is_running(), "the node stopped");
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_ends() {
    const CONNECTIONS_MAX: usize = 4;
    /// How long the connection over the cap must stay unanswered to show it waits.
    const UNSERVED_WINDOW: Duration = Duration::from_secs(1);
    run_test(
        "http_edge_connection_cap",
        Duration::from_secs(120),
        |context| async move {
            let connections_max = CONNECTIONS_MAX.to_string();
            // Idle connections stay open for the whole test (the header timeout closes them).
            let spec = node_with(
                context.root(),
                &[
                    "--http-connections-max",
                    &connections_max,
                    "--http-header-read-timeout-ms",
                    "60000",
                ],
            )?;
            let mut node = Node::start(spec)?;
            node.wait_healthy(NODE_START_TIMEOUT).await?;

            let mut held = Vec::new();
            for number in 1..=CONNECTIONS_MAX {
                let mut stream = TcpStream::connect(node.http_addr()).await?;
                stream.write_all(HEALTH_REQUEST).await?;
                let answer = read_response(&mut stream, ANSWER_DEADLINE)
                    .await
                    .with_context(|| format!("connection {number} of {CONNECTIONS_MAX}"))?;
                ensure!(
                    answer.starts_with("HTTP/1.1 200"),
                    "connection {number}: {answer}"
                );
                held.push(stream);
            }
            // The kernel completes the handshake (the accept backlog), but the node does not
            // serve it while the cap is reached.
            let mut over_cap = TcpStream::connect(node.http_addr()).await?;
            over_cap.write_all(HEALTH_REQUEST).await?;
            let mut byte = [0u8; 1];
            let early = tokio::time::timeout(UNSERVED_WINDOW, over_cap.peek(&mut byte)).await;
            ensure!(
                early.is_err(),
                "a connection over the cap of {CONNECTIONS_MAX} was answered: {early:?}"
            );

            drop(held.pop());
            let answer = read_response(&mut over_cap, ANSWER_DEADLINE)
                .await
                .context("the connection over the cap, after one ended")?;
            ensure!(answer.starts_with("HTTP/1.1 200"), "{answer}");

            drop(held);
            drop(over_cap);
            let raw = RawClient::new(&node.http_url())?;
            wait_until("health on a new connection", ANSWER_DEADLINE, || async {
                let health = raw.get("/api/health", None).await?;
                Ok((health.status == 200).then_some(()))
            })
            .await?;
            ensure!(node.is_running(), "the node stopped");
            Ok(())
        },
    )
    .await;
}

/// A node that joins a Raft address where nobody answers.
fn joining_nobody(context_root: &std::path::Path, flags: &[&str]) -> anyhow::Result<NodeSpec> {
    let mut spec = node_with(context_root, flags)?;
    spec.join = Some(free_addr()?);
    Ok(spec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_answers_503_until_it_has_joined() {
    run_test(
        "http_edge_starting",
        Duration::from_secs(120),
        |context| async move {
            // The join gives up after five unanswered attempts (about 15 s); the checks below
            // take a moment.
            let mut node = Node::start(joining_nobody(context.root(), &[])?)?;
            wait_until("the node to be joining", ANSWER_DEADLINE, || {
                let log = node.log_text();
                async move { Ok(log?.contains("joining the cluster").then_some(())) }
            })
            .await?;
            let raw = RawClient::new(&node.http_url())?;
            let health = raw.get("/api/health", None).await?;
            ensure!(
                health.status == 503,
                "health: {} {}",
                health.status,
                health.text
            );
            let body = health.json.context("health answers JSON")?;
            let shaped = body["code"] == json!(503) && body["data"] == json!({});
            ensure!(
                shaped && body["message"].is_string(),
                "health's body: {body}"
            );
            let collections = raw.get("/api/collections", None).await?;
            ensure!(collections.status == 503, "{}", collections.text);
            let envelope = collections.envelope().context("an error envelope")?;
            ensure!(
                envelope.status == 503 && envelope.data.is_empty(),
                "{envelope:?}"
            );
            ensure!(node.is_running(), "the node exited while joining");
            // A node still starting stops cleanly when asked.
            let status = node.terminate(ANSWER_DEADLINE).await?;
            ensure!(
                status.success(),
                "SIGTERM while joining ended it with {status}"
            );
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_join_exits_with_the_reason() {
    run_test(
        "http_edge_join_fails",
        Duration::from_secs(120),
        |context| async move {
            let spec = joining_nobody(context.root(), &["--join-timeout-secs", "2"])?;
            let mut node = Node::start(spec)?;
            let status = wait_until(
                "the node to give up joining",
                Duration::from_secs(30),
                || {
                    let status = node.exit_status();
                    async move { Ok(status) }
                },
            )
            .await?;
            ensure!(!status.success(), "the node exited with {status}");
            let log = node.log_text()?;
            let reason = log
                .lines()
                .find(|line| line.contains("ERROR") && line.contains("the node cannot start"))
                .with_context(|| format!("no error line says why:\n{log}"))?;
            ensure!(
                reason.contains("did not join through") && reason.contains("within 2 s"),
                "{reason}"
            );
            Ok(())
        },
    )
    .await;
}
