//! PocketBase's `_otps`, `_mfas` and `_authOrigins` system collections: one-time codes
//! (hashed, with the address they were sent to), first-factor MFA sessions and the devices
//! a record logged in from, stored as ordinary replicated records so any node can use them. Each is created on first use, once cluster-wide
//! (two nodes racing both propose `Absent`; one wins). Expiry is the record's `created`
//! plus the auth collection's `otp.duration` or `mfa.duration`.

pub use edgebase_model::auth_sessions::*;

use chrono::Utc;
use edgebase_storage::query::{FilterPart, ListRequest, RequestContext};
use edgebase_storage::{Command, CommandResult, RecordExpect, StoredRecord};
use serde_json::{Map, Value};

use crate::app::{App, LoadedCollection};
use crate::collections::ensure_system_collection;
use crate::error::ServiceError;
use edgebase_model::time;

pub const OTPS_NAME: &str = "_otps";
pub const MFAS_NAME: &str = "_mfas";
pub const AUTH_ORIGINS_NAME: &str = "_authOrigins";
/// Sessions of one record examined (and expired ones removed) per new session.
const SESSIONS_EXAMINED_MAX: u64 = 100;

/// The collection, created if this cluster has none yet.
pub async fn ensure(app: &App, kind: SessionKind) -> Result<LoadedCollection, ServiceError> {
    ensure_system_collection(app, kind.name(), || definition(kind, &time::now_string())).await
}

/// The unexpired sessions of one auth record, as `(created, id)` sorted oldest first; the
/// expired ones seen are deleted (one batch, each on its version; a batch that lost a race
/// is left for the next call). So a record's sessions stay few without a cleanup job.
pub async fn prune_sessions(
    app: &App,
    sessions: &LoadedCollection,
    auth_collection_id: &str,
    record_id: &str,
    duration_secs: u64,
) -> Result<Vec<(String, String)>, ServiceError> {
    let mut unexpired = Vec::new();
    let mut deletes = Vec::new();
    for (stored, doc) in records_of(app, sessions, auth_collection_id, record_id)? {
        let created = doc
            .get("created")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if has_expired(&created, duration_secs) {
            deletes.push(Command::DeleteRecord {
                collection_id: sessions.collection.id.clone(),
                record_id: stored.id.clone(),
                expect: RecordExpect::Version(stored.version),
            });
        } else {
            unexpired.push((created, stored.id.clone()));
        }
    }
    if !deletes.is_empty() {
        let outcome = app.propose(Command::Batch(deletes)).await?;
        if let CommandResult::Rejected(rejection) = outcome.result {
            tracing::debug!(
                ?rejection,
                "expired sessions changed meanwhile; left for later"
            );
        }
    }
    unexpired.sort();
    Ok(unexpired)
}

/// A stored session with its decoded document.
pub type SessionRecord = (StoredRecord, Map<String, Value>);

/// The records of `sessions` that belong to one auth record (at most
/// `SESSIONS_EXAMINED_MAX`), each with its decoded document.
pub fn records_of(
    app: &App,
    sessions: &LoadedCollection,
    auth_collection_id: &str,
    record_id: &str,
) -> Result<Vec<SessionRecord>, ServiceError> {
    let page = app.state().list_records(&ListRequest::matching(
        sessions.collection.id.clone(),
        vec![
            FilterPart::field_equals("recordRef", record_id),
            FilterPart::field_equals("collectionRef", auth_collection_id),
        ],
        SESSIONS_EXAMINED_MAX,
        RequestContext::at(Utc::now().timestamp_millis()),
        app.limits().records_examined_max,
    ))?;
    page.records
        .into_iter()
        .map(|stored| {
            let doc: Map<String, Value> = serde_json::from_str(&stored.doc_json)
                .map_err(|error| ServiceError::internal_from("decode stored session", error))?;
            Ok((stored, doc))
        })
        .collect()
}
