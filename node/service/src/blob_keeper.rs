//! Keeps this node's blobs in line with the replicated state, in the background: every
//! blob a record refers to and this node lacks is fetched from a member that holds it (so a
//! download here is local, and a node that installed a snapshot or lost its disk fills back
//! up), and a blob no record refers to is removed once it is older than the grace period.
//!
//! The grace period is what keeps an upload safe before its write commits: the uploading
//! node stores the blob, then pushes it, then proposes the write, all within one request,
//! and every copy's age restarts when it is stored or confirmed to a peer (`BlobHas`), so
//! only blobs unreferenced for longer than any upload can take are removed.
//!
//! With S3 storage, a blob an entry keeps in the bucket is not fetched ahead of time: the
//! local copy of one (the upload's spool, or a download's) is a cache, removed after the
//! same grace period. The leader also removes from the bucket what no record refers to,
//! once it has been there longer than the grace period. Each sweep also removes expired
//! resumable uploads.

use std::time::{Duration, SystemTime};

use edgebase_blobs::BlobId;
use tokio::task::JoinSet;

use crate::app::App;
use crate::error::ServiceError;

/// Blobs fetched at once while catching up.
const FETCHES_IN_FLIGHT_MAX: usize = 4;
/// Referenced blobs read from the state per page.
const REFERENCED_PAGE: usize = 1_000;

/// How often the keeper runs and how long an unreferenced blob is kept.
#[derive(Debug, Clone, Copy)]
pub struct KeeperTiming {
    pub sweep_interval: Duration,
    pub grace: Duration,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Referenced blobs this node lacked.
    pub missing: u64,
    pub fetched: u64,
    /// Local blobs removed: unreferenced, or copies of ones the bucket keeps.
    pub removed: u64,
    /// Unreferenced blobs removed from the S3 bucket.
    pub removed_from_bucket: u64,
    /// Resumable uploads removed because they expired.
    pub expired_uploads: u64,
}

/// Sweep every `timing.sweep_interval` until the task is aborted.
pub async fn run(app: App, timing: KeeperTiming) {
    let mut ticks = tokio::time::interval(timing.sweep_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sweep(&app, timing.grace).await {
            Ok(report) if report != SweepReport::default() => {
                tracing::info!(?report, "blob sweep");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "blob sweep failed; trying again later"),
        }
    }
}

/// Blobs the node's own documents keep on the members: backup archives (not those in the
/// S3 bucket) and the deployed hooks bundle.
fn kept_by_documents(app: &App) -> Result<Vec<BlobId>, ServiceError> {
    let mut kept = crate::backups::catalog::blobs(app)?;
    kept.extend(crate::hooks_deployment::kept_blob(app)?);
    Ok(kept)
}

/// One pass: fetch what is missing, then remove what is unreferenced and past `grace`.
pub async fn sweep(app: &App, grace: Duration) -> Result<SweepReport, ServiceError> {
    let mut report = fetch_missing(app).await?;
    report.removed = remove_unneeded(app, grace).await?;
    report.removed_from_bucket = remove_from_bucket(app, grace).await?;
    report.expired_uploads = app
        .resumable()
        .remove_expired()
        .await
        .map_err(|error| ServiceError::internal_from("remove expired uploads", error))?;
    Ok(report)
}

async fn fetch_missing(app: &App) -> Result<SweepReport, ServiceError> {
    let mut fetching = Fetching {
        app,
        report: SweepReport::default(),
        fetches: JoinSet::new(),
    };
    let mut after: Option<[u8; 32]> = None;
    loop {
        let page = app
            .state()
            .referenced_blobs(after.as_ref(), REFERENCED_PAGE)?;
        let Some((last, _)) = page.last().copied() else {
            break;
        };
        for (digest, uses) in page {
            if uses.on_members {
                fetching
                    .fetch_if_missing(BlobId::from_digest(digest))
                    .await?;
            }
        }
        after = Some(last);
    }
    // Backup archives and the deployed hooks bundle are kept on the members like files.
    for blob in kept_by_documents(app)? {
        fetching.fetch_if_missing(blob).await?;
    }
    let Fetching {
        mut report,
        mut fetches,
        ..
    } = fetching;
    while let Some(done) = fetches.join_next().await {
        report.fetched += joined(Some(done));
    }
    if report.missing > 0 {
        tracing::info!(
            missing = report.missing,
            fetched = report.fetched,
            "fetched referenced blobs this node lacked"
        );
    }
    Ok(report)
}

/// One sweep's fetches of blobs this node should hold: at most `FETCHES_IN_FLIGHT_MAX` at
/// once.
struct Fetching<'a> {
    app: &'a App,
    report: SweepReport,
    fetches: JoinSet<bool>,
}

impl Fetching<'_> {
    async fn fetch_if_missing(&mut self, blob: BlobId) -> Result<(), ServiceError> {
        let consensus = self.app.consensus();
        let held = consensus
            .blobs()
            .size_of(&blob)
            .await
            .map_err(|error| ServiceError::internal_from("read a blob", error))?;
        if held.is_some() {
            return Ok(());
        }
        self.report.missing += 1;
        if self.report.missing == 1 {
            tracing::info!("this node lacks referenced blobs; fetching them");
        }
        while self.fetches.len() >= FETCHES_IN_FLIGHT_MAX {
            self.report.fetched += joined(self.fetches.join_next().await);
        }
        let consensus = consensus.clone();
        self.fetches.spawn(async move {
            match consensus.fetch_blob(blob).await {
                Ok(Some(_)) => true,
                Ok(None) => {
                    tracing::warn!(%blob, "no reachable member holds a referenced blob");
                    false
                }
                Err(error) => {
                    tracing::warn!(%blob, %error, "fetch a referenced blob");
                    false
                }
            }
        });
        Ok(())
    }
}

fn joined(done: Option<Result<bool, tokio::task::JoinError>>) -> u64 {
    u64::from(matches!(done, Some(Ok(true))))
}

/// Remove local blobs past `grace` that no entry keeps on the members and no backup names.
async fn remove_unneeded(app: &App, grace: Duration) -> Result<u64, ServiceError> {
    let blobs = app.consensus().blobs();
    let held = blobs
        .list()
        .await
        .map_err(|error| ServiceError::internal_from("list blobs", error))?;
    let documents: std::collections::HashSet<BlobId> =
        kept_by_documents(app)?.into_iter().collect();
    let now = SystemTime::now();
    let mut removed = 0;
    for blob in held {
        let age = now.duration_since(blob.stored_at).unwrap_or_default();
        if age < grace
            || documents.contains(&blob.id)
            || app.state().blob_use(blob.id.as_bytes())?.on_members
        {
            continue;
        }
        if blobs
            .remove(&blob.id)
            .await
            .map_err(|error| ServiceError::internal_from("remove a blob", error))?
        {
            tracing::debug!(blob = %blob.id, size_bytes = blob.size_bytes, "removed a local blob no entry keeps on the members");
            removed += 1;
            // Its thumbs go with it.
            let thumbs = app.thumbs().dir_of(&blob.id.to_hex());
            if let Err(error) = tokio::fs::remove_dir_all(&thumbs).await {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(dir = %thumbs.display(), %error, "remove a blob's thumbs");
                }
            }
        }
    }
    Ok(removed)
}

/// On the leader, with S3 storage on: remove bucket blobs past `grace` no record refers to.
async fn remove_from_bucket(app: &App, grace: Duration) -> Result<u64, ServiceError> {
    let consensus = app.consensus();
    if consensus.leader_id() != Some(consensus.node_id()) {
        return Ok(0);
    }
    let Some(bucket) = app.bucket()? else {
        return Ok(0);
    };
    let listed = bucket
        .list()
        .await
        .map_err(|error| ServiceError::internal_from("list the S3 bucket", error))?;
    let now = SystemTime::now();
    let mut removed = 0;
    for blob in listed {
        let age = now.duration_since(blob.stored_at).unwrap_or_default();
        if age < grace || app.state().blob_use(blob.id.as_bytes())?.is_referenced() {
            continue;
        }
        bucket
            .remove(&blob.id)
            .await
            .map_err(|error| ServiceError::internal_from("remove a bucket blob", error))?;
        tracing::debug!(blob = %blob.id, size_bytes = blob.size_bytes, "removed an unreferenced blob from the S3 bucket");
        removed += 1;
    }
    Ok(removed)
}
