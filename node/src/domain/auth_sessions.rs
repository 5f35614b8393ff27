//! PocketBase's `_otps` and `_mfas` system collections: one-time codes (hashed, with the
//! address they were sent to) and first-factor MFA sessions, stored as ordinary replicated
//! records so any node can check them. Each is created on first use, once cluster-wide
//! (two nodes racing both propose `Absent`; one wins). Expiry is the record's `created`
//! plus the auth collection's `otp.duration` or `mfa.duration`.

use chrono::{NaiveDateTime, Utc};
use edgebase_client::wire::{Collection, CollectionType, Field, FieldKind};
use edgebase_storage::{CollectionDoc, CollectionExpect, Command, CommandResult, Rejection};
use serde_json::Map;

use crate::api::error::ApiError;
use crate::app::{App, LoadedCollection};
use crate::domain::auth_collection::system_field;
use crate::domain::collection_schema::system_id_field;
use crate::domain::{ids, time};

pub const OTPS_NAME: &str = "_otps";
pub const MFAS_NAME: &str = "_mfas";

/// Which system collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Otp,
    Mfa,
}

impl SessionKind {
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::Otp => OTPS_NAME,
            SessionKind::Mfa => MFAS_NAME,
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
    }
    fields.push(autodate_field("created", false));
    fields.push(autodate_field("updated", true));
    let owner =
        Some("@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId".to_string());
    Collection {
        id: id.clone(),
        list_rule: owner.clone(),
        view_rule: owner,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: name.into(),
        kind: CollectionType::Base,
        fields,
        indexes: vec![format!(
            "CREATE INDEX `idx_{id}_collectionRef` ON `{name}` (collectionRef, recordRef)"
        )],
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
