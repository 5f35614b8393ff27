//! The `_superusers` auth collection: its definition and superuser upsert.

use edgebase_client::wire::{Collection, CollectionType, FieldKind};
use edgebase_storage::{CollectionDoc, CollectionExpect, Command, RecordExpect, Rejection};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::password;
use crate::domain::{auth_collection, auth_options, ids, record_values::Document, time};

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

/// The collection's token signing secret (never shown by the API).
pub fn token_secret(collection: &Collection) -> Option<&str> {
    collection.options.get("authToken")?.get("secret")?.as_str()
}

/// How long the collection's auth tokens live.
pub fn token_duration_secs(collection: &Collection) -> u64 {
    collection
        .options
        .get("authToken")
        .and_then(|token| token.get("duration"))
        .and_then(Value::as_u64)
        .unwrap_or(auth_collection::AUTH_TOKEN_DURATION_SECS)
}

/// A superuser's record id is derived from the email, so two nodes racing to create the
/// same superuser collide on the id and exactly one wins at apply time.
pub fn superuser_record_id(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    hex::encode(digest)[..ids::RECORD_ID_LENGTH].to_string()
}

/// Create the `_superusers` collection if this cluster has none yet.
pub async fn ensure_collection(app: &App) -> Result<(), ApiError> {
    if app.collection(SUPERUSERS_NAME)?.is_some() {
        return Ok(());
    }
    let collection = superusers_collection(&time::now_string());
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
        edgebase_storage::CommandResult::Applied { .. }
        | edgebase_storage::CommandResult::Rejected(Rejection::CollectionExists)
        | edgebase_storage::CommandResult::Rejected(Rejection::CollectionNameTaken) => Ok(()),
        edgebase_storage::CommandResult::Rejected(other) => {
            tracing::error!(?other, "create _superusers");
            Err(ApiError::internal())
        }
    }
}

/// Create the superuser, or set a new password (and token key) on an existing one.
pub async fn upsert(app: &App, email: &str, new_password: &str) -> Result<Document, ApiError> {
    let email = email.trim().to_string();
    if !email.contains('@') || new_password.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "A superuser needs a valid email and a password of at least 8 characters.",
        ));
    }
    ensure_collection(app).await?;
    let loaded = app
        .collection(SUPERUSERS_NAME)?
        .ok_or_else(ApiError::internal)?;
    let record_id = superuser_record_id(&email);
    let password_hash = password::hash(new_password.to_string())
        .await
        .map_err(|error| {
            tracing::error!(%error, "hash superuser password");
            ApiError::internal()
        })?;
    for _ in 0..app.limits().write_attempts_max {
        let now = time::now_string();
        let existing = app.state().record(&loaded.collection.id, &record_id)?;
        let mut doc: Document = match &existing {
            Some(stored) => {
                serde_json::from_str(&stored.doc_json).map_err(|_| ApiError::internal())?
            }
            None => {
                let mut doc = Document::new();
                doc.insert("id".into(), json!(record_id));
                doc.insert("email".into(), json!(email));
                doc.insert("emailVisibility".into(), json!(false));
                doc.insert("verified".into(), json!(true));
                doc.insert("created".into(), json!(now));
                doc
            }
        };
        doc.insert("password".into(), json!(password_hash));
        doc.insert("tokenKey".into(), json!(ids::new_secret(TOKEN_KEY_LENGTH)));
        doc.insert("updated".into(), json!(now));
        let expect = match &existing {
            Some(stored) => RecordExpect::Version(stored.version),
            None => RecordExpect::Absent,
        };
        let doc_json = serde_json::to_string(&doc).map_err(|_| ApiError::internal())?;
        let outcome = app
            .propose(Command::PutRecord {
                collection_id: loaded.collection.id.clone(),
                record_id: record_id.clone(),
                doc_json,
                expect,
            })
            .await?;
        match outcome.result {
            edgebase_storage::CommandResult::Applied { .. } => return Ok(doc),
            edgebase_storage::CommandResult::Rejected(rejection) => {
                tracing::debug!(?rejection, "superuser upsert raced, retrying");
            }
        }
    }
    Err(ApiError::unavailable(
        "The superuser changed concurrently; retry.",
    ))
}
