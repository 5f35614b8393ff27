//! A multi-node `Client` against small loopback servers with adjustable delay and status:
//! it sends requests to the node with the lowest measured latency, fails over when a node
//! dies (reads, and writes with the `Idempotency-Key` they carry, so a retried write applies
//! once), keeps the session's read-your-writes index across nodes, and re-ranks nodes in the
//! background.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgebase_client::{Client, ClientOptions, NodeSelection};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Largest request (head and body) the test server reads.
const REQUEST_BYTES_MAX: usize = 64 * 1024;

/// A request other than a health probe, as the server saw it.
#[derive(Debug, Clone)]
struct Hit {
    method: String,
    path: String,
    after: Option<String>,
    idempotency_key: Option<String>,
}

#[derive(Default)]
struct Behaviour {
    delay_ms: AtomicU64,
    /// Status of every answer except `/api/health` (which is always 200).
    status: AtomicU16,
    hits: Mutex<Vec<Hit>>,
}

/// A loopback HTTP server that answers each request on its own connection.
struct TestNode {
    url: String,
    behaviour: Arc<Behaviour>,
    accept: JoinHandle<()>,
}

impl TestNode {
    async fn start(delay_ms: u64) -> TestNode {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let behaviour = Arc::new(Behaviour::default());
        behaviour.delay_ms.store(delay_ms, Ordering::SeqCst);
        behaviour.status.store(200, Ordering::SeqCst);
        let shared = Arc::clone(&behaviour);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, Arc::clone(&shared)));
            }
        });
        TestNode {
            url,
            behaviour,
            accept,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.behaviour
            .hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_delay_ms(&self, delay_ms: u64) {
        self.behaviour.delay_ms.store(delay_ms, Ordering::SeqCst);
    }

    fn set_status(&self, status: u16) {
        self.behaviour.status.store(status, Ordering::SeqCst);
    }

    /// Stop listening: new connections are refused from now on.
    async fn kill(self) {
        self.accept.abort();
        let _ = self.accept.await;
    }
}

async fn answer(mut stream: TcpStream, behaviour: Arc<Behaviour>) {
    let mut buffer = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let Ok(read) = stream.read(&mut chunk).await else {
            return;
        };
        if read == 0 || buffer.len() + read > REQUEST_BYTES_MAX {
            return;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut after = None;
    let mut idempotency_key = None;
    for (name, value) in lines.filter_map(|line| line.split_once(':')) {
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "x-edgebase-after" => after = Some(value.trim().to_owned()),
            "idempotency-key" => idempotency_key = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body_bytes = buffer.len() - head_end;
    while body_bytes < length.min(REQUEST_BYTES_MAX) {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => body_bytes += read,
        }
    }
    tokio::time::sleep(Duration::from_millis(
        behaviour.delay_ms.load(Ordering::SeqCst),
    ))
    .await;
    let (status, body) = if path == "/api/health" {
        (
            200,
            json!({"code": 200, "message": "API is healthy.", "data": {}}),
        )
    } else {
        behaviour
            .hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Hit {
                method,
                path,
                after,
                idempotency_key,
            });
        let status = behaviour.status.load(Ordering::SeqCst);
        if status == 200 {
            (200, json!({"id": "r1", "title": "t"}))
        } else {
            (
                status,
                json!({"status": status, "message": "unavailable", "data": {}}),
            )
        }
    };
    let body = body.to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-edgebase-index: 7\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn selection(probe_interval_ms: u64) -> NodeSelection {
    NodeSelection {
        probe_interval_ms,
        probe_timeout_ms: 2_000,
        probe_samples: 2,
    }
}

async fn client(nodes: &[&TestNode], probe_interval_ms: u64) -> Client {
    let urls: Vec<&str> = nodes.iter().map(|node| node.url.as_str()).collect();
    Client::with_nodes_and_options(
        &urls,
        ClientOptions::default(),
        selection(probe_interval_ms),
    )
    .await
    .expect("valid node URLs")
}

fn same_node(current: &str, node: &TestNode) -> bool {
    current.trim_end_matches('/') == node.url
}

#[tokio::test]
async fn requests_go_to_the_node_with_the_lowest_latency() {
    let slow = TestNode::start(300).await;
    let fast = TestNode::start(0).await;
    let client = client(&[&slow, &fast], 60_000).await;
    assert!(
        same_node(&client.current_node(), &fast),
        "{:?}",
        client.node_latencies()
    );
    let latencies = client.node_latencies();
    let slow_us = latencies[0].latency_us.expect("slow node measured");
    let fast_us = latencies[1].latency_us.expect("fast node measured");
    assert!(slow_us >= 300_000, "slow node measured at {slow_us} us");
    assert!(fast_us < slow_us, "{latencies:?}");

    client.records("posts").get("r1").await.expect("get");
    assert_eq!(fast.hits().len(), 1);
    assert!(slow.hits().is_empty(), "{:?}", slow.hits());
}

#[tokio::test]
async fn reads_and_unsent_writes_fail_over_to_the_next_node_with_the_session_index() {
    let first = TestNode::start(0).await;
    let second = TestNode::start(150).await;
    let client = client(&[&second, &first], 60_000).await;
    assert!(same_node(&client.current_node(), &first));
    client
        .records("posts")
        .get("r1")
        .await
        .expect("get at the first node");
    assert_eq!(client.last_index(), 7);

    first.kill().await;
    // The connection is refused, so the create certainly did not reach the dead node.
    client
        .records("posts")
        .create(&json!({"title": "t"}))
        .await
        .expect("create fails over");
    assert!(same_node(&client.current_node(), &second));
    client
        .records("posts")
        .get("r1")
        .await
        .expect("get at the second node");

    let hits = second.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].method, "POST");
    assert_eq!(hits[0].path, "/api/collections/posts/records");
    assert_eq!(hits[1].method, "GET");
    for hit in &hits {
        assert_eq!(
            hit.after.as_deref(),
            Some("7"),
            "session index lost: {hit:?}"
        );
    }
}

#[tokio::test]
async fn a_write_answered_503_is_resent_with_its_key() {
    let first = TestNode::start(0).await;
    let second = TestNode::start(150).await;
    let client = client(&[&first, &second], 60_000).await;
    assert!(same_node(&client.current_node(), &first));
    first.set_status(503);

    client
        .records("posts")
        .create(&json!({"title": "t"}))
        .await
        .expect("the write is resent to the next node");
    let (at_first, at_second) = (first.hits(), second.hits());
    assert_eq!(
        (at_first.len(), at_second.len()),
        (1, 1),
        "{at_first:?} {at_second:?}"
    );
    let key = at_first[0].idempotency_key.clone();
    assert!(key.as_ref().is_some_and(|key| key.len() == 32), "{key:?}");
    assert_eq!(at_second[0].idempotency_key, key, "the same key both times");
    // The node that answered 503 is ranked last until a probe hears from it.
    assert!(same_node(&client.current_node(), &second));

    // Every write gets its own key; reads carry none.
    client
        .records("posts")
        .create(&json!({"title": "u"}))
        .await
        .expect("another write");
    client.records("posts").get("r1").await.expect("a read");
    let hits = second.hits();
    assert_ne!(hits[1].idempotency_key, key, "a new key for a new write");
    assert_eq!(hits[2].idempotency_key, None, "{:?}", hits[2]);
}

#[tokio::test]
async fn background_probes_move_requests_to_a_node_that_became_faster() {
    let first = TestNode::start(300).await;
    let second = TestNode::start(0).await;
    let client = client(&[&first, &second], 100).await;
    assert!(same_node(&client.current_node(), &second));

    second.set_delay_ms(400);
    first.set_delay_ms(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !same_node(&client.current_node(), &first) {
        assert!(
            Instant::now() < deadline,
            "no re-ranking within 20 s: {:?}",
            client.node_latencies()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.records("posts").get("r1").await.expect("get");
    assert_eq!(first.hits().len(), 1);
}

#[tokio::test]
async fn node_lists_are_bounded_and_validated() {
    assert!(Client::with_nodes(&[]).await.is_err());
    assert!(Client::with_nodes(&["not a url"]).await.is_err());
    let many = vec!["http://127.0.0.1:1"; edgebase_client::NODES_MAX + 1];
    assert!(Client::with_nodes(&many).await.is_err());
}
