//! Who may do what on superuser-only endpoints. (Collection API rules are checked where
//! records are read and planned: `records.rs`, `record_writes.rs`, `expand.rs`.)

use axum::http::HeaderMap;

use crate::api::consistency::read_barrier;
use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::principal::{self, Principal};

/// Collection management and operator endpoints: superusers only.
pub fn require_superuser(principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Superuser { .. } => Ok(()),
        Principal::Anonymous => Err(ApiError::unauthorized()),
        Principal::Record { .. } => Err(ApiError::forbidden(
            "The authorized record is not allowed to perform this action.",
        )),
    }
}

/// The prelude of every superuser-only endpoint: reach the freshness the request asks for,
/// then require a superuser.
pub async fn superuser_request(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    read_barrier(app, headers).await?;
    require_superuser(&principal::resolve(app, headers)?)
}
