//! Delivering the after-success hooks that asked for at-least-once delivery
//! (`{ atLeastOnce: true }`), through the replicated outbox (`edgebase_service::hooks_outbox`):
//! the write's command carries the entry; the proposing node delivers it right after its
//! write applied and takes it out; the leader sweeps entries left behind (their proposer
//! died, or the hook failed) and delivers them again, with backoff, until they complete or
//! run out of attempts.

use std::time::Duration;

use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::hooks_outbox::{self, OutboxEntry, ATTEMPTS_MAX, SWEEP_ENTRIES_MAX};
use serde_json::Value;

use crate::model::RecordAction;
use crate::Hooks;

/// How often the leader looks for entries left behind.
const SWEEP_INTERVAL: Duration = Duration::from_secs(2);
/// How old an entry must be before the sweep takes it (its proposer delivers it sooner).
const SWEEP_GRACE_MS: i64 = 10_000;
/// The wait before a failed entry's next run, doubled per failure up to the cap.
const RETRY_BASE_MS: i64 = 1_000;
const RETRY_CAP_MS: i64 = 60_000;

impl Hooks {
    /// The outbox entry a write of `action` in `loaded` needs: `Some` when at-least-once
    /// after-success hooks follow it (`record` is filled in when the write is planned).
    pub fn outbox_entry(
        &self,
        action: RecordAction,
        loaded: &LoadedCollection,
        record_id: &str,
        record: Value,
    ) -> Option<(String, OutboxEntry)> {
        if !self.handles_at_least_once(action, &loaded.collection.name) {
            return None;
        }
        let entry = OutboxEntry {
            event: action.after_success().to_owned(),
            collection_id: loaded.collection.id.clone(),
            record_id: record_id.to_owned(),
            record,
            created_ms: chrono::Utc::now().timestamp_millis(),
            attempts: 0,
            not_before_ms: 0,
        };
        Some((hooks_outbox::new_id(), entry))
    }

    /// Run the entry `id`'s hooks (as this node has it) and settle it: taken out when they
    /// completed, kept for a later run when they failed.
    pub async fn deliver(&self, app: &App, id: &str) {
        match hooks_outbox::entry(app, id) {
            Ok(Some(entry)) => self.deliver_entry(app, id, entry).await,
            Ok(None) => {}
            Err(error) => tracing::warn!(%id, %error, "read an outbox entry; the sweep runs it"),
        }
    }

    async fn deliver_entry(&self, app: &App, id: &str, mut entry: OutboxEntry) {
        let target = RecordAction::of_after_success(&entry.event)
            .zip(app.collection(&entry.collection_id).ok().flatten());
        let failure = match target {
            Some((action, loaded)) => {
                self.after_model_at_least_once(action, &loaded, entry.record.clone())
                    .await
            }
            // The collection is gone: nothing left to run the hook for.
            None => None,
        };
        let settled = match failure {
            None => hooks_outbox::remove(app, id).await,
            Some(failure) if entry.attempts + 1 >= ATTEMPTS_MAX => {
                tracing::error!(%id, event = %entry.event, record = %entry.record_id, answer = %failure.message, cause = ?failure.cause, attempts = entry.attempts + 1, "an at-least-once hook failed every attempt; given up");
                hooks_outbox::remove(app, id).await
            }
            Some(failure) => {
                entry.attempts += 1;
                let backoff = (RETRY_BASE_MS << entry.attempts.min(16)).min(RETRY_CAP_MS);
                entry.not_before_ms = chrono::Utc::now().timestamp_millis() + backoff;
                tracing::warn!(%id, event = %entry.event, answer = %failure.message, cause = ?failure.cause, attempts = entry.attempts, "an at-least-once hook failed; it runs again later");
                hooks_outbox::retry_later(app, id, &entry).await
            }
        };
        if let Err(error) = settled {
            // The entry stays; the sweep runs it again (at least once, maybe more).
            tracing::warn!(%id, %error, "settle an outbox entry");
        }
    }

    /// Sweep the outbox on the leader every few seconds, until the node stops.
    pub fn spawn_outbox(&self, app: App) -> tokio::task::JoinHandle<()> {
        let hooks = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let consensus = app.consensus();
                if consensus.leader_id() != Some(consensus.node_id()) {
                    continue;
                }
                hooks.sweep(&app).await;
            }
        })
    }

    async fn sweep(&self, app: &App) {
        let entries = match hooks_outbox::pending(app, SWEEP_ENTRIES_MAX) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(%error, "read the hooks' outbox");
                return;
            }
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        for (id, entry) in entries {
            if entry.created_ms + SWEEP_GRACE_MS > now_ms || entry.not_before_ms > now_ms {
                continue;
            }
            self.deliver_entry(app, &id, entry).await;
        }
    }
}
