//! Bad input gets PocketBase's error envelope and status, and changes nothing stored:
//! malformed JSON, an oversized body, an unknown collection, wrong field types, unusable
//! filters and sorts (filter bombs included), and batches refused whole.

use std::time::Duration;

use anyhow::{ensure, Context};
use edgebase_client::{Client, Totals};
use edgebase_tests::{
    all_records, run_test, string_field, Cli, Node, NodeSpec, RawBody, RawClient,
    NODE_START_TIMEOUT, SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
};
use serde_json::{json, Value};

const COLLECTION: &str = "items";
/// Larger than PocketBase's default body limit (32 MiB) and so than any sane server limit.
const OVERSIZED_BODY_BYTES: usize = 33 * 1024 * 1024;

/// Who sends a case.
#[derive(Clone, Copy)]
enum As {
    Guest,
    Superuser,
}

/// One bad request and PocketBase 0.40.6's answer to it (recorded from the real server).
struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    who: As,
    body: RawBody,
    status: u16,
    message: &'static str,
    /// `data.<field>.code` expected in the envelope.
    field_code: Option<(&'static str, &'static str)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    run_test("bad_input", Duration::from_secs(300), |context| async move {
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
                    {"name": "count", "type": "number", "required": true, "onlyInt": true},
                    {"name": "meta", "type": "json"}
                ]
            }))
            .await?;
        let mut ids = Vec::new();
        for count in 1..=3 {
            let record = admin
                .records(COLLECTION)
                .create(&json!({"title": format!("t{count}"), "count": count, "meta": {"k": count}}))
                .await?;
            ids.push(string_field(&record, "id")?);
        }
        // Batches are off by default; on, with a small limit, so an oversized one is refused.
        RawClient::new(&node.http_url())?
            .send(
                "PATCH",
                "/api/settings",
                Some(auth.token.as_str()),
                RawBody::Json(json!({"batch": {"enabled": true, "maxRequests": 5, "maxBodySize": 4096}})),
                &[],
            )
            .await
            .context("enable batches")?;
        let before = stored_state(&admin).await?;

        let records = format!("/api/collections/{COLLECTION}/records");
        let one = format!("{records}/{}", ids[0]);
        let oversized = format!("{{\"title\":\"{}\",\"count\":1}}", "a".repeat(OVERSIZED_BODY_BYTES));
        let cases = vec![
            Case {
                name: "malformed JSON record",
                method: "POST",
                path: records.clone(),
                who: As::Guest,
                body: RawBody::Text("{\"title\": \"x\",".to_owned()),
                status: 400,
                message: "Something went wrong while processing your request.",
                field_code: None,
            },
            Case {
                name: "JSON array as a record",
                method: "POST",
                path: records.clone(),
                who: As::Guest,
                body: RawBody::Text("[1, 2]".to_owned()),
                status: 400,
                message: "Something went wrong while processing your request.",
                field_code: None,
            },
            Case {
                name: "malformed JSON update",
                method: "PATCH",
                path: one.clone(),
                who: As::Guest,
                body: RawBody::Text("{\"count\":".to_owned()),
                status: 400,
                message: "Something went wrong while processing your request.",
                field_code: None,
            },
            Case {
                name: "malformed JSON collection",
                method: "POST",
                path: "/api/collections".to_owned(),
                who: As::Superuser,
                body: RawBody::Text("{\"name\": \"x\",".to_owned()),
                status: 400,
                message: "Failed to load the collection type data due to invalid formatting.",
                field_code: None,
            },
            Case {
                name: "oversized body",
                method: "POST",
                path: records.clone(),
                who: As::Guest,
                body: RawBody::Bytes(oversized.into_bytes()),
                status: 413,
                message: "Request entity too large.",
                field_code: None,
            },
            Case {
                name: "unknown collection create",
                method: "POST",
                path: "/api/collections/missing/records".to_owned(),
                who: As::Superuser,
                body: RawBody::Json(json!({"title": "x", "count": 1})),
                status: 404,
                message: "Missing or invalid collection context.",
                field_code: None,
            },
            Case {
                name: "unknown collection list",
                method: "GET",
                path: "/api/collections/missing/records".to_owned(),
                who: As::Guest,
                body: RawBody::None,
                status: 404,
                message: "Missing collection context.",
                field_code: None,
            },
            Case {
                name: "string for a required integer",
                method: "POST",
                path: records.clone(),
                who: As::Guest,
                body: RawBody::Json(json!({"title": "x", "count": "abc"})),
                status: 400,
                message: "Failed to create record.",
                field_code: Some(("count", "validation_required")),
            },
            Case {
                name: "decimal for an integer",
                method: "POST",
                path: records.clone(),
                who: As::Guest,
                body: RawBody::Json(json!({"title": "x", "count": 1.5})),
                status: 400,
                message: "Failed to create record.",
                field_code: Some(("count", "validation_only_int_constraint")),
            },
            Case {
                name: "decimal for an integer on update",
                method: "PATCH",
                path: one.clone(),
                who: As::Guest,
                body: RawBody::Json(json!({"count": 2.5, "title": "changed"})),
                status: 400,
                message: "Failed to update record.",
                field_code: Some(("count", "validation_only_int_constraint")),
            },
            Case {
                name: "duplicate id",
                method: "POST",
                path: records.clone(),
                who: As::Guest,
                body: RawBody::Json(json!({"id": ids[1], "count": 7})),
                status: 400,
                message: "Failed to create record.",
                field_code: Some(("id", "validation_not_unique")),
            },
            Case {
                name: "missing record update",
                method: "PATCH",
                path: format!("{records}/nonexistent1234"),
                who: As::Guest,
                body: RawBody::Json(json!({"count": 3})),
                status: 404,
                message: "The requested resource wasn't found.",
                field_code: None,
            },
        ];
        let mut cases = cases;
        cases.extend(query_cases(&records));
        cases.extend(batch_cases(&records, &ids));

        let mut failures = Vec::new();
        for case in cases {
            let auth_header = match case.who {
                As::Guest => None,
                As::Superuser => Some(auth.token.as_str()),
            };
            // A fresh connection per case: after a 413 the server drops the connection with
            // the body half read, and a pooled connection must not turn that into a
            // transport error of the next case.
            let raw = RawClient::new(&node.http_url())?;
            let response = raw
                .send(case.method, &case.path, auth_header, case.body, &[])
                .await
                .with_context(|| format!("case {:?}", case.name))?;
            let envelope = response.json.clone().unwrap_or(Value::Null);
            let mut problems = Vec::new();
            if response.status != case.status {
                problems.push(format!("status {} (expected {})", response.status, case.status));
            }
            if envelope["status"] != json!(case.status) {
                problems.push(format!("envelope status {}", envelope["status"]));
            }
            if envelope["message"] != json!(case.message) {
                problems.push(format!("message {} (expected {:?})", envelope["message"], case.message));
            }
            if !envelope["data"].is_object() {
                problems.push("no data object".to_owned());
            }
            if let Some((field, code)) = case.field_code {
                if envelope["data"][field]["code"] != json!(code) {
                    problems.push(format!("data.{field}.code {} (expected {code})", envelope["data"][field]["code"]));
                }
            }
            if !problems.is_empty() {
                let body: String = response.text.chars().take(300).collect();
                failures.push(format!("{}: {} -- body {body}", case.name, problems.join("; ")));
            }
        }
        node.wait_healthy(Duration::from_secs(10)).await.context("the node after bad input")?;
        let after = stored_state(&admin).await?;
        ensure!(after == before, "stored state changed:\nbefore {before:#}\nafter {after:#}");
        ensure!(failures.is_empty(), "{} cases answered unlike PocketBase:\n{}", failures.len(), failures.join("\n"));
        Ok(())
    })
    .await;
}

const GENERIC: &str = "Something went wrong while processing your request.";

/// Percent-encode a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Filters and sorts that cannot be used, filter bombs included: every one is PocketBase's
/// generic 400 (the bombs trip EdgeBase's bounds on length, nesting and comparisons).
fn query_cases(records: &str) -> Vec<Case> {
    let deep = format!("{}count > 0{}", "(".repeat(40), ")".repeat(40));
    let many = (0..600)
        .map(|n| format!("count = {n}"))
        .collect::<Vec<_>>()
        .join(" || ");
    let long = format!("title = '{}'", "a".repeat(12_000));
    let any_of = (0..600)
        .map(|n| format!("title ?= 'x{n}'"))
        .collect::<Vec<_>>()
        .join(" || ");
    let filters: Vec<(&'static str, String)> = vec![
        ("malformed filter", "count >".to_owned()),
        ("unclosed parenthesis", "(count > 1".to_owned()),
        ("unknown field in a filter", "nope = 1".to_owned()),
        ("unknown relation path", "title.name = 1".to_owned()),
        ("unknown operator", "count ?? 1".to_owned()),
        ("filter nested 40 deep", deep),
        ("filter of 600 comparisons", many),
        ("filter of 12k characters", long),
        ("600 any-of comparisons", any_of),
    ];
    let mut cases: Vec<Case> = filters
        .into_iter()
        .map(|(name, filter)| Case {
            name,
            method: "GET",
            path: format!("{records}?filter={}", encode(&filter)),
            who: As::Guest,
            body: RawBody::None,
            status: 400,
            message: GENERIC,
            field_code: None,
        })
        .collect();
    for (name, sort) in [
        ("unknown sort field", "nope"),
        ("empty sort key", "-"),
        ("sort through a non-relation", "title.x"),
    ] {
        cases.push(Case {
            name,
            method: "GET",
            path: format!("{records}?sort={}", encode(sort)),
            who: As::Guest,
            body: RawBody::None,
            status: 400,
            message: GENERIC,
            field_code: None,
        });
    }
    cases.push(Case {
        name: "@collection in a guest's filter",
        method: "GET",
        path: format!("{records}?filter={}", encode("@collection.items.count > 0")),
        who: As::Guest,
        body: RawBody::None,
        status: 403,
        message: "Only superusers can filter by @collection.",
        field_code: None,
    });
    cases
}

/// Batches that must be refused whole: too many requests, too large a body, a failing
/// request after good ones (no partial write), an unknown action.
fn batch_cases(records: &str, ids: &[String]) -> Vec<Case> {
    let create = |title: &str| json!({"method": "POST", "url": records, "body": {"title": title, "count": 1}});
    let too_many: Vec<Value> = (0..6).map(|n| create(&format!("b{n}"))).collect();
    let failing = vec![
        create("good one"),
        json!({"method": "PATCH", "url": format!("{records}/{}", ids[0]), "body": {"title": "changed"}}),
        json!({"method": "POST", "url": records, "body": {"title": "no count"}}),
    ];
    let big = vec![
        json!({"method": "POST", "url": records, "body": {"title": "x".repeat(5000), "count": 1}}),
    ];
    vec![
        Case {
            name: "batch of too many requests",
            method: "POST",
            path: "/api/batch".into(),
            who: As::Guest,
            body: RawBody::Json(json!({"requests": too_many})),
            status: 400,
            message: "Invalid batch request data.",
            field_code: Some(("requests", "validation_length_too_long")),
        },
        Case {
            name: "batch whose third request fails",
            method: "POST",
            path: "/api/batch".into(),
            who: As::Guest,
            body: RawBody::Json(json!({"requests": failing})),
            status: 400,
            message: "Batch transaction failed.",
            field_code: None,
        },
        Case {
            name: "batch larger than maxBodySize",
            method: "POST",
            path: "/api/batch".into(),
            who: As::Guest,
            body: RawBody::Json(json!({"requests": big})),
            status: 413,
            message: "Request entity too large.",
            field_code: None,
        },
        Case {
            name: "batch of an unknown action",
            method: "POST",
            path: "/api/batch".into(),
            who: As::Guest,
            body: RawBody::Json(json!({"requests": [{"method": "GET", "url": records}]})),
            status: 400,
            message: "Batch transaction failed.",
            field_code: None,
        },
        Case {
            name: "batch body not JSON",
            method: "POST",
            path: "/api/batch".into(),
            who: As::Guest,
            body: RawBody::Text("{\"requests\": [".to_owned()),
            status: 400,
            message: "Failed to read the submitted batch data.",
            field_code: None,
        },
    ]
}

/// Everything a client can see: every collection and every record of ours.
async fn stored_state(admin: &Client) -> anyhow::Result<Value> {
    let collections = admin.collections().list(1, 1000).await?;
    let mut collections = serde_json::to_value(&collections.items)?;
    if let Value::Array(items) = &mut collections {
        items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    let records = all_records(admin, COLLECTION).await?;
    let counted = admin.records(COLLECTION).list(1, 1, Totals::Count).await?;
    Ok(json!({"collections": collections, "records": records, "totalItems": counted.total_items}))
}
