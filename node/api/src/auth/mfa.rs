//! Multi-factor authentication, as PocketBase does it: when an auth collection has
//! `mfa.enabled` (and its `mfa.rule`, if any, matches the record), the first successful auth
//! method answers 401 with an `mfaId` (a replicated `_mfas` record naming the method), and a
//! second, different method sent with that `mfaId` (query or body) completes the login and
//! uses the session up.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_storage::{Command, CommandResult, RecordExpect, Rule};
use serde_json::{json, Map, Value};

use crate::auth::auth_answer;
use crate::auth::{rule_matches_record, sign_for};
use crate::error::ApiError;
use edgebase_auth::token::Refresh;
use edgebase_model::ids;
use edgebase_model::record_values::text;
use edgebase_model::record_values::Document;
use edgebase_model::time;
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::auth_alert::{note_login, ClientInfo};
use edgebase_service::auth_sessions::{self, SessionKind};
use edgebase_service::caller::Caller;
use edgebase_service::record_writes::decode;

/// PocketBase's auth method names, as stored in `_mfas.method`.
pub const METHOD_PASSWORD: &str = "password";
pub const METHOD_OTP: &str = "otp";
pub const METHOD_OAUTH2: &str = "oauth2";

/// Longest `mfaId` looked up.
const MFA_ID_LENGTH_MAX: usize = 255;

/// Whether the collection's `mfa.rule` (a filter over the auth collection) matches `doc`
/// for this caller, with the auth method as `@request.context`; no rule, or an empty one,
/// asks every sign-in for the second factor.
fn rule_matches(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    caller: &Caller,
    method: &str,
) -> Result<bool, ApiError> {
    match &loaded.rules().mfa {
        Rule::SuperusersOnly | Rule::Everyone => Ok(true),
        Rule::Filter(expr) => rule_matches_record(app, loaded, doc, caller, method, expr.clone()),
        Rule::Unparsable(error) => {
            tracing::warn!(%error, "a stored MFA rule does not parse");
            Err(ApiError::bad_request("Failed to authenticate."))
        }
    }
}

/// The `mfaId` of the request: the query's, else the body's.
pub fn requested_mfa_id(uri: &Uri, body: &Map<String, Value>) -> String {
    let from_query = uri.query().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == "mfaId").then(|| value.to_string())
        })
    });
    from_query
        .filter(|id| !id.is_empty())
        .or_else(|| body.get("mfaId").and_then(Value::as_str).map(String::from))
        .unwrap_or_default()
}

/// What the MFA check decided.
pub(crate) enum MfaStep {
    /// No (further) factor needed: answer with a token.
    Complete,
    /// First factor passed: answer 401 with this session id.
    Required(String),
}

pub(crate) async fn check(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    caller: &Caller,
    method: &str,
    mfa_id: &str,
) -> Result<MfaStep, ApiError> {
    if !loaded.auth.mfa.enabled {
        return Ok(MfaStep::Complete);
    }
    // As PocketBase: a rule that cannot be checked still asks for the second factor.
    let wanted = match rule_matches(app, loaded, doc, caller, method) {
        Ok(wanted) => wanted,
        Err(error) => {
            tracing::warn!(?error, "MFA rule failure");
            return Err(ApiError::bad_request("Failed to authenticate."));
        }
    };
    if !wanted {
        return Ok(MfaStep::Complete);
    }
    let sessions = auth_sessions::ensure(app, SessionKind::Mfa).await?;
    let record_id = text(doc, "id");
    let duration_secs = loaded.auth.mfa.duration_secs;
    if mfa_id.is_empty() {
        auth_sessions::prune_sessions(
            app,
            &sessions,
            &loaded.collection.id,
            &record_id,
            duration_secs,
        )
        .await?;
        let now = time::now_string();
        let id = ids::new_record_id();
        let session = json!({
            "id": id,
            "collectionRef": loaded.collection.id,
            "recordRef": record_id,
            "method": method,
            "created": now,
            "updated": now,
        });
        let outcome = app
            .propose(Command::PutRecord {
                collection_id: sessions.collection.id.clone(),
                record_id: id.clone(),
                doc_json: session.to_string(),
                expect: RecordExpect::Absent,
            })
            .await?;
        return match outcome.result {
            CommandResult::Applied { .. } => Ok(MfaStep::Required(id)),
            CommandResult::Rejected(rejection) => {
                tracing::error!(?rejection, "create MFA session");
                Err(ApiError::internal())
            }
        };
    }
    let invalid = || ApiError::bad_request("Invalid or expired MFA session.");
    if mfa_id.len() > MFA_ID_LENGTH_MAX {
        return Err(invalid());
    }
    let Some(stored) = app.state().record(&sessions.collection.id, mfa_id)? else {
        return Err(invalid());
    };
    let session = decode(&stored)?;
    let delete = Command::DeleteRecord {
        collection_id: sessions.collection.id.clone(),
        record_id: mfa_id.to_string(),
        expect: RecordExpect::Version(stored.version),
    };
    if auth_sessions::has_expired(&text(&session, "created"), duration_secs) {
        if let Err(error) = app.propose(delete).await {
            tracing::warn!(?error, "delete expired MFA session");
        }
        return Err(invalid());
    }
    if text(&session, "recordRef") != record_id
        || text(&session, "collectionRef") != loaded.collection.id
    {
        return Err(ApiError::bad_request("Invalid MFA session."));
    }
    if text(&session, "method") == method {
        return Err(ApiError::bad_request(
            "A different authentication method is required.",
        ));
    }
    // Used up: only the request whose delete applies completes (two racing second factors
    // cannot both log in with one session).
    match app.propose(delete).await?.result {
        CommandResult::Applied { .. } => Ok(MfaStep::Complete),
        CommandResult::Rejected(_) => Err(invalid()),
    }
}

/// The end of every successful auth method once the authRule passed: the MFA step, then the
/// login alert and the token answer.
pub async fn complete_auth(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    caller: &Caller,
    method: &str,
    mfa_id: &str,
    client: &ClientInfo,
) -> Result<Response, ApiError> {
    match check(app, loaded, doc, caller, method, mfa_id).await? {
        MfaStep::Required(id) => {
            Ok((StatusCode::UNAUTHORIZED, Json(json!({ "mfaId": id }))).into_response())
        }
        MfaStep::Complete => {
            note_login(app, loaded, doc, client);
            let token = sign_for(
                loaded,
                doc,
                loaded.auth.auth_token_duration_secs(),
                Refresh::Allowed,
            )?;
            Ok(auth_answer(loaded, doc, token, caller))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn mfa_id_comes_from_query_then_body() {
        let body = match json!({"mfaId": "frombody"}) {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        for (uri, body, expected) in [
            ("/x?mfaId=fromquery", body.clone(), "fromquery"),
            (
                "/x?a=1&mfaId=fromquery",
                serde_json::Map::new(),
                "fromquery",
            ),
            ("/x?mfaId=", body.clone(), "frombody"),
            ("/x", body, "frombody"),
            ("/x", serde_json::Map::new(), ""),
        ] {
            let uri: axum::http::Uri = uri.parse().expect("uri");
            assert_eq!(super::requested_mfa_id(&uri, &body), expected, "{uri}");
        }
    }
}
