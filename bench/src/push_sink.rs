//! `PushSink`: a stand-in Web Push service in the bench's process. It answers `201 Created`
//! to every `POST /push/{id}` (after an optional delay, as a slow push service would) and
//! counts the requests, the distinct pushes among them (a push is its endpoint and its
//! `Topic` header, which EdgeBase sets to the delivery's collapse id, so a delivery sent twice
//! shows as a duplicate) and the TCP connections it accepted. It never decrypts a payload.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::serve::ListenerExt as _;
use axum::Router;

/// Most distinct pushes remembered between two clears; more are counted as requests only.
const PUSHES_REMEMBERED_MAX: usize = 1_000_000;

/// What the sink saw since it was started or last cleared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkTally {
    /// Requests answered.
    pub requests: u64,
    /// Distinct (endpoint, `Topic`) pairs among them, while fewer than the limit.
    pub distinct: u64,
    /// Requests beyond the limit of remembered pushes (not checked for duplicates).
    pub unchecked: u64,
    /// TCP connections accepted.
    pub connections: u64,
}

impl SinkTally {
    /// Requests for a push already answered.
    pub fn duplicates(&self) -> u64 {
        self.requests - self.distinct - self.unchecked
    }
}

#[derive(Default)]
struct Seen {
    requests: u64,
    pushes: HashSet<String>,
    unchecked: u64,
    first_answer: Option<Instant>,
    last_answer: Option<Instant>,
}

struct SinkState {
    delay: Duration,
    seen: Mutex<Seen>,
    connections: AtomicU64,
}

impl SinkState {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub struct PushSink {
    url: String,
    state: Arc<SinkState>,
    server: tokio::task::JoinHandle<()>,
}

impl PushSink {
    /// Listen on a free loopback port; every answer waits `delay` first.
    pub async fn start(delay: Duration) -> anyhow::Result<PushSink> {
        let state = Arc::new(SinkState {
            delay,
            seen: Mutex::default(),
            connections: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the push sink")?;
        let url = format!("http://{}", listener.local_addr()?);
        let counted = {
            let state = Arc::clone(&state);
            listener.tap_io(move |_| {
                state.connections.fetch_add(1, Ordering::Relaxed);
            })
        };
        let app = Router::new()
            .route("/push/{id}", post(push))
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(counted, app).await {
                eprintln!("push sink stopped: {error}");
            }
        });
        Ok(PushSink { url, state, server })
    }

    /// The endpoint of subscription `id`.
    pub fn endpoint(&self, id: usize) -> String {
        format!("{}/push/{id}", self.url)
    }

    /// What the sink saw since the last clear.
    pub fn tally(&self) -> SinkTally {
        let seen = self.state.seen();
        SinkTally {
            requests: seen.requests,
            distinct: seen.pushes.len() as u64,
            unchecked: seen.unchecked,
            connections: self.state.connections.load(Ordering::Relaxed),
        }
    }

    /// When the sink first and last answered a push since the last clear.
    pub fn answered_between(&self) -> Option<(Instant, Instant)> {
        let seen = self.state.seen();
        Some((seen.first_answer?, seen.last_answer?))
    }

    /// Forget everything counted so far.
    pub fn clear(&self) {
        *self.state.seen() = Seen::default();
        self.state.connections.store(0, Ordering::Relaxed);
    }
}

impl Drop for PushSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn push(
    State(state): State<Arc<SinkState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    _body: axum::body::Bytes,
) -> StatusCode {
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    let topic = headers
        .get("topic")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let mut seen = state.seen();
    seen.requests += 1;
    let now = Instant::now();
    seen.first_answer.get_or_insert(now);
    seen.last_answer = Some(now);
    let key = format!("{id}/{topic}");
    if seen.pushes.len() < PUSHES_REMEMBERED_MAX || seen.pushes.contains(&key) {
        seen.pushes.insert(key);
    } else {
        seen.unchecked += 1;
    }
    StatusCode::CREATED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_push_sent_twice_is_a_duplicate() {
        let sink = PushSink::start(Duration::ZERO)
            .await
            .expect("start the sink");
        let http = reqwest::Client::new();
        for (endpoint, topic) in [(1, "m1-t1"), (1, "m1-t1"), (1, "m2-t1"), (2, "m1-t2")] {
            let answer = http
                .post(sink.endpoint(endpoint))
                .header("Topic", topic)
                .body("encrypted")
                .send()
                .await
                .expect("push");
            assert_eq!(answer.status(), reqwest::StatusCode::CREATED);
        }
        let tally = sink.tally();
        assert_eq!(
            (tally.requests, tally.distinct, tally.duplicates()),
            (4, 3, 1)
        );
        assert!(tally.connections >= 1);
        sink.clear();
        assert_eq!(sink.tally(), SinkTally::default());
    }
}
