//! The auth endpoints of auth collections (`/api/collections/{c}/auth-*`, `impersonate`),
//! one file per endpoint; what they share (finding the collection, the authRule check, the
//! token answer) is here.

pub mod email_change;
pub mod impersonate;
pub mod methods;
pub mod mfa;
pub mod oauth2;
pub mod oauth2_avatar;
pub mod otp;
pub mod password;
pub mod password_reset;
pub mod refresh;
pub mod sign_in;
pub mod verification;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use edgebase_client::wire::{AuthResponse, CollectionType};
use edgebase_model::record_values::text;
use edgebase_storage::query::{Expr, FilterAccess, FilterPart, RequestContext, RuleSubject};
use edgebase_storage::Rule;
use serde_json::Map;
use std::sync::Arc;

use crate::error::ApiError;
use edgebase_auth::token::{self, Refresh};
use edgebase_model::record_values::{public_record, Document};
use edgebase_service::app::{App, LoadedCollection};
use edgebase_service::caller::Caller;

/// The auth collection named in the path: PocketBase answers 404 for a missing one and for
/// one that is not an auth collection.
pub fn auth_collection(app: &App, id_or_name: &str) -> Result<LoadedCollection, ApiError> {
    let loaded = app
        .collection(id_or_name)?
        .ok_or_else(ApiError::missing_or_invalid_collection)?;
    if loaded.collection.kind != CollectionType::Auth {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Missing or invalid auth collection context.",
        ));
    }
    Ok(loaded)
}

/// Sign a token for `doc` of `loaded`, valid `duration_secs`.
pub fn sign_for(
    loaded: &LoadedCollection,
    doc: &Document,
    duration_secs: u64,
    refresh: Refresh,
) -> Result<String, ApiError> {
    let collection = &loaded.collection;
    let (secret, _) = loaded.auth.auth_token.signing().ok_or_else(|| {
        tracing::error!(collection = %collection.name, "auth collection without a token secret");
        ApiError::internal()
    })?;
    let token_key = text(doc, "tokenKey");
    if token_key.is_empty() {
        tracing::error!(collection = %collection.name, "auth record without a token key");
        return Err(ApiError::internal());
    }
    token::sign(
        &text(doc, "id"),
        &collection.id,
        &token_key,
        secret,
        duration_secs,
        refresh,
    )
    .map_err(|error| {
        tracing::error!(%error, "sign auth token");
        ApiError::internal()
    })
}

/// Check the collection's authRule for `doc` with the request's caller: a null rule admits
/// superusers only, an empty one everyone.
pub fn check_auth_rule(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    caller: &Caller,
) -> Result<(), ApiError> {
    // The caller carries its auth method when the route set one (OAuth2 does).
    check_auth_rule_in(app, loaded, doc, caller, caller.request_context())
}

/// [`check_auth_rule`] with PocketBase's `@request.context` of the auth method (`password`,
/// `otp`, `oauth2`).
pub fn check_auth_rule_in(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    caller: &Caller,
    request_context: &str,
) -> Result<(), ApiError> {
    let denied = || {
        ApiError::forbidden(
            "The request doesn't satisfy the collection requirements to authenticate.",
        )
    };
    if caller.is_superuser() {
        return Ok(());
    }
    let expr = match &loaded.rules().auth {
        Rule::SuperusersOnly => return Err(denied()),
        Rule::Everyone => return Ok(()),
        Rule::Filter(expr) => expr.clone(),
        Rule::Unparsable(error) => {
            tracing::warn!(%error, "a stored authRule does not parse");
            return Err(denied());
        }
    };
    if rule_matches_record(app, loaded, doc, caller, request_context, expr)? {
        Ok(())
    } else {
        Err(denied())
    }
}

/// Whether `expr` (a rule over the auth collection) matches the auth record `doc` for this
/// caller, with `request_context` as `@request.context`, within the request's work budget.
pub(crate) fn rule_matches_record(
    app: &App,
    loaded: &LoadedCollection,
    doc: &Document,
    caller: &Caller,
    request_context: &str,
    expr: Arc<Expr>,
) -> Result<bool, ApiError> {
    let id = text(doc, "id");
    let subject = RuleSubject::Document {
        collection_id: &loaded.collection.id,
        id: &id,
        doc,
    };
    let filters = [FilterPart::new(expr, FilterAccess::Unrestricted)];
    let context = RequestContext {
        context: request_context.to_string(),
        ..caller.context(&Map::new())
    };
    let check = caller.budget().run(|allowance| {
        app.state()
            .check_record(subject, &filters, &context, allowance)
    })?;
    Ok(check.matched)
}

/// `{token, record}`: the record shows its email whatever its emailVisibility, and hidden
/// fields only to a superuser caller.
pub fn auth_answer(
    loaded: &LoadedCollection,
    doc: &Document,
    token: String,
    caller: &Caller,
) -> Response {
    let body = AuthResponse {
        token,
        record: public_record(&loaded.collection, doc, caller.is_superuser()),
    };
    Json(body).into_response()
}
