//! PocketBase's built-in scheduled jobs, with the ids and schedules its `GET /api/crons`
//! shows, and what each does here. Jobs on replicated data run once per tick across the
//! cluster (claimed); jobs on a node's own files run on every node.

use chrono::{DateTime, Utc};
use edgebase_model::auth_sessions::{has_expired, SessionKind};
use edgebase_model::cron_schedule::CronSchedule;
use edgebase_model::settings::Settings;
use edgebase_storage::query::{ListRequest, RequestContext};
use edgebase_storage::{Command, CommandResult, RecordExpect};
use serde_json::{Map, Value};

use crate::app::App;
use crate::backups::{self, CreatedBy};
use crate::error::ServiceError;

pub const DB_OPTIMIZE: &str = "__pbDBOptimize__";
pub const MFA_CLEANUP: &str = "__pbMFACleanup__";
pub const OTP_CLEANUP: &str = "__pbOTPCleanup__";
pub const LOGS_CLEANUP: &str = "__pbLogsCleanup__";
pub const AUTO_BACKUP: &str = "__pbAutoBackup__";
/// Every job id.
pub const JOB_IDS: &[&str] = &[
    DB_OPTIMIZE,
    MFA_CLEANUP,
    OTP_CLEANUP,
    LOGS_CLEANUP,
    AUTO_BACKUP,
];

/// Sessions examined per cleanup run, and deleted per command.
const SESSIONS_EXAMINED_MAX: u64 = 10_000;
const DELETES_PER_COMMAND: usize = 100;

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Once per tick across the cluster, on the node whose claim wins.
    Cluster,
    /// On every node, on its own files.
    EachNode,
}

/// One scheduled job as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub expression: String,
    pub reach: Reach,
    /// How long (in scheduler minutes) a claimed run may take before another node may take
    /// the tick over.
    pub lease_minutes: u32,
}

impl Job {
    pub fn schedule(&self) -> Option<CronSchedule> {
        CronSchedule::parse(&self.expression).ok()
    }
}

/// The jobs, in the order PocketBase lists them; the backup job only when `backups.cron`
/// is set.
pub fn jobs(settings: &Settings) -> Vec<Job> {
    let job = |id: &str, expression: &str, reach, lease_minutes| Job {
        id: id.to_owned(),
        expression: expression.to_owned(),
        reach,
        lease_minutes,
    };
    let mut jobs = vec![
        job(DB_OPTIMIZE, "0 0 * * *", Reach::EachNode, 1),
        job(MFA_CLEANUP, "0 * * * *", Reach::Cluster, 1),
        job(OTP_CLEANUP, "0 * * * *", Reach::Cluster, 1),
        job(LOGS_CLEANUP, "0 */6 * * *", Reach::EachNode, 1),
    ];
    if !settings.backups.cron.is_empty() {
        jobs.push(job(AUTO_BACKUP, &settings.backups.cron, Reach::Cluster, 10));
    }
    jobs
}

/// A run the scheduler claimed: the calendar minute of its tick, and the claim's done mark
/// (the backup job writes it with its catalog entry).
pub struct ScheduledRun {
    pub minute: DateTime<Utc>,
    pub completion: Command,
}

/// Run `job` once: claimed by the scheduler, or None for a run asked for by a request.
pub async fn run(
    app: &App,
    job: &str,
    scheduled: Option<ScheduledRun>,
) -> Result<(), ServiceError> {
    match job {
        DB_OPTIMIZE => {
            let state = app.state().clone();
            tokio::task::spawn_blocking(move || state.compact_storage())
                .await
                .map_err(|error| ServiceError::internal_from("compact storage", error))??;
        }
        MFA_CLEANUP => remove_expired_sessions(app, SessionKind::Mfa).await?,
        OTP_CLEANUP => remove_expired_sessions(app, SessionKind::Otp).await?,
        LOGS_CLEANUP => {
            let app = app.clone();
            tokio::task::spawn_blocking(move || app.request_logs().prune_now(&app))
                .await
                .map_err(|error| ServiceError::internal_from("prune request logs", error))??;
        }
        AUTO_BACKUP => auto_backup(app, scheduled).await?,
        other => match app.extra_jobs() {
            Some(extra) if extra.jobs().iter().any(|(id, _)| id == other) => {
                // A job that throws has run (PocketBase logs it and goes on): its tick is
                // done, not run again.
                let minute = scheduled.map(|run| run.minute);
                if let Err(error) = extra.run(other, minute).await {
                    tracing::warn!(job = other, %error, "a hooks cron job failed");
                }
            }
            _ => tracing::warn!(job = other, "no such scheduled job"),
        },
    }
    Ok(())
}

/// A scheduled backup, then the oldest scheduled ones beyond `cronMaxKeep` removed. A
/// claimed run is named by its tick's minute, so one tick can only ever make one name.
async fn auto_backup(app: &App, scheduled: Option<ScheduledRun>) -> Result<(), ServiceError> {
    let settings = app.settings()?;
    let (name, by) = match scheduled {
        Some(run) => (
            backups::auto_name(&settings.meta.app_name, run.minute),
            CreatedBy::Schedule {
                completion: run.completion,
            },
        ),
        None => (
            backups::auto_name(&settings.meta.app_name, Utc::now()),
            CreatedBy::Request,
        ),
    };
    backups::create(app, Some(name), by).await?;
    let keep = usize::try_from(settings.backups.cron_max_keep).unwrap_or(0);
    if keep == 0 {
        return Ok(());
    }
    let mut autos: Vec<_> = backups::list(app)?
        .into_iter()
        .filter(|backup| backup.key.starts_with(backups::AUTO_PREFIX))
        .collect();
    // Newest first, by the time in the name and then the stored time.
    autos.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.key.cmp(&a.key)));
    for old in autos.into_iter().skip(keep) {
        if let Err(error) = backups::delete(app, &old.key).await {
            tracing::warn!(key = %old.key, %error, "remove an old scheduled backup");
        }
    }
    Ok(())
}

/// Delete the expired OTPs or MFA sessions of every auth collection, each at the version
/// read (a session changed meanwhile is left for the next run).
async fn remove_expired_sessions(app: &App, kind: SessionKind) -> Result<(), ServiceError> {
    let Some(sessions) = app.collection(kind.name())? else {
        return Ok(());
    };
    let page = app.state().list_records(&ListRequest::matching(
        sessions.collection.id.clone(),
        Vec::new(),
        SESSIONS_EXAMINED_MAX,
        RequestContext::at(Utc::now().timestamp_millis()),
        app.limits().records_examined_max,
    ))?;
    let mut expired = Vec::new();
    for stored in page.records {
        let doc: Map<String, Value> = serde_json::from_str(&stored.doc_json)
            .map_err(|error| ServiceError::internal_from("decode a stored session", error))?;
        let text = |name: &str| doc.get(name).and_then(Value::as_str).unwrap_or_default();
        let duration_secs = match app.collection(text("collectionRef"))? {
            Some(owner) => match kind {
                SessionKind::Mfa => owner.auth.mfa.duration_secs,
                _ => owner.auth.otp.duration_secs,
            },
            // The auth collection is gone: its sessions can never be used.
            None => 0,
        };
        if has_expired(text("created"), duration_secs) {
            expired.push(Command::DeleteRecord {
                collection_id: sessions.collection.id.clone(),
                record_id: stored.id.clone(),
                expect: RecordExpect::Version(stored.version),
            });
        }
    }
    let total = expired.len();
    let mut deleted = 0usize;
    while !expired.is_empty() {
        let chunk: Vec<Command> = expired
            .drain(..expired.len().min(DELETES_PER_COMMAND))
            .collect();
        let size = chunk.len();
        // All or nothing: a session changed meanwhile leaves its chunk to the next run.
        let outcome = app.propose(Command::Batch(chunk)).await?;
        deleted += match outcome.result {
            CommandResult::Applied { .. } => size,
            _ => 0,
        };
    }
    if total > 0 {
        tracing::info!(
            collection = kind.name(),
            expired = total,
            deleted,
            "expired sessions removed"
        );
    }
    Ok(())
}
