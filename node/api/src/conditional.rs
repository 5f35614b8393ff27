//! Conditional record writes over HTTP: `If-Match` on a `PATCH` or `DELETE` (strong entity
//! tags, or `*`) read into the service's `VersionPrecondition`, and the `ETag` a record's
//! answer carries (its version).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use edgebase_service::precondition::VersionPrecondition;

use crate::error::ApiError;

/// The request's `If-Match`, if it has one. Weak tags (`W/"…"`) never match a write, as
/// strong comparison says; anything that is not a list of entity tags or `*` is a 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<VersionPrecondition>, ApiError> {
    let values: Vec<&HeaderValue> = headers.get_all(header::IF_MATCH).iter().collect();
    if values.is_empty() {
        return Ok(None);
    }
    let invalid = || ApiError::bad_request("Invalid If-Match header.");
    let mut versions = Vec::new();
    for value in values {
        let text = value.to_str().map_err(|_| invalid())?;
        for tag in text.split(',').map(str::trim).filter(|tag| !tag.is_empty()) {
            if tag == "*" {
                return Ok(Some(VersionPrecondition::Exists));
            }
            let (weak, quoted) = match tag.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, tag),
            };
            let inner = quoted
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .ok_or_else(invalid)?;
            if weak {
                continue;
            }
            // A tag this server did not make matches no version.
            if let Ok(version) = inner.parse::<u64>() {
                versions.push(version);
            }
        }
    }
    Ok(Some(VersionPrecondition::OneOf(versions)))
}

/// `response` with the `ETag` of a record at `version`.
pub fn with_etag(mut response: Response, version: u64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&VersionPrecondition::entity_tag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(values: &[&str]) -> Result<Option<VersionPrecondition>, u16> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::IF_MATCH,
                HeaderValue::from_str(value).expect("ascii"),
            );
        }
        if_match(&headers).map_err(|error| error.status.as_u16())
    }

    #[test]
    fn if_match_as_rfc_9110_reads_it() {
        use VersionPrecondition::{Exists, OneOf};
        assert_eq!(parsed(&[]), Ok(None));
        assert_eq!(parsed(&["*"]), Ok(Some(Exists)));
        assert_eq!(parsed(&["\"7\""]), Ok(Some(OneOf(vec![7]))));
        assert_eq!(parsed(&["\"7\", \"9\""]), Ok(Some(OneOf(vec![7, 9]))));
        assert_eq!(parsed(&["\"7\"", "\"9\""]), Ok(Some(OneOf(vec![7, 9]))));
        assert_eq!(parsed(&["W/\"7\""]), Ok(Some(OneOf(vec![]))));
        assert_eq!(parsed(&["\"abc\""]), Ok(Some(OneOf(vec![]))));
        assert_eq!(parsed(&["7"]), Err(400));
        assert_eq!(parsed(&["\"7"]), Err(400));
    }
}
