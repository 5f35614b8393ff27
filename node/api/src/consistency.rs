//! Per-request read consistency (DESIGN.md section 5) and the `X-Edgebase-Index` header.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use edgebase_client::wire::{
    HEADER_AFTER, HEADER_CONSISTENCY, HEADER_INDEX, HEADER_MAX_STALENESS_MS, HEADER_STALE_FALLBACK,
};

use crate::error::ApiError;
use edgebase_service::app::App;
use edgebase_service::consistency::{self, Consistency, ReadDemand, StaleFallback, StalenessBound};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|text| Some(text.trim()))
            .map_err(|_| ApiError::bad_request(format!("Invalid {name} header."))),
    }
}

pub fn requested_consistency(headers: &HeaderMap) -> Result<Consistency, ApiError> {
    match header(headers, HEADER_CONSISTENCY)? {
        None | Some("") | Some("local") => Ok(Consistency::Local),
        Some("strong") => Ok(Consistency::Strong),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid {HEADER_CONSISTENCY} header {other:?}: expected \"local\" or \"strong\"."
        ))),
    }
}

/// The request's staleness bound, if it sets one.
pub fn requested_staleness(headers: &HeaderMap) -> Result<Option<StalenessBound>, ApiError> {
    let fallback = match header(headers, HEADER_STALE_FALLBACK)? {
        None | Some("") | Some("strong") => StaleFallback::Strong,
        Some("refuse") => StaleFallback::Refuse,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
            "Invalid {HEADER_STALE_FALLBACK} header {other:?}: expected \"strong\" or \"refuse\"."
        )))
        }
    };
    match header(headers, HEADER_MAX_STALENESS_MS)? {
        None | Some("") => Ok(None),
        Some(text) => {
            let max_staleness_ms = text.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "Invalid {HEADER_MAX_STALENESS_MS} header: expected milliseconds."
                ))
            })?;
            Ok(Some(StalenessBound {
                max_staleness_ms,
                fallback,
            }))
        }
    }
}

/// The freshness the request's headers ask for.
pub fn requested_demand(headers: &HeaderMap) -> Result<ReadDemand, ApiError> {
    let after = match header(headers, HEADER_AFTER)? {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid {HEADER_AFTER} header: expected a log index."
            ))
        })?),
    };
    Ok(ReadDemand {
        after,
        consistency: requested_consistency(headers)?,
        staleness: requested_staleness(headers)?,
    })
}

/// Wait until this node's state is as fresh as the request's headers ask (see
/// [`edgebase_service::consistency::read_barrier`]).
pub async fn read_barrier(app: &App, headers: &HeaderMap) -> Result<u64, ApiError> {
    Ok(consistency::read_barrier(app, requested_demand(headers)?).await?)
}

/// An extractor that puts a read behind the freshness its request asks for: a handler
/// that takes `Fresh` reads state at least as new as `X-Edgebase-After`, the leader's read
/// index for strong reads, or the staleness bound. Holds the applied index it waited for.
#[derive(Debug, Clone, Copy)]
pub struct Fresh(pub u64);

impl FromRequestParts<App> for Fresh {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        read_barrier(app, &parts.headers).await.map(Fresh)
    }
}

/// Middleware: every response says which applied index it reflects. Handlers that know a
/// more precise index (a write's) set the header themselves.
pub async fn index_header(State(app): State<App>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key(HEADER_INDEX) {
        let index = app.consensus().applied_index();
        response
            .headers_mut()
            .insert(HEADER_INDEX, HeaderValue::from(index));
    }
    response
}

/// Set the index header on a response built by a handler.
pub fn with_index(mut response: Response, index: u64) -> Response {
    response
        .headers_mut()
        .insert(HEADER_INDEX, HeaderValue::from(index));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_headers_parse() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let parse = |pairs: &[(&'static str, &'static str)]| {
            requested_staleness(&headers(pairs)).map_err(|error| error.status.as_u16())
        };
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(
            parse(&[(HEADER_MAX_STALENESS_MS, "250")]),
            Ok(Some(StalenessBound {
                max_staleness_ms: 250,
                fallback: StaleFallback::Strong
            }))
        );
        assert_eq!(
            parse(&[
                (HEADER_MAX_STALENESS_MS, "0"),
                (HEADER_STALE_FALLBACK, "refuse")
            ]),
            Ok(Some(StalenessBound {
                max_staleness_ms: 0,
                fallback: StaleFallback::Refuse
            }))
        );
        assert_eq!(parse(&[(HEADER_MAX_STALENESS_MS, "soon")]), Err(400));
        assert_eq!(parse(&[(HEADER_MAX_STALENESS_MS, "-1")]), Err(400));
        assert_eq!(
            parse(&[
                (HEADER_MAX_STALENESS_MS, "5"),
                (HEADER_STALE_FALLBACK, "maybe")
            ]),
            Err(400)
        );
    }
}
