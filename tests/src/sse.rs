//! A realtime client for tests: opens `GET /api/realtime`, reads `PB_CONNECT`'s client id,
//! and hands every later event (name and JSON data) to a channel, read in a background
//! task until the stream ends or the client is dropped.

use std::time::Duration;

use anyhow::{ensure, Context};
use serde_json::Value;
use tokio::sync::mpsc;

/// One SSE event: its name (the topic) and its data.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The SSE id (`index.number` for a record event, the client id for `PB_CONNECT`).
    pub id: String,
    pub name: String,
    pub data: Value,
}

pub struct SseClient {
    pub client_id: String,
    events: mpsc::UnboundedReceiver<SseEvent>,
    reader: tokio::task::JoinHandle<()>,
}

impl SseClient {
    /// Connect to `base_url`'s realtime stream and wait for `PB_CONNECT`.
    pub async fn connect(base_url: &str) -> anyhow::Result<SseClient> {
        SseClient::connect_resuming(base_url, None).await
    }

    /// Connect, resuming after the event with id `resume` (`?resume=`) when given.
    pub async fn connect_resuming(
        base_url: &str,
        resume: Option<&str>,
    ) -> anyhow::Result<SseClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let mut response = http
            .get(match resume {
                Some(resume) => format!("{base_url}/api/realtime?resume={resume}"),
                None => format!("{base_url}/api/realtime"),
            })
            .send()
            .await
            .context("open the realtime stream")?;
        ensure!(
            response.status() == 200,
            "realtime stream: {}",
            response.status()
        );
        let (sender, mut events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut buffer = String::new();
            let (mut id, mut name, mut data) = (String::new(), String::new(), String::new());
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find('\n') {
                    let line = buffer[..end].trim_end_matches('\r').to_string();
                    buffer.drain(..=end);
                    if line.is_empty() {
                        if !name.is_empty() || !data.is_empty() {
                            let parsed = serde_json::from_str(&data).unwrap_or(Value::Null);
                            let event = SseEvent {
                                id: std::mem::take(&mut id),
                                name: std::mem::take(&mut name),
                                data: parsed,
                            };
                            data.clear();
                            if sender.send(event).is_err() {
                                return;
                            }
                        }
                    } else if let Some(value) = line.strip_prefix("id:") {
                        id = value.trim_start().to_string();
                    } else if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim_start().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
            }
        });
        let hello = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .context("no PB_CONNECT in time")?
            .context("the stream ended before PB_CONNECT")?;
        ensure!(hello.name == "PB_CONNECT", "first event: {hello:?}");
        let client_id = hello.data["clientId"]
            .as_str()
            .context("clientId")?
            .to_string();
        Ok(SseClient {
            client_id,
            events,
            reader,
        })
    }

    /// The next event, waiting at most `timeout`; `None` when none came or the stream ended.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        tokio::time::timeout(timeout, self.events.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for SseClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
