//! Who a request is from, read off its HTTP parts: the bearer token, the `@request.*` data
//! rules see, and the client's address and user agent. The checks behind them are the
//! service layer's; this is only where HTTP is read.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::Query;
use axum::http::{header, HeaderMap, Method, Uri};
use edgebase_service::auth_alert::ClientInfo;
use edgebase_service::caller::Caller;
use edgebase_service::principal::{self, Principal};
use edgebase_service::{App, ServiceError};
use serde_json::{Map, Value};

use crate::client_address::client_address;

/// The raw token: PocketBase sends it bare; a `Bearer ` prefix is accepted too.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    (!token.is_empty()).then_some(token)
}

/// The request's identity. An invalid, expired or revoked token is anonymous, as in
/// PocketBase; storage failures are errors.
pub fn principal(app: &App, headers: &HeaderMap) -> Result<Principal, ServiceError> {
    let principal = principal::resolve(app, bearer_token(headers))?;
    crate::request_log::note_principal(&principal);
    Ok(principal)
}

/// The caller a protected-file download names with `?token=` (a file token; the
/// Authorization header does not count there, as in PocketBase).
pub fn file_token_caller(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Caller, ServiceError> {
    let (query, rule_headers) = rule_data(uri, headers);
    Caller::resolve_file_token(
        app,
        token.filter(|token| !token.is_empty()),
        query,
        rule_headers,
        method.as_str(),
    )
}

/// The caller of a request, with the query, headers and method rules read.
pub fn caller(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Caller, ServiceError> {
    let (query, rule_headers) = rule_data(uri, headers);
    let caller = Caller::resolve(
        app,
        bearer_token(headers),
        query,
        rule_headers,
        method.as_str(),
    )?;
    crate::request_log::note_principal(caller.principal());
    Ok(caller)
}

/// `@request.query` and `@request.headers` as rules read them (header names lower-cased,
/// `-` as `_`).
fn rule_data(uri: &Uri, headers: &HeaderMap) -> (Map<String, Value>, Map<String, Value>) {
    let query = Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|Query(params)| {
            params
                .into_iter()
                .map(|(key, value)| (key, Value::String(value)))
                .collect()
        })
        .unwrap_or_default();
    let rule_headers = headers
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((
                name.as_str().to_ascii_lowercase().replace('-', "_"),
                Value::String(value.to_string()),
            ))
        })
        .collect();
    (query, rule_headers)
}

/// The client address (through the trusted proxy headers the settings name) and user agent
/// of a request.
pub fn client_info(app: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> ClientInfo {
    let address = match app.settings() {
        Ok(settings) => client_address(&settings, headers, peer),
        Err(_) => peer.map(|peer| peer.ip().to_string()).unwrap_or_default(),
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    ClientInfo::new(address, user_agent)
}
