//! `/api/settings`: the replicated application settings (superusers only).

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_storage::{Command, CommandResult, Rejection, SettingExpect};

use crate::access::Superuser;
use crate::consistency::with_index;
use crate::error::ApiError;
use crate::extract::Body;
use crate::idempotency;
use edgebase_model::settings::{Settings, SETTINGS_KEY};
use edgebase_service::app::App;
use edgebase_service::{ServiceError, Settled};

pub async fn view(State(app): State<App>, _superuser: Superuser) -> Result<Response, ApiError> {
    Ok(Json(app.settings()?.redacted()).into_response())
}

pub async fn update(
    State(app): State<App>,
    _superuser: Superuser,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let keyed = idempotency::keyed_plain_write(&app, &headers, &method, &uri, &body)?;
    if let Some(replayed) = idempotency::replay_prior(&app, keyed.as_ref())? {
        return Ok(replayed);
    }
    let keyed = keyed.as_ref();
    // The patch merges into the settings this node holds, as in PocketBase, and the write
    // names their version: planned on a node that has not applied a newer write yet, it is
    // rejected instead of writing back the older sections, and merged again here once this
    // node has applied the rejecting entry (which comes after the newer write).
    let (app_ref, body) = (&app, &body);
    let outcome = app
        .propose_planned(
            "The settings changed concurrently; retry.",
            move || async move {
                let (current, expect) = stored_settings(app_ref)?;
                let updated = current.patched(body)?;
                let value_json = serde_json::to_string(&updated)
                    .map_err(|source| ServiceError::internal_from("encode the settings", source))?;
                let command = Command::PutSettingIf {
                    key: SETTINGS_KEY.into(),
                    value_json,
                    expect,
                };
                let answer = updated.redacted();
                let command =
                    idempotency::keep_answer(keyed, command, StatusCode::OK, Some(&answer))?;
                Ok((command, updated))
            },
            |updated, outcome| match outcome.result {
                CommandResult::Applied { .. } => Ok(Settled::Done(with_index(
                    Json(updated.redacted()).into_response(),
                    outcome.index,
                ))),
                CommandResult::Rejected(Rejection::IdempotencyKeyUsed { .. }) => {
                    idempotency::settle_key_used(app_ref, keyed)
                }
                CommandResult::Rejected(Rejection::SettingVersionMismatch { current }) => {
                    tracing::debug!(?current, "settings changed concurrently; merging again");
                    Ok(Settled::Replan)
                }
                CommandResult::Rejected(rejection) => {
                    tracing::error!(?rejection, "unexpected rejection saving settings");
                    Err(ApiError::internal())
                }
            },
        )
        .await;
    idempotency::or_replay(&app, keyed, outcome).await
}

/// The settings this node has applied (PocketBase's defaults until a superuser saves some)
/// and the condition that they are still the latest, read together.
fn stored_settings(app: &App) -> Result<(Settings, SettingExpect), ApiError> {
    let Some(stored) = app.state().stored_setting(SETTINGS_KEY)? else {
        return Ok((Settings::default(), SettingExpect::Unversioned));
    };
    let settings = serde_json::from_str(&stored.value_json)
        .map_err(|error| ServiceError::internal_from("decode stored settings", error))?;
    Ok((settings, stored.expect()))
}
