//! `Client`: one session against an EdgeBase (or PocketBase) server over HTTP, or against
//! several EdgeBase nodes of one cluster, picking the one with the lowest measured latency.
//!
//! # Failover (multi-node clients)
//!
//! A request to a node can fail as a *node failure*: a transport error (no connection,
//! connection lost, timeout) or a 502/503/504 answer. The node is then ranked last until a
//! probe hears from it again, and the request is sent to the next node only when resending it
//! cannot apply anything twice:
//! - reads (`GET`, `HEAD`) are resent after any node failure;
//! - writes (`POST`, `PATCH`, `PUT`, `DELETE`) carry an `Idempotency-Key` made for the call,
//!   and are resent with it after any node failure: EdgeBase applies a keyed write once and
//!   answers a retry with the first answer, so even a write that failed after reaching a
//!   node (lost connection, timeout, 502/503/504) is safe to send to the next one. (A
//!   multi-node client talks to an EdgeBase cluster; a single-URL client, which may talk to
//!   PocketBase, sends the key but never resends.)
//!
//! Every other answer (4xx, 500, success) is returned as it is. The read-your-writes index
//! (`last_index`) belongs to the session, not to a node, so a read that fails over still
//! waits for the writes this session has seen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collections::Collections;
use crate::consistency::Consistency;
use crate::error::ClientError;
use crate::node_pool::{NodeLatency, NodePool, NodeSelection, NODES_MAX};
use crate::records::Records;
use crate::wire::{
    AuthResponse, ClusterStatus, ErrorEnvelope, HealthResponse, HEADER_AFTER, HEADER_CONSISTENCY,
    HEADER_INDEX,
};

/// Limits of one client. Every request is bounded in time and every response in size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Whole request, from sending to the last byte of the answer.
    pub request_timeout_ms: u64,
    /// Establishing the TCP (and TLS) connection.
    pub connect_timeout_ms: u64,
    /// Longest response body the client reads; a longer one fails with `BodyTooLarge`.
    pub response_body_max_bytes: usize,
    /// How long an idle connection is kept for the next request. Keep it under the node's
    /// `--http-header-read-timeout-ms` (10 s by default), which also closes a keep-alive
    /// connection that waits that long for its next request: a request sent just as the
    /// node closes its connection fails.
    pub pool_idle_ms: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
            response_body_max_bytes: 64 * 1024 * 1024,
            pool_idle_ms: 4_000,
        }
    }
}

/// What clients derived from one another share: the auth token and the highest log index
/// seen, so a session keeps read-your-writes across nodes and consistency levels.
#[derive(Debug, Default)]
struct Session {
    token: RwLock<Option<String>>,
    last_index: AtomicU64,
}

/// An async client. Cheap to clone; clones share the session (token and last index).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: Url,
    session: Arc<Session>,
    consistency: Consistency,
    options: ClientOptions,
    /// The ranked nodes of a multi-node client; `None` for a single-URL client.
    nodes: Option<Arc<NodePool>>,
}

/// The body of `POST /api/cluster/snapshot`.
#[derive(serde::Deserialize)]
struct SnapshotResponse {
    #[serde(rename = "snapshotIndex")]
    snapshot_index: u64,
}

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8090`) with default limits.
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        Client::with_options(base_url, ClientOptions::default())
    }

    /// A client for `base_url` with the given limits.
    pub fn with_options(base_url: &str, options: ClientOptions) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(options.request_timeout_ms))
            .connect_timeout(Duration::from_millis(options.connect_timeout_ms))
            .pool_idle_timeout(Duration::from_millis(options.pool_idle_ms))
            .build()?;
        Ok(Client {
            http,
            base_url: parse_base_url(base_url)?,
            session: Arc::new(Session::default()),
            consistency: Consistency::default(),
            options,
            nodes: None,
        })
    }

    /// A client for the nodes of one cluster, with default limits and probing. It probes
    /// every node before returning, sends each request to the reachable node with the lowest
    /// measured latency, fails over as the module documentation says, and re-probes in the
    /// background (on the current Tokio runtime) while any clone of it is alive.
    pub async fn with_nodes(urls: &[&str]) -> Result<Client, ClientError> {
        Client::with_nodes_and_options(urls, ClientOptions::default(), NodeSelection::default())
            .await
    }

    /// `with_nodes` with the given limits and probing schedule. At most `NODES_MAX` URLs.
    pub async fn with_nodes_and_options(
        urls: &[&str],
        options: ClientOptions,
        selection: NodeSelection,
    ) -> Result<Client, ClientError> {
        let Some(first) = urls.first() else {
            return Err(ClientError::InvalidUrl {
                url: String::new(),
                reason: "no node URLs given".to_owned(),
            });
        };
        if urls.len() > NODES_MAX {
            return Err(ClientError::InvalidUrl {
                url: (*first).to_owned(),
                reason: format!("{} node URLs given, at most {NODES_MAX}", urls.len()),
            });
        }
        let parsed = urls
            .iter()
            .map(|url| parse_base_url(url))
            .collect::<Result<Vec<Url>, ClientError>>()?;
        let mut client = Client::with_options(first, options)?;
        let pool = Arc::new(NodePool::new(parsed, selection)?);
        pool.probe_all().await;
        NodePool::spawn_reprobe(&pool);
        client.nodes = Some(pool);
        Ok(client)
    }

    /// The same session (token, last index) talking to one other node (no node selection).
    pub fn with_base_url(&self, base_url: &str) -> Result<Client, ClientError> {
        Ok(Client {
            base_url: parse_base_url(base_url)?,
            nodes: None,
            ..self.clone()
        })
    }

    /// The same session asking for another read guarantee.
    pub fn with_consistency(&self, consistency: Consistency) -> Client {
        Client {
            consistency,
            ..self.clone()
        }
    }

    /// The URL this client was made with (for a multi-node client, the first one given;
    /// `current_node` is where requests go now).
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// The node the next request goes to first.
    pub fn current_node(&self) -> String {
        match &self.nodes {
            Some(pool) => pool
                .ranked()
                .first()
                .map_or_else(|| self.base_url.to_string(), Url::to_string),
            None => self.base_url.to_string(),
        }
    }

    /// Every node's last measured latency, in the order given (one entry for a single-URL
    /// client, unmeasured).
    pub fn node_latencies(&self) -> Vec<NodeLatency> {
        match &self.nodes {
            Some(pool) => pool.latencies(),
            None => vec![NodeLatency {
                url: self.base_url.to_string(),
                latency_us: None,
            }],
        }
    }

    /// Probe every node now instead of waiting for the next background round.
    pub async fn reprobe_nodes(&self) {
        if let Some(pool) = &self.nodes {
            pool.probe_all().await;
        }
    }

    pub fn consistency(&self) -> Consistency {
        self.consistency
    }

    /// Use `token` as the raw `Authorization` header value (as PocketBase expects).
    pub fn set_token(&self, token: impl Into<String>) {
        *self
            .session
            .token
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(token.into());
    }

    /// Send requests without an `Authorization` header from now on.
    pub fn clear_token(&self) {
        *self
            .session
            .token
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    pub fn token(&self) -> Option<String> {
        self.session
            .token
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The highest `X-Edgebase-Index` this session has seen (0 before any).
    pub fn last_index(&self) -> u64 {
        self.session.last_index.load(Ordering::Acquire)
    }

    /// Raise the session's index to at least `index`, e.g. one learned by another session.
    pub fn observe_index(&self, index: u64) {
        self.session.last_index.fetch_max(index, Ordering::AcqRel);
    }

    /// `GET /api/health`.
    pub async fn health(&self) -> Result<HealthResponse, ClientError> {
        self.send_json(Method::GET, &["api", "health"], &[], None)
            .await
    }

    /// Log in as a superuser; the client keeps the token for later calls.
    pub async fn superuser_login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<AuthResponse, ClientError> {
        let body = encode(&serde_json::json!({ "identity": email, "password": password }))?;
        let auth: AuthResponse = self
            .send_json(
                Method::POST,
                &["api", "collections", "_superusers", "auth-with-password"],
                &[],
                Some(body),
            )
            .await?;
        self.set_token(auth.token.clone());
        Ok(auth)
    }

    /// `GET /api/cluster/status` (superuser).
    pub async fn cluster_status(&self) -> Result<ClusterStatus, ClientError> {
        self.send_json(Method::GET, &["api", "cluster", "status"], &[], None)
            .await
    }

    /// `POST /api/cluster/snapshot` (superuser): build a snapshot on the node and purge its
    /// log; returns the snapshot's last log index.
    pub async fn cluster_snapshot(&self) -> Result<u64, ClientError> {
        let response: SnapshotResponse = self
            .send_json(Method::POST, &["api", "cluster", "snapshot"], &[], None)
            .await?;
        Ok(response.snapshot_index)
    }

    /// Collection management (superuser).
    pub fn collections(&self) -> Collections<'_> {
        Collections::new(self)
    }

    /// Messaging: push, email and SMS (superuser).
    pub fn messages(&self) -> crate::messages::Messages<'_> {
        crate::messages::Messages::new(self)
    }

    /// The records of one collection.
    pub fn records<'a>(&'a self, collection: &'a str) -> Records<'a> {
        Records::new(self, collection)
    }

    pub(crate) fn options(&self) -> ClientOptions {
        self.options
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The nodes to try, best first (the one URL of a single-URL client).
    pub(crate) fn ranked_nodes(&self) -> Vec<Url> {
        match &self.nodes {
            Some(pool) => pool.ranked(),
            None => vec![self.base_url.clone()],
        }
    }

    /// Rank `node` last until a probe hears from it again (nothing for a single URL).
    pub(crate) fn node_failed(&self, node: &Url) {
        if let Some(pool) = &self.nodes {
            pool.mark_unreachable(node);
        }
    }

    /// Send a request and decode a JSON success body into `T`.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let bytes = self.send(method, segments, query, body).await?;
        serde_json::from_slice(&bytes).map_err(ClientError::Decode)
    }

    /// Send a request whose success answer has no body worth reading (e.g. 204).
    pub(crate) async fn send_empty(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<(), ClientError> {
        self.send(method, segments, &[], body).await.map(|_| ())
    }

    /// Send to the single node, or to the ranked nodes with failover.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ClientError> {
        let key = is_write(&method).then(new_idempotency_key);
        let key = key.as_deref();
        let Some(pool) = &self.nodes else {
            return self
                .send_to(&self.base_url, method, segments, query, body, key)
                .await;
        };
        let mut last_error = None;
        for node in pool.ranked() {
            let outcome = self
                .send_to(&node, method.clone(), segments, query, body.clone(), key)
                .await;
            let error = match outcome {
                Ok(bytes) => return Ok(bytes),
                Err(error) => error,
            };
            if !is_node_failure(&error) {
                return Err(error);
            }
            pool.mark_unreachable(&node);
            tracing::debug!(%method, %node, %error, "node failed, trying the next one");
            last_error = Some(error);
        }
        Err(last_error.expect("a node pool holds at least one node"))
    }

    async fn send_to(
        &self,
        base_url: &Url,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, ClientError> {
        let url = build_url(base_url, segments, query);
        let mut request = self.http.request(method.clone(), url);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY, key);
        }
        if let Some(token) = self.token() {
            request = request.header(AUTHORIZATION, token);
        }
        let after = self.last_index();
        if after > 0 {
            request = request.header(HEADER_AFTER, after.to_string());
        }
        if self.consistency != Consistency::Local {
            request = request.header(HEADER_CONSISTENCY, self.consistency.header_value());
        }
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let mut response = request.send().await?;
        if let Some(index) = index_header(response.headers()) {
            self.observe_index(index);
        }
        let status = response.status();
        let bytes = read_body(&mut response, self.options.response_body_max_bytes).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        tracing::debug!(%method, status = status.as_u16(), "request failed");
        match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
            Ok(envelope) => Err(ClientError::Api(envelope)),
            Err(_) => Err(ClientError::UnexpectedStatus {
                status: status.as_u16(),
                body: truncated_text(&bytes, 1024),
            }),
        }
    }

    #[cfg(test)]
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        build_url(&self.base_url, segments, query)
    }
}

fn build_url(base_url: &Url, segments: &[&str], query: &[(&str, String)]) -> Url {
    let mut url = base_url.clone();
    url.path_segments_mut()
        .expect("parse_base_url only accepts URLs that can be a base")
        .pop_if_empty()
        .extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
    }
    url
}

/// The node, not the request, failed: no answer, or a gateway/unavailable answer.
fn is_node_failure(error: &ClientError) -> bool {
    match error {
        ClientError::Transport(transport) => transport.status().is_none(),
        other => matches!(other.status(), Some(502..=504)),
    }
}

/// Whether a request that failed with the node failure `error` may be sent to another node
/// without risk of applying it twice (see the module documentation).
fn is_write(method: &Method) -> bool {
    *method != Method::GET && *method != Method::HEAD
}

/// The header EdgeBase dedupes writes by.
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A key no other call will make: 32 random letters and digits.
fn new_idempotency_key() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
}

/// Serialize a request body.
pub(crate) fn encode<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, ClientError> {
    serde_json::to_vec(body).map_err(ClientError::Decode)
}

fn parse_base_url(base_url: &str) -> Result<Url, ClientError> {
    let invalid = |reason: String| ClientError::InvalidUrl {
        url: base_url.to_owned(),
        reason,
    };
    let url = Url::parse(base_url).map_err(|error| invalid(error.to_string()))?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("expected an http or https URL".to_owned()));
    }
    Ok(url)
}

/// The `X-Edgebase-Index` of a response; a malformed value is ignored (it only speeds up
/// reads, it never decides correctness of this response).
fn index_header(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(HEADER_INDEX)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn read_body(
    response: &mut reqwest::Response,
    limit_bytes: usize,
) -> Result<Vec<u8>, ClientError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit_bytes as u64)
    {
        return Err(ClientError::BodyTooLarge { limit_bytes });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > limit_bytes {
            return Err(ClientError::BodyTooLarge { limit_bytes });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn truncated_text(bytes: &[u8], limit_chars: usize) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .take(limit_chars)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_from_encoded_segments() {
        let client = Client::new("http://127.0.0.1:8090/").expect("valid url");
        let url = client.url(
            &["api", "collections", "a b/c", "records"],
            &[("page", "2".to_owned())],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8090/api/collections/a%20b%2Fc/records?page=2"
        );
        let prefixed = Client::new("http://host/prefix").expect("valid url");
        assert_eq!(
            prefixed.url(&["api", "health"], &[]).as_str(),
            "http://host/prefix/api/health"
        );
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for url in ["", "not a url", "mailto:x@y.z", "ftp://host/"] {
            assert!(
                matches!(Client::new(url), Err(ClientError::InvalidUrl { .. })),
                "{url:?} accepted"
            );
        }
    }

    #[test]
    fn derived_clients_share_the_session() {
        let client = Client::new("http://127.0.0.1:1").expect("valid url");
        let strong = client.with_consistency(Consistency::Strong);
        let other = client
            .with_base_url("http://127.0.0.1:2")
            .expect("valid url");
        client.set_token("t");
        strong.observe_index(7);
        other.observe_index(3);
        assert_eq!(other.token().as_deref(), Some("t"));
        assert_eq!(client.last_index(), 7);
        assert_eq!(strong.consistency(), Consistency::Strong);
        assert_eq!(client.consistency(), Consistency::Local);
        other.clear_token();
        assert_eq!(client.token(), None);
    }

    #[test]
    fn index_header_is_parsed_leniently() {
        let mut headers = HeaderMap::new();
        assert_eq!(index_header(&headers), None);
        headers.insert(HEADER_INDEX, "42".parse().expect("valid header"));
        assert_eq!(index_header(&headers), Some(42));
        headers.insert(HEADER_INDEX, "x".parse().expect("valid header"));
        assert_eq!(index_header(&headers), None);
    }
}
