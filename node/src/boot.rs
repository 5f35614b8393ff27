//! Starting a node: data dir, certificates, storage, consensus, first-start bootstrap.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use edgebase_consensus::tls::{self, TlsPaths};
use edgebase_consensus::{ConsensusConfig, ConsensusNode, JoinRole, NodeInfo};
use edgebase_storage::Store;

use crate::cli::ServeArgs;
use edgebase_hooks::Hooks;
use edgebase_model::auth_collection;
use edgebase_model::time;
use edgebase_realtime::HubLimits;
use edgebase_service::app::{App, Limits};
use edgebase_service::auth_sessions::{self, SessionKind};
use edgebase_service::blob_keeper::{self, KeeperTiming};
use edgebase_service::collections::ensure_system_collection;
use edgebase_service::request_logs::RequestLogs;
use edgebase_service::scheduler::{self, SchedulerTiming};
use edgebase_service::superusers;
use edgebase_service::ServiceError;

/// Node id of a node that made its own certificates (a lone `edgebase serve`).
const SELF_SIGNED_NODE_ID: u64 = 1;
/// How long bootstrap keeps trying to create the system collections.
const BOOTSTRAP_DEADLINE: Duration = Duration::from_secs(120);

/// A started node: consensus running, state readable, the API not yet served.
pub struct StartedNode {
    pub app: App,
    /// This node's realtime clients, fed by apply.
    pub hub: edgebase_realtime::Hub,
    /// The JavaScript hooks of the `pb_hooks` folder.
    pub hooks: Hooks,
    /// Background work stopped on shutdown (the blob keeper).
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl StartedNode {
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Err(error) = self.app.consensus().shutdown().await {
            tracing::warn!(%error, "shut down consensus");
        }
    }
}

/// The certificates this node uses: `--certs`, else its own CA and certificate, made on
/// first start under the data dir.
fn certificates(args: &ServeArgs) -> anyhow::Result<TlsPaths> {
    if let Some(dir) = &args.certs {
        return Ok(TlsPaths::in_dir(dir));
    }
    let dir = args.dir.join("certs");
    let paths = TlsPaths::in_dir(&dir);
    if !paths.node_cert.exists() {
        let ca_dir = dir.join("ca");
        tls::generate_ca(&ca_dir).context("create the node's own CA")?;
        let hosts = vec![args.raft_addr().ip().to_string(), "localhost".to_string()];
        tls::generate_node_cert(&ca_dir, SELF_SIGNED_NODE_ID, &hosts, &dir)
            .context("create the node certificate")?;
        tracing::info!(dir = %dir.display(), "created a CA and node certificate");
    }
    Ok(paths)
}

fn node_id_from(paths: &TlsPaths) -> anyhow::Result<u64> {
    let material = paths
        .load()
        .with_context(|| format!("load the certificates in {}", paths.node_cert.display()))?;
    Ok(material.node_id())
}

pub(crate) fn db_dir(dir: &Path) -> PathBuf {
    dir.join("db")
}

/// Open storage, start consensus, initialise or join on first start.
pub async fn start_node(args: &ServeArgs) -> anyhow::Result<StartedNode> {
    std::fs::create_dir_all(&args.dir).context("create data dir")?;
    // Storage first: a data dir this build cannot read is refused before anything is added.
    let store = Store::open(&db_dir(&args.dir)).context("open storage")?;
    let tls_paths = certificates(args)?;
    let node_id = node_id_from(&tls_paths)?;
    if let Some(expected) = args.node_id {
        if expected != node_id {
            bail!("--node-id {expected} does not match the certificate's node id {node_id}");
        }
    }
    let raft_addr = args.raft_addr();
    let info = NodeInfo {
        raft_addr: args
            .advertise_raft
            .clone()
            .unwrap_or_else(|| raft_addr.to_string()),
        http_addr: args
            .advertise_http
            .clone()
            .unwrap_or_else(|| args.http.to_string()),
        region: args.region.clone(),
    };
    let mut config = ConsensusConfig::new(node_id, args.dir.clone(), raft_addr, info, tls_paths);
    config.snapshot_threshold_logs = args.snapshot_threshold;
    config.leader_regions = args.leader_regions.clone();
    let consensus = ConsensusNode::start(config, store.clone())
        .await
        .context("start consensus")?;
    let initialized = consensus.is_initialized().await?;
    let mut first_start = FirstStart::Existing;
    match (&args.join, initialized, consensus.join_pending()) {
        (Some(seed), false, _) | (Some(seed), true, true) => {
            let role = if args.learner {
                JoinRole::Learner
            } else {
                JoinRole::Voter
            };
            tracing::info!(%seed, ?role, "joining the cluster");
            let join_timeout = Duration::from_secs(args.join_timeout_secs);
            tokio::time::timeout(join_timeout, consensus.join(seed, role))
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "did not join through {seed} within {} s (--join-timeout-secs)",
                        join_timeout.as_secs()
                    )
                })?
                .context("join the cluster")?;
        }
        (None, false, _) | (None, true, true) if args.wait_to_be_added => {
            consensus
                .await_membership()
                .await
                .context("wait to be added to a cluster")?;
        }
        (None, _, true) => {
            bail!("this node's join did not finish; start it again with --join <raft address of a member>")
        }
        (None, false, false) => {
            tracing::info!(node_id, "initialising a new single-node cluster");
            consensus
                .initialize_single()
                .await
                .context("initialise the cluster")?;
            first_start = FirstStart::NewCluster;
        }
        (_, true, false) => {}
    }
    args.save()?;
    if args.planted_bug_stale_reads {
        tracing::warn!("PLANTED BUG: strong reads skip the read index (a test of the checker)");
    }
    let limits = Limits {
        records_examined_max: args.request_records_examined_max,
        planted_stale_strong_reads: args.planted_bug_stale_reads,
        ..Limits::default()
    };
    let request_logs =
        RequestLogs::open(&args.dir.join("logs")).context("open the request logs")?;
    let app = App::new(
        consensus,
        store.state().reader(),
        limits,
        request_logs.clone(),
    );
    request_logs
        .start_writer(app.clone())
        .context("start the request log writer")?;
    let hub_limits = HubLimits {
        clients_max: args.realtime.realtime_clients_max,
        queue_messages: args.realtime.realtime_queue_events,
        ..HubLimits::default()
    };
    let (hub, listener) = edgebase_realtime::Hub::start(app.clone(), hub_limits);
    store.state().set_change_listener(listener);
    if args.join.is_none() && !args.wait_to_be_added {
        // The node that started the cluster creates the system collections; a rejection
        // because they exist already is success.
        bootstrap(&app, first_start).await?;
    }
    let timing = KeeperTiming {
        sweep_interval: Duration::from_secs(args.blobs.blob_sweep_interval_secs),
        grace: Duration::from_secs(args.blobs.blob_grace_secs),
    };
    let scheduler_timing = SchedulerTiming {
        minute: Duration::from_millis(args.scheduler_minute_ms),
    };
    let (hooks, hooks_watcher) = start_hooks(&app, args).await?;
    // Push targets are checked when they are registered.
    app.record_checks().add(std::sync::Arc::new(
        edgebase_messaging::target_check::TargetCheck,
    ));
    let tasks = vec![
        tokio::spawn(blob_keeper::run(app.clone(), timing)),
        scheduler::spawn(app.clone(), scheduler_timing),
        hooks_watcher,
        hooks.spawn_outbox(app.clone()),
        edgebase_messaging::spawn_delivery(app.clone()),
    ];
    Ok(StartedNode {
        app,
        hub,
        hooks,
        tasks,
    })
}

/// Start the hooks engine on the bundle the cluster deployed, else the `pb_hooks` folder,
/// run its `onBootstrap`, and watch for deploys. A folder that cannot be read, a file that
/// fails and a failing `onBootstrap` are logged; the node starts either way.
async fn start_hooks(
    app: &App,
    args: &ServeArgs,
) -> anyhow::Result<(Hooks, tokio::task::JoinHandle<()>)> {
    let dir = args.hooks.dir(&args.dir);
    let hooks = Hooks::start(Some(app.clone()), &dir, args.hooks.engine())
        .context("start the hooks engine")?;
    let mut watch = edgebase_hooks::deployment::FolderWatch::new(dir);
    watch.sync(&hooks, app).await;
    // cronAdd jobs run on the scheduler, once per tick across the cluster.
    app.set_extra_jobs(std::sync::Arc::new(hooks.clone()));
    app.mailer().set_hooks(std::sync::Arc::new(hooks.clone()));
    let watcher = watch.spawn(hooks.clone(), app.clone());
    Ok((hooks, watcher))
}

/// Whether this start made a new cluster (which then gets PocketBase's `users` collection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstStart {
    NewCluster,
    Existing,
}

async fn create_system_collections(app: &App, first_start: FirstStart) -> Result<(), ServiceError> {
    superusers::ensure_collection(app).await?;
    edgebase_service::external_auths::ensure_collection(app).await?;
    for kind in [SessionKind::Mfa, SessionKind::Otp, SessionKind::AuthOrigin] {
        auth_sessions::ensure(app, kind).await?;
    }
    if first_start == FirstStart::NewCluster {
        let users = auth_collection::users_collection(&time::now_string()).map_err(|errors| {
            tracing::error!(?errors, "the users collection does not validate");
            ServiceError::internal("build the users collection")
        })?;
        let name = users.name.clone();
        ensure_system_collection(app, &name, || users).await?;
    }
    Ok(())
}

async fn bootstrap(app: &App, first_start: FirstStart) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + BOOTSTRAP_DEADLINE;
    let mut delay = Duration::from_millis(100);
    loop {
        match create_system_collections(app, first_start).await {
            Ok(()) => return Ok(()),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(%error, "system collections not created yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(error) => bail!(
                "could not create the system collections within {} s: {}",
                BOOTSTRAP_DEADLINE.as_secs(),
                error
            ),
        }
    }
}
