//! Who may do what on superuser-only endpoints. (Collection API rules are checked where
//! records are read and planned: `records.rs`, `record_writes.rs`, `expand.rs`.)

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::consistency::read_barrier;
use crate::error::ApiError;
use edgebase_service::app::App;
use edgebase_service::principal::Principal;

/// Collection management and operator endpoints: superusers only.
pub fn require_superuser(principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Superuser { .. } | Principal::System(_) => Ok(()),
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
    require_superuser(&crate::identity::principal(app, headers)?)
}

/// An extractor for superuser-only endpoints: the handler runs only once the request's
/// freshness is reached and its token is a superuser's.
#[derive(Debug, Clone, Copy)]
pub struct Superuser;

impl FromRequestParts<App> for Superuser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        superuser_request(app, &parts.headers)
            .await
            .map(|()| Superuser)
    }
}
