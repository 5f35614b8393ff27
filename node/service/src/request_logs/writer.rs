//! The writer thread: stores queued log entries in batches, and prunes the store by the
//! `logs` settings and by `LOG_ENTRIES_MAX`.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use edgebase_model::settings::LogSettings;

use super::{LogEntry, RequestLogs};
use crate::{App, ServiceError};

/// Most entries stored in one write.
const BATCH_MAX: usize = 500;
/// Most logs kept; the oldest go first beyond it (about 100-200 MB of disk at this bound).
pub const LOG_ENTRIES_MAX: u64 = 300_000;
/// How often old logs are pruned when the settings do not change.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);
/// How long the writer waits for an entry before it checks whether to prune.
const IDLE_WAIT: Duration = Duration::from_secs(5);
/// Logs one prune may examine (a filter over every stored log, and then some).
const PRUNE_EXAMINED_MAX: u64 = 4 * LOG_ENTRIES_MAX;

pub(super) fn spawn(
    logs: RequestLogs,
    receiver: Receiver<LogEntry>,
    app: App,
) -> Result<(), ServiceError> {
    std::thread::Builder::new()
        .name("request-logs".into())
        .spawn(move || run(&logs, &receiver, &app))
        .map_err(|error| ServiceError::internal_from("start the request log writer", error))?;
    Ok(())
}

fn run(logs: &RequestLogs, receiver: &Receiver<LogEntry>, app: &App) {
    let mut pruned: Option<(Instant, i64, i64)> = None;
    loop {
        let mut batch = Vec::new();
        match receiver.recv_timeout(IDLE_WAIT) {
            Ok(entry) => batch.push(entry),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while batch.len() < BATCH_MAX {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        let Some(settings) = log_settings(app) else {
            continue;
        };
        if let Err(error) = write(logs, batch, &settings) {
            tracing::warn!(%error, "could not store request logs");
        }
        let due = match pruned {
            None => true,
            Some((at, max_days, min_level)) => {
                at.elapsed() >= PRUNE_INTERVAL
                    || max_days != settings.max_days
                    || min_level != settings.min_level
            }
        };
        let over = logs
            .store()
            .count()
            .is_ok_and(|count| count > LOG_ENTRIES_MAX);
        if due || over {
            if let Err(error) = prune(logs, &settings) {
                tracing::warn!(%error, "could not prune request logs");
            }
            pruned = Some((Instant::now(), settings.max_days, settings.min_level));
        }
    }
}

fn log_settings(app: &App) -> Option<LogSettings> {
    match app.settings() {
        Ok(settings) => Some(settings.logs.clone()),
        Err(error) => {
            tracing::warn!(%error, "request logs: could not read the settings");
            None
        }
    }
}

/// Store the entries the settings keep: none when `maxDays` is 0, else those at `minLevel`
/// or above.
fn write(
    logs: &RequestLogs,
    batch: Vec<LogEntry>,
    settings: &LogSettings,
) -> Result<(), ServiceError> {
    if settings.max_days <= 0 {
        return Ok(());
    }
    let kept: Vec<LogEntry> = batch
        .into_iter()
        .filter(|entry| entry.level >= settings.min_level)
        .collect();
    logs.store().append(kept)
}

/// Delete logs older than `maxDays` or below `minLevel` (all of them when `maxDays` is 0),
/// then the oldest beyond `LOG_ENTRIES_MAX`.
pub(super) fn prune(logs: &RequestLogs, settings: &LogSettings) -> Result<(), ServiceError> {
    let store = logs.store();
    let deleted = if settings.max_days <= 0 {
        store.delete_matching(None, u64::MAX, PRUNE_EXAMINED_MAX)?
    } else {
        let cutoff = chrono::Utc::now() - chrono::Duration::days(settings.max_days.min(100_000));
        store.delete_matching(
            Some(&format!(
                "created <= '{}' || level < {}",
                edgebase_model::time::format_time(cutoff),
                settings.min_level
            )),
            u64::MAX,
            PRUNE_EXAMINED_MAX,
        )?
    };
    let count = store.count()?;
    let beyond = count.saturating_sub(LOG_ENTRIES_MAX);
    let trimmed = if beyond > 0 {
        store.delete_matching(None, beyond, PRUNE_EXAMINED_MAX)?
    } else {
        0
    };
    if deleted + trimmed > 0 {
        tracing::debug!(deleted, trimmed, "pruned request logs");
    }
    Ok(())
}
