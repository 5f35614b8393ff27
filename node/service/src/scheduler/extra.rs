//! Jobs the layer above adds to the scheduler (the hooks' `cronAdd`): listed before the
//! built-in ones, by id, as PocketBase lists them, and run once per tick across the cluster,
//! claimed like the built-in jobs on replicated data.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::jobs::{Job, Reach};
use crate::app::App;

/// Where extra jobs come from.
pub trait ExtraJobs: Send + Sync {
    /// Each job's id and cron expression.
    fn jobs(&self) -> Vec<(String, String)>;
    /// Run job `id` once, for the tick of the calendar minute `scheduled` (`None`: a run
    /// asked for by a request); why it failed.
    fn run(
        &self,
        id: &str,
        scheduled: Option<DateTime<Utc>>,
    ) -> BoxFuture<'static, Result<(), String>>;
}

/// How long a claimed run of an extra job may take, in scheduler minutes, before another
/// node takes the tick over.
const LEASE_MINUTES: u32 = 5;

/// The extra jobs, sorted by id, as the scheduler runs them.
pub(super) fn jobs(app: &App) -> Vec<Job> {
    let Some(extra) = app.extra_jobs() else {
        return Vec::new();
    };
    let mut jobs: Vec<Job> = extra
        .jobs()
        .into_iter()
        .filter(|(id, _)| !id.starts_with("__pb"))
        .map(|(id, expression)| Job {
            id,
            expression,
            reach: Reach::Cluster,
            lease_minutes: LEASE_MINUTES,
        })
        .collect();
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    jobs
}
