//! `/api/settings`: the replicated application settings (superusers only).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_storage::{Command, CommandResult};

use crate::access::Superuser;
use crate::consistency::with_index;
use crate::error::ApiError;
use crate::extract::Body;
use edgebase_service::app::App;
use edgebase_model::settings::SETTINGS_KEY;

pub async fn view(State(app): State<App>,
    _superuser: Superuser, headers: HeaderMap) -> Result<Response, ApiError> {
    Ok(Json(app.settings()?.redacted()).into_response())
}

pub async fn update(
    State(app): State<App>,
    _superuser: Superuser,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, ApiError> {
    // Last writer wins, as in PocketBase: the patch applies to the settings this node holds.
    let updated = app.settings()?.patched(&body)?;
    let value_json = serde_json::to_string(&updated).map_err(|_| ApiError::internal())?;
    let outcome = app
        .propose(Command::PutSetting {
            key: SETTINGS_KEY.into(),
            value_json,
        })
        .await?;
    match outcome.result {
        CommandResult::Applied { .. } => Ok(with_index(
            Json(updated.redacted()).into_response(),
            outcome.index,
        )),
        CommandResult::Rejected(rejection) => {
            tracing::error!(?rejection, "unexpected rejection saving settings");
            Err(ApiError::internal())
        }
    }
}
