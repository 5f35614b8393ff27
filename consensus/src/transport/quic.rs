//! The node's QUIC endpoint: one connection per peer, reused and re-dialled on failure, and
//! one bidirectional stream per RPC.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quinn::{ConnectionError, IdleTimeout, TransportConfig, VarInt};
use rustls::pki_types::CertificateDer;
use tokio::time::{timeout_at, Instant};

use crate::tls::{node_id_from_cert, node_server_name, TlsMaterial, ANY_MEMBER_SERVER_NAME};
use crate::transport::frame::{decode_payload, encode_frame, read_frame, write_frame};
use crate::transport::{RpcRequest, RpcResponse, TransportError};
use crate::type_config::NodeId;
use crate::wire_version;

/// Incoming bidirectional streams one peer may have open at once.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 64;
/// Keep-alive period; a silent peer is declared gone after [`IDLE_TIMEOUT_MS`].
const KEEP_ALIVE_INTERVAL_MS: u64 = 500;
const IDLE_TIMEOUT_MS: u32 = 3_000;
/// Cached connections to addresses that are not current members (join seeds) are dropped
/// once the cache holds this many entries.
const MAX_CACHED_PEERS: usize = 1_024;
/// A dial that has not completed its handshake by then is given up.
const DIAL_TIMEOUT_MS: u64 = 3_000;

/// Who a dialer expects to answer at an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PeerTarget {
    /// This node; the server certificate must name it.
    Node(NodeId),
    /// Any member of the cluster (a join seed whose id is not known yet).
    AnyMember,
}

/// Consecutive timed-out RPCs after which a cached connection is presumed dead (e.g. the
/// peer restarted and the old connection has not timed out yet) and is re-dialled.
const TIMEOUTS_BEFORE_REDIAL: u32 = 2;

/// A cached connection, the node its certificate names (read once, at the handshake), and
/// how many RPCs on it timed out in a row.
#[derive(Clone)]
struct Cached {
    connection: quinn::Connection,
    peer_id: Option<NodeId>,
    /// The peer protocol agreed at the handshake.
    wire_version: u16,
    consecutive_timeouts: Arc<AtomicU32>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The QUIC endpoint of one node, serving and dialling with the same TLS identity.
#[derive(Clone)]
pub struct QuicTransport {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: quinn::Endpoint,
    client_config: quinn::ClientConfig,
    connections: Mutex<HashMap<(PeerTarget, String), Slot>>,
    /// The peer protocol each member was last seen speaking, kept when its connection is
    /// gone (a member down for a while is still known to run the release it ran).
    last_wire_versions: Mutex<std::collections::BTreeMap<NodeId, u16>>,
}

impl std::fmt::Debug for QuicTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicTransport")
            .field("local_addr", &self.inner.endpoint.local_addr().ok())
            .finish_non_exhaustive()
    }
}

fn transport_config() -> Arc<TransportConfig> {
    let mut config = TransportConfig::default();
    config
        .max_concurrent_bidi_streams(VarInt::from_u32(MAX_STREAMS_PER_CONNECTION))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .keep_alive_interval(Some(Duration::from_millis(KEEP_ALIVE_INTERVAL_MS)))
        .max_idle_timeout(Some(IdleTimeout::from(VarInt::from_u32(IDLE_TIMEOUT_MS))));
    Arc::new(config)
}

/// The endpoint's stateless resets keyed by a secret derived from the node's TLS key, so
/// the same after a restart: a node killed and started again answers packets of its
/// earlier incarnation's connections with resets the peers accept (a reset's token is
/// derived from the key and the connection id), and they drop those connections at their
/// next keep-alive instead of sending requests into them until the idle timeout.
/// The connection ids are made with a key derived the same way, because an endpoint
/// answers only packets whose connection id it recognises as one it could have issued.
fn endpoint_config(tls: &TlsMaterial) -> quinn::EndpointConfig {
    let secret = tls.derived_secret("quic stateless reset");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
    let mut config = quinn::EndpointConfig::new(Arc::new(key));
    let cid_secret = tls.derived_secret("quic connection ids");
    let mut cid_key = [0u8; 8];
    cid_key.copy_from_slice(&cid_secret[..8]);
    let cid_key = u64::from_le_bytes(cid_key);
    config.cid_generator(move || {
        Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
    });
    config
}

impl QuicTransport {
    /// Bind the endpoint on `listen_addr` (port 0 picks a free port) with `tls`.
    pub fn bind(listen_addr: SocketAddr, tls: &TlsMaterial) -> Result<Self, TransportError> {
        let transport = transport_config();
        let server_config = tls
            .server_config(transport.clone())
            .map_err(|e| TransportError::Endpoint(e.to_string()))?;
        let client_config = tls
            .client_config(transport)
            .map_err(|e| TransportError::Endpoint(e.to_string()))?;
        let socket = std::net::UdpSocket::bind(listen_addr)
            .map_err(|e| TransportError::Endpoint(format!("bind {listen_addr}: {e}")))?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| TransportError::Endpoint("no async runtime for QUIC".into()))?;
        let endpoint =
            quinn::Endpoint::new(endpoint_config(tls), Some(server_config), socket, runtime)
                .map_err(|e| TransportError::Endpoint(format!("bind {listen_addr}: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                client_config,
                connections: Mutex::new(HashMap::new()),
                last_wire_versions: Mutex::new(Default::default()),
            }),
        })
    }

    /// The address the endpoint is bound to.
    pub fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        self.inner
            .endpoint
            .local_addr()
            .map_err(|e| TransportError::Endpoint(e.to_string()))
    }

    /// The underlying endpoint (the server loop accepts on it).
    pub fn endpoint(&self) -> &quinn::Endpoint {
        &self.inner.endpoint
    }

    /// Close every connection and stop accepting.
    pub fn close(&self) {
        self.inner.endpoint.close(VarInt::from_u32(0), b"shutdown");
        self.lock_connections().clear();
    }

    /// Send `request` to node `target` at `addr` and wait at most `timeout` for its answer.
    pub async fn call(
        &self,
        target: NodeId,
        addr: &str,
        request: &RpcRequest,
        timeout: Duration,
    ) -> Result<RpcResponse, TransportError> {
        let (_, response) = self
            .call_target(PeerTarget::Node(target), addr, request, timeout)
            .await?;
        Ok(response)
    }

    /// Send `request` to whichever member answers at `addr`; returns that member's id (read
    /// from its certificate) with the answer.
    pub async fn call_any_member(
        &self,
        addr: &str,
        request: &RpcRequest,
        timeout: Duration,
    ) -> Result<(NodeId, RpcResponse), TransportError> {
        self.call_target(PeerTarget::AnyMember, addr, request, timeout)
            .await
    }

    async fn call_target(
        &self,
        target: PeerTarget,
        addr: &str,
        request: &RpcRequest,
        timeout: Duration,
    ) -> Result<(NodeId, RpcResponse), TransportError> {
        let frame = encode_frame(request)?;
        let deadline = Instant::now() + timeout;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let timed_out = |sent| TransportError::Timeout {
            peer: addr.to_string(),
            timeout_ms,
            sent,
        };

        let (cached, peer_id, mut send, mut recv) = self
            .open_stream(&target, addr, deadline, timeout_ms)
            .await?;
        let connection = &cached.connection;
        if request.wire_version() > cached.wire_version {
            return Err(TransportError::PeerTooOld {
                peer: addr.to_string(),
                request: request.kind(),
                peer_version: cached.wire_version,
                needed: request.wire_version(),
            });
        }

        let exchange = async {
            write_frame(&mut send, &frame)
                .await
                .map_err(|e| stream_failure(addr, connection, e.to_string()))?;
            // Finishing only fails if the stream was already reset, which the read reports.
            let _ = send.finish();
            let payload = read_frame(&mut recv).await.map_err(|e| match e {
                crate::transport::frame::FrameReadError::Invalid(invalid) => invalid,
                crate::transport::frame::FrameReadError::Io(io) => {
                    stream_failure(addr, connection, io.to_string())
                }
            })?;
            decode_payload::<RpcResponse>(&payload)
        };
        let response = match timeout_at(deadline, exchange).await {
            Ok(result) => result?,
            Err(_) => {
                let timeouts = cached.consecutive_timeouts.fetch_add(1, Ordering::Relaxed) + 1;
                if timeouts >= TIMEOUTS_BEFORE_REDIAL {
                    tracing::debug!(peer = addr, timeouts, "closing unresponsive connection");
                    connection.close(VarInt::from_u32(2), b"unresponsive");
                }
                return Err(timed_out(true));
            }
        };
        cached.consecutive_timeouts.store(0, Ordering::Relaxed);
        Ok((peer_id, response))
    }

    /// A new bidirectional stream to `target` at `addr`, on the cached connection (dialled
    /// if need be), with the node id its certificate names.
    async fn open_stream(
        &self,
        target: &PeerTarget,
        addr: &str,
        deadline: Instant,
        timeout_ms: u64,
    ) -> Result<(Cached, NodeId, quinn::SendStream, quinn::RecvStream), TransportError> {
        let timed_out = || TransportError::Timeout {
            peer: addr.to_string(),
            timeout_ms,
            sent: false,
        };
        let cached = timeout_at(deadline, self.connection(target, addr))
            .await
            .map_err(|_| timed_out())??;
        let peer_id = cached.peer_id.ok_or_else(|| TransportError::Handshake {
            peer: addr.to_string(),
            reason: "peer certificate names no node".to_string(),
        })?;
        if let PeerTarget::Node(expected) = target {
            if *expected != peer_id {
                return Err(TransportError::Handshake {
                    peer: addr.to_string(),
                    reason: format!("expected node {expected}, certificate names {peer_id}"),
                });
            }
        }
        let (send, recv) = timeout_at(deadline, cached.connection.open_bi())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| classify_connection_error(addr, &e, Phase::BeforeSend))?;
        Ok((cached, peer_id, send, recv))
    }

    /// A stream to node `target` for a streamed exchange (blob transfers), bounded by
    /// `timeout` for opening.
    pub(crate) async fn open_stream_to(
        &self,
        target: NodeId,
        addr: &str,
        timeout: Duration,
    ) -> Result<(quinn::SendStream, quinn::RecvStream), TransportError> {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let (_, _, send, recv) = self
            .open_stream(
                &PeerTarget::Node(target),
                addr,
                Instant::now() + timeout,
                timeout_ms,
            )
            .await?;
        Ok((send, recv))
    }

    /// The round-trip time QUIC currently estimates on each open connection to a member,
    /// by member (the shortest when there are several).
    pub fn peer_rtts(&self) -> Vec<(NodeId, std::time::Duration)> {
        self.per_live_peer(|cached| cached.connection.rtt(), std::cmp::min)
    }

    /// The peer protocol of each member this node has seen since it started: agreed on its
    /// open connections (the lowest when there are several), else as last seen. A member
    /// down since is taken to come back on the release it ran: one that came back older
    /// could not apply the newer entries the log already holds anyway, so waiting for it
    /// would only stop writes while it is down.
    pub fn peer_wire_versions(&self) -> Vec<(NodeId, u16)> {
        let live = self.per_live_peer(|cached| cached.wire_version, std::cmp::min);
        let mut last = self
            .inner
            .last_wire_versions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (peer, version) in live {
            last.insert(peer, version);
        }
        last.iter()
            .map(|(peer, version)| (*peer, *version))
            .collect()
    }

    /// `read` of every open connection to a member, folded per member by `merge`, ordered
    /// by member.
    fn per_live_peer<T: Copy>(
        &self,
        read: impl Fn(&Cached) -> T,
        merge: impl Fn(T, T) -> T,
    ) -> Vec<(NodeId, T)> {
        let slots: Vec<Slot> = self.lock_connections().values().cloned().collect();
        let mut by_peer: std::collections::BTreeMap<NodeId, T> = Default::default();
        for slot in slots {
            let Ok(cached) = slot.try_lock() else {
                continue;
            };
            let Some(cached) = cached.as_ref() else {
                continue;
            };
            let (Some(peer), None) = (cached.peer_id, cached.connection.close_reason()) else {
                continue;
            };
            let value = read(cached);
            by_peer
                .entry(peer)
                .and_modify(|known| *known = merge(*known, value))
                .or_insert(value);
        }
        by_peer.into_iter().collect()
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, HashMap<(PeerTarget, String), Slot>> {
        // A panic while holding this lock cannot leave the map inconsistent (every update is
        // a single insert/remove), so a poisoned lock is still usable.
        self.inner
            .connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn slot(&self, target: &PeerTarget, addr: &str) -> Slot {
        let mut connections = self.lock_connections();
        if connections.len() >= MAX_CACHED_PEERS {
            connections.retain(|_, slot| {
                slot.try_lock()
                    .map(|cached| {
                        cached
                            .as_ref()
                            .is_some_and(|c| c.connection.close_reason().is_none())
                    })
                    .unwrap_or(true)
            });
            if connections.len() >= MAX_CACHED_PEERS {
                connections.clear();
            }
        }
        connections
            .entry((target.clone(), addr.to_string()))
            .or_default()
            .clone()
    }

    /// The cached connection to `target` at `addr`, dialling a new one if there is none or
    /// the cached one has closed.
    async fn connection(&self, target: &PeerTarget, addr: &str) -> Result<Cached, TransportError> {
        let slot = self.slot(target, addr);
        let mut cached = slot.lock().await;
        if let Some(existing) = cached.as_ref() {
            if existing.connection.close_reason().is_none() {
                return Ok(existing.clone());
            }
            tracing::debug!(peer = addr, "cached connection closed, re-dialling");
        }
        *cached = None;
        let socket_addr = resolve(addr).await?;
        let server_name = match target {
            PeerTarget::Node(id) => node_server_name(*id),
            PeerTarget::AnyMember => ANY_MEMBER_SERVER_NAME.to_string(),
        };
        let connecting = self
            .inner
            .endpoint
            .connect_with(self.inner.client_config.clone(), socket_addr, &server_name)
            .map_err(|e| TransportError::Unreachable {
                peer: addr.to_string(),
                reason: e.to_string(),
            })?;
        let connection = tokio::time::timeout(Duration::from_millis(DIAL_TIMEOUT_MS), connecting)
            .await
            .map_err(|_| TransportError::Unreachable {
                peer: addr.to_string(),
                reason: format!("no handshake within {DIAL_TIMEOUT_MS} ms"),
            })?
            .map_err(|e| classify_connection_error(addr, &e, Phase::BeforeSend))?;
        let fresh = Cached {
            peer_id: peer_node_id(&connection),
            wire_version: wire_version::negotiated(&connection),
            connection,
            consecutive_timeouts: Arc::new(AtomicU32::new(0)),
        };
        *cached = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The node id named by the certificate the peer presented on `connection`.
pub fn peer_node_id(connection: &quinn::Connection) -> Option<NodeId> {
    let identity = connection.peer_identity()?;
    let chain = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    node_id_from_cert(chain.first()?)
}

async fn resolve(addr: &str) -> Result<SocketAddr, TransportError> {
    if let Ok(socket_addr) = addr.parse::<SocketAddr>() {
        return Ok(socket_addr);
    }
    let bad = |reason: String| TransportError::BadAddress {
        addr: addr.to_string(),
        reason,
    };
    let mut addrs = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| bad(e.to_string()))?;
    addrs
        .next()
        .ok_or_else(|| bad("resolves to no address".to_string()))
}

#[derive(Clone, Copy)]
enum Phase {
    BeforeSend,
    AfterSend,
}

/// TLS alerts travel as QUIC "crypto" error codes 0x100..=0x1ff.
fn is_crypto_code(code: u64) -> bool {
    (0x100..0x200).contains(&code)
}

fn is_handshake_failure(error: &ConnectionError) -> bool {
    match error {
        ConnectionError::TransportError(e) => is_crypto_code(u64::from(e.code)),
        ConnectionError::ConnectionClosed(close) => is_crypto_code(u64::from(close.error_code)),
        _ => false,
    }
}

fn classify_connection_error(addr: &str, error: &ConnectionError, phase: Phase) -> TransportError {
    let peer = addr.to_string();
    let reason = error.to_string();
    if is_handshake_failure(error) {
        return TransportError::Handshake { peer, reason };
    }
    match phase {
        Phase::BeforeSend => TransportError::Unreachable { peer, reason },
        Phase::AfterSend => TransportError::Lost { peer, reason },
    }
}

/// A stream failed mid-exchange. When the connection turns out to have been closed by a TLS
/// rejection (the server checks the client certificate after the client considers the
/// handshake done), the request was never processed.
fn stream_failure(addr: &str, connection: &quinn::Connection, reason: String) -> TransportError {
    match connection.close_reason() {
        Some(error) => classify_connection_error(addr, &error, Phase::AfterSend),
        None => TransportError::Lost {
            peer: addr.to_string(),
            reason,
        },
    }
}
