//! One nemesis client's requests to one node, and how each answer maps to an outcome: a
//! definite answer, a definite refusal, or unknown (no answer, or a 5xx).

use std::time::Duration;

use edgebase_client::wire::{
    HEADER_AFTER, HEADER_CONSISTENCY, HEADER_INDEX, HEADER_MAX_STALENESS_MS,
};
use serde_json::{json, Value};

use super::history::{Answer, Outcome, ReadLevel, Request};
use crate::linearizability::{RecordInput, RecordOutput};
use crate::raw::{RawBody, RawClient, RawResponse};

/// The contended records' collection.
pub const RECORDS_COLLECTION: &str = "nemesis";
/// The insert-only collection.
pub const LEDGER_COLLECTION: &str = "ledger";
/// The staleness a bounded read allows.
const MAX_STALENESS_MS: u64 = 500;

/// Record `record`'s id (PocketBase ids are 15 characters of `[a-z0-9]`).
pub fn record_id(record: usize) -> String {
    format!("nemesisrec{record:05}")
}

/// An operation ready to send.
#[derive(Debug, Clone)]
pub struct Planned {
    pub request: Request,
    /// Every write carries one; a retry of an unknown outcome sends the same.
    pub idempotency_key: Option<String>,
    /// `X-Edgebase-After` of a session read.
    pub after: Option<u64>,
    /// `If-Match` of an update: the version that held the value it expects.
    pub if_match: Option<u64>,
}

/// Requests to one node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    pub node: String,
    raw: RawClient,
}

impl NodeClient {
    pub fn new(node: &str, base_url: &str, timeout: Duration) -> anyhow::Result<NodeClient> {
        Ok(NodeClient {
            node: node.to_owned(),
            raw: RawClient::with_timeout(base_url, timeout)?,
        })
    }

    /// Send `planned` and classify the answer.
    pub async fn perform(&self, planned: &Planned) -> Outcome {
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(key) = &planned.idempotency_key {
            headers.push(("Idempotency-Key", key.clone()));
        }
        if let Some(version) = planned.if_match {
            headers.push(("If-Match", format!("\"{version}\"")));
        }
        let after = planned.after;
        let (method, path, body, expect) = match &planned.request {
            Request::Record {
                record,
                input,
                level,
            } => {
                let id = record_id(*record);
                let one = format!("/api/collections/{RECORDS_COLLECTION}/records/{id}");
                match input {
                    RecordInput::Create { value } => (
                        "POST",
                        format!("/api/collections/{RECORDS_COLLECTION}/records"),
                        RawBody::Json(json!({ "id": id, "value": value })),
                        Expect::Create,
                    ),
                    RecordInput::Read => {
                        match level {
                            ReadLevel::Strong => {
                                headers.push((HEADER_CONSISTENCY, "strong".to_owned()))
                            }
                            ReadLevel::Session => {
                                if let Some(after) = after {
                                    headers.push((HEADER_AFTER, after.to_string()));
                                }
                            }
                            ReadLevel::Local => {}
                            ReadLevel::Bounded => headers
                                .push((HEADER_MAX_STALENESS_MS, MAX_STALENESS_MS.to_string())),
                        }
                        ("GET", one, RawBody::None, Expect::Read)
                    }
                    RecordInput::Update { value, .. } => (
                        "PATCH",
                        one,
                        RawBody::Json(json!({ "value": value })),
                        Expect::Update,
                    ),
                    RecordInput::Delete => ("DELETE", one, RawBody::None, Expect::Delete),
                }
            }
            Request::Ledger { ids } => ledger_request(ids),
        };
        self.send_and_classify(method, &path, body, &headers, expect)
            .await
    }

    async fn send_and_classify(
        &self,
        method: &str,
        path: &str,
        body: RawBody,
        headers: &[(&str, String)],
        expect: Expect,
    ) -> Outcome {
        match self.raw.send(method, path, None, body, headers).await {
            Ok(response) => classify(&response, expect),
            Err(error) => Outcome::Unknown(format!("{error:#}")),
        }
    }

    /// `GET` a path (the final checks).
    pub async fn get(&self, path: &str, headers: &[(&str, String)]) -> anyhow::Result<RawResponse> {
        self.raw
            .send("GET", path, None, RawBody::None, headers)
            .await
    }
}

fn ledger_request(ids: &[String]) -> (&'static str, String, RawBody, Expect) {
    let path = format!("/api/collections/{LEDGER_COLLECTION}/records");
    if let [id] = ids {
        return (
            "POST",
            path,
            RawBody::Json(json!({ "id": id })),
            Expect::Ledger,
        );
    }
    let requests: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "method": "POST", "url": path, "body": { "id": id } }))
        .collect();
    (
        "POST",
        "/api/batch".to_owned(),
        RawBody::Json(json!({ "requests": requests })),
        Expect::Ledger,
    )
}

/// What kind of answer a request expects.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Create,
    Read,
    Update,
    Delete,
    Ledger,
}

fn classify(response: &RawResponse, expect: Expect) -> Outcome {
    let status = response.status;
    let definite = |output: RecordOutput| {
        Outcome::Ok(Answer {
            output,
            version: version_of(response),
            index: response
                .headers
                .get(HEADER_INDEX)
                .and_then(|value| value.to_str().ok())
                .and_then(|text| text.parse().ok()),
        })
    };
    let value = || {
        response
            .json
            .as_ref()
            .and_then(|json| json.get("value"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (expect, status) {
        (_, 500..) => Outcome::Unknown(format!("{status}: {}", short(&response.text))),
        (Expect::Create, 200) => definite(RecordOutput::Created),
        (Expect::Create, 400) if id_not_unique(response) => definite(RecordOutput::Exists),
        (Expect::Read, 200) => match value() {
            Some(value) => definite(RecordOutput::Read(Some(value))),
            None => Outcome::Failed(format!(
                "a read answered 200 without a value: {}",
                short(&response.text)
            )),
        },
        (Expect::Read, 404) => definite(RecordOutput::Read(None)),
        (Expect::Update, 200) => definite(RecordOutput::Updated),
        (Expect::Update, 412) => definite(RecordOutput::Stale),
        (Expect::Update | Expect::Delete, 404) => definite(RecordOutput::Missing),
        (Expect::Delete, 204) => definite(RecordOutput::Deleted),
        (Expect::Ledger, 200) => definite(RecordOutput::Created),
        _ => Outcome::Failed(format!("{status}: {}", short(&response.text))),
    }
}

/// The record version an answer's `ETag` names.
fn version_of(response: &RawResponse) -> Option<u64> {
    response
        .headers
        .get("etag")?
        .to_str()
        .ok()?
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

fn id_not_unique(response: &RawResponse) -> bool {
    response
        .json
        .as_ref()
        .and_then(|json| json.pointer("/data/id/code"))
        .and_then(Value::as_str)
        == Some("validation_not_unique")
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}
