//! Who is asking: the identity behind a request's `Authorization` token, checked against
//! this node's replicated state (no round trip to the leader).

use crate::app::App;
use crate::error::ServiceError;
use crate::superusers;
use edgebase_auth::token;
use edgebase_model::record_values::Document;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    Anonymous,
    Superuser {
        id: String,
    },
    Record {
        collection_id: String,
        id: String,
    },
    /// The node itself, for writes PocketBase makes from inside past the collections' rules
    /// (an OAuth2 link, a verified flag). Only this crate can make one: no request can.
    System(SystemGrant),
}

/// The capability behind [`Principal::System`]: its field is private, so only the service
/// layer constructs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SystemGrant(());

impl Principal {
    /// The node's own principal.
    pub(crate) fn system() -> Principal {
        Principal::System(SystemGrant(()))
    }

    /// Whether rules are bypassed and hidden fields shown: superusers and the node itself.
    pub fn is_superuser(&self) -> bool {
        matches!(self, Principal::Superuser { .. } | Principal::System(_))
    }
}

/// Resolve the request's identity. An invalid, expired or revoked token is anonymous, as in
/// PocketBase; storage failures are errors.
pub fn resolve(app: &App, raw_token: Option<&str>) -> Result<Principal, ServiceError> {
    let Some(raw) = raw_token else {
        return Ok(Principal::Anonymous);
    };
    Ok(verified(app, raw)?.map_or(Principal::Anonymous, |(principal, _)| principal))
}

/// Verify a file token (`POST /api/files/token`) and return its principal and auth record.
pub fn verified_file_token(
    app: &App,
    raw: &str,
) -> Result<Option<(Principal, std::sync::Arc<Document>)>, ServiceError> {
    let Some((loaded, doc, claims)) = crate::record_mail::find_by_token(
        app,
        raw,
        edgebase_auth::record_token::RecordTokenKind::File,
    )?
    else {
        return Ok(None);
    };
    let principal = if loaded.collection.name == superusers::SUPERUSERS_NAME {
        Principal::Superuser { id: claims.id }
    } else {
        Principal::Record {
            collection_id: loaded.collection.id.clone(),
            id: claims.id,
        }
    };
    Ok(Some((principal, std::sync::Arc::new(doc))))
}

/// Verify a token and return its principal and auth record document.
pub fn verified(
    app: &App,
    raw: &str,
) -> Result<Option<(Principal, std::sync::Arc<Document>)>, ServiceError> {
    let Ok(claims) = token::unverified_claims(raw) else {
        return Ok(None);
    };
    let Some(loaded) = app.collection(&claims.collection_id)? else {
        return Ok(None);
    };
    let collection = &loaded.collection;
    let Some((secret, _)) = loaded.auth.auth_token.signing() else {
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
