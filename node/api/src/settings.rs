//! `/api/settings`: the replicated application settings (superusers only).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_storage::{Command, CommandResult, Rejection, SettingExpect};

use crate::access::Superuser;
use crate::consistency::with_index;
use crate::error::ApiError;
use crate::extract::Body;
use edgebase_model::settings::{Settings, SETTINGS_KEY};
use edgebase_service::app::App;

pub async fn view(
    State(app): State<App>,
    _superuser: Superuser,
    _headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(Json(app.settings()?.redacted()).into_response())
}

pub async fn update(
    State(app): State<App>,
    _superuser: Superuser,
    _headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    // The patch merges into the settings this node holds, as in PocketBase, and the write
    // names their version: planned on a node that has not applied a newer write yet, it is
    // rejected instead of writing back the older sections, and merged again here once this
    // node has applied the rejecting entry (which comes after the newer write).
    for _ in 0..app.limits().write_attempts_max {
        let (current, expect) = stored_settings(&app)?;
        let updated = current.patched(&body)?;
        let value_json = serde_json::to_string(&updated).map_err(|_| ApiError::internal())?;
        let outcome = app
            .propose(Command::PutSettingIf {
                key: SETTINGS_KEY.into(),
                value_json,
                expect,
            })
            .await?;
        match outcome.result {
            CommandResult::Applied { .. } => {
                return Ok(with_index(
                    Json(updated.redacted()).into_response(),
                    outcome.index,
                ))
            }
            CommandResult::Rejected(Rejection::SettingVersionMismatch { current }) => {
                tracing::debug!(?current, "settings changed concurrently; merging again");
            }
            CommandResult::Rejected(rejection) => {
                tracing::error!(?rejection, "unexpected rejection saving settings");
                return Err(ApiError::internal());
            }
        }
    }
    Err(ApiError::unavailable(
        "The settings changed concurrently; retry.",
    ))
}

/// The settings this node has applied (PocketBase's defaults until a superuser saves some)
/// and the condition that they are still the latest, read together.
fn stored_settings(app: &App) -> Result<(Settings, SettingExpect), ApiError> {
    let Some(stored) = app.state().stored_setting(SETTINGS_KEY)? else {
        return Ok((Settings::default(), SettingExpect::Unversioned));
    };
    let settings = serde_json::from_str(&stored.value_json).map_err(|error| {
        tracing::error!(%error, "decode stored settings");
        ApiError::internal()
    })?;
    Ok((settings, stored.expect()))
}
