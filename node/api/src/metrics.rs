//! Prometheus metrics: `GET /metrics` in the text exposition format (the `metrics` crate's
//! Prometheus recorder, installed once per process by [`install`]). HTTP requests are
//! counted and timed by route template here; storage and consensus record their own
//! (WAL sync time and group sizes, writes per log entry); Raft's state, the mail counters and
//! the request log's drops are read on each scrape. Like etcd's, the endpoint needs no token.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use edgebase_service::app::App;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;

/// Latency buckets in seconds, 0.5 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets for how many things one operation carried (writes per entry, appends per sync).
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("install the Prometheus recorder: {0}")]
    Install(#[from] metrics_exporter_prometheus::BuildError),
}

/// Install the process-wide recorder (once; later calls do nothing).
pub fn install() -> Result<(), MetricsError> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full("edgebase_wal_sync_group_appends".into()),
            COUNT_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("edgebase_proposal_entry_writes".into()),
            COUNT_BUCKETS,
        )?
        .install_recorder()?;
    let _ = HANDLE.set(handle);
    Ok(())
}

/// Count and time every request by method, route template and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "edgebase_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "edgebase_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// One open HTTP connection, counted while it lives.
pub struct OpenConnection(());

impl OpenConnection {
    pub fn new() -> OpenConnection {
        metrics::gauge!("edgebase_http_connections_open").increment(1.0);
        OpenConnection(())
    }
}

impl Default for OpenConnection {
    fn default() -> Self {
        OpenConnection::new()
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("edgebase_http_connections_open").decrement(1.0);
    }
}

/// `GET /metrics`.
pub async fn scrape(State(app): State<App>) -> Result<Response, ApiError> {
    let Some(handle) = HANDLE.get() else {
        return Err(ApiError::not_found());
    };
    record_state(&app);
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Gauges and totals read from the node's state at scrape time.
fn record_state(app: &App) {
    let raft = app.consensus().local_metrics();
    let gauge = |name: &'static str, value: f64| metrics::gauge!(name).set(value);
    gauge("edgebase_raft_node_id", raft.node_id as f64);
    gauge("edgebase_raft_term", raft.term as f64);
    gauge(
        "edgebase_raft_leader_id",
        raft.leader_id.map_or(0.0, |id| id as f64),
    );
    gauge(
        "edgebase_raft_is_leader",
        f64::from(u8::from(raft.is_leader)),
    );
    gauge("edgebase_raft_is_voter", f64::from(u8::from(raft.is_voter)));
    gauge("edgebase_raft_voters", raft.voters as f64);
    gauge("edgebase_raft_last_log_index", raft.last_log_index as f64);
    gauge("edgebase_raft_commit_index", raft.committed_index as f64);
    gauge("edgebase_raft_applied_index", raft.applied_index as f64);
    if let Some(millis) = raft.millis_since_quorum_ack {
        gauge(
            "edgebase_raft_quorum_ack_age_seconds",
            millis as f64 / 1000.0,
        );
    }
    if let Some(millis) = app.consensus().millis_since_leader_contact() {
        gauge(
            "edgebase_raft_leader_contact_age_seconds",
            millis as f64 / 1000.0,
        );
    }
    for peer in &raft.peers {
        let id = peer.id.to_string();
        metrics::gauge!("edgebase_raft_peer_lag_entries", "peer" => id.clone())
            .set(peer.lag_entries as f64);
        metrics::gauge!("edgebase_raft_peer_matched_index", "peer" => id)
            .set(peer.matched_index.unwrap_or(0) as f64);
    }
    let proposals = app.consensus().proposal_stats();
    metrics::counter!("edgebase_proposal_entries_total").absolute(proposals.entries);
    metrics::counter!("edgebase_proposal_writes_total").absolute(proposals.writes);
    let mail = app.mailer().stats();
    metrics::counter!("edgebase_mail_sent_total").absolute(mail.sent);
    metrics::counter!("edgebase_mail_failed_total").absolute(mail.failed);
    metrics::counter!("edgebase_mail_dropped_total").absolute(mail.dropped);
    metrics::counter!("edgebase_request_logs_dropped_total").absolute(app.request_logs().dropped());
    match edgebase_messaging::unsettled(app) {
        Ok(Some(unsettled)) => gauge("edgebase_messages_unsettled", unsettled as f64),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "count the unsettled messages"),
    }
}
