//! The request log middleware: after each request, one entry in PocketBase's shape (`type`,
//! `url`, `method`, `status`, `execTime`, `auth`, addresses, `error`/`details`) queued for
//! this node's log store, as PocketBase's activity logger writes it. Queueing never waits;
//! nothing is logged when `logs.maxDays` is 0.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use edgebase_service::app::App;
use edgebase_service::principal::Principal;
use edgebase_service::request_logs::{LogEntry, LEVEL_ERROR, LEVEL_INFO};
use serde_json::{Map, Value};

use crate::client_address::{client_address, peer};

/// Longest request URI kept in a log (PocketBase's bound); longer ones are cut with `...`.
const URL_CHARS_MAX: usize = 3000;
/// Longest referer and user agent kept.
const HEADER_CHARS_MAX: usize = 2000;

tokio::task_local! {
    /// Who the request turned out to be from, noted when its token is resolved.
    static SEEN_PRINCIPAL: Arc<Mutex<Option<Principal>>>;
}

/// What an error answer said, for its log entry (set by `ApiError`'s response).
#[derive(Debug, Clone)]
pub struct LoggedError {
    pub message: String,
    pub details: Map<String, Value>,
}

/// Note the principal of the request being served (outside a request: nothing).
pub fn note_principal(principal: &Principal) {
    let _ = SEEN_PRINCIPAL.try_with(|seen| {
        *seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(principal.clone());
    });
}

/// Routes whose successes are not logged, as in PocketBase: the logs themselves, realtime
/// streams, and OAuth2 redirects (their URLs carry codes).
fn skips_success(method: &Method, path: &str) -> bool {
    path == "/api/logs"
        || path.starts_with("/api/logs/")
        || (method == Method::GET && path == "/api/realtime")
        || path == "/api/oauth2-redirect"
}

pub async fn record(State(app): State<App>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let url = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let referer = header_text(&request, header::REFERER);
    let user_agent = header_text(&request, header::USER_AGENT);
    let headers = request.headers().clone();
    let peer = peer(&request);
    let seen = Arc::new(Mutex::new(None));
    let response = SEEN_PRINCIPAL
        .scope(Arc::clone(&seen), next.run(request))
        .await;

    let Ok(settings) = app.settings() else {
        return response;
    };
    let logs = &settings.logs;
    let error = response.extensions().get::<LoggedError>().cloned();
    let status = response.status();
    let failed = error.is_some() || status.is_client_error() || status.is_server_error();
    if logs.max_days <= 0 || (!failed && skips_success(&method, path_of(&url))) {
        return response;
    }
    let level = if failed { LEVEL_ERROR } else { LEVEL_INFO };
    if level < logs.min_level {
        return response;
    }

    let mut data = Map::new();
    data.insert("type".into(), "request".into());
    data.insert(
        "execTime".into(),
        Value::from(started.elapsed().as_secs_f64() * 1000.0),
    );
    if let Some(error) = error {
        data.insert("error".into(), error.message.into());
        data.insert("details".into(), raw_details(error.details));
    } else if failed {
        data.insert("error".into(), status_text(status).into());
    }
    let url = cut(&url, URL_CHARS_MAX);
    data.insert("url".into(), url.clone().into());
    data.insert("method".into(), method.as_str().into());
    data.insert("status".into(), status.as_u16().into());
    data.insert("referer".into(), cut(&referer, HEADER_CHARS_MAX).into());
    data.insert(
        "userAgent".into(),
        cut(&user_agent, HEADER_CHARS_MAX).into(),
    );
    let noted = seen
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    // A request refused before its handler read the token (say, an unknown collection) is
    // still logged with who sent it, as PocketBase reads the token before any handler.
    let principal = noted.or_else(|| {
        crate::identity::bearer_token(&headers)
            .and_then(|token| edgebase_service::principal::resolve(&app, Some(token)).ok())
    });
    let (auth, auth_id) = match principal {
        Some(Principal::Superuser { id }) => ("_superusers".to_owned(), id),
        Some(Principal::Record { collection_id, id }) => {
            let name = app
                .collection(&collection_id)
                .ok()
                .flatten()
                .map_or(collection_id, |loaded| loaded.collection.name.clone());
            (name, id)
        }
        _ => (String::new(), String::new()),
    };
    data.insert("auth".into(), auth.into());
    if logs.log_auth_id && !auth_id.is_empty() {
        data.insert("authId".into(), auth_id.into());
    }
    if logs.log_ip {
        data.insert(
            "userIP".into(),
            client_address(&settings, &headers, peer).into(),
        );
        data.insert(
            "remoteIP".into(),
            peer.map(|peer| peer.ip().to_string())
                .unwrap_or_default()
                .into(),
        );
    }
    let message = format!("{} {}", method.as_str(), unescaped(&url));
    app.request_logs()
        .record(LogEntry::now(level, message, data));
    response
}

/// An error's field errors as PocketBase logs them (the validator's own words: `{"name":
/// "cannot be blank"}` for the answer's `{"name": {"code": ..., "message": "Cannot be
/// blank."}}`), nested objects kept; `null` when there are none.
fn raw_details(details: Map<String, Value>) -> Value {
    if details.is_empty() {
        return Value::Null;
    }
    Value::Object(
        details
            .into_iter()
            .map(|(key, value)| (key, raw_detail(value)))
            .collect(),
    )
}

fn raw_detail(value: Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("code") && map.contains_key("message") => {
            let message = map
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Value::String(validator_words(message))
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, raw_detail(value)))
                .collect(),
        ),
        other => other,
    }
}

/// `Cannot be blank.` -> `cannot be blank`: the answer's message is the validator's with a
/// capital and a full stop added.
fn validator_words(message: &str) -> String {
    let trimmed = message.strip_suffix('.').unwrap_or(message);
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

fn header_text(request: &Request, name: header::HeaderName) -> String {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// At most `chars_max` characters, then `...` when cut.
fn cut(text: &str, chars_max: usize) -> String {
    match text.char_indices().nth(chars_max) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// The URL with its percent-escapes decoded, when they decode to UTF-8 (the log message).
fn unescaped(url: &str) -> String {
    percent_decode(url).unwrap_or_else(|| url.to_owned())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

fn status_text(status: StatusCode) -> String {
    status
        .canonical_reason()
        .map_or_else(|| status.as_str().to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::{cut, raw_details, skips_success, unescaped};
    use axum::http::Method;
    use serde_json::{json, Value};

    #[test]
    fn cuts_on_characters_and_marks_the_cut() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc...");
        assert_eq!(cut("ééé", 2), "éé...");
    }

    #[test]
    fn unescapes_the_message_url_when_it_can() {
        assert_eq!(
            unescaped("/api/x?filter=a%20%3D%201"),
            "/api/x?filter=a = 1"
        );
        assert_eq!(unescaped("/api/x?q=%zz"), "/api/x?q=%zz");
        assert_eq!(unescaped("/api/x?q=%ff"), "/api/x?q=%ff");
    }

    #[test]
    fn details_are_the_validators_words() {
        let Value::Object(details) = json!({
            "name": {"code": "validation_required", "message": "Cannot be blank."},
            "fields": {"0": {"name": {"code": "x", "message": "Must be unique."}}},
        }) else {
            unreachable!()
        };
        assert_eq!(
            raw_details(details),
            json!({"name": "cannot be blank", "fields": {"0": {"name": "must be unique"}}})
        );
        assert_eq!(raw_details(serde_json::Map::new()), Value::Null);
    }

    #[test]
    fn logs_and_realtime_successes_are_skipped() {
        assert!(skips_success(&Method::GET, "/api/logs"));
        assert!(skips_success(&Method::GET, "/api/logs/stats"));
        assert!(skips_success(&Method::GET, "/api/realtime"));
        assert!(!skips_success(&Method::POST, "/api/realtime"));
        assert!(!skips_success(&Method::GET, "/api/logsx"));
        assert!(!skips_success(&Method::GET, "/api/health"));
    }
}
