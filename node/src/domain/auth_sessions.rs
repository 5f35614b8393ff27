//! PocketBase's `_otps`, `_mfas` and `_authOrigins` system collections: one-time codes
//! (hashed, with the address they were sent to), first-factor MFA sessions and the devices
//! a record logged in from, stored as ordinary replicated records so any node can use them. Each is created on first use, once cluster-wide
//! (two nodes racing both propose `Absent`; one wins). Expiry is the record's `created`
//! plus the auth collection's `otp.duration` or `mfa.duration`.

use chrono::{NaiveDateTime, Utc};
use edgebase_client::wire::{Collection, CollectionType, Field, FieldKind};
use edgebase_storage::query::{FilterAccess, FilterPart, ListRequest, RequestContext, TotalCount};
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, Rejection, StoredRecord,
};
use serde_json::{Map, Value};

use crate::api::error::ApiError;
use crate::app::{App, LoadedCollection};
use crate::domain::auth_collection::system_field;
use crate::domain::collection_schema::system_id_field;
use crate::domain::{ids, time};

pub const OTPS_NAME: &str = "_otps";
pub const MFAS_NAME: &str = "_mfas";
pub const AUTH_ORIGINS_NAME: &str = "_authOrigins";
/// Sessions of one record examined (and expired ones removed) per new session.
const SESSIONS_EXAMINED_MAX: u64 = 100;

/// Which system collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Otp,
    Mfa,
    AuthOrigin,
}

impl SessionKind {
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::Otp => OTPS_NAME,
            SessionKind::Mfa => MFAS_NAME,
            SessionKind::AuthOrigin => AUTH_ORIGINS_NAME,
        }
    }
}

fn text_field(name: &str, hidden: bool) -> Field {
    system_field(
        name,
        hidden,
        true,
        FieldKind::Text {
            min: 0,
            max: 0,
            pattern: String::new(),
            autogenerate_pattern: String::new(),
            primary_key: false,
        },
    )
}

fn autodate_field(name: &str, on_update: bool) -> Field {
    system_field(
        name,
        false,
        false,
        FieldKind::Autodate {
            on_create: true,
            on_update,
        },
    )
}

/// The collection as PocketBase 0.40 defines it: only the record itself may list or view
/// its sessions; writes are the server's own.
pub fn definition(kind: SessionKind, now: &str) -> Collection {
    let name = kind.name();
    let id = ids::collection_id("base", name);
    let mut fields = vec![
        system_id_field(),
        text_field("collectionRef", false),
        text_field("recordRef", false),
    ];
    match kind {
        SessionKind::Otp => {
            fields.push(system_field(
                "password",
                true,
                true,
                FieldKind::Password {
                    min: 0,
                    max: 0,
                    pattern: String::new(),
                    cost: 8,
                },
            ));
            fields.push(system_field(
                "sentTo",
                true,
                false,
                FieldKind::Text {
                    min: 0,
                    max: 0,
                    pattern: String::new(),
                    autogenerate_pattern: String::new(),
                    primary_key: false,
                },
            ));
        }
        SessionKind::Mfa => fields.push(text_field("method", false)),
        SessionKind::AuthOrigin => fields.push(text_field("fingerprint", false)),
    }
    fields.push(autodate_field("created", false));
    fields.push(autodate_field("updated", true));
    let owner =
        Some("@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId".to_string());
    Collection {
        id: id.clone(),
        list_rule: owner.clone(),
        view_rule: owner.clone(),
        create_rule: None,
        update_rule: None,
        // A record may forget its own devices.
        delete_rule: (kind == SessionKind::AuthOrigin).then(|| owner.clone()).flatten(),
        name: name.into(),
        kind: CollectionType::Base,
        fields,
        // PocketBase's statements, spacing included.
        indexes: vec![match kind {
            SessionKind::Otp => {
                "CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)"
            }
            SessionKind::Mfa => {
                "CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)"
            }
            SessionKind::AuthOrigin => {
                "CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, fingerprint)"
            }
        }
        .to_string()],
        created: now.into(),
        updated: now.into(),
        system: true,
        options: Map::new(),
    }
}

/// The collection, created if this cluster has none yet.
pub async fn ensure(app: &App, kind: SessionKind) -> Result<LoadedCollection, ApiError> {
    if let Some(loaded) = app.collection(kind.name())? {
        return Ok(loaded);
    }
    let collection = definition(kind, &time::now_string());
    let doc_json = serde_json::to_string(&collection).map_err(|_| ApiError::internal())?;
    let outcome = app
        .propose(Command::PutCollection {
            collection: CollectionDoc {
                id: collection.id,
                name: collection.name,
                doc_json,
            },
            expect: CollectionExpect::Absent,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { .. }
        | CommandResult::Rejected(Rejection::CollectionExists)
        | CommandResult::Rejected(Rejection::CollectionNameTaken) => {}
        CommandResult::Rejected(other) => {
            tracing::error!(?other, collection = kind.name(), "create system collection");
            return Err(ApiError::internal());
        }
    }
    app.collection(kind.name())?.ok_or_else(ApiError::internal)
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
) -> Result<Vec<(String, String)>, ApiError> {
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
) -> Result<Vec<SessionRecord>, ApiError> {
    // Record and collection ids are `[a-z0-9_]`, safe inside a quoted filter literal.
    let filter = format!("recordRef = '{record_id}' && collectionRef = '{auth_collection_id}'");
    let parsed = edgebase_storage::query::parse_filter(&filter).map_err(|error| {
        tracing::error!(%error, "session lookup filter");
        ApiError::internal()
    })?;
    let Some(expr) = parsed else {
        return Ok(Vec::new());
    };
    let page = app.state().list_records(&ListRequest {
        collection_id: sessions.collection.id.clone(),
        filters: vec![FilterPart {
            expr,
            access: FilterAccess::Unrestricted,
        }],
        sort: Vec::new(),
        sort_access: FilterAccess::Unrestricted,
        offset: 0,
        limit: SESSIONS_EXAMINED_MAX,
        total: TotalCount::Skip,
        context: RequestContext::at(Utc::now().timestamp_millis()),
        records_examined_max: app.limits().records_examined_max,
        random_seed: 0,
    })?;
    page.records
        .into_iter()
        .map(|stored| {
            let doc: Map<String, Value> =
                serde_json::from_str(&stored.doc_json).map_err(|error| {
                    tracing::error!(%error, session = %stored.id, "decode stored session");
                    ApiError::internal()
                })?;
            Ok((stored, doc))
        })
        .collect()
}

/// Whether a session created at `created` (PocketBase's date text) is older than
/// `duration_secs`; an unreadable date counts as expired.
pub fn has_expired(created: &str, duration_secs: u64) -> bool {
    let Ok(created) = NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S%.3fZ") else {
        return true;
    };
    let age_ms = Utc::now()
        .naive_utc()
        .signed_duration_since(created)
        .num_milliseconds();
    age_ms < 0 || age_ms as u128 > u128::from(duration_secs) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry() {
        let now = time::now_string();
        let old = (Utc::now() - chrono::Duration::seconds(200))
            .format("%Y-%m-%d %H:%M:%S%.3fZ")
            .to_string();
        for (created, duration_secs, expired) in [
            (now.as_str(), 180, false),
            (old.as_str(), 180, true),
            (old.as_str(), 600, false),
            ("not a date", 600, true),
        ] {
            assert_eq!(
                has_expired(created, duration_secs),
                expired,
                "{created} {duration_secs}"
            );
        }
    }

    #[test]
    fn definitions_name_their_fields() {
        let otps = definition(SessionKind::Otp, "2024-01-01 00:00:00.000Z");
        let names: Vec<&str> = otps.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "collectionRef",
                "recordRef",
                "password",
                "sentTo",
                "created",
                "updated"
            ]
        );
        let mfas = definition(SessionKind::Mfa, "2024-01-01 00:00:00.000Z");
        assert!(mfas.fields.iter().any(|f| f.name == "method"));
    }
}
