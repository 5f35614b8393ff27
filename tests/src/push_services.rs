//! Push and SMS services for tests, served by axum inside the test process on loopback:
//! a Web Push service (RFC 8030) that checks VAPID (RFC 8292) and decrypts what it gets
//! (RFC 8291), FCM's token exchange and HTTP v1 send, APNs over HTTP/2 without TLS, and a
//! Twilio-style SMS gateway. Each checks what the real service would, records what it took
//! (with the status it answered) and what it refused and why, answers what a test set for a
//! target instead of its success, and can be slowed down. Everything it keeps is bounded.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::wait_until;

mod apns;
mod fcm;
mod sms;
mod web_push;

pub use apns::{ApnsReceived, ApnsService, ApnsState, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC};
pub use fcm::{fcm_service_account, FcmReceived, FcmService, FcmServiceAccount, FcmState};
pub use sms::{SmsReceived, SmsSink, SmsState};
pub use web_push::{TestSubscription, WebPushReceived, WebPushService, WebPushState};

/// Most records, refusals, subscriptions or access tokens a service keeps; more is a test bug.
const KEPT_MAX: usize = 10_000;

/// An answer a test sets for a target (a subscription, token, device or number) instead of
/// the service's success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAnswer {
    pub status: u16,
    pub body: String,
}

impl TestAnswer {
    pub fn new(status: u16, body: impl Into<String>) -> TestAnswer {
        TestAnswer {
            status,
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: Value) -> TestAnswer {
        TestAnswer::new(status, body.to_string())
    }

    fn respond(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response()
    }
}

/// A request a service refused: what it answered and why (the reason is recorded).
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    reason: String,
    /// The answer's body, shaped as the real service's errors are.
    body: Value,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Refusal {
        let reason = reason.into();
        Refusal {
            status,
            body: json!({"error": reason}),
            reason,
        }
    }

    /// An APNs refusal: `{"reason": code}`, as Apple answers.
    fn apns(status: StatusCode, code: &str, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: format!("{code}: {}", reason.into()),
            body: json!({"reason": code}),
        }
    }
}

/// The answers set for one target: one-shot answers first, then the standing one.
#[derive(Debug, Default)]
struct TargetAnswers {
    once: VecDeque<TestAnswer>,
    always: Option<TestAnswer>,
}

/// What every service keeps.
#[derive(Debug)]
pub struct Inbox<T> {
    received: Vec<T>,
    rejected: Vec<String>,
    answers: HashMap<String, TargetAnswers>,
    delay: Duration,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Inbox {
            received: Vec::new(),
            rejected: Vec::new(),
            answers: HashMap::new(),
            delay: Duration::ZERO,
        }
    }
}

impl<T> Inbox<T> {
    fn record(&mut self, record: T) {
        if self.received.len() < KEPT_MAX {
            self.received.push(record);
        }
    }

    fn reject(&mut self, refusal: Refusal) -> Response {
        tracing::warn!(reason = %refusal.reason, "a test push service refused a request");
        if self.rejected.len() < KEPT_MAX {
            self.rejected.push(refusal.reason);
        }
        (refusal.status, axum::Json(refusal.body)).into_response()
    }

    /// The answer set for `target`, a one-shot one used up.
    fn answer_for(&mut self, target: &str) -> Option<TestAnswer> {
        let answers = self.answers.get_mut(target)?;
        answers.once.pop_front().or_else(|| answers.always.clone())
    }
}

/// A service's state: its inbox and what it checks requests against.
pub trait ServiceState: Send + 'static {
    type Record: Clone + Send + 'static;
    /// What the service is, for messages.
    const NAME: &'static str;
    fn inbox(&mut self) -> &mut Inbox<Self::Record>;
}

/// A running service; dropping it stops the server.
pub struct TestService<S: ServiceState> {
    addr: SocketAddr,
    state: Arc<Mutex<S>>,
    server: tokio::task::JoinHandle<()>,
}

impl<S: ServiceState> Drop for TestService<S> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    // A panic while holding the lock already fails the test; keep serving.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Shared<S> = Arc<Mutex<S>>;

impl<S: ServiceState> TestService<S> {
    /// Bind a loopback port, make the state knowing the service's origin, and serve
    /// (HTTP/1.1, and HTTP/2 with prior knowledge).
    async fn serve(
        state: impl FnOnce(&str) -> S,
        router: Router<Shared<S>>,
    ) -> anyhow::Result<TestService<S>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .with_context(|| format!("bind the {}", S::NAME))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state(&format!("http://{addr}"))));
        let app = router.with_state(state.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, service = S::NAME, "a test push service stopped");
            }
        });
        Ok(TestService {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request taken so far (whatever was answered), in arrival order.
    pub fn received(&self) -> Vec<S::Record> {
        lock(&self.state).inbox().received.clone()
    }

    /// Why each refused request was refused, in arrival order.
    pub fn rejected(&self) -> Vec<String> {
        lock(&self.state).inbox().rejected.clone()
    }

    /// Answer `answer` to every request for `target` from now on.
    pub fn answer(&self, target: &str, answer: TestAnswer) {
        let mut state = lock(&self.state);
        state
            .inbox()
            .answers
            .entry(target.into())
            .or_default()
            .always = Some(answer);
    }

    /// Answer `answer` to the next request for `target` only (before any standing answer).
    pub fn answer_once(&self, target: &str, answer: TestAnswer) {
        let mut state = lock(&self.state);
        let answers = state.inbox().answers.entry(target.into()).or_default();
        answers.once.push_back(answer);
    }

    /// Wait this long before handling each request.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).inbox().delay = delay;
    }

    /// Wait until at least `count` requests were taken, and return them all.
    pub async fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<S::Record>> {
        wait_until(
            &format!("{count} requests at the {}", S::NAME),
            timeout,
            || async {
                let received = self.received();
                Ok((received.len() >= count).then_some(received))
            },
        )
        .await
    }
}

/// Sleep the delay a test set, without holding the lock.
async fn delay<S: ServiceState>(state: &Shared<S>) {
    let delay = lock(state).inbox().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// Record a request that passed the checks and answer it: the answer a test set for
/// `target`, else `success`.
fn take<S: ServiceState>(
    service: &mut S,
    target: &str,
    success: TestAnswer,
    record: impl FnOnce(u16) -> S::Record,
) -> Response {
    let answer = service.inbox().answer_for(target).unwrap_or(success);
    service.inbox().record(record(answer.status));
    answer.respond()
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
