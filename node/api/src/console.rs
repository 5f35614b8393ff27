//! The admin console at `/_/`: static files from `node/api/console/`, embedded in the binary
//! (a dev build reads them from that folder, so they can be edited without rebuilding). The
//! console calls only this node's public API; its Content-Security-Policy lets it load and
//! fetch nothing from any other host.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "console/"]
struct ConsoleFiles;

/// Same-origin only: scripts, styles, fonts and API calls from this node; images may also be
/// data or blob URLs (file previews, the logo); no frames, no plugins, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The console's routes, compressed (gzip) for clients that accept it.
pub fn routes() -> Router {
    Router::new()
        .route("/_", get(|| async { Redirect::permanent("/_/") }))
        .route("/_/", get(|| async { asset("index.html", None) }))
        .route("/_/{*path}", get(file))
        .layer(CompressionLayer::new().gzip(true))
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    asset(&path, headers.get(header::IF_NONE_MATCH))
}

/// One embedded file, with its type, an ETag of its contents and the console's security
/// headers; `304` when the client already has this version.
fn asset(path: &str, if_none_match: Option<&HeaderValue>) -> Response {
    let Some(file) = ConsoleFiles::get(path) else {
        return ApiError::not_found().into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let fresh = if_none_match.is_some_and(|value| value.as_bytes() == etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.into_owned().into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    // Revalidated on every load: a node upgrade serves the new console at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
