//! A stored file as an HTTP answer, with what PocketBase's `http.ServeContent` gives and a
//! strong `ETag` beyond it: `Content-Length`, `Accept-Ranges`, `Last-Modified`, one `Range`
//! (`bytes=a-b`, `a-`, `-n`) answered 206 (or 416 when it cannot be met), `If-Range`,
//! `If-None-Match` and `If-Modified-Since` answered 304. The body streams from disk in
//! bounded chunks. A request for several ranges is answered with the whole file, as the
//! standard allows.

use std::io::SeekFrom;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// Bytes read from disk per body chunk.
const BODY_CHUNK_BYTES: usize = 64 * 1024;

/// What is being served: the open file, its size, its strong validator (the content hash,
/// quoted as HTTP wants it) and when it was stored.
pub struct ServedFile {
    pub file: tokio::fs::File,
    pub size_bytes: u64,
    pub etag: String,
    pub last_modified: SystemTime,
}

/// The byte range a request asks for, as read from `Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Whole,
    /// Inclusive start and end.
    Part(u64, u64),
    Unsatisfiable,
}

fn wanted_range(value: &str, size_bytes: u64) -> Wanted {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parse = |text: &str| text.parse::<u64>().ok();
    match (start.is_empty(), end.is_empty()) {
        // `-n`: the last n bytes.
        (true, false) => match parse(end) {
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if size_bytes == 0 => Wanted::Unsatisfiable,
            Some(suffix) => Wanted::Part(size_bytes.saturating_sub(suffix), size_bytes - 1),
            None => Wanted::Whole,
        },
        (false, _) => {
            let Some(first) = parse(start) else {
                return Wanted::Whole;
            };
            if first >= size_bytes {
                return Wanted::Unsatisfiable;
            }
            let last = if end.is_empty() {
                size_bytes - 1
            } else {
                match parse(end) {
                    Some(last) if last >= first => last.min(size_bytes - 1),
                    _ => return Wanted::Whole,
                }
            };
            Wanted::Part(first, last)
        }
        (true, true) => Wanted::Whole,
    }
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || candidate.trim_start_matches("W/") == etag
    })
}

/// Whether the client's copy is current: `If-None-Match` decides when sent, else
/// `If-Modified-Since` (to the second, as HTTP dates are).
fn not_modified(request: &HeaderMap, served: &ServedFile) -> bool {
    if let Some(list) = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return etag_matches(list, &served.etag);
    }
    let Some(since) = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok())
    else {
        return false;
    };
    let modified_secs = served
        .last_modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let since_secs = since
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    modified_secs <= since_secs
}

/// The answer for `served`, given the request's method and headers; `headers` (content type,
/// disposition, security headers) are set on every answer but a 304's body headers.
pub async fn file_response(
    method: &Method,
    request: &HeaderMap,
    mut served: ServedFile,
    mut headers: HeaderMap,
) -> std::io::Result<Response> {
    let etag = HeaderValue::from_str(&served.etag).map_err(std::io::Error::other)?;
    let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(served.last_modified))
        .map_err(std::io::Error::other)?;
    headers.insert(header::ETAG, etag);
    headers.insert(header::LAST_MODIFIED, last_modified);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if not_modified(request, &served) {
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::CONTENT_DISPOSITION);
        return Ok(with_headers(
            StatusCode::NOT_MODIFIED,
            headers,
            Body::empty(),
        ));
    }
    let range_applies = match request.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        Some(validator) => validator.trim() == served.etag,
        None => true,
    };
    let wanted = match request.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(range) if range_applies => wanted_range(range, served.size_bytes),
        _ => Wanted::Whole,
    };
    let (status, start, length) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, served.size_bytes),
        Wanted::Part(first, last) => {
            let content_range = format!("bytes {first}-{last}/{}", served.size_bytes);
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&content_range).map_err(std::io::Error::other)?,
            );
            (StatusCode::PARTIAL_CONTENT, first, last - first + 1)
        }
        Wanted::Unsatisfiable => {
            let content_range = format!("bytes */{}", served.size_bytes);
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&content_range).map_err(std::io::Error::other)?,
            );
            // Go's `http.ServeContent` words, as PocketBase answers.
            headers.remove(header::CONTENT_DISPOSITION);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return Ok(with_headers(
                StatusCode::RANGE_NOT_SATISFIABLE,
                headers,
                Body::from("invalid range: failed to overlap\n"),
            ));
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if method == Method::HEAD {
        return Ok(with_headers(status, headers, Body::empty()));
    }
    if start > 0 {
        served.file.seek(SeekFrom::Start(start)).await?;
    }
    let body = ReaderStream::with_capacity(served.file.take(length), BODY_CHUNK_BYTES);
    Ok(with_headers(status, headers, Body::from_stream(body)))
}

fn with_headers(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_http_means_them() {
        let cases = [
            ("bytes=0-9", Wanted::Part(0, 9)),
            ("bytes=5-", Wanted::Part(5, 99)),
            ("bytes=-10", Wanted::Part(90, 99)),
            ("bytes=-500", Wanted::Part(0, 99)),
            ("bytes=90-500", Wanted::Part(90, 99)),
            ("bytes=100-", Wanted::Unsatisfiable),
            ("bytes=-0", Wanted::Unsatisfiable),
            ("bytes=9-3", Wanted::Whole),
            ("bytes=0-1,5-6", Wanted::Whole),
            ("items=0-1", Wanted::Whole),
            ("bytes=x-y", Wanted::Whole),
        ];
        for (range, expected) in cases {
            assert_eq!(wanted_range(range, 100), expected, "{range}");
        }
        assert_eq!(wanted_range("bytes=0-", 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn validators_match_as_http_compares_them() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }

    async fn served(bytes: &[u8]) -> (tempfile::TempDir, ServedFile) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).expect("write");
        let file = tokio::fs::File::open(&path).await.expect("open");
        let served = ServedFile {
            file,
            size_bytes: bytes.len() as u64,
            etag: "\"h1\"".into(),
            last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        };
        (dir, served)
    }

    async fn answer(request: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let (_dir, served) = served(b"0123456789").await;
        let mut headers = HeaderMap::new();
        for (name, value) in request {
            headers.insert(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let response = file_response(&Method::GET, &headers, served, HeaderMap::new())
            .await
            .expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, headers, body.to_vec())
    }

    #[tokio::test]
    async fn answers_whole_partial_unsatisfiable_and_not_modified() {
        let (status, headers, body) = answer(&[]).await;
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::OK, &b"0123456789"[..])
        );
        assert_eq!(headers[header::CONTENT_LENGTH], "10");
        assert_eq!(headers[header::ETAG], "\"h1\"");
        assert_eq!(
            headers[header::LAST_MODIFIED],
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );

        let (status, headers, body) = answer(&[("range", "bytes=2-4")]).await;
        assert_eq!(
            (status, body.as_slice()),
            (StatusCode::PARTIAL_CONTENT, &b"234"[..])
        );
        assert_eq!(headers[header::CONTENT_RANGE], "bytes 2-4/10");
        assert_eq!(headers[header::CONTENT_LENGTH], "3");

        let (status, headers, _) = answer(&[("range", "bytes=20-")]).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(headers[header::CONTENT_RANGE], "bytes */10");

        let (status, _, body) = answer(&[("if-none-match", "\"h1\"")]).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
        let (status, _, _) = answer(&[("if-none-match", "\"other\"")]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) =
            answer(&[("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT")]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);

        // A range for another version of the file gets the whole of this one.
        let (status, _, body) = answer(&[("range", "bytes=0-1"), ("if-range", "\"old\"")]).await;
        assert_eq!((status, body.len()), (StatusCode::OK, 10));
    }
}
