//! PocketBase's `_otps`, `_mfas` and `_authOrigins` system collections: one-time codes
//! (hashed, with the address they were sent to), first-factor MFA sessions and the devices
//! a record logged in from, stored as ordinary replicated records so any node can use them. Expiry is the record's `created`
//! plus the auth collection's `otp.duration` or `mfa.duration`.

use chrono::{NaiveDateTime, Utc};
use edgebase_wire::{Collection, CollectionType, Field, FieldKind};
use serde_json::Map;

use crate::auth_collection::system_field;
use crate::collection_schema::system_id_field;
use crate::ids;

pub const OTPS_NAME: &str = "_otps";
pub const MFAS_NAME: &str = "_mfas";
pub const AUTH_ORIGINS_NAME: &str = "_authOrigins";

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
        let now = crate::time::now_string();
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
