//! PocketBase's login alert: each successful login notes the device it came from (a
//! fingerprint of the client address and user agent) in the replicated `_authOrigins`; when a
//! record that has logged in before does so from a new device, and its collection has
//! `authAlert.enabled`, the record is mailed the `authAlert` template. A record keeps at most
//! 5 devices (the least recently used go). Unlike PocketBase this runs after the answer, in
//! the background, so a login at any node never waits on a write through the leader; it
//! never fails a login: problems are logged, as PocketBase does.

use std::sync::{Arc, OnceLock};

use edgebase_storage::{Command, CommandResult, RecordExpect};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::app::{App, LoadedCollection};
use crate::auth_sessions::{self, SessionKind};
use crate::error::ServiceError;
use crate::record_mail::{queue_template_mail, MailValues};
use edgebase_model::auth_config::MailTemplate;
use edgebase_model::ids;
use edgebase_model::record_values::text;
use edgebase_model::record_values::Document;
use edgebase_model::time;

/// Devices remembered per record (PocketBase's).
const ORIGINS_MAX: usize = 5;
/// Longest user agent that goes into a fingerprint (PocketBase's).
const USER_AGENT_CHARS_MAX: usize = 300;

/// Who is logging in, as the alert sees it.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub address: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// A client at `address` (as the settings' trusted proxy headers resolve it) with
    /// `user_agent`, cut to the length PocketBase fingerprints.
    pub fn new(address: String, user_agent: &str) -> ClientInfo {
        ClientInfo {
            address,
            user_agent: user_agent.chars().take(USER_AGENT_CHARS_MAX).collect(),
        }
    }

    fn fingerprint(&self) -> String {
        let digest = Sha256::digest(format!("{}{}", self.address, self.user_agent).as_bytes());
        hex::encode(digest)[..32].to_string()
    }

    /// What the alert mail says about the device (`{ALERT_INFO}`, HTML-escaped).
    fn alert_info(&self) -> String {
        let info = format!("{} - {}", self.address, self.user_agent);
        info.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }
}

fn alert_enabled(loaded: &LoadedCollection) -> bool {
    loaded.auth.auth_alert.enabled
}

/// Notes being written at once, at most; past it a login's device goes unnoted (logged).
const NOTES_IN_FLIGHT_MAX: usize = 256;

fn note_permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| Arc::new(Semaphore::new(NOTES_IN_FLIGHT_MAX)))
}

/// Note the login's device and mail an alert for a new one, in the background: a login
/// never waits on this write (nor fails because of it).
pub fn note_login(app: &App, loaded: &LoadedCollection, doc: &Document, client: &ClientInfo) {
    if !alert_enabled(loaded) {
        return;
    }
    let Ok(permit) = note_permits().clone().try_acquire_owned() else {
        tracing::warn!(collection = %loaded.collection.name, "too many logins being noted; this one's device is not");
        return;
    };
    let (app, loaded, doc, client) = (app.clone(), loaded.clone(), doc.clone(), client.clone());
    tokio::spawn(async move {
        if let Err(error) = note(&app, &loaded, &doc, &client).await {
            tracing::warn!(?error, collection = %loaded.collection.name, "note the login's device");
        }
        drop(permit);
    });
}

async fn note(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    client: &ClientInfo,
) -> Result<(), ServiceError> {
    let origins = auth_sessions::ensure(app, SessionKind::AuthOrigin).await?;
    let record_id = text(doc, "id");
    let fingerprint = client.fingerprint();
    let mut known = auth_sessions::records_of(app, &origins, &loaded.collection.id, &record_id)?;
    // Most recently used first.
    known.sort_by_key(|(_, origin)| std::cmp::Reverse(text(origin, "updated")));
    let now = time::now_string();
    if let Some((stored, existing)) = known
        .iter()
        .find(|(_, origin)| text(origin, "fingerprint") == fingerprint)
    {
        let mut touched = existing.clone();
        touched.insert("updated".into(), json!(now));
        let outcome = app
            .propose(Command::PutRecord {
                collection_id: origins.collection.id.clone(),
                record_id: stored.id.clone(),
                doc_json: serde_json::to_string(&touched)
                    .map_err(|source| ServiceError::internal_from("encode a document", source))?,
                expect: RecordExpect::Version(stored.version),
            })
            .await?;
        if let CommandResult::Rejected(rejection) = outcome.result {
            tracing::debug!(?rejection, "device touched concurrently");
        }
        return Ok(());
    }
    let email = text(doc, "email");
    if !known.is_empty() && !email.is_empty() {
        let info = client.alert_info();
        let values = MailValues {
            alert_info: &info,
            ..MailValues::default()
        };
        queue_template_mail(app, loaded, MailTemplate::LoginAlert, &email, doc, values)?;
    }
    let mut commands: Vec<Command> = known
        .iter()
        .skip(ORIGINS_MAX - 1)
        .map(|(stored, _)| Command::DeleteRecord {
            collection_id: origins.collection.id.clone(),
            record_id: stored.id.clone(),
            expect: RecordExpect::Exists,
        })
        .collect();
    let origin_id = ids::new_record_id();
    let origin = json!({
        "id": origin_id,
        "collectionRef": loaded.collection.id,
        "recordRef": record_id,
        "fingerprint": fingerprint,
        "created": now,
        "updated": now,
    });
    commands.push(Command::PutRecord {
        collection_id: origins.collection.id.clone(),
        record_id: origin_id,
        doc_json: origin.to_string(),
        expect: RecordExpect::Absent,
    });
    let outcome = app.propose(Command::Batch(commands)).await?;
    if let CommandResult::Rejected(rejection) = outcome.result {
        // Two logins from one new device at once: the other one noted it.
        tracing::debug!(?rejection, "device noted concurrently");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_devices_apart() {
        let device = |address: &str, user_agent: &str| ClientInfo {
            address: address.into(),
            user_agent: user_agent.into(),
        };
        let a = device("10.0.0.1", "firefox").fingerprint();
        for (other, same) in [
            (device("10.0.0.1", "firefox"), true),
            (device("10.0.0.2", "firefox"), false),
            (device("10.0.0.1", "chrome"), false),
        ] {
            assert_eq!(other.fingerprint() == a, same, "{other:?}");
        }
        assert_eq!(a.len(), 32);
        assert_eq!(
            device("1.2.3.4", "<b>&'\"").alert_info(),
            "1.2.3.4 - &lt;b&gt;&amp;&#39;&quot;"
        );
    }
}
