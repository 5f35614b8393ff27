//! Who is asking: the identity behind a request's `Authorization` token, checked against
//! this node's replicated state (no round trip to the leader).

use axum::http::HeaderMap;

use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::token;
use crate::domain::record_values::Document;
use crate::domain::superusers;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Superuser { id: String },
    Record { collection_id: String, id: String },
}

impl Principal {
    pub fn is_superuser(&self) -> bool {
        matches!(self, Principal::Superuser { .. })
    }
}

/// The raw token: PocketBase sends it bare; a `Bearer ` prefix is accepted too.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    (!token.is_empty()).then_some(token)
}

/// Resolve the request's identity. An invalid, expired or revoked token is anonymous, as in
/// PocketBase; storage failures are errors.
pub fn resolve(app: &App, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let Some(raw) = bearer_token(headers) else {
        return Ok(Principal::Anonymous);
    };
    Ok(verified(app, raw)?.map_or(Principal::Anonymous, |(principal, _)| principal))
}

/// Verify a token and return its principal and auth record document.
pub fn verified(
    app: &App,
    raw: &str,
) -> Result<Option<(Principal, std::sync::Arc<Document>)>, ApiError> {
    let Ok(claims) = token::unverified_claims(raw) else {
        return Ok(None);
    };
    let Some(loaded) = app.collection(&claims.collection_id)? else {
        return Ok(None);
    };
    let collection = &loaded.collection;
    let Some(secret) = superusers::token_secret(collection) else {
        return Ok(None);
    };
    let Some(doc) = app.auth_record(&collection.id, &claims.id)? else {
        return Ok(None);
    };
    let token_key = doc
        .get("tokenKey")
        .and_then(|key| key.as_str())
        .unwrap_or_default();
    if token_key.is_empty() || token::verify(raw, token_key, secret).is_err() {
        return Ok(None);
    }
    let principal = if collection.name == superusers::SUPERUSERS_NAME {
        Principal::Superuser { id: claims.id }
    } else {
        Principal::Record {
            collection_id: collection.id.clone(),
            id: claims.id,
        }
    };
    Ok(Some((principal, doc)))
}
