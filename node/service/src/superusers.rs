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
    let doc: Document = app
        .propose_planned::<_, _, ServiceError, _>(
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
        .await?;
    if email != INSTALLER_EMAIL {
        remove_installer(app).await?;
    }
    Ok(doc)
}

/// The email of the stand-in superuser the first-run installer link signs in as (as in
/// PocketBase); it is deleted once a real superuser exists.
pub const INSTALLER_EMAIL: &str = "__pbinstaller@example.com";
/// How long an installer link works.
pub const INSTALLER_TOKEN_SECS: u64 = 30 * 60;

/// Whether the cluster has a superuser other than the installer's stand-in.
pub fn has_real_superuser(app: &App) -> Result<bool, ServiceError> {
    let loaded = app
        .collection(SUPERUSERS_NAME)?
        .ok_or_else(|| ServiceError::internal("the superusers collection is missing"))?;
    let found = app
        .state()
        .list_records(&edgebase_storage::ListRequest::matching(
            loaded.collection.id.clone(),
            Vec::new(),
            2,
            edgebase_storage::RequestContext::at(chrono::Utc::now().timestamp_millis()),
            app.limits().records_examined_max,
        ))?;
    let installer_id = superuser_record_id(INSTALLER_EMAIL);
    Ok(found.records.iter().any(|record| record.id != installer_id))
}

/// When no real superuser exists: the installer's stand-in (created, or given a new token
/// key so older links stop working) and a token for it valid `INSTALLER_TOKEN_SECS`, for
/// the console's first-run page, which creates the first superuser with it.
pub async fn installer_token(app: &App) -> Result<Option<String>, ServiceError> {
    if has_real_superuser(app)? {
        return Ok(None);
    }
    let doc = upsert(app, INSTALLER_EMAIL, &ids::new_secret(32)).await?;
    // A real superuser made meanwhile (say, by `superuser upsert` as the node started) may
    // have looked for the stand-in before it existed: look again now that it does.
    if has_real_superuser(app)? {
        remove_installer(app).await?;
        return Ok(None);
    }
    let loaded = ensure_collection(app).await?;
    let (secret, _) =
        loaded.auth.auth_token.signing().ok_or_else(|| {
            ServiceError::internal("the superusers collection has no token secret")
        })?;
    let text = |key: &str| {
        doc.get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let token = edgebase_auth::token::sign(
        &text("id"),
        &loaded.collection.id,
        &text("tokenKey"),
        secret,
        INSTALLER_TOKEN_SECS,
        edgebase_auth::token::Refresh::Refused,
    )
    .map_err(|error| ServiceError::internal_from("sign the installer token", error))?;
    Ok(Some(token))
}

/// Delete the installer's stand-in, if it exists (after a real superuser was created).
pub async fn remove_installer(app: &App) -> Result<(), ServiceError> {
    let Some(loaded) = app.collection(SUPERUSERS_NAME)? else {
        return Ok(());
    };
    let record_id = superuser_record_id(INSTALLER_EMAIL);
    if app
        .state()
        .record(&loaded.collection.id, &record_id)?
        .is_none()
    {
        return Ok(());
    }
    let outcome = app
        .propose(Command::DeleteRecord {
            collection_id: loaded.collection.id.clone(),
            record_id,
            expect: RecordExpect::Exists,
        })
        .await?;
    if let CommandResult::Rejected(rejection) = outcome.result {
        tracing::debug!(?rejection, "the installer superuser was already gone");
    }
    Ok(())
}
