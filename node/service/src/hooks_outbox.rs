//! The hooks' outbox: after-success hooks registered for at-least-once delivery
//! (`onRecordAfterCreateSuccess(handler, { atLeastOnce: true }, ...)`). The write such a hook
//! follows carries an outbox entry in the same command (`Command::PutOutbox`), so the entry
//! exists exactly when the write does. The proposing node runs the hook once its write
//! applied and then takes the entry out (`Command::DeleteOutbox`); if that node dies in
//! between, or the hook fails, the leader finds the entry later and runs it again, with
//! backoff, up to [`ATTEMPTS_MAX`] times. A hook may therefore run more than once (never
//! zero times while the cluster lives), so it must be idempotent.

use edgebase_storage::Command;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::error::ServiceError;

/// Most runs of one entry's hooks before it is given up (logged) and removed.
pub const ATTEMPTS_MAX: u32 = 10;
/// Most entries one sweep reads.
pub const SWEEP_ENTRIES_MAX: usize = 100;

/// What running an entry's hooks needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// The after-success event (`onRecordAfterCreateSuccess`, ...).
    pub event: String,
    pub collection_id: String,
    pub record_id: String,
    /// The record as written (for a delete: as it was before).
    pub record: Value,
    /// When the write was planned, by the proposer's clock (ms since the epoch).
    pub created_ms: i64,
    /// Runs so far that failed.
    #[serde(default)]
    pub attempts: u32,
    /// Not to be run again before this time (ms since the epoch).
    #[serde(default)]
    pub not_before_ms: i64,
}

/// A new entry id: its time first, so the outbox reads oldest first.
pub fn new_id() -> String {
    let now_ms = chrono::Utc::now().timestamp_millis().max(0);
    let suffix: u64 = rand::thread_rng().gen();
    format!("{now_ms:013}-{suffix:016x}")
}

/// The command that puts `entry` in the outbox under `id`.
pub fn put(id: &str, entry: &OutboxEntry) -> Result<Command, ServiceError> {
    Ok(Command::PutOutbox {
        id: id.to_owned(),
        entry_json: serde_json::to_string(entry)
            .map_err(|error| ServiceError::internal_from("encode an outbox entry", error))?,
    })
}

/// The outbox's oldest entries on this node (at most `limit`).
pub fn pending(app: &App, limit: usize) -> Result<Vec<(String, OutboxEntry)>, ServiceError> {
    let mut entries = Vec::new();
    for (id, json) in app.state().outbox(limit)? {
        match serde_json::from_str::<OutboxEntry>(&json) {
            Ok(entry) => entries.push((id, entry)),
            Err(error) => tracing::error!(%id, %error, "an outbox entry that does not decode"),
        }
    }
    Ok(entries)
}

/// The entry `id`, if this node has it.
pub fn entry(app: &App, id: &str) -> Result<Option<OutboxEntry>, ServiceError> {
    let Some(json) = app.state().outbox_entry(id)? else {
        return Ok(None);
    };
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|error| ServiceError::internal_from("decode an outbox entry", error))
}

/// Take the entry `id` out of the outbox.
pub async fn remove(app: &App, id: &str) -> Result<(), ServiceError> {
    app.propose(Command::DeleteOutbox { id: id.to_owned() })
        .await
        .map(drop)
}

/// Keep the entry `id` for another run, after a failed one: its attempts counted, not run
/// again before `not_before_ms`.
pub async fn retry_later(app: &App, id: &str, entry: &OutboxEntry) -> Result<(), ServiceError> {
    app.propose(put(id, entry)?).await.map(drop)
}
