//! The `_superusers` auth collection: its definition, token secret and record ids.

use edgebase_wire::{Collection, CollectionType, FieldKind};
use serde_json::{json, Map};
use sha2::{Digest, Sha256};

use crate::{auth_collection, auth_options, ids};

pub const SUPERUSERS_NAME: &str = "_superusers";
/// Length of a record's `tokenKey`; changing it invalidates the record's tokens.
pub const TOKEN_KEY_LENGTH: usize = 50;
/// Default lifetime of a superuser token (PocketBase's 1 day).
const TOKEN_DURATION_SECS: u64 = 86_400;

pub fn superusers_id() -> String {
    ids::collection_id("auth", SUPERUSERS_NAME)
}

/// The `_superusers` collection as PocketBase 0.40 defines it, with a fresh token secret
/// chosen here, on the proposing node.
pub fn superusers_collection(now: &str) -> Collection {
    let mut fields = auth_collection::system_fields();
    fields.extend([
        auth_collection::system_field(
            "created",
            false,
            false,
            FieldKind::Autodate {
                on_create: true,
                on_update: false,
            },
        ),
        auth_collection::system_field(
            "updated",
            false,
            false,
            FieldKind::Autodate {
                on_create: true,
                on_update: true,
            },
        ),
    ]);
    let id = superusers_id();
    let mut collection = Collection {
        id: id.clone(),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: SUPERUSERS_NAME.into(),
        kind: CollectionType::Auth,
        fields,
        indexes: vec![
            format!("CREATE UNIQUE INDEX `idx_tokenKey_{id}` ON `{SUPERUSERS_NAME}` (`tokenKey`)"),
            format!("CREATE UNIQUE INDEX `idx_email_{id}` ON `{SUPERUSERS_NAME}` (`email`) WHERE `email` != ''"),
        ],
        created: now.into(),
        updated: now.into(),
        system: true,
        options: Map::new(),
    };
    collection
        .options
        .insert("authToken".into(), json!({"duration": TOKEN_DURATION_SECS}));
    if let Err(errors) = auth_options::prepare(&mut collection, None) {
        // The defaults are valid; a failure here is a bug in them.
        tracing::error!(?errors, "the _superusers options do not validate");
    }
    collection
}

/// A superuser's record id is derived from the email, so two nodes racing to create the
/// same superuser collide on the id and exactly one wins at apply time.
pub fn superuser_record_id(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    hex::encode(digest)[..ids::RECORD_ID_LENGTH].to_string()
}
