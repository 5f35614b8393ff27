//! Per-request read consistency (DESIGN.md section 5) and the `X-Edgebase-Index` header.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use edgebase_client::wire::{
    HEADER_AFTER, HEADER_CONSISTENCY, HEADER_INDEX, HEADER_MAX_STALENESS_MS, HEADER_STALE_FALLBACK,
};

use crate::api::error::ApiError;
use crate::app::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Read this node's applied state as it is.
    Local,
    /// Linearizable: a read index from the leader, applied here before reading.
    Strong,
}

/// What a bounded-staleness read does when this node has not heard from the leader within
/// the bound (`X-Edgebase-Stale-Fallback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleFallback {
    /// Read through the leader's read index instead (the default).
    Strong,
    /// Answer 503.
    Refuse,
}

/// A request's bounded-staleness demand (`X-Edgebase-Max-Staleness-Ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StalenessBound {
    pub max_staleness_ms: u64,
    pub fallback: StaleFallback,
}

/// How a bounded-staleness read is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StalenessDecision {
    /// The leader was heard within the bound: read local state.
    ServeLocal,
    /// Too stale: read through the leader's read index.
    Strong,
    /// Too stale and the request refuses a fallback.
    Refuse,
}

/// Decide from how long ago this node heard from its leader (`None`: no leader known, or
/// never heard).
pub fn staleness_decision(
    millis_since_leader: Option<u64>,
    bound: StalenessBound,
) -> StalenessDecision {
    match millis_since_leader {
        Some(millis) if millis <= bound.max_staleness_ms => StalenessDecision::ServeLocal,
        _ => match bound.fallback {
            StaleFallback::Strong => StalenessDecision::Strong,
            StaleFallback::Refuse => StalenessDecision::Refuse,
        },
    }
}

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

/// Wait until this node's state is as fresh as the request asks: at least the
/// `X-Edgebase-After` index, and past a leader read index for strong reads. Bounded by the
/// node's read wait limit. Returns the applied index the read will see (at least).
pub async fn read_barrier(app: &App, headers: &HeaderMap) -> Result<u64, ApiError> {
    let consistency = requested_consistency(headers)?;
    let staleness = requested_staleness(headers)?;
    let after = match header(headers, HEADER_AFTER)? {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid {HEADER_AFTER} header: expected a log index."
            ))
        })?),
    };
    let consensus = app.consensus();
    let mut seen = consensus.applied_index();
    if let Some(after) = after.filter(|after| *after > seen) {
        seen = consensus
            .wait_applied(after, app.limits().read_wait_max)
            .await?;
    }
    let strong = match (consistency, staleness) {
        (Consistency::Strong, _) => true,
        (Consistency::Local, None) => false,
        (Consistency::Local, Some(bound)) => {
            let millis_since_leader = consensus.millis_since_leader_contact();
            match staleness_decision(millis_since_leader, bound) {
                StalenessDecision::ServeLocal => false,
                StalenessDecision::Strong => true,
                StalenessDecision::Refuse => {
                    let heard = millis_since_leader
                        .map_or("has not heard from a leader".to_string(), |millis| {
                            format!("last heard from the leader {millis} ms ago")
                        });
                    return Err(ApiError::unavailable(format!(
                        "This node {heard}, more than the {} ms the request allows, and the \
                         request refuses a fallback to a strong read.",
                        bound.max_staleness_ms
                    )));
                }
            }
        }
    };
    if strong {
        seen = seen.max(consensus.linearizable_barrier().await?);
    }
    Ok(seen)
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
    fn staleness_decision_table() {
        let bound = |max_staleness_ms, fallback| StalenessBound {
            max_staleness_ms,
            fallback,
        };
        let check = |since: Option<u64>, bound: StalenessBound, expected: StalenessDecision| {
            assert_eq!(
                staleness_decision(since, bound),
                expected,
                "since {since:?}, bound {bound:?}"
            );
        };
        use StaleFallback::{Refuse, Strong};
        check(Some(0), bound(0, Refuse), StalenessDecision::ServeLocal);
        check(Some(100), bound(500, Strong), StalenessDecision::ServeLocal);
        check(Some(500), bound(500, Refuse), StalenessDecision::ServeLocal);
        check(Some(501), bound(500, Strong), StalenessDecision::Strong);
        check(Some(501), bound(500, Refuse), StalenessDecision::Refuse);
        check(None, bound(u64::MAX, Strong), StalenessDecision::Strong);
        check(None, bound(500, Refuse), StalenessDecision::Refuse);
    }

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
