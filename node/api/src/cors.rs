//! Cross-origin requests, as PocketBase allows them (`serve --origins`, every origin by
//! default): the methods of its API, whatever headers a preflight asks for, and, beyond
//! PocketBase, `ETag` and `X-Edgebase-Index` readable by a browser app.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use tower::ServiceExt;
use tower_http::cors::{AllowHeaders, AllowOrigin, Any, CorsLayer};

use edgebase_client::wire::HEADER_INDEX;

/// `router`, with CORS for requests that come with an `Origin` (what browsers send across
/// origins); the others reach `router` as they are. tower-http's layer takes every `OPTIONS`
/// for a preflight, which would hide the tus protocol's own `OPTIONS` from other clients.
pub fn for_origins(router: Router, origins: &[String]) -> Router {
    let with_cors = router.clone().layer(layer(origins));
    Router::new().fallback_service(tower::service_fn(move |request: Request| {
        let target = if request.headers().contains_key(header::ORIGIN) {
            with_cors.clone()
        } else {
            router.clone()
        };
        target.oneshot(request)
    }))
}

/// CORS for `origins`: `*` (or nothing) allows every origin, else exactly those listed
/// (`https://app.example.com`); an origin that is not a valid header value is skipped.
pub fn layer(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::PATCH,
            Method::POST,
            Method::DELETE,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([header::ETAG, HeaderName::from_static(HEADER_INDEX)]);
    if origins.is_empty() || origins.iter().any(|origin| origin == "*") {
        return layer.allow_origin(Any);
    }
    let listed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    layer.allow_origin(AllowOrigin::list(listed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;

    async fn answer(origins: &[&str], request: Request<Body>) -> axum::response::Response {
        let origins: Vec<String> = origins.iter().map(|origin| (*origin).to_owned()).collect();
        let routes = Router::new().route(
            "/api/health",
            get(|| async { "ok" }).options(|| async { StatusCode::NO_CONTENT }),
        );
        for_origins(routes, &origins)
            .oneshot(request)
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn an_options_request_without_origin_reaches_its_route() {
        let options = Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/health")
            .body(Body::empty())
            .expect("request");
        let response = answer(&["*"], options).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(header_of(&response, "access-control-allow-origin"), None);
    }

    fn header_of<'a>(response: &'a axum::response::Response, name: &str) -> Option<&'a str> {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    #[tokio::test]
    async fn every_origin_by_default() {
        let preflight = Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/health")
            .header(header::ORIGIN, "https://app.example.com")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization,if-match",
            )
            .body(Body::empty())
            .expect("request");
        let response = answer(&["*"], preflight).await;
        assert!(response.status().is_success());
        assert_eq!(
            header_of(&response, "access-control-allow-origin"),
            Some("*")
        );
        assert!(header_of(&response, "access-control-allow-methods")
            .is_some_and(|m| m.contains("PATCH")));
        assert_eq!(
            header_of(&response, "access-control-allow-headers"),
            Some("authorization,if-match")
        );
        let simple = Request::builder()
            .uri("/api/health")
            .header(header::ORIGIN, "https://app.example.com")
            .body(Body::empty())
            .expect("request");
        let response = answer(&[], simple).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, "access-control-allow-origin"),
            Some("*")
        );
        assert!(header_of(&response, "access-control-expose-headers")
            .is_some_and(|h| h.contains("etag")));
    }

    #[tokio::test]
    async fn only_listed_origins() {
        let from = |origin: &str| {
            Request::builder()
                .uri("/api/health")
                .header(header::ORIGIN, origin)
                .body(Body::empty())
                .expect("request")
        };
        let listed = ["https://app.example.com/"];
        let allowed = answer(&listed, from("https://app.example.com")).await;
        assert_eq!(
            header_of(&allowed, "access-control-allow-origin"),
            Some("https://app.example.com")
        );
        let other = answer(&listed, from("https://evil.example.com")).await;
        assert_eq!(header_of(&other, "access-control-allow-origin"), None);
    }
}
