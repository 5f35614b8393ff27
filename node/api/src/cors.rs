//! Cross-origin requests, as PocketBase allows them (`serve --origins`, every origin by
//! default): the methods of its API, whatever headers a preflight asks for, and, beyond
//! PocketBase, `ETag` and `X-Edgebase-Index` readable by a browser app.

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, Any, CorsLayer};

use edgebase_client::wire::HEADER_INDEX;

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
    use axum::Router;
    use tower::ServiceExt;

    async fn answer(origins: &[&str], request: Request<Body>) -> axum::response::Response {
        let origins: Vec<String> = origins.iter().map(|origin| (*origin).to_owned()).collect();
        Router::new()
            .route("/api/health", get(|| async { "ok" }))
            .layer(layer(&origins))
            .oneshot(request)
            .await
            .expect("infallible")
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
