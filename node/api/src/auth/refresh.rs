//! `POST /api/collections/{c}/auth-refresh`: a valid token of this collection for a new one
//! (an impersonation token comes back unchanged, as PocketBase does).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use crate::auth::auth_answer;
use crate::auth::auth_collection;
use crate::auth::check_auth_rule;
use crate::auth::sign_for;
use crate::consistency::Fresh;
use crate::error::ApiError;
use crate::identity::bearer_token;
use edgebase_auth::token::{self, Refresh};
use edgebase_service::app::App;
use edgebase_service::principal::verified;

pub async fn auth_refresh(
    State(app): State<App>,
    _fresh: Fresh,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
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
    let caller = crate::identity::caller(&app, &method, &uri, &headers)?;
    check_auth_rule(&app, &loaded, &doc, &caller)?;
    let token = if claims.refreshable {
        sign_for(
            &loaded,
            &doc,
            loaded.auth.auth_token_duration_secs(),
            Refresh::Allowed,
        )?
    } else {
        raw.to_string()
    };
    Ok(auth_answer(&loaded, &doc, token, &caller))
}
