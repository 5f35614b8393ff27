//! The SDK's HTTP behaviour against a scripted loopback server: the headers it sends
//! (raw token, `X-Edgebase-After`, `X-Edgebase-Consistency`), the index it learns from
//! `X-Edgebase-Index`, and how answers become values or `ClientError`s.

use std::collections::HashMap;
use std::time::Duration;

use edgebase_client::{Client, ClientError, ClientOptions, Consistency, Totals};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Largest request head the scripted server reads.
const HEAD_BYTES_MAX: usize = 64 * 1024;

/// A request as the server saw it.
#[derive(Debug)]
struct Seen {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// One scripted answer.
struct Answer {
    status: u16,
    index: Option<&'static str>,
    body: String,
}

/// Serve `answers` in order, one connection per request; report each request.
async fn scripted_server(answers: Vec<Answer>) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    let (sender, receiver) = mpsc::channel(answers.len().max(1));
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = Vec::new();
            let head_end = loop {
                let mut chunk = [0u8; 4096];
                let read = stream.read(&mut chunk).await.expect("read the request");
                assert!(read > 0, "the client closed before a full request head");
                buffer.extend_from_slice(&chunk[..read]);
                assert!(buffer.len() <= HEAD_BYTES_MAX, "request head too large");
                if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                    break position + 4;
                }
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let request_line = lines.next().unwrap_or_default().to_owned();
            let mut parts = request_line.split(' ');
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            let headers: HashMap<String, String> = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect();
            let length: usize = headers
                .get("content-length")
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            let mut body = buffer[head_end..].to_vec();
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let read = stream
                    .read(&mut chunk)
                    .await
                    .expect("read the request body");
                assert!(read > 0, "the client closed mid-body");
                body.extend_from_slice(&chunk[..read]);
            }
            let mut response = format!(
                "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                answer.status,
                answer.body.len()
            );
            if let Some(index) = answer.index {
                response.push_str(&format!("x-edgebase-index: {index}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(&answer.body);
            stream
                .write_all(response.as_bytes())
                .await
                .expect("write the answer");
            let _ = stream.shutdown().await;
            let seen = Seen {
                method,
                target,
                headers,
                body,
            };
            if sender.send(seen).await.is_err() {
                return;
            }
        }
    });
    (format!("http://{addr}"), receiver)
}

fn answer(status: u16, index: Option<&'static str>, body: serde_json::Value) -> Answer {
    Answer {
        status,
        index,
        body: body.to_string(),
    }
}

async fn next(receiver: &mut mpsc::Receiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("the server saw a request in time")
        .expect("the server is still running")
}

#[tokio::test]
async fn session_headers_follow_the_highest_index_seen() {
    let record = json!({"id": "r1", "collectionId": "c", "collectionName": "posts", "title": "a"});
    let list = json!({"items": [record.clone()], "page": 2, "perPage": 5, "totalItems": -1, "totalPages": -1});
    let (url, mut seen) = scripted_server(vec![
        answer(
            200,
            Some("3"),
            json!({"token": "tok-123", "record": {"id": "su"}}),
        ),
        answer(200, Some("9"), record.clone()),
        answer(200, Some("7"), list),
        answer(200, Some("not a number"), record.clone()),
        answer(200, None, record),
    ])
    .await;
    let client = Client::new(&url).expect("valid url");

    let auth = client.superuser_login("a@b.co", "pw").await.expect("login");
    assert_eq!(auth.token, "tok-123");
    let login = next(&mut seen).await;
    assert_eq!(
        (login.method.as_str(), login.target.as_str()),
        ("POST", "/api/collections/_superusers/auth-with-password")
    );
    assert!(!login.headers.contains_key("authorization"));
    assert!(
        !login.headers.contains_key("x-edgebase-after"),
        "no index seen yet"
    );
    let body: serde_json::Value = serde_json::from_slice(&login.body).expect("JSON body");
    assert_eq!(body, json!({"identity": "a@b.co", "password": "pw"}));
    assert_eq!(client.last_index(), 3);

    let created = client
        .records("posts")
        .create(&json!({"title": "a"}))
        .await
        .expect("create");
    assert_eq!(created["id"], json!("r1"));
    let create = next(&mut seen).await;
    assert_eq!(create.target, "/api/collections/posts/records");
    assert_eq!(
        create.headers.get("authorization").map(String::as_str),
        Some("tok-123"),
        "raw token, no Bearer"
    );
    assert_eq!(
        create.headers.get("x-edgebase-after").map(String::as_str),
        Some("3")
    );
    assert_eq!(
        create.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(client.last_index(), 9);

    // Another node, same session, strong reads: the index travels along; a lower index
    // from the answer does not lower it.
    let strong = client.with_consistency(Consistency::Strong);
    let page = strong
        .records("posts")
        .list(2, 5, Totals::Skip)
        .await
        .expect("list");
    assert_eq!((page.page, page.per_page, page.total_items), (2, 5, -1));
    let listed = next(&mut seen).await;
    assert_eq!(
        listed.target,
        "/api/collections/posts/records?page=2&perPage=5&skipTotal=1"
    );
    assert_eq!(
        listed.headers.get("x-edgebase-after").map(String::as_str),
        Some("9")
    );
    assert_eq!(
        listed
            .headers
            .get("x-edgebase-consistency")
            .map(String::as_str),
        Some("strong")
    );
    assert_eq!(client.last_index(), 9);

    // A malformed or missing index header changes nothing.
    client.records("posts").get("r1").await.expect("get");
    let got = next(&mut seen).await;
    assert!(
        !got.headers.contains_key("x-edgebase-consistency"),
        "local is the default"
    );
    client.records("posts").get("r1").await.expect("get");
    next(&mut seen).await;
    assert_eq!(client.last_index(), 9);
}

#[tokio::test]
async fn failures_become_typed_errors() {
    let envelope = json!({"status": 404, "message": "Missing collection context.", "data": {}});
    let big = "x".repeat(2048);
    let (url, mut seen) = scripted_server(vec![
        answer(404, Some("5"), envelope),
        Answer {
            status: 502,
            index: None,
            body: "<html>bad gateway</html>".to_owned(),
        },
        answer(200, None, json!({"not": "a record list"})),
        Answer {
            status: 200,
            index: None,
            body: format!("\"{big}\""),
        },
    ])
    .await;
    let options = ClientOptions {
        response_body_max_bytes: 1024,
        ..ClientOptions::default()
    };
    let client = Client::with_options(&url, options).expect("valid url");

    match client.records("nope").get("x").await {
        Err(ClientError::Api(envelope)) => {
            assert_eq!(
                (envelope.status, envelope.message.as_str()),
                (404, "Missing collection context.")
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(client.last_index(), 5, "error answers carry the index too");
    next(&mut seen).await;

    let error = client.health().await.expect_err("502 is an error");
    assert!(
        matches!(error, ClientError::UnexpectedStatus { status: 502, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    next(&mut seen).await;

    let error = client
        .records("posts")
        .list(1, 1, Totals::Count)
        .await
        .expect_err("wrong shape");
    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");
    assert!(!error.is_retryable());
    next(&mut seen).await;

    let error = client.health().await.expect_err("too large");
    assert!(
        matches!(error, ClientError::BodyTooLarge { limit_bytes: 1024 }),
        "{error:?}"
    );

    let unreachable = Client::new("http://127.0.0.1:1").expect("valid url");
    let error = unreachable
        .health()
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        matches!(error, ClientError::Transport(_)) && error.is_retryable(),
        "{error:?}"
    );
}
