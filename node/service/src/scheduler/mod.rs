//! The scheduler: PocketBase's cron jobs, run once per tick across the cluster.
//!
//! Every node runs the same loop. At each scheduler minute (60 s; tests shorten it) it
//! works out which jobs are due, in PocketBase's cron dialect over UTC. A job on a node's
//! own files (request logs, storage compaction) runs there. A job on replicated data is
//! claimed first (`claim.rs`): the node whose claim is applied runs it and marks it done;
//! the others see the claim and stand by. A tick stays wanted until a claim on it is done,
//! so a leader change or a lost proposal delays a run instead of skipping it, and a
//! claimed run whose node died is taken over once its lease runs out. Jobs the layer above
//! adds (`ExtraJobs`: the hooks' `cronAdd`) are listed first and run the same way.
//!
//! What is guaranteed: every due tick runs at least once while a majority is up (within
//! `TICK_WINDOW_MINUTES`), and exactly once unless the node running it dies mid-run; the
//! backup job writes its result and its done mark in one command, so even then only one
//! run's backup is kept.

pub mod claim;
mod extra;
pub mod jobs;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::error::ServiceError;

pub use self::extra::ExtraJobs;
pub use self::jobs::{Job, Reach};

/// How many scheduler minutes back a due tick is still run (after an outage, only the
/// latest due tick of each job runs).
const TICK_WINDOW_MINUTES: u64 = 60;
/// How often, within a minute, the loop looks again at claims and takeovers.
const CHECKS_PER_MINUTE: u32 = 6;

/// How long a scheduler minute is: 60 s, shorter only in tests (`serve
/// --scheduler-minute-ms`), where a minute's tick then stands for a calendar minute.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerTiming {
    pub minute: Duration,
}

impl Default for SchedulerTiming {
    fn default() -> Self {
        SchedulerTiming {
            minute: Duration::from_secs(60),
        }
    }
}

impl SchedulerTiming {
    fn minute_ms(&self) -> u64 {
        u64::try_from(self.minute.as_millis())
            .unwrap_or(60_000)
            .max(1)
    }

    /// The tick (scheduler minutes since the epoch) `now` falls in.
    fn tick_at(&self, now: DateTime<Utc>) -> u64 {
        u64::try_from(now.timestamp_millis()).unwrap_or(0) / self.minute_ms()
    }

    /// The calendar minute a tick stands for: the tick itself at 60 s a minute.
    fn calendar_minute(tick: u64) -> DateTime<Utc> {
        let seconds = i64::try_from(tick.saturating_mul(60)).unwrap_or(i64::MAX);
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }
}

/// The jobs `GET /api/crons` lists, as PocketBase lists them: the hooks' (`cronAdd`) by id,
/// then the built-in ones in their order.
pub fn list(app: &App) -> Result<Vec<Job>, ServiceError> {
    let mut listed = extra::jobs(app);
    listed.extend(jobs::jobs(&*app.settings()?));
    Ok(listed)
}

/// `POST /api/crons/{id}`: run a job now on this node, in the background (unclaimed, as a
/// request to run it is a decision to run it). False when there is no such job.
pub fn run_now(app: &App, id: &str) -> Result<bool, ServiceError> {
    let Some(job) = list(app)?.into_iter().find(|job| job.id == id) else {
        return Ok(false);
    };
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(error) = jobs::run(&app, &job.id, None).await {
            tracing::warn!(job = %job.id, %error, "a job run on request failed");
        }
    });
    Ok(true)
}

/// Start the scheduler loop on this node.
pub fn spawn(app: App, timing: SchedulerTiming) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { run(app, timing).await })
}

async fn run(app: App, timing: SchedulerTiming) {
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut examined = timing.tick_at(Utc::now());
    // Each cluster job's due ticks not yet known to be done, settled oldest first.
    let mut wanted: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let check_every = timing.minute / CHECKS_PER_MINUTE;
    loop {
        let now = Utc::now();
        let into_minute_ms =
            u64::try_from(now.timestamp_millis()).unwrap_or(0) % timing.minute_ms();
        let to_next_tick = Duration::from_millis(timing.minute_ms() - into_minute_ms);
        tokio::time::sleep(to_next_tick.min(check_every)).await;
        let Ok(jobs) = list(&app) else {
            continue;
        };
        let now_tick = timing.tick_at(Utc::now());
        let first = examined
            .saturating_add(1)
            .max(now_tick.saturating_sub(TICK_WINDOW_MINUTES));
        for tick in first..=now_tick {
            let minute = SchedulerTiming::calendar_minute(tick);
            for job in &jobs {
                if !job
                    .schedule()
                    .is_some_and(|schedule| schedule.is_due(minute))
                {
                    continue;
                }
                match job.reach {
                    Reach::Cluster => {
                        wanted.entry(job.id.clone()).or_default().insert(tick);
                    }
                    Reach::EachNode if tick == now_tick => {
                        start(&app, &running, job.clone(), None, timing)
                    }
                    Reach::EachNode => {}
                }
            }
        }
        examined = examined.max(now_tick);
        wanted.retain(|id, ticks| {
            ticks.retain(|tick| *tick + TICK_WINDOW_MINUTES >= now_tick);
            !ticks.is_empty() && jobs.iter().any(|job| job.id == *id)
        });
        for job in &jobs {
            // Oldest first: a later tick is claimed only once the earlier one is done, so a
            // leader change delays a run and never skips it.
            while let Some(tick) = wanted.get(&job.id).and_then(|ticks| ticks.first().copied()) {
                match settle(&app, &running, job, tick, &timing).await {
                    Ok(true) => {
                        if let Some(ticks) = wanted.get_mut(&job.id) {
                            ticks.remove(&tick);
                        }
                    }
                    Ok(false) => break,
                    Err(error) => {
                        tracing::debug!(job = %job.id, tick, %error, "claim a due tick; again later");
                        break;
                    }
                }
            }
        }
    }
}

/// Claim `tick` of a cluster job if nobody has a live claim on it, and run it if the claim
/// is ours. True once the tick is done (by anyone).
async fn settle(
    app: &App,
    running: &Arc<Mutex<HashSet<String>>>,
    job: &Job,
    tick: u64,
    timing: &SchedulerTiming,
) -> Result<bool, ServiceError> {
    let stored = crate::system_settings::read::<claim::Claim>(app, &claim::claim_key(&job.id))?;
    if stored.value.tick > tick || (stored.value.tick == tick && stored.value.done) {
        return Ok(true);
    }
    if is_running(running, &job.id) {
        return Ok(false);
    }
    let lease_ms =
        i64::try_from(timing.minute_ms() * u64::from(job.lease_minutes)).unwrap_or(i64::MAX);
    if let Some(held) = claim::try_claim(app, &job.id, tick, lease_ms).await? {
        tracing::info!(job = %job.id, tick, "claimed a scheduled run");
        start(app, running, job.clone(), Some(held), *timing);
    }
    Ok(false)
}

fn is_running(running: &Arc<Mutex<HashSet<String>>>, id: &str) -> bool {
    running
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .contains(id)
}

/// Run a job in the background unless it is running here already; with a held claim,
/// mark it done after (the backup job marks it with its result).
fn start(
    app: &App,
    running: &Arc<Mutex<HashSet<String>>>,
    job: Job,
    held: Option<claim::Held>,
    timing: SchedulerTiming,
) {
    {
        let mut running = running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !running.insert(job.id.clone()) {
            tracing::debug!(job = %job.id, "still running from an earlier tick; skipped");
            return;
        }
    }
    let app = app.clone();
    let running = Arc::clone(running);
    tokio::spawn(async move {
        let result = run_held(&app, &job, held.as_ref(), timing).await;
        if let Err(error) = result {
            tracing::warn!(job = %job.id, %error, "scheduled job failed");
        }
        running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&job.id);
    });
}

async fn run_held(
    app: &App,
    job: &Job,
    held: Option<&claim::Held>,
    timing: SchedulerTiming,
) -> Result<(), ServiceError> {
    let Some(held) = held else {
        return jobs::run(app, &job.id, None).await;
    };
    let scheduled = jobs::ScheduledRun {
        minute: SchedulerTiming::calendar_minute(held.claim.tick),
        completion: held.completion()?,
    };
    jobs::run(app, &job.id, Some(scheduled)).await?;
    // The backup job wrote its done mark with its catalog entry.
    if job.id == jobs::AUTO_BACKUP {
        return Ok(());
    }
    // Marked within the lease, or another node takes the tick over and runs it again.
    if !claim::finish(app, held, timing.minute * job.lease_minutes).await? {
        tracing::warn!(
            job = %job.id,
            tick = held.claim.tick,
            "the run was taken over by another node"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_stand_for_calendar_minutes() {
        let timing = SchedulerTiming::default();
        let at = DateTime::from_timestamp(1_796_601_930, 0).unwrap(); // 2026-12-07 ..:..:30
        let tick = timing.tick_at(at);
        assert_eq!(tick, 1_796_601_930 / 60);
        assert_eq!(
            SchedulerTiming::calendar_minute(tick).timestamp(),
            1_796_601_900
        );
        let fast = SchedulerTiming {
            minute: Duration::from_millis(500),
        };
        assert_eq!(fast.tick_at(at), 1_796_601_930 * 2);
    }
}
