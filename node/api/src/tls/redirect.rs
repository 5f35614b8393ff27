//! The HTTP listener's router while HTTPS is on: a 308 redirect to the same host on the
//! HTTPS port (path and query kept) for every request, except ACME's HTTP-01 challenges,
//! which must be answered over plain HTTP, and `/api/health`, which the node's router answers
//! as on HTTPS so local probes (load balancers, the test harness, systemd checks) need no
//! certificate.

use axum::extract::{Path, Request, State};
use axum::http::header::{HOST, LOCATION};
use axum::http::uri::PathAndQuery;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use tower::ServiceExt;

use super::acme::Http01Challenges;
use crate::error::ApiError;
use crate::http_server::RouterSlot;

/// The router of the HTTP listener when the node also serves HTTPS on `https_port`.
/// `node` is the router the HTTPS listener serves (health is answered from it).
pub fn http_side_router(
    https_port: u16,
    challenges: Option<Http01Challenges>,
    node: RouterSlot,
) -> Router {
    let mut router = Router::new()
        .route(
            "/api/health",
            any(move |request: Request| {
                let node = node.clone();
                async move { node.current().oneshot(request).await }
            }),
        )
        .fallback(move |request: Request| async move { redirect(https_port, &request) });
    if let Some(challenges) = challenges {
        router = router.merge(
            Router::new()
                .route("/.well-known/acme-challenge/{token}", get(answer_challenge))
                .with_state(challenges),
        );
    }
    router
}

async fn answer_challenge(
    State(challenges): State<Http01Challenges>,
    Path(token): Path<String>,
) -> Response {
    match challenges.key_authorization(&token) {
        Some(key_authorization) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            key_authorization,
        )
            .into_response(),
        None => ApiError::not_found().into_response(),
    }
}

fn redirect(https_port: u16, request: &Request) -> Response {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok());
    let location =
        host.and_then(|host| https_location(host, https_port, request.uri().path_and_query()));
    match location {
        Some(location) => (StatusCode::PERMANENT_REDIRECT, [(LOCATION, location)]).into_response(),
        None => ApiError::bad_request(
            "This node answers over HTTPS; send a Host header with a DNS name or IP address to be redirected.",
        )
        .into_response(),
    }
}

/// `https://HOST[:PORT]/path?query` for a request whose Host header is `host_header` (any
/// port in it dropped), or `None` when the header names no plain host. The port is left out
/// when it is 443.
fn https_location(
    host_header: &str,
    https_port: u16,
    path_and_query: Option<&PathAndQuery>,
) -> Option<String> {
    let host = host_without_port(host_header)?;
    let authority = if https_port == 443 {
        host.to_owned()
    } else {
        format!("{host}:{https_port}")
    };
    let path_and_query = path_and_query.map_or("/", PathAndQuery::as_str);
    let uri = Uri::builder()
        .scheme("https")
        .authority(authority)
        .path_and_query(path_and_query)
        .build()
        .ok()?;
    Some(uri.to_string())
}

/// The host of a Host header: a DNS name or IPv4 address (letters, digits, `-`, `.`), or an
/// IPv6 literal in brackets. Anything else (user info, paths, spaces) is refused, so the
/// redirect can only name a host.
fn host_without_port(host_header: &str) -> Option<&str> {
    let host = if host_header.starts_with('[') {
        let end = host_header.find(']')?;
        let literal = &host_header[1..end];
        let plain = !literal.is_empty()
            && literal
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        if !plain {
            return None;
        }
        &host_header[..=end]
    } else {
        let host = host_header
            .rsplit_once(':')
            .map_or(host_header, |(host, _)| host);
        let plain = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !plain {
            return None;
        }
        host
    };
    Some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_host_path_and_query_on_the_https_port() {
        let check = |host: &str, port: u16, path: &str, expected: Option<&str>| {
            let path_and_query: PathAndQuery = path.parse().expect("the cases' paths are valid");
            assert_eq!(
                https_location(host, port, Some(&path_and_query)).as_deref(),
                expected,
                "Host {host:?}, port {port}, {path}"
            );
        };
        check(
            "example.com:8090",
            8443,
            "/api/collections?page=2",
            Some("https://example.com:8443/api/collections?page=2"),
        );
        check("example.com", 443, "/", Some("https://example.com/"));
        check("127.0.0.1:80", 443, "/_/", Some("https://127.0.0.1/_/"));
        check(
            "[::1]:8090",
            8443,
            "/x?y=1",
            Some("https://[::1]:8443/x?y=1"),
        );
        check("[::1]", 443, "/", Some("https://[::1]/"));
        check("user@evil.test", 443, "/", None);
        check("evil.test/x", 443, "/", None);
        check("", 443, "/", None);
        check(":80", 443, "/", None);
        check("[zz]", 443, "/", None);
        check("[::1", 443, "/", None);
    }
}
