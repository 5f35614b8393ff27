//! Bad input gets PocketBase's error envelope and status, and changes nothing stored:
//! malformed JSON, an oversized body, an unknown collection, wrong field types.

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
