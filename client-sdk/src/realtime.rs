//! Realtime subscriptions over PocketBase's SSE protocol that outlive their node.
//!
//! [`Client::subscribe`] opens `GET /api/realtime` at the client's current node, sets the
//! topics with the session's token, and hands every event to a bounded channel. When the
//! stream breaks (the node died, a proxy cut it, the node let a slow reader go), it
//! reconnects to the next reachable node with `?resume=<id of the last event>` and sets the
//! topics again: EdgeBase then sends every event missed meanwhile, in order, before the live
//! ones, or `EB_REFETCH` when it no longer holds them all ([`RealtimeEvent::Refetch`]: read
//! the records again). A reader that does not keep up is paced by the channel; the node's own
//! bound then cuts the stream, and the reconnect resumes where the reader is.
//!
//! The SSE reading is a few lines over `reqwest`'s chunks (events are `id:`, `event:`,
//! `data:` lines and a blank line; PocketBase sends nothing else); a crate for it would add
//! more than it saves.

use std::time::Duration;

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Url};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::client::Client;
use crate::error::ClientError;

/// Events waiting for the application; past it the stream is not read until it catches up.
const EVENTS_QUEUED_MAX: usize = 256;
/// A stream silent this long is dead (EdgeBase sends a keep-alive every 15 s).
const SILENCE_MAX: Duration = Duration::from_secs(45);
/// Reconnect attempts in a row before the subscription gives up, and the pauses between
/// them (doubling from the first to the last).
const RECONNECT_ATTEMPTS_MAX: u32 = 60;
const RECONNECT_PAUSE_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_PAUSE_MAX: Duration = Duration::from_secs(2);
/// Longest line of a stream, and longest event.
const EVENT_BYTES_MAX: usize = 16 * 1024 * 1024;
/// EdgeBase's event for a resume the node could not serve.
const REFETCH_EVENT: &str = "EB_REFETCH";

/// What a subscription delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEvent {
    /// The stream is open at `node` as `client_id` (first, and after every reconnect).
    Connected { node: String, client_id: String },
    /// An event of a subscribed topic: for a record topic, `data` is `{action, record}`.
    /// `id` is EdgeBase's `index.number` (absent from PocketBase).
    Event {
        topic: String,
        id: Option<String>,
        data: Value,
    },
    /// Events were missed and cannot be replayed: read the records again.
    Refetch,
    /// The subscription gave up reconnecting; no event follows.
    Closed { reason: String },
}

/// A running subscription; dropping it closes the stream.
pub struct Subscription {
    events: mpsc::Receiver<RealtimeEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Subscription {
    /// The next event; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<RealtimeEvent> {
        self.events.recv().await
    }
}

/// One open stream: where, as whom, and its body.
struct Stream {
    node: Url,
    client_id: String,
    response: reqwest::Response,
    pending: Vec<u8>,
}

/// One SSE event as it came.
struct SseEvent {
    id: Option<String>,
    name: String,
    data: String,
}

impl Client {
    /// Subscribe to `topics` (PocketBase's: `collection/*`, `collection/id`, with
    /// `?options=`), at the current node, with this session's token. The first connection
    /// must succeed; later breaks are healed by reconnecting and resuming (module docs).
    pub async fn subscribe(&self, topics: &[&str]) -> Result<Subscription, ClientError> {
        let topics: Vec<String> = topics.iter().map(|topic| (*topic).to_owned()).collect();
        let streaming = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(self.options().connect_timeout_ms))
            .build()?;
        let first = self.open_stream(&streaming, &topics, None).await?;
        let (sender, events) = mpsc::channel(EVENTS_QUEUED_MAX);
        let client = self.clone();
        let task = tokio::spawn(async move {
            client
                .run_subscription(streaming, topics, first, sender)
                .await;
        });
        Ok(Subscription { events, task })
    }

    async fn run_subscription(
        &self,
        streaming: reqwest::Client,
        topics: Vec<String>,
        first: Stream,
        sender: mpsc::Sender<RealtimeEvent>,
    ) {
        let mut last_id: Option<String> = None;
        let mut stream = first;
        loop {
            let connected = RealtimeEvent::Connected {
                node: stream.node.to_string(),
                client_id: stream.client_id.clone(),
            };
            if sender.send(connected).await.is_err() {
                return;
            }
            let broken = match self.forward(&mut stream, &sender, &mut last_id).await {
                Ok(()) => return,
                Err(reason) => reason,
            };
            tracing::debug!(node = %stream.node, reason = %broken, "realtime stream broke");
            self.node_failed(&stream.node);
            stream = match self
                .reconnect(&streaming, &topics, last_id.as_deref())
                .await
            {
                Ok(stream) => stream,
                Err(reason) => {
                    let _ = sender.send(RealtimeEvent::Closed { reason }).await;
                    return;
                }
            };
        }
    }

    /// Hand the stream's events on until it breaks (an error saying how) or the
    /// subscription is dropped (`Ok`).
    async fn forward(
        &self,
        stream: &mut Stream,
        sender: &mpsc::Sender<RealtimeEvent>,
        last_id: &mut Option<String>,
    ) -> Result<(), String> {
        loop {
            let event = next_event(stream).await?;
            let delivered = match event.name.as_str() {
                REFETCH_EVENT => RealtimeEvent::Refetch,
                _ => {
                    if let Some(index) = event.id.as_deref().and_then(log_index_of) {
                        *last_id = event.id.clone();
                        self.observe_index(index);
                    }
                    RealtimeEvent::Event {
                        topic: event.name,
                        id: event.id,
                        data: serde_json::from_str(&event.data).unwrap_or(Value::Null),
                    }
                }
            };
            if sender.send(delivered).await.is_err() {
                return Ok(());
            }
        }
    }

    /// Open a stream at the first reachable node, resuming after `last_id`, within the
    /// bounded attempts.
    async fn reconnect(
        &self,
        streaming: &reqwest::Client,
        topics: &[String],
        last_id: Option<&str>,
    ) -> Result<Stream, String> {
        let mut pause = RECONNECT_PAUSE_FIRST;
        let mut last_error = String::new();
        for _ in 0..RECONNECT_ATTEMPTS_MAX {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RECONNECT_PAUSE_MAX);
            match self.open_stream(streaming, topics, last_id).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(format!(
            "no node took the stream in {RECONNECT_ATTEMPTS_MAX} attempts: {last_error}"
        ))
    }

    /// Try the nodes in rank order: open the stream, read `PB_CONNECT`, set the topics.
    async fn open_stream(
        &self,
        streaming: &reqwest::Client,
        topics: &[String],
        resume: Option<&str>,
    ) -> Result<Stream, ClientError> {
        let mut last_error = None;
        for node in self.ranked_nodes() {
            match self.open_stream_at(streaming, &node, topics, resume).await {
                Ok(stream) => return Ok(stream),
                Err(error) => {
                    self.node_failed(&node);
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("a client has at least one node"))
    }

    async fn open_stream_at(
        &self,
        streaming: &reqwest::Client,
        node: &Url,
        topics: &[String],
        resume: Option<&str>,
    ) -> Result<Stream, ClientError> {
        let mut url = realtime_url(node);
        if let Some(resume) = resume {
            url.query_pairs_mut().append_pair("resume", resume);
        }
        let response = streaming.get(url).send().await?;
        if !response.status().is_success() {
            return Err(ClientError::UnexpectedStatus {
                status: response.status().as_u16(),
                body: String::new(),
            });
        }
        let mut stream = Stream {
            node: node.clone(),
            client_id: String::new(),
            response,
            pending: Vec::new(),
        };
        let hello = next_event(&mut stream)
            .await
            .map_err(|reason| ClientError::Stream { reason })?;
        let data: Value = serde_json::from_str(&hello.data).map_err(ClientError::Decode)?;
        stream.client_id = match (hello.name.as_str(), data["clientId"].as_str()) {
            ("PB_CONNECT", Some(client_id)) => client_id.to_owned(),
            _ => {
                return Err(ClientError::Stream {
                    reason: format!("the stream began with {} instead of PB_CONNECT", hello.name),
                })
            }
        };
        let body = json!({"clientId": stream.client_id, "subscriptions": topics});
        let mut request = self
            .http()
            .request(Method::POST, realtime_url(node))
            .json(&body);
        if let Some(token) = self.token() {
            request = request.header(AUTHORIZATION, token);
        }
        let answer = request.send().await?;
        if !answer.status().is_success() {
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            return Err(ClientError::UnexpectedStatus { status, body });
        }
        Ok(stream)
    }
}

/// The next event of the stream (keep-alive comments skipped), or why the stream broke.
async fn next_event(stream: &mut Stream) -> Result<SseEvent, String> {
    let mut event = SseEvent {
        id: None,
        name: String::new(),
        data: String::new(),
    };
    loop {
        while let Some(end) = stream.pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = stream.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !event.name.is_empty() || !event.data.is_empty() {
                    return Ok(event);
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => event.id = Some(value.to_owned()),
                "event" => event.name = value.to_owned(),
                "data" => {
                    if !event.data.is_empty() {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                }
                _ => {}
            }
            if event.data.len() > EVENT_BYTES_MAX {
                return Err(format!("an event over {EVENT_BYTES_MAX} bytes"));
            }
        }
        if stream.pending.len() > EVENT_BYTES_MAX {
            return Err(format!("a line over {EVENT_BYTES_MAX} bytes"));
        }
        let chunk = tokio::time::timeout(SILENCE_MAX, stream.response.chunk())
            .await
            .map_err(|_| format!("silent for {SILENCE_MAX:?}"))?
            .map_err(|error| error.to_string())?
            .ok_or_else(|| "the node ended the stream".to_owned())?;
        stream.pending.extend_from_slice(&chunk);
    }
}

/// `{node}/api/realtime`.
fn realtime_url(node: &Url) -> Url {
    let mut url = node.clone();
    url.path_segments_mut()
        .expect("the client only keeps URLs that can be a base")
        .pop_if_empty()
        .extend(["api", "realtime"]);
    url
}

/// The log index of an event id `index.number`; `None` for any other id.
fn log_index_of(id: &str) -> Option<u64> {
    let (index, number) = id.split_once('.')?;
    number.parse::<u32>().ok()?;
    index.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_carry_log_indexes() {
        for (id, index) in [
            ("12.0", Some(12)),
            ("7.3", Some(7)),
            ("12", None),
            ("abc_def", None),
            ("1.x", None),
            ("", None),
        ] {
            assert_eq!(log_index_of(id), index, "{id}");
        }
    }
}
