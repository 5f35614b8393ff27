//! The `_superusers` collection on this cluster: created once, and superusers upserted.

pub use edgebase_model::superusers::*;

use edgebase_storage::{Command, CommandResult, RecordExpect};
use serde_json::json;

use crate::app::{App, LoadedCollection, Settled};
use crate::collections::ensure_system_collection;
use crate::error::ServiceError;
use edgebase_auth::password;
use edgebase_model::ids;
use edgebase_model::record_values::Document;
use edgebase_model::time;

/// Create the `_superusers` collection if this cluster has none yet.
pub async fn ensure_collection(app: &App) -> Result<LoadedCollection, ServiceError> {
    ensure_system_collection(app, SUPERUSERS_NAME, || {
        superusers_collection(&time::now_string())
    })
    .await
}

/// Create the superuser, or set a new password (and token key) on an existing one.
pub async fn upsert(app: &App, email: &str, new_password: &str) -> Result<Document, ServiceError> {
    let email = email.trim().to_string();
    if !email.contains('@') || new_password.chars().count() < 8 {
        return Err(ServiceError::bad_request(
            "A superuser needs a valid email and a password of at least 8 characters.",
        ));
    }
    let loaded = ensure_collection(app).await?;
    let record_id = superuser_record_id(&email);
    let password_hash = password::hash(new_password.to_string())
        .await
        .map_err(|error| ServiceError::internal_from("hash superuser password", error))?;
    let (loaded, record_id, email, password_hash) = (&loaded, &record_id, &email, &password_hash);
    app.propose_planned(
        "The superuser changed concurrently; retry.",
        move || async move {
            let now = time::now_string();
            let existing = app.state().record(&loaded.collection.id, record_id)?;
            let mut doc: Document = match &existing {
                Some(stored) => serde_json::from_str(&stored.doc_json).map_err(|source| {
                    ServiceError::internal_from("decode a stored document", source)
                })?,
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
            let doc_json = serde_json::to_string(&doc)
                .map_err(|source| ServiceError::internal_from("encode a document", source))?;
            let command = Command::PutRecord {
                collection_id: loaded.collection.id.clone(),
                record_id: record_id.clone(),
                doc_json,
                expect,
            };
            Ok((command, doc))
        },
        |doc, outcome| match outcome.result {
            CommandResult::Applied { .. } => Ok(Settled::Done(doc)),
            CommandResult::Rejected(rejection) => {
                tracing::debug!(?rejection, "superuser upsert raced");
                Ok(Settled::Replan)
            }
        },
    )
    .await
}
