//! The running node as the HTTP layer sees it: consensus, local state and limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgebase_consensus::{ConsensusNode, WriteOutcome};
use edgebase_storage::{
    CollectionRules, Command, CompiledCollection, StateReader, StoredCollection,
};
use edgebase_wire::Collection;

use crate::error::ServiceError;
use crate::parsed_cache::ParsedCache;
use crate::rate_limiter::RateLimiter;
use edgebase_auth::login_guard::LoginGuard;
use edgebase_model::auth_config::AuthOptions;
use edgebase_model::record_values::Document;
use edgebase_model::settings::{Settings, SETTINGS_KEY};

/// Bounds on what one request may ask of the node.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (PocketBase's default is 32 MiB).
    pub body_bytes_max: usize,
    /// Largest stored record document; Raft entries must stay well under the frame bound.
    pub record_bytes_max: usize,
    /// Longest a read waits for `X-Edgebase-After` or a strong read barrier.
    pub read_wait_max: Duration,
    /// Attempts for a write whose conditions went stale between read and apply.
    pub write_attempts_max: u32,
    /// Records (and joined rows) one request may examine across its list, expands,
    /// back-relations and rule checks before it fails (`Caller::budget`): the bound on a
    /// filter no index can narrow, and on a request that fans out.
    pub records_examined_max: u64,
    /// A planted bug for the nemesis suite's self-test: strong reads skip the read index and
    /// serve local state. Never set outside that test (`serve --planted-bug-stale-reads`).
    pub planted_stale_strong_reads: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes_max: 32 << 20,
            record_bytes_max: 4 << 20,
            read_wait_max: Duration::from_secs(10),
            write_attempts_max: 3,
            records_examined_max: 1_000_000,
            planted_stale_strong_reads: false,
        }
    }
}

/// Cheap to clone; shared by every request handler.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    consensus: ConsensusNode,
    state: StateReader,
    limits: Limits,
    collections: ParsedCache<Collection>,
    auth_options: ParsedCache<AuthOptions>,
    auth_records: ParsedCache<Document>,
    rate_limiter: RateLimiter,
    login_guard: LoginGuard,
    mailer: crate::mail::Mailer,
    thumbs: crate::thumbs::Thumbs,
    bucket: crate::bucket::BucketClient,
    backups_bucket: crate::bucket::BucketClient,
    resumable: crate::resumable::ResumableUploads,
    /// The settings last parsed, with the stored text they came from.
    settings: Mutex<Option<(String, Arc<Settings>)>>,
    /// This node's request logs (not replicated).
    request_logs: crate::request_logs::RequestLogs,
    /// The backup or upload running on this node, and its scratch space.
    backups: crate::backups::Backups,
    /// Set once the node is stopping: readiness says so and new realtime streams are
    /// refused, so clients move to other nodes.
    draining: AtomicBool,
    /// Scheduled jobs the layer above adds (the hooks' `cronAdd`).
    extra_jobs: std::sync::RwLock<Option<Arc<dyn crate::scheduler::ExtraJobs>>>,
    /// Checks the layers above add to writes of their system collections.
    record_checks: crate::record_checks::RecordChecks,
}

/// What a proposed write's outcome meant to the plan that made it.
#[derive(Debug)]
pub enum Settled<T> {
    /// The write is done (applied, or refused for good): the answer.
    Done(T),
    /// A condition the plan relied on no longer held: plan again on fresher state.
    Replan,
}

/// A collection definition with the version of the entry that last wrote it, and its
/// compiled form (parsed rules, compiled indexes) shared with the storage engine.
#[derive(Debug, Clone)]
pub struct LoadedCollection {
    pub collection: Arc<Collection>,
    /// Its auth options, typed (the defaults for a collection that is not an auth one).
    pub auth: Arc<AuthOptions>,
    pub compiled: Arc<CompiledCollection>,
    pub version: u64,
}

impl LoadedCollection {
    /// The collection's API rules, parsed once per version.
    pub fn rules(&self) -> &CollectionRules {
        self.compiled.rules()
    }
}

impl App {
    pub fn new(
        consensus: ConsensusNode,
        state: StateReader,
        limits: Limits,
        request_logs: crate::request_logs::RequestLogs,
    ) -> Self {
        let thumbs = crate::thumbs::Thumbs::new(consensus.blobs().root().join("thumbs"));
        let backups = crate::backups::Backups::new(consensus.blobs().root());
        App {
            inner: Arc::new(AppInner {
                thumbs,
                backups,
                draining: AtomicBool::new(false),
                extra_jobs: std::sync::RwLock::new(None),
                record_checks: crate::record_checks::RecordChecks::default(),
                bucket: crate::bucket::BucketClient::default(),
                backups_bucket: crate::bucket::BucketClient::default(),
                resumable: crate::resumable::ResumableUploads::new(
                    consensus.blobs().root().join("resumable"),
                ),
                consensus,
                state,
                limits,
                collections: ParsedCache::default(),
                auth_options: ParsedCache::default(),
                auth_records: ParsedCache::default(),
                settings: Mutex::new(None),
                rate_limiter: RateLimiter::default(),
                login_guard: LoginGuard::default(),
                mailer: crate::mail::Mailer::default(),
                request_logs,
            }),
        }
    }

    /// Add `jobs` to the scheduler (replacing any added before).
    pub fn set_extra_jobs(&self, jobs: Arc<dyn crate::scheduler::ExtraJobs>) {
        *self
            .inner
            .extra_jobs
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(jobs);
    }

    /// The jobs the layer above added to the scheduler, if any.
    pub fn extra_jobs(&self) -> Option<Arc<dyn crate::scheduler::ExtraJobs>> {
        self.inner
            .extra_jobs
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The checks every create and update runs on the documents of the collections they
    /// name.
    pub fn record_checks(&self) -> &crate::record_checks::RecordChecks {
        &self.inner.record_checks
    }

    /// This node's request logs.
    pub fn request_logs(&self) -> &crate::request_logs::RequestLogs {
        &self.inner.request_logs
    }

    /// This node's backup work.
    pub fn backups(&self) -> &crate::backups::Backups {
        &self.inner.backups
    }

    /// Mark the node as stopping (see `draining`).
    pub fn begin_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the node is stopping.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    pub fn consensus(&self) -> &ConsensusNode {
        &self.inner.consensus
    }

    pub fn state(&self) -> &StateReader {
        &self.inner.state
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// This node's failed sign-in counters.
    pub fn login_guard(&self) -> &LoginGuard {
        &self.inner.login_guard
    }

    /// This node's rate-limit windows.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.rate_limiter
    }

    /// The thumbnails this node has made (beside its blobs).
    pub fn thumbs(&self) -> &crate::thumbs::Thumbs {
        &self.inner.thumbs
    }

    /// This node's outgoing mail queue.
    pub fn mailer(&self) -> &crate::mail::Mailer {
        &self.inner.mailer
    }

    /// Propose a command through the leader; returns once this node has applied it.
    pub async fn propose(&self, command: Command) -> Result<WriteOutcome, ServiceError> {
        Ok(self.inner.consensus.write(command).await?)
    }

    /// The one loop every conditioned write goes through: `plan` builds a command on this
    /// node's state (with the conditions it relied on) and whatever answering needs; the
    /// command is proposed; `settle` reads the outcome. When `settle` says a condition went
    /// stale, the write is planned again on the fresher state the rejecting entry left here,
    /// at most `write_attempts_max` times, then refused with `conflict` (503, retry). A
    /// plan refused on this node's state is planned again after a read barrier, so every
    /// refusal (404, 412, not unique, a rule) holds at a moment within the request.
    pub async fn propose_planned<P, T, E, Planning>(
        &self,
        conflict: &'static str,
        plan: impl FnMut() -> Planning,
        settle: impl FnMut(P, WriteOutcome) -> Result<Settled<T>, E>,
    ) -> Result<T, E>
    where
        E: From<ServiceError>,
        Planning: std::future::Future<Output = Result<(Command, P), E>>,
    {
        let attempts = self.limits().write_attempts_max;
        self.propose_planned_within(attempts, conflict, plan, settle)
            .await
    }

    /// [`App::propose_planned`] with at most `attempts` plans (a write whose hooks must run
    /// again before it is planned again makes one).
    pub async fn propose_planned_within<P, T, E, Planning>(
        &self,
        attempts: u32,
        conflict: &'static str,
        mut plan: impl FnMut() -> Planning,
        mut settle: impl FnMut(P, WriteOutcome) -> Result<Settled<T>, E>,
    ) -> Result<T, E>
    where
        E: From<ServiceError>,
        Planning: std::future::Future<Output = Result<(Command, P), E>>,
    {
        // Whether this node's state is known to be as fresh as the request: a refusal read
        // off an older state (a follower or learner behind the leader) would answer for a
        // moment before the request began, which a linearizable write must not.
        let mut fresh = false;
        for attempt in 1..=attempts.max(1) {
            let (command, planned) = match plan().await {
                Ok(planned) => planned,
                Err(_) if !fresh => {
                    self.inner
                        .consensus
                        .linearizable_barrier()
                        .await
                        .map_err(ServiceError::from)?;
                    plan().await?
                }
                Err(refusal) => return Err(refusal),
            };
            let outcome = self.propose(command).await?;
            // The entry's outcome is applied here: any later plan reads a state at least
            // that fresh.
            fresh = true;
            match settle(planned, outcome)? {
                Settled::Done(answer) => return Ok(answer),
                Settled::Replan => {
                    tracing::debug!(attempt, "a write's condition went stale; planning again");
                }
            }
        }
        Err(ServiceError::unavailable(conflict).into())
    }

    /// Look a collection up by id, then by (case-insensitive) name.
    pub fn collection(&self, id_or_name: &str) -> Result<Option<LoadedCollection>, ServiceError> {
        let state = &self.inner.state;
        let stored = match state.collection_by_id(id_or_name)? {
            Some(stored) => Some(stored),
            None => state.collection_by_name(id_or_name)?,
        };
        stored
            .map(|stored| self.parse_collection(stored))
            .transpose()
    }

    /// Like [`App::collection`], for a write: a miss on this node's state (a follower or
    /// learner may not have applied the collection's creation yet) is looked up again after
    /// a read barrier, so a write is never refused for a collection that exists.
    pub async fn collection_for_write(
        &self,
        id_or_name: &str,
    ) -> Result<Option<LoadedCollection>, ServiceError> {
        if let Some(found) = self.collection(id_or_name)? {
            return Ok(Some(found));
        }
        self.inner
            .consensus
            .linearizable_barrier()
            .await
            .map_err(ServiceError::from)?;
        self.collection(id_or_name)
    }

    /// Every collection, in creation order.
    pub fn collections(&self) -> Result<Vec<LoadedCollection>, ServiceError> {
        self.inner
            .state
            .collections()?
            .into_iter()
            .map(|stored| self.parse_collection(stored))
            .collect()
    }

    fn parse_collection(&self, stored: StoredCollection) -> Result<LoadedCollection, ServiceError> {
        let collection = self
            .inner
            .collections
            .get_or_parse(&stored.id, stored.version, || {
                serde_json::from_str(&stored.doc_json)
                    .map_err(|error| ServiceError::internal_from("decode stored collection", error))
            })?;
        let auth = self.inner.auth_options.get_or_parse::<ServiceError>(
            &stored.id,
            stored.version,
            || Ok(AuthOptions::of(&collection)),
        )?;
        let compiled = self.inner.state.compiled_collection(&stored)?;
        Ok(LoadedCollection {
            collection,
            auth,
            compiled,
            version: stored.version,
        })
    }

    /// An auth record's document (tokens are checked against it on every request).
    pub fn auth_record(
        &self,
        collection_id: &str,
        record_id: &str,
    ) -> Result<Option<Arc<Document>>, ServiceError> {
        let Some(stored) = self.inner.state.record(collection_id, record_id)? else {
            return Ok(None);
        };
        let key = format!("{collection_id}/{record_id}");
        self.inner
            .auth_records
            .get_or_parse(&key, stored.version, || {
                serde_json::from_str(&stored.doc_json).map_err(|error| {
                    ServiceError::internal_from("decode stored auth record", error)
                })
            })
            .map(Some)
    }

    /// The resumable (tus) uploads in progress on this node.
    pub fn resumable(&self) -> &crate::resumable::ResumableUploads {
        &self.inner.resumable
    }

    /// The S3 bucket files are stored in, when the settings turn S3 storage on.
    pub fn bucket(&self) -> Result<Option<edgebase_bucket::Bucket>, ServiceError> {
        let settings = self.settings()?;
        self.inner.bucket.for_settings(&settings.s3)
    }

    /// The S3 bucket backups are kept in, when `backups.s3` turns it on.
    pub fn backups_bucket(&self) -> Result<Option<edgebase_bucket::Bucket>, ServiceError> {
        let settings = self.settings()?;
        self.inner.backups_bucket.for_settings(&settings.backups.s3)
    }

    /// The application settings as this node has applied them (PocketBase's defaults until a
    /// superuser saves some).
    pub fn settings(&self) -> Result<Arc<Settings>, ServiceError> {
        let Some(stored) = self.inner.state.setting(SETTINGS_KEY)? else {
            return Ok(Arc::new(Settings::default()));
        };
        let mut cached = self
            .inner
            .settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((text, settings)) = cached.as_ref() {
            if *text == stored {
                return Ok(settings.clone());
            }
        }
        let settings: Arc<Settings> = Arc::new(
            serde_json::from_str(&stored)
                .map_err(|error| ServiceError::internal_from("decode stored settings", error))?,
        );
        *cached = Some((stored, settings.clone()));
        Ok(settings)
    }
}
