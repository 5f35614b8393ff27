//! Flags of `edgebase serve`, also persisted in the data dir so that offline commands
//! (`superuser upsert` with no server running) can start the node the same way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::hooks_args::HooksArgs;
use super::https_args::HttpsArgs;

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ServeArgs {
    /// Data directory (database, certificates, snapshots).
    #[arg(long, default_value = "./eb_data")]
    pub dir: PathBuf,
    /// HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub http: SocketAddr,
    /// QUIC address for Raft traffic between nodes [default: the HTTP host, port + 1].
    #[arg(long)]
    pub raft: Option<SocketAddr>,
    /// The address other nodes dial for Raft traffic, when it is not `--raft` (behind NAT,
    /// or a stable DNS name such as a Kubernetes pod's `edgebase-0.edgebase-peers:8091`,
    /// whose IP may change between restarts): `HOST:PORT`, resolved at each connect.
    #[arg(long, value_parser = parse_host_port)]
    #[serde(default)]
    pub advertise_raft: Option<String>,
    /// The HTTP address shown for this node in `cluster status`, when it is not `--http`.
    #[arg(long, value_parser = parse_host_port)]
    #[serde(default)]
    pub advertise_http: Option<String>,
    /// Region label of this node, shown in `cluster status`.
    #[arg(long, default_value = "local")]
    pub region: String,
    /// Directory with `ca.crt`, `node.crt` and `node.key` (see `edgebase certs`). Without it
    /// the node makes its own CA and certificate under the data dir.
    #[arg(long)]
    pub certs: Option<PathBuf>,
    /// Raft address of a running member to join on first start.
    #[arg(long)]
    pub join: Option<String>,
    /// Longest `--join` may take (reaching a member, catching up, being promoted) before the
    /// node gives up and exits with an error.
    #[arg(long, default_value_t = JOIN_TIMEOUT_DEFAULT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    #[serde(default = "join_timeout_default_secs")]
    pub join_timeout_secs: u64,
    /// Join as a non-voting learner.
    #[arg(long)]
    pub learner: bool,
    /// On first start, neither initialise a cluster nor join one: wait until an operator adds
    /// this node (`edgebase cluster add-learner`).
    #[arg(long, conflicts_with = "join")]
    #[serde(default)]
    pub wait_to_be_added: bool,
    /// Expected node id; must match the certificate's.
    #[arg(long)]
    pub node_id: Option<u64>,
    /// Take a snapshot (and purge the log) after this many log entries.
    #[arg(long, default_value_t = 5_000)]
    pub snapshot_threshold: u64,
    /// Regions the leader should be in, most preferred first (e.g. `eu,us`). A leader
    /// elsewhere hands over to a reachable, caught-up voter in one of them.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub leader_regions: Vec<String>,
    #[command(flatten)]
    #[serde(default)]
    pub http_edge: HttpEdgeArgs,
    #[command(flatten)]
    #[serde(default)]
    pub https: HttpsArgs,
    /// Most records one request may examine across its list, expands, back-relations and
    /// rule checks together; past it the request is refused with a 400 that says so.
    #[arg(long, default_value_t = REQUEST_RECORDS_EXAMINED_MAX_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    #[serde(default = "request_records_examined_max_default")]
    pub request_records_examined_max: u64,
    /// Test only: plant a bug (strong reads skip the read index) so the nemesis suite can
    /// show its checker catches it. Hidden, never saved with the node's flags.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub planted_bug_stale_reads: bool,
    /// Test only: SIGUSR1 toggles a slow disk (a delay before every WAL sync), for the
    /// nemesis suite. Hidden, never saved with the node's flags.
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub fault_injection: bool,
    /// Test only: how long a scheduler minute lasts, so tests see cron ticks every few
    /// seconds (each tick still stands for one calendar minute). Hidden, never saved.
    #[arg(long, hide = true, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..))]
    #[serde(skip, default = "scheduler_minute_ms_default")]
    pub scheduler_minute_ms: u64,
    #[command(flatten)]
    #[serde(default)]
    pub blobs: BlobArgs,
    #[command(flatten)]
    #[serde(default)]
    pub realtime: RealtimeArgs,
    #[command(flatten)]
    #[serde(default)]
    pub hooks: HooksArgs,
}

/// `HOST:PORT` with a DNS name or an IP address (IPv6 in brackets) and a non-zero port.
fn parse_host_port(text: &str) -> Result<String, String> {
    if edgebase_model::host_port::is_host_port(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not HOST:PORT (an IP address or DNS name, and a port 1-65535)"
        ))
    }
}

fn scheduler_minute_ms_default() -> u64 {
    60_000
}

const REALTIME_CLIENTS_MAX_DEFAULT: usize = 10_000;
const REALTIME_QUEUE_EVENTS_DEFAULT: usize = 512;

/// Bounds on this node's realtime clients.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct RealtimeArgs {
    /// Most realtime streams this node holds at once; more are answered 503.
    #[arg(long, default_value_t = REALTIME_CLIENTS_MAX_DEFAULT, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub realtime_clients_max: usize,
    /// Events queued for one realtime client; a client that lets more pile up is too slow
    /// and is disconnected (its SDK reconnects, and may resume).
    #[arg(long, default_value_t = REALTIME_QUEUE_EVENTS_DEFAULT, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub realtime_queue_events: usize,
}

impl Default for RealtimeArgs {
    fn default() -> Self {
        RealtimeArgs {
            realtime_clients_max: REALTIME_CLIENTS_MAX_DEFAULT,
            realtime_queue_events: REALTIME_QUEUE_EVENTS_DEFAULT,
        }
    }
}

const BLOB_SWEEP_INTERVAL_DEFAULT_SECS: u64 = 30;
const BLOB_GRACE_DEFAULT_SECS: u64 = 3_600;

/// How this node keeps its file contents in line with the records.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct BlobArgs {
    /// How often the node fetches referenced blobs it lacks and removes unreferenced ones.
    #[arg(long, default_value_t = BLOB_SWEEP_INTERVAL_DEFAULT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub blob_sweep_interval_secs: u64,
    /// How long a blob no record refers to is kept before it is removed. It must be longer
    /// than any upload takes (store, push to a majority, commit the record).
    #[arg(long, default_value_t = BLOB_GRACE_DEFAULT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub blob_grace_secs: u64,
}

impl Default for BlobArgs {
    fn default() -> Self {
        BlobArgs {
            blob_sweep_interval_secs: BLOB_SWEEP_INTERVAL_DEFAULT_SECS,
            blob_grace_secs: BLOB_GRACE_DEFAULT_SECS,
        }
    }
}

const REQUEST_RECORDS_EXAMINED_MAX_DEFAULT: u64 = 1_000_000;

fn request_records_examined_max_default() -> u64 {
    REQUEST_RECORDS_EXAMINED_MAX_DEFAULT
}

/// Default of `--join-timeout-secs`: a join that catches up a large state takes minutes.
const JOIN_TIMEOUT_DEFAULT_SECS: u64 = 600;

fn join_timeout_default_secs() -> u64 {
    JOIN_TIMEOUT_DEFAULT_SECS
}

const HTTP_CONNECTIONS_MAX_DEFAULT: u32 = 4_096;
const HTTP_HEADER_READ_TIMEOUT_DEFAULT_MS: u64 = 10_000;
const HTTP_REQUEST_TIMEOUT_DEFAULT_SECS: u64 = 60;
const HTTP_WRITE_STALL_TIMEOUT_DEFAULT_MS: u64 = 30_000;

fn http_write_stall_timeout_default_ms() -> u64 {
    HTTP_WRITE_STALL_TIMEOUT_DEFAULT_MS
}

/// Bounds at the HTTP edge.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct HttpEdgeArgs {
    /// Most HTTP connections open at once; more wait in the accept backlog until one ends.
    /// Keep it below the open-file limit (`ulimit -n`), which RocksDB and Raft share.
    #[arg(long, default_value_t = HTTP_CONNECTIONS_MAX_DEFAULT, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_connections_max: u32,
    /// Longest a client may take to send a request's headers; an idle keep-alive
    /// connection is closed after the same time.
    #[arg(long, default_value_t = HTTP_HEADER_READ_TIMEOUT_DEFAULT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_read_timeout_ms: u64,
    /// Longest a PocketBase API request may take, reading its body included, before it is
    /// answered 504 (a write it made may still be applied). The longest bounds inside a
    /// request are 30 s (SMTP, OAuth2 providers); raise this with a longer batch timeout in
    /// the settings. `/api/cluster/*` is bounded by consensus instead.
    #[arg(long, default_value_t = HTTP_REQUEST_TIMEOUT_DEFAULT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_request_timeout_secs: u64,
    /// Longest a write to a client may stay blocked (a client that stopped reading an
    /// answer or a realtime stream) before its connection is closed. Realtime streams get a
    /// keep-alive every 15 s, so a live client never comes near it.
    #[arg(long, default_value_t = HTTP_WRITE_STALL_TIMEOUT_DEFAULT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    #[serde(default = "http_write_stall_timeout_default_ms")]
    pub http_write_stall_timeout_ms: u64,
    /// Origins browsers may call this node from (CORS), as PocketBase's `--origins`: `*`
    /// for any, else a comma-separated list such as `https://app.example.com`.
    #[arg(long, value_delimiter = ',', default_value = "*")]
    #[serde(default = "origins_default")]
    pub origins: Vec<String>,
}

fn origins_default() -> Vec<String> {
    vec!["*".to_string()]
}

impl Default for HttpEdgeArgs {
    fn default() -> Self {
        HttpEdgeArgs {
            http_connections_max: HTTP_CONNECTIONS_MAX_DEFAULT,
            http_header_read_timeout_ms: HTTP_HEADER_READ_TIMEOUT_DEFAULT_MS,
            http_request_timeout_secs: HTTP_REQUEST_TIMEOUT_DEFAULT_SECS,
            http_write_stall_timeout_ms: HTTP_WRITE_STALL_TIMEOUT_DEFAULT_MS,
            origins: origins_default(),
        }
    }
}

const PERSISTED_FILE: &str = "node.json";

impl ServeArgs {
    /// Defaults for `dir`, as a plain `edgebase serve --dir DIR` would use.
    pub fn defaults_for(dir: &Path) -> ServeArgs {
        ServeArgs {
            dir: dir.to_path_buf(),
            http: SocketAddr::from(([127, 0, 0, 1], 8090)),
            raft: None,
            advertise_raft: None,
            advertise_http: None,
            region: "local".into(),
            certs: None,
            join: None,
            join_timeout_secs: JOIN_TIMEOUT_DEFAULT_SECS,
            learner: false,
            wait_to_be_added: false,
            node_id: None,
            snapshot_threshold: 5_000,
            leader_regions: Vec::new(),
            http_edge: HttpEdgeArgs::default(),
            https: HttpsArgs::default(),
            request_records_examined_max: REQUEST_RECORDS_EXAMINED_MAX_DEFAULT,
            planted_bug_stale_reads: false,
            fault_injection: false,
            scheduler_minute_ms: scheduler_minute_ms_default(),
            blobs: BlobArgs::default(),
            realtime: RealtimeArgs::default(),
            hooks: HooksArgs::default(),
        }
    }

    /// The Raft listen address: `--raft`, else the HTTP host with port + 1.
    pub fn raft_addr(&self) -> SocketAddr {
        self.raft.unwrap_or_else(|| {
            let mut addr = self.http;
            addr.set_port(self.http.port().wrapping_add(1));
            addr
        })
    }

    pub fn save(&self) -> anyhow::Result<()> {
        let path = self.dir.join(PERSISTED_FILE);
        let temp = self.dir.join(format!("{PERSISTED_FILE}.tmp"));
        std::fs::write(&temp, serde_json::to_vec_pretty(self)?).context("write node settings")?;
        std::fs::rename(&temp, &path).context("save node settings")?;
        Ok(())
    }

    /// The flags the node in `dir` was last served with, if it ever was.
    pub fn load(dir: &Path) -> anyhow::Result<Option<ServeArgs>> {
        let path = dir.join(PERSISTED_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut args: ServeArgs =
                    serde_json::from_slice(&bytes).context("read node settings")?;
                args.dir = dir.to_path_buf();
                Ok(Some(args))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).context("open node settings"),
        }
    }
}
