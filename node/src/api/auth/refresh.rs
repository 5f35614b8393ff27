//! `POST /api/collections/{c}/auth-refresh`: a valid token of this collection for a new one
//! (an impersonation token comes back unchanged, as PocketBase does).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use crate::api::auth::{auth_answer, auth_collection, check_auth_rule, sign_for};
use crate::api::caller::Caller;
use crate::api::consistency::read_barrier;
use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::principal::{bearer_token, verified};
use crate::auth::token::{self, Refresh};
use crate::domain::superusers;

pub async fn auth_refresh(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    read_barrier(&app, &headers).await?;
    let loaded = auth_collection(&app, &collection)?;
    let raw = bearer_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let (_, doc) = verified(&app, raw)?.ok_or_else(ApiError::unauthorized)?;
    let claims = token::unverified_claims(raw).map_err(|_| ApiError::unauthorized())?;
    if claims.collection_id != loaded.collection.id {
        let token_collection = app
            .collection(&claims.collection_id)?
            .map(|other| other.collection.name.clone())
            .unwrap_or_default();
        return Err(ApiError::forbidden(format!(
            "The request requires auth record from {token_collection} collection."
        )));
    }
    let caller = Caller::resolve(&app, &method, &uri, &headers)?;
    check_auth_rule(&app, &loaded, &doc, &caller)?;
    let token = if claims.refreshable {
        sign_for(
            &loaded,
            &doc,
            superusers::token_duration_secs(&loaded.collection),
            Refresh::Allowed,
        )?
    } else {
        raw.to_string()
    };
    Ok(auth_answer(&loaded, &doc, token, &caller))
}
