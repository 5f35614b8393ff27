//! Fuzzing multipart parsing through a real node (proptest): record creates with generated
//! `multipart/form-data` bodies (odd part names, repeated keys, `@jsonPayload`, files under
//! file and non-file keys, odd filenames and content types), then the same bodies bent,
//! cut short, padded or given a wrong boundary, and also as batch bodies. Every answer is a
//! 200 or a 4xx in PocketBase's envelope, never a 5xx or a dropped connection; a record the
//! node says it created is there; what was stored before is unchanged and the node keeps
//! serving. `PROPTEST_CASES` sets the budget.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_tests::{
    run_test, Cli, Node, NodeSpec, RawBody, RawClient, NODE_START_TIMEOUT, SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

const COLLECTION: &str = "fuzzed";

/// One part of a form.
#[derive(Debug, Clone)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    content: Vec<u8>,
}

fn part() -> impl Strategy<Value = Part> {
    (
        prop_oneof![
            Just("title".to_owned()),
            Just("count".to_owned()),
            Just("document".to_owned()),
            Just("document+".to_owned()),
            Just("+document".to_owned()),
            Just("document-".to_owned()),
            Just("@jsonPayload".to_owned()),
            "[a-z@+\\-\"; ]{0,12}",
        ],
        prop::option::of("[a-zA-Z0-9 ._\\-/\\\\\"]{0,24}"),
        prop::option::of(prop_oneof![
            Just("text/plain".to_owned()),
            Just("image/png".to_owned()),
            Just("application/json".to_owned()),
            "[a-z/;= ]{0,20}",
        ]),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            "\\PC{0,40}".prop_map(String::into_bytes),
            Just(br#"{"title":"from payload","count":3}"#.to_vec()),
            Just(b"12".to_vec()),
        ],
    )
        .prop_map(|(name, filename, content_type, content)| Part {
            name,
            filename,
            content_type,
            content,
        })
}

/// How the body is bent after it is built.
#[derive(Debug, Clone)]
enum Bend {
    None,
    Cut(prop::sample::Index),
    Flip(prop::sample::Index, u8),
    Pad(Vec<u8>),
    WrongBoundary,
}

fn bend() -> impl Strategy<Value = Bend> {
    prop_oneof![
        3 => Just(Bend::None),
        1 => any::<prop::sample::Index>().prop_map(Bend::Cut),
        1 => (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(at, flip)| Bend::Flip(at, flip)),
        1 => prop::collection::vec(any::<u8>(), 1..32).prop_map(Bend::Pad),
        1 => Just(Bend::WrongBoundary),
    ]
}

fn build(parts: &[Part], boundary: &str, bend: &Bend) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut content_type = format!("multipart/form-data; boundary={boundary}");
    match bend {
        Bend::None => {}
        Bend::Cut(at) => body.truncate(at.index(body.len())),
        Bend::Flip(at, flip) => {
            let at = at.index(body.len());
            body[at] ^= flip;
        }
        Bend::Pad(bytes) => body.extend_from_slice(bytes),
        Bend::WrongBoundary => content_type = "multipart/form-data; boundary=other".to_owned(),
    }
    (content_type, body)
}

/// 200, or a 4xx in PocketBase's envelope.
fn check_answer(status: u16, json: &Option<Value>, text: &str) -> Result<(), TestCaseError> {
    if status == 200 {
        return Ok(());
    }
    prop_assert!((400..500).contains(&status), "status {status}: {text}");
    let envelope = json.as_ref().and_then(Value::as_object);
    prop_assert!(
        envelope.is_some_and(|envelope| envelope.contains_key("message")
            && envelope.get("status").and_then(Value::as_u64) == Some(u64::from(status))),
        "not PocketBase's envelope: {status} {text}"
    );
    Ok(())
}

#[test]
fn multipart_bodies_never_break_the_node() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run_test("fuzz_multipart", Duration::from_secs(600), |context| async move {
        let mut node = Node::start(NodeSpec::single(context.root(), "node")?)?;
        node.wait_healthy(NODE_START_TIMEOUT).await?;
        Cli::edgebase()?
            .superuser_upsert(node.data_dir(), SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
            .await?;
        let admin = node.client()?;
        let auth = admin.superuser_login(SUPERUSER_EMAIL, SUPERUSER_PASSWORD).await?;
        admin
            .collections()
            .create(&json!({
                "name": COLLECTION,
                "type": "base",
                "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
                "fields": [
                    {"name": "title", "type": "text"},
                    {"name": "count", "type": "number"},
                    {"name": "document", "type": "file", "maxSelect": 3, "maxSize": 4096}
                ]
            }))
            .await?;
        let raw = RawClient::new(&node.http_url())?;
        raw.send(
            "PATCH",
            "/api/settings",
            Some(auth.token.as_str()),
            RawBody::Json(json!({"batch": {"enabled": true, "maxRequests": 5}})),
            &[],
        )
        .await
        .context("enable batches")?;
        let kept = admin
            .records(COLLECTION)
            .create(&json!({"title": "kept", "count": 7}))
            .await?;
        let kept_id = kept["id"].as_str().context("an id")?.to_owned();

        let strategy = (
            prop::collection::vec(part(), 0..6),
            "[A-Za-z0-9'()+_,.-]{1,40}",
            bend(),
            any::<bool>(),
        );
        let mut runner = TestRunner::new(Config::default());
        let handle = tokio::runtime::Handle::current();
        let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u64>::new());
        let outcome = tokio::task::block_in_place(|| {
            runner.run(&strategy, |(parts, boundary, bend, as_batch)| {
                let (content_type, body) = build(&parts, &boundary, &bend);
                let path = if as_batch {
                    "/api/batch".to_owned()
                } else {
                    format!("/api/collections/{COLLECTION}/records")
                };
                let response = handle
                    .block_on(raw.send(
                        "POST",
                        &path,
                        None,
                        RawBody::Typed { content_type, bytes: body },
                        &[],
                    ))
                    .map_err(|error| TestCaseError::fail(format!("no answer: {error:#}")))?;
                *statuses
                    .lock()
                    .expect("not poisoned")
                    .entry(response.status)
                    .or_default() += 1;
                check_answer(response.status, &response.json, &response.text)?;
                if response.status == 200 && !as_batch {
                    let id = response.json.as_ref().and_then(|json| json["id"].as_str());
                    let id = id.ok_or_else(|| TestCaseError::fail("a 200 without an id"))?;
                    let stored = handle
                        .block_on(raw.get(&format!("/api/collections/{COLLECTION}/records/{id}"), None))
                        .map_err(|error| TestCaseError::fail(format!("{error:#}")))?;
                    prop_assert_eq!(stored.status, 200, "created {} is not there", id);
                }
                Ok(())
            })
        });
        outcome.map_err(|error| anyhow::anyhow!("{error}"))?;
        let statuses = statuses.into_inner().expect("not poisoned");
        eprintln!("answers by status: {statuses:?}");
        ensure!(
            statuses.contains_key(&200) && statuses.keys().any(|status| *status >= 400),
            "the bodies should both succeed and fail sometimes: {statuses:?}"
        );

        ensure!(node.is_running(), "the node exited");
        let still = raw
            .get(&format!("/api/collections/{COLLECTION}/records/{kept_id}"), None)
            .await?;
        ensure!(still.status == 200, "the kept record: {}", still.text);
        let json = still.json.context("json")?;
        ensure!(
            json["title"] == "kept" && json["count"] == 7,
            "the kept record changed: {json}"
        );
        Ok(())
    }));
}
