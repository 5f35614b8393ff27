//! The consensus node: the API the HTTP layer codes against. It owns the Raft instance, the
//! QUIC endpoint and the RPC service, and routes writes, read barriers and membership changes
//! to the leader.

mod apply_times;
mod blobs;
mod cluster_state;
mod join_guard;
mod leader_contact;
mod leader_placement;
mod leader_transfer;
mod local_metrics;
pub(crate) mod node_core;
mod outcome;
mod proposals;
pub use proposals::ProposalStats;
mod relay;
mod service;
mod transfer_gate;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgebase_storage::Command;
use futures::future::join_all;
use openraft::error::{InitializeError, RaftError};
use openraft::raft::AppendEntriesRequest;

pub use self::blobs::BlobReplication;
pub use self::cluster_state::{ClusterState, MemberState, Release};
use self::join_guard::JoinGuard;
use self::leader_contact::{watch_quorum_acks, LeaderContact};
use self::leader_placement::LeaderPlacement;
pub use self::local_metrics::{LocalRaftMetrics, PeerReplication};
use self::node_core::{forward_error_to_consensus, NodeCore, Route};
pub use self::outcome::WriteOutcome;
pub use self::relay::{RelayFuture, RelayHandler, RELAY_BYTES_MAX};
pub use self::service::BLOB_BYTES_MAX;
use self::service::{NodeService, BLOB_RECEIVES_MAX, JOIN_RPC_TIMEOUT_MS};
use self::transfer_gate::TransferGate;
use crate::config::ConsensusConfig;
use crate::error::ConsensusError;
use crate::storage::{RaftLogStore, RaftStateMachineStore};
use crate::tls::TlsError;
use crate::transport::frame::encode_frame;
pub use crate::transport::JoinRole;
use crate::transport::{
    ForwardError, JoinRequest, MembershipChange, NodeDescription, QuicTransport,
    RaftNetworkClients, RpcRequest, RpcResponse, TransportError, MAX_FRAME_BYTES,
};
use crate::type_config::{LogId, NodeId, NodeInfo, Raft, Vote};

/// Largest encoded command accepted: half a frame, leaving room for the entry around it.
pub const MAX_COMMAND_BYTES: usize = MAX_FRAME_BYTES / 2;
/// Attempts for a write whose earlier attempts certainly did not propose it.
const WRITE_ATTEMPTS: u32 = 4;
/// Attempts for a read barrier (asking for a read index is harmless to repeat).
const READ_INDEX_ATTEMPTS: u32 = 3;
/// Attempts for a join (joining is idempotent).
const JOIN_ATTEMPTS: u32 = 5;
/// Pause before retry `n` is `n` times this.
const RETRY_PAUSE_MS: u64 = 100;
/// Forwarded write: the leader's own proposal timeout plus the round trip.
const FORWARD_WRITE_TIMEOUT_MS: u64 = node_core::PROPOSE_TIMEOUT_MS + 2_000;
const FORWARD_READ_INDEX_TIMEOUT_MS: u64 = node_core::READ_INDEX_TIMEOUT_MS + 2_000;
const FORWARD_MEMBERSHIP_TIMEOUT_MS: u64 = node_core::MEMBERSHIP_CHANGE_TIMEOUT_MS + 2_000;
/// How long a write waits for this node to apply an entry the leader committed.
const APPLY_WAIT_MS: u64 = 10_000;
/// How long a forwarding node waits for a forwarded entry to arrive before it stops trying
/// to learn the commit from the leader's answer (the write then waits for the next append).
const COMMIT_HINT_WAIT_MS: u64 = 1_000;
/// How long a join waits for this node to see itself in the replicated membership.
const JOIN_MEMBERSHIP_WAIT_MS: u64 = 30_000;
/// Status probes of other members in `cluster_state`.
const STATUS_PROBE_TIMEOUT_MS: u64 = 1_000;
const SNAPSHOT_WAIT_MS: u64 = 60_000;
const PURGE_WAIT_MS: u64 = 30_000;
const LEADER_AFTER_INIT_WAIT_MS: u64 = 10_000;
const ENDPOINT_DRAIN_MS: u64 = 500;

/// A running consensus node. Cheap to clone; all clones are the same node.
#[derive(Clone)]
pub struct ConsensusNode {
    inner: Arc<Inner>,
}

struct Inner {
    core: Arc<NodeCore>,
    join_guard: JoinGuard,
    local_raft_addr: SocketAddr,
    server_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Quorum-ack watcher and leader placement; aborted on shutdown.
    background_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for ConsensusNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusNode")
            .field("node_id", &self.inner.core.node_id)
            .field("raft_addr", &self.inner.local_raft_addr)
            .finish_non_exhaustive()
    }
}

impl ConsensusNode {
    /// Bind the QUIC endpoint, start Raft over `store` and serve peers.
    pub async fn start(
        config: ConsensusConfig,
        store: edgebase_storage::Store,
    ) -> Result<Self, ConsensusError> {
        let raft_config = config.raft_config()?;
        let tls = config.tls.load()?;
        if tls.node_id() != config.node_id {
            return Err(TlsError::NodeIdMismatch {
                in_cert: tls.node_id(),
                configured: config.node_id,
            }
            .into());
        }
        let transport = QuicTransport::bind(config.listen_raft_addr, &tls)?;
        let local_raft_addr = transport.local_addr()?;
        let info = advertised_info(&config.info, local_raft_addr);

        let snapshot_dir = config.snapshot_dir();
        std::fs::create_dir_all(&snapshot_dir).map_err(|e| ConsensusError::Storage {
            reason: format!("create {}: {e}", snapshot_dir.display()),
        })?;
        let log_store = RaftLogStore::new(store.log());
        let committed_index = log_store.committed_index();
        let node_link = crate::storage::NodeLink::default();
        let state_machine =
            RaftStateMachineStore::new(store.state(), snapshot_dir, node_link.clone()).map_err(
                |e| ConsensusError::Storage {
                    reason: e.to_string(),
                },
            )?;
        let network = RaftNetworkClients::new(config.node_id, transport.clone());
        let raft = Raft::new(
            config.node_id,
            Arc::new(raft_config),
            network,
            log_store,
            state_machine,
        )
        .await
        .map_err(ConsensusError::fatal)?;

        let blobs = edgebase_blobs::BlobStore::open(config.blobs_dir()).map_err(|e| {
            ConsensusError::Storage {
                reason: e.to_string(),
            }
        })?;
        let join_guard = JoinGuard::new(&config.data_dir);
        let initialized = raft.is_initialized().await.map_err(ConsensusError::fatal)?;
        let votes_withheld = !initialized || join_guard.is_pending();
        if votes_withheld {
            tracing::info!(
                node = config.node_id,
                "not voting until initialised or joined"
            );
        }
        let (proposals, proposals_task) = proposals::Proposals::start(raft.clone());
        let core = Arc::new(NodeCore {
            node_id: config.node_id,
            info,
            raft,
            transport: transport.clone(),
            election_timeout_min_ms: config.election_timeout_min_ms,
            election_timeout_max_ms: config.election_timeout_max_ms,
            votes_withheld: AtomicBool::new(votes_withheld),
            transfer_gate: TransferGate::new(),
            leader_contact: LeaderContact::new(),
            blobs,
            blob_receives: tokio::sync::Semaphore::new(BLOB_RECEIVES_MAX),
            relay: relay::RelayDesk::new(),
            proposals,
            committed_index,
            apply_times: apply_times::ApplyTimes::default(),
            status_notes: Mutex::new(BTreeMap::new()),
        });
        node_link.set(&core);
        let mut background_tasks = vec![
            tokio::spawn(watch_quorum_acks(core.clone())),
            tokio::spawn(apply_times::watch(core.clone())),
            proposals_task,
        ];
        if let Some(placement) =
            LeaderPlacement::new(&config.leader_regions, config.leader_placement_check_ms)
        {
            tracing::info!(regions = ?config.leader_regions, "leader placement by region is on");
            background_tasks.push(tokio::spawn(placement.run(core.clone())));
        }
        let service = Arc::new(NodeService::new(core.clone()));
        let server_task = tokio::spawn(crate::transport::serve(
            transport.endpoint().clone(),
            service,
        ));
        tracing::info!(
            node = config.node_id,
            raft_addr = %local_raft_addr,
            info = %core.info,
            "consensus node started"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                join_guard,
                local_raft_addr,
                server_task: Mutex::new(Some(server_task)),
                background_tasks: Mutex::new(background_tasks),
                shut_down: AtomicBool::new(false),
            }),
        })
    }

    fn core(&self) -> &NodeCore {
        &self.inner.core
    }

    /// Whether this node has a membership (initialised itself or was added by a leader).
    pub async fn is_initialized(&self) -> Result<bool, ConsensusError> {
        self.core()
            .raft
            .is_initialized()
            .await
            .map_err(ConsensusError::fatal)
    }

    /// First start of a lone node: become a one-voter cluster (no-op if already initialised).
    /// Returns once this node leads.
    pub async fn initialize_single(&self) -> Result<(), ConsensusError> {
        let core = self.core();
        if self.is_initialized().await? {
            return Ok(());
        }
        let mut members = BTreeMap::new();
        members.insert(core.node_id, core.info.clone());
        core.votes_withheld.store(false, Ordering::Release);
        match core.raft.initialize(members).await {
            Ok(()) => {}
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => return Ok(()),
            Err(RaftError::APIError(InitializeError::NotInMembers(e))) => {
                return Err(ConsensusError::Config {
                    reason: e.to_string(),
                })
            }
            Err(RaftError::Fatal(fatal)) => return Err(ConsensusError::fatal(fatal)),
        }
        let wait = Duration::from_millis(LEADER_AFTER_INIT_WAIT_MS);
        match core.route(wait).await? {
            Route::Local => Ok(()),
            Route::Remote { id, .. } => Err(ConsensusError::Unavailable {
                reason: format!("initialised alone but node {id} leads"),
            }),
        }
    }

    /// Ask a running member (its raft addr) to add us; returns when we are a member (a voter
    /// unless `role` is [`JoinRole::Learner`]).
    pub async fn join(&self, seed_raft_addr: &str, role: JoinRole) -> Result<(), ConsensusError> {
        let core = self.core();
        let guard = &self.inner.join_guard;
        if self.is_joined(role) && !guard.is_pending() {
            core.votes_withheld.store(false, Ordering::Release);
            return Ok(());
        }
        guard.begin()?;
        let request = RpcRequest::Join(JoinRequest {
            node_id: core.node_id,
            info: core.info.clone(),
            role,
            relayed_by: None,
        });
        let timeout = Duration::from_millis(JOIN_RPC_TIMEOUT_MS + 5_000);
        let mut seed = seed_raft_addr.to_string();
        let mut last_error = None;
        for attempt in 1..=JOIN_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS * u64::from(attempt)))
                    .await;
            }
            let answer = core
                .transport
                .call_any_member(&seed, &request, timeout)
                .await;
            match answer {
                Ok((_, RpcResponse::Join(Ok(())))) => {
                    last_error = None;
                    break;
                }
                Ok((_, RpcResponse::Join(Err(ForwardError::Refused(reason)))))
                | Ok((_, RpcResponse::Refused(reason))) => {
                    return Err(ConsensusError::JoinRefused { reason })
                }
                Ok((
                    _,
                    RpcResponse::Join(Err(ForwardError::NotLeader {
                        leader_raft_addr: Some(leader_addr),
                        ..
                    })),
                )) => {
                    tracing::info!(leader = %leader_addr, "join: asking the leader directly");
                    seed = leader_addr;
                    last_error = Some(ConsensusError::NoLeader);
                }
                Ok((_, RpcResponse::Join(Err(error)))) => {
                    tracing::info!(%error, attempt, "join not done yet");
                    last_error = Some(forward_error_to_consensus(error));
                }
                Ok((peer, other)) => {
                    last_error = Some(ConsensusError::Unavailable {
                        reason: format!("node {peer} answered a join with {}", other.kind()),
                    });
                }
                Err(TransportError::Handshake { reason, .. }) => {
                    return Err(ConsensusError::JoinRefused {
                        reason: format!("TLS handshake with {seed} failed: {reason}"),
                    })
                }
                Err(error) => {
                    tracing::info!(%error, attempt, "join: seed not reachable");
                    last_error = Some(ConsensusError::Unavailable {
                        reason: error.to_string(),
                    });
                }
            }
        }
        if let Some(error) = last_error {
            return Err(error);
        }
        let wait = Duration::from_millis(JOIN_MEMBERSHIP_WAIT_MS);
        let mut metrics = core.raft.metrics();
        let deadline = tokio::time::Instant::now() + wait;
        while !self.is_joined(role) {
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Err(_) => {
                    return Err(ConsensusError::timeout(
                        "see own membership after join",
                        wait,
                    ))
                }
                Ok(Err(_)) => return Err(ConsensusError::fatal("raft stopped")),
                Ok(Ok(())) => {}
            }
        }
        guard.finish()?;
        core.votes_withheld.store(false, Ordering::Release);
        tracing::info!(node = core.node_id, ?role, "joined the cluster");
        Ok(())
    }

    /// First start of a node an operator adds (`add_learner` on a member): wait until the
    /// leader has added this node, then finish like a learner join, so the node votes only
    /// once it is caught up (a node that lost its data comes back as a learner, to be
    /// promoted again). Returns when this node is a caught-up learner (or already a voter).
    /// Waits as long as the operator takes; stop the node to give up.
    pub async fn await_membership(&self) -> Result<(), ConsensusError> {
        let core = self.core();
        self.inner.join_guard.begin()?;
        let mut metrics = core.raft.metrics();
        let mut announced = false;
        while !core.is_member(core.node_id) || core.leader_id().is_none() {
            if !announced {
                tracing::info!(
                    node = core.node_id,
                    info = %core.info,
                    "waiting to be added (edgebase cluster add-learner)"
                );
                announced = true;
            }
            if metrics.changed().await.is_err() {
                return Err(ConsensusError::fatal("raft stopped"));
            }
        }
        let wait = Duration::from_millis(core.election_timeout_max_ms * 2);
        let leader_raft_addr = match core.route(wait).await? {
            Route::Remote { raft_addr, .. } => raft_addr,
            Route::Local => {
                return Err(ConsensusError::Unavailable {
                    reason: "this node leads before it was caught up".to_string(),
                })
            }
        };
        tracing::info!(node = core.node_id, "added by the leader; catching up");
        self.join(&leader_raft_addr, JoinRole::Learner).await
    }

    /// Whether a join began and did not finish (the node must join again before voting).
    pub fn join_pending(&self) -> bool {
        self.inner.join_guard.is_pending()
    }

    fn is_joined(&self, role: JoinRole) -> bool {
        let core = self.core();
        match role {
            JoinRole::Voter => core.is_voter(core.node_id),
            JoinRole::Learner => core.is_member(core.node_id),
        }
    }

    /// Propose through the leader (forwarding over QUIC when not leader, retrying only when
    /// the command was certainly not proposed); returns after this node has applied the entry,
    /// so a read here sees it.
    pub async fn write(&self, command: Command) -> Result<WriteOutcome, ConsensusError> {
        check_command_size(&command)?;
        let mut attempt = 1;
        let outcome = loop {
            match self.write_once(&command).await {
                Ok(outcome) => break outcome,
                Err(error) if error.is_retryable() && attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(%error, attempt, "write not proposed, retrying");
                    tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS * u64::from(attempt)))
                        .await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        };
        let wait = Duration::from_millis(APPLY_WAIT_MS);
        match self.wait_applied(outcome.index, wait).await {
            Ok(_) => Ok(outcome),
            Err(ConsensusError::Timeout { .. }) => Err(ConsensusError::NotYetApplied {
                index: outcome.index,
                applied: self.applied_index(),
            }),
            Err(error) => Err(error),
        }
    }

    async fn write_once(&self, command: &Command) -> Result<WriteOutcome, ConsensusError> {
        let core = self.core();
        let wait = Duration::from_millis(core.election_timeout_max_ms * 2);
        let reply = match core.route(wait).await? {
            Route::Local => core
                .propose_local(command.clone())
                .await
                .map_err(forward_error_to_consensus)?,
            Route::Remote { id, raft_addr } => {
                let timeout = Duration::from_millis(FORWARD_WRITE_TIMEOUT_MS);
                let request = RpcRequest::ClientWrite(command.clone());
                let call = core.transport.call(id, &raft_addr, &request, timeout);
                let answer = tokio::select! {
                    answer = call => answer,
                    () = core.leader_lost(id) => {
                        return Err(ConsensusError::OutcomeUnknown {
                            reason: format!(
                                "leader {id} was replaced or went silent while the write was \
                                 forwarded to it"
                            ),
                        })
                    }
                };
                match answer {
                    Ok(RpcResponse::ClientWrite(answer)) => {
                        let reply = answer.map_err(forward_error_to_consensus)?;
                        if let Some(entry) = reply.entry {
                            self.learn_commit(entry).await;
                        }
                        reply
                    }
                    Ok(RpcResponse::Refused(reason)) => {
                        return Err(ConsensusError::Refused { reason })
                    }
                    Ok(other) => {
                        return Err(ConsensusError::OutcomeUnknown {
                            reason: format!("leader answered a write with {}", other.kind()),
                        })
                    }
                    Err(TransportError::Timeout {
                        timeout_ms,
                        sent: true,
                        ..
                    }) => {
                        return Err(ConsensusError::Timeout {
                            action: "forward write to leader",
                            timeout_ms,
                        })
                    }
                    Err(error) if error.maybe_delivered() => {
                        return Err(ConsensusError::OutcomeUnknown {
                            reason: error.to_string(),
                        })
                    }
                    Err(error) => {
                        return Err(ConsensusError::Unavailable {
                            reason: error.to_string(),
                        })
                    }
                }
            }
        };
        Ok(WriteOutcome {
            index: reply.index,
            result: reply.result,
        })
    }

    /// The leader answered a forwarded write: `entry` is committed. Tell this node's Raft so
    /// at once, as the leader's next append would (same vote, the entry as the previous log
    /// id, no entries, the entry as the commit), once the entry itself has arrived here.
    /// openraft 0.9 keeps one append in flight per follower, so that next append would
    /// otherwise wait for the acknowledgement of the one carrying the entry: a second round
    /// trip. Only a hint: a node that moved to a newer leader refuses it by its vote, one
    /// whose log does not hold the entry refuses it by the previous log id, and either way
    /// the write waits for the leader's own append as before.
    async fn learn_commit(&self, entry: LogId) {
        let core = self.core();
        if core.applied_index() >= entry.index {
            return;
        }
        let arrived = core
            .raft
            .wait(Some(Duration::from_millis(COMMIT_HINT_WAIT_MS)))
            .log_index_at_least(Some(entry.index), "the forwarded entry to arrive")
            .await;
        if arrived.is_err() {
            return;
        }
        let leader = entry.leader_id;
        let request = AppendEntriesRequest {
            vote: Vote::new_committed(leader.term, leader.node_id),
            prev_log_id: Some(entry),
            entries: Vec::new(),
            leader_commit: Some(entry),
        };
        if let Err(error) = core.raft.append_entries(request).await {
            tracing::debug!(%error, "commit hint not taken");
        }
    }

    /// Wait until the local applied index >= `index`, bounded by `timeout`; returns the
    /// applied index.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<u64, ConsensusError> {
        let mut metrics = self.core().raft.metrics();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let applied = metrics
                .borrow()
                .last_applied
                .as_ref()
                .map(|log_id| log_id.index)
                .unwrap_or(0);
            if applied >= index {
                return Ok(applied);
            }
            match tokio::time::timeout_at(deadline, metrics.changed()).await {
                Err(_) => return Err(ConsensusError::timeout("wait for apply", timeout)),
                Ok(Err(_)) => return Err(ConsensusError::fatal("raft stopped")),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Linearizable read barrier: get the leader's read index (forwarded if needed), wait for
    /// local apply to reach it; returns it.
    pub async fn linearizable_barrier(&self) -> Result<u64, ConsensusError> {
        let core = self.core();
        let mut attempt = 1;
        let index = loop {
            match self.read_index_once().await {
                Ok(index) => break index,
                Err(error) if error.is_retryable() && attempt < READ_INDEX_ATTEMPTS => {
                    tracing::debug!(%error, attempt, "read index failed, retrying");
                    tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS * u64::from(attempt)))
                        .await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        };
        let wait = Duration::from_millis(APPLY_WAIT_MS);
        self.wait_applied(index, wait).await?;
        tracing::trace!(node = core.node_id, index, "linearizable barrier passed");
        Ok(index)
    }

    async fn read_index_once(&self) -> Result<u64, ConsensusError> {
        let core = self.core();
        let wait = Duration::from_millis(core.election_timeout_max_ms * 2);
        match core.route(wait).await? {
            Route::Local => core
                .read_index_local()
                .await
                .map_err(forward_error_to_consensus),
            Route::Remote { id, raft_addr } => {
                let timeout = Duration::from_millis(FORWARD_READ_INDEX_TIMEOUT_MS);
                let call = core
                    .transport
                    .call(id, &raft_addr, &RpcRequest::ReadIndex, timeout);
                let answer = tokio::select! {
                    answer = call => answer,
                    () = core.leader_lost(id) => {
                        return Err(ConsensusError::Unavailable {
                            reason: format!("leader {id} was replaced or went silent"),
                        })
                    }
                };
                match answer {
                    Ok(RpcResponse::ReadIndex(answer)) => {
                        answer.map_err(forward_error_to_consensus)
                    }
                    Ok(RpcResponse::Refused(reason)) => Err(ConsensusError::Refused { reason }),
                    Ok(other) => Err(ConsensusError::Unavailable {
                        reason: format!("leader answered a read index with {}", other.kind()),
                    }),
                    // Nothing is written by asking, so every transport failure is retryable.
                    Err(error) => Err(ConsensusError::Unavailable {
                        reason: error.to_string(),
                    }),
                }
            }
        }
    }

    /// The highest log index applied to this node's state machine (0 before any).
    pub fn applied_index(&self) -> u64 {
        self.core().applied_index()
    }

    pub fn node_id(&self) -> NodeId {
        self.core().node_id
    }

    /// What this node advertises to peers (raft address filled in from the bound port).
    pub fn info(&self) -> &NodeInfo {
        &self.core().info
    }

    /// The address the QUIC endpoint is bound to.
    pub fn local_raft_addr(&self) -> SocketAddr {
        self.inner.local_raft_addr
    }

    /// The leader this node currently knows of.
    pub fn leader_id(&self) -> Option<NodeId> {
        self.core().leader_id()
    }

    /// Every member with live status probed over QUIC (bounded time; unreachable members
    /// flagged).
    /// What this node has proposed as leader since it started: entries, the writes in them,
    /// the largest.
    /// Report `value` under `name` in this node's status (cluster status shows it for every
    /// member); names and values are cut to 256 characters, and at most 16 names are kept.
    pub fn set_status_note(&self, name: &str, value: &str) {
        let cut = |text: &str| {
            text.chars()
                .take(node_core::STATUS_NOTE_CHARS_MAX)
                .collect::<String>()
        };
        let mut notes = self
            .core()
            .status_notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if notes.len() >= node_core::STATUS_NOTES_MAX && !notes.contains_key(name) {
            tracing::warn!(name, "too many status notes; this one is not kept");
            return;
        }
        notes.insert(cut(name), cut(value));
    }

    pub fn proposal_stats(&self) -> ProposalStats {
        self.core().proposals.stats()
    }

    pub async fn cluster_state(&self) -> Result<ClusterState, ConsensusError> {
        let core = self.core();
        let metrics = core.metrics();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let nodes: Vec<(NodeId, NodeInfo)> = membership
            .nodes()
            .map(|(id, info)| (*id, info.clone()))
            .collect();
        let timeout = Duration::from_millis(STATUS_PROBE_TIMEOUT_MS);
        let probes = nodes.iter().map(|(id, info)| async move {
            if *id == core.node_id {
                return Some((core.describe(), 0));
            }
            let sent = std::time::Instant::now();
            let described = probe_member(core, *id, &info.raft_addr, timeout).await?;
            let rtt_ms = sent.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
            Some((described, rtt_ms))
        });
        let statuses = join_all(probes).await;
        let now = std::time::Instant::now();
        let members = nodes
            .into_iter()
            .zip(statuses)
            .map(|((id, info), probed)| {
                let (described, probe_rtt_ms) = match probed {
                    Some((described, rtt)) => (Some(described), Some(rtt)),
                    None => (None, None),
                };
                let release = described.as_ref().map(|d| Release {
                    package_version: d.package_version.clone(),
                    wire_version: d.wire_version,
                    notes: d.notes.clone(),
                });
                let status = described.map(|d| d.status);
                let last_applied_index = status.as_ref().and_then(|s| s.last_applied_index);
                MemberState {
                    id,
                    info,
                    is_voter: voters.contains(&id),
                    is_leader: metrics.current_leader == Some(id),
                    reachable: status.is_some(),
                    term: status.as_ref().map(|s| s.term),
                    last_applied_index,
                    last_log_index: status.as_ref().and_then(|s| s.last_log_index),
                    probe_rtt_ms,
                    leader_contact_ms: status.as_ref().and_then(|s| s.leader_contact_ms),
                    peer_rtts_ms: status
                        .as_ref()
                        .map(|s| s.peer_rtts_ms.clone())
                        .unwrap_or_default(),
                    release,
                    lag_ms: last_applied_index.and_then(|applied| {
                        core.apply_times.millis_since_applied(applied + 1, now)
                    }),
                }
            })
            .collect();
        Ok(ClusterState {
            node_id: core.node_id,
            leader_id: metrics.current_leader,
            term: metrics.current_term,
            members,
        })
    }

    /// Build a snapshot now and purge the log up to it; returns the snapshot's last index.
    pub async fn snapshot_and_purge(&self) -> Result<u64, ConsensusError> {
        let core = self.core();
        let applied = core.applied_index();
        if applied == 0 {
            return Err(ConsensusError::NotInitialized);
        }
        core.raft
            .trigger()
            .snapshot()
            .await
            .map_err(ConsensusError::fatal)?;
        let wait = Duration::from_millis(SNAPSHOT_WAIT_MS);
        let metrics = core
            .raft
            .wait(Some(wait))
            .metrics(
                |m| m.snapshot.as_ref().is_some_and(|s| s.index >= applied),
                "snapshot covers the applied index",
            )
            .await
            .map_err(|_| ConsensusError::timeout("build snapshot", wait))?;
        let snapshot_index = metrics
            .snapshot
            .as_ref()
            .map(|s| s.index)
            .unwrap_or(applied);
        core.raft
            .trigger()
            .purge_log(snapshot_index)
            .await
            .map_err(ConsensusError::fatal)?;
        let wait = Duration::from_millis(PURGE_WAIT_MS);
        core.raft
            .wait(Some(wait))
            .metrics(
                |m| m.purged.as_ref().is_some_and(|p| p.index >= snapshot_index),
                "log purged up to the snapshot",
            )
            .await
            .map_err(|_| ConsensusError::timeout("purge log", wait))?;
        tracing::info!(
            node = core.node_id,
            snapshot_index,
            "snapshot built and log purged"
        );
        Ok(snapshot_index)
    }

    /// Add `id` as a non-voting learner (through the leader); does not wait for catch-up.
    pub async fn add_learner(&self, id: NodeId, info: NodeInfo) -> Result<(), ConsensusError> {
        self.change_membership(MembershipChange::AddLearner { id, info })
            .await
    }

    /// Make learner `id` a voter (through the leader).
    pub async fn promote(&self, id: NodeId) -> Result<(), ConsensusError> {
        self.change_membership(MembershipChange::Promote { id })
            .await
    }

    /// Remove `id` from the cluster, voter or learner (through the leader).
    pub async fn remove(&self, id: NodeId) -> Result<(), ConsensusError> {
        self.change_membership(MembershipChange::Remove { id })
            .await
    }

    /// Hand leadership to voter `target` (through the leader); returns once `target` leads.
    /// See `leader_transfer.rs` for how, since openraft 0.9 has no transfer of its own.
    pub async fn transfer_leader(&self, target: NodeId) -> Result<(), ConsensusError> {
        let core = self.core();
        let wait = Duration::from_millis(core.election_timeout_max_ms * 2);
        match core.route(wait).await? {
            Route::Local => core
                .transfer_leadership_local(target)
                .await
                .map_err(forward_error_to_consensus),
            Route::Remote { id, raft_addr } => {
                let request = RpcRequest::TransferLeader {
                    requested_by: core.node_id,
                    target,
                };
                let timeout = core.transfer_timeout() + Duration::from_millis(2_000);
                match core.transport.call(id, &raft_addr, &request, timeout).await {
                    Ok(RpcResponse::TransferLeader(answer)) => {
                        answer.map_err(forward_error_to_consensus)
                    }
                    Ok(RpcResponse::Refused(reason)) => Err(ConsensusError::Refused { reason }),
                    Ok(other) => Err(ConsensusError::Unavailable {
                        reason: format!("leader answered a leader transfer with {}", other.kind()),
                    }),
                    Err(error) => Err(ConsensusError::Unavailable {
                        reason: error.to_string(),
                    }),
                }
            }
        }
    }

    /// Milliseconds since this node last heard from the current leader: for a follower or
    /// learner, its last accepted append from the leader; for the leader, its last quorum
    /// acknowledgement (always 0 for a lone voter). `None` when no leader is known or it has
    /// not been heard from.
    pub fn millis_since_leader_contact(&self) -> Option<u64> {
        self.core().millis_since_leader_contact()
    }

    async fn change_membership(&self, change: MembershipChange) -> Result<(), ConsensusError> {
        let core = self.core();
        let wait = Duration::from_millis(core.election_timeout_max_ms * 2);
        match core.route(wait).await? {
            Route::Local => core
                .change_membership_local(&change)
                .await
                .map_err(forward_error_to_consensus),
            Route::Remote { id, raft_addr } => {
                let request = RpcRequest::ChangeMembership {
                    requested_by: core.node_id,
                    change,
                };
                let timeout = Duration::from_millis(FORWARD_MEMBERSHIP_TIMEOUT_MS);
                match core.transport.call(id, &raft_addr, &request, timeout).await {
                    Ok(RpcResponse::ChangeMembership(answer)) => {
                        answer.map_err(forward_error_to_consensus)
                    }
                    Ok(RpcResponse::Refused(reason)) => Err(ConsensusError::Refused { reason }),
                    Ok(other) => Err(ConsensusError::OutcomeUnknown {
                        reason: format!(
                            "leader answered a membership change with {}",
                            other.kind()
                        ),
                    }),
                    Err(error) if error.maybe_delivered() => Err(ConsensusError::OutcomeUnknown {
                        reason: error.to_string(),
                    }),
                    Err(error) => Err(ConsensusError::Unavailable {
                        reason: error.to_string(),
                    }),
                }
            }
        }
    }

    /// The openraft handle, for what this API does not cover (metrics, tests).
    pub fn raft(&self) -> &Raft {
        &self.core().raft
    }

    /// Stop serving peers and stop Raft. Idempotent.
    pub async fn shutdown(&self) -> Result<(), ConsensusError> {
        if self.inner.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let core = self.core();
        core.transport.close();
        let server_task = self
            .inner
            .server_task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = server_task {
            task.abort();
        }
        let background_tasks = std::mem::take(
            &mut *self
                .inner
                .background_tasks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for task in background_tasks {
            task.abort();
        }
        let raft_result = core.raft.shutdown().await;
        let drain = Duration::from_millis(ENDPOINT_DRAIN_MS);
        let _ = tokio::time::timeout(drain, core.transport.endpoint().wait_idle()).await;
        raft_result.map_err(ConsensusError::fatal)?;
        tracing::info!(node = core.node_id, "consensus node stopped");
        Ok(())
    }
}

/// Refuse a command that could never travel in an append-entries frame: once in the log it
/// would block replication for good.
fn check_command_size(command: &Command) -> Result<(), ConsensusError> {
    let too_large = |len_bytes: u64| ConsensusError::CommandTooLarge {
        len_bytes,
        max_bytes: MAX_COMMAND_BYTES as u64,
    };
    let frame = encode_frame(command).map_err(|error| match error {
        TransportError::FrameTooLarge { len_bytes, .. } => too_large(len_bytes),
        other => ConsensusError::Transport(other),
    })?;
    let len_bytes = frame.len().saturating_sub(4);
    if len_bytes > MAX_COMMAND_BYTES {
        return Err(too_large(len_bytes as u64));
    }
    Ok(())
}

/// The node's advertised info, with the bound address filled into a `raft_addr` that is
/// empty or names port 0.
fn advertised_info(configured: &NodeInfo, bound: SocketAddr) -> NodeInfo {
    let mut info = configured.clone();
    if info.raft_addr.is_empty() {
        info.raft_addr = bound.to_string();
    } else if let Ok(mut addr) = info.raft_addr.parse::<SocketAddr>() {
        if addr.port() == 0 {
            addr.set_port(bound.port());
            info.raft_addr = addr.to_string();
        }
    }
    info
}

/// A member's status with its release: `Describe` on a connection agreed at protocol 2 or
/// later, plain `NodeStatus` from a member of the previous release (its package version is
/// not known then, only its protocol). `None` if it did not answer in time.
async fn probe_member(
    core: &NodeCore,
    id: NodeId,
    raft_addr: &str,
    timeout: Duration,
) -> Option<NodeDescription> {
    let answer = match core
        .transport
        .call(id, raft_addr, &RpcRequest::Describe, timeout)
        .await
    {
        Err(TransportError::PeerTooOld { peer_version, .. }) => core
            .transport
            .call(id, raft_addr, &RpcRequest::NodeStatus, timeout)
            .await
            .map(|answer| match answer {
                RpcResponse::NodeStatus(status) => RpcResponse::Described(NodeDescription {
                    status,
                    package_version: String::new(),
                    wire_version: peer_version,
                    notes: Vec::new(),
                }),
                other => other,
            }),
        other => other,
    };
    match answer {
        Ok(RpcResponse::Described(described)) => Some(described),
        Ok(other) => {
            tracing::debug!(node = id, answer = other.kind(), "unexpected status answer");
            None
        }
        Err(error) => {
            tracing::debug!(node = id, %error, "status probe failed");
            None
        }
    }
}
