//! Reading messages back in the messaging tests.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::{wait_until, RawBody, RawClient, RawResponse};

/// How long a message may take to settle.
pub const MESSAGE_SETTLE: Duration = Duration::from_secs(90);

/// The message `id` as `http`'s node has it, once settled (neither `pending`, `scheduled`
/// nor `sending`).
pub async fn settled_message(http: &RawClient, token: &str, id: &str) -> anyhow::Result<Value> {
    wait_until(
        &format!("message {id} to settle"),
        MESSAGE_SETTLE,
        || async {
            let answer = http
                .send(
                    "GET",
                    &format!("/api/messages/{id}"),
                    Some(token),
                    RawBody::None,
                    &[],
                )
                .await?;
            if answer.status != 200 {
                return Ok(None);
            }
            let message = answer.json.context("message json")?;
            let status = message["status"].as_str().unwrap_or_default().to_owned();
            Ok(
                (!["pending", "scheduled", "sending"].contains(&status.as_str()))
                    .then_some(message),
            )
        },
    )
    .await
}

/// The `id` of the record or message an answer carries.
pub fn answer_id(answer: &RawResponse) -> anyhow::Result<String> {
    Ok(answer
        .json
        .as_ref()
        .and_then(|body| body["id"].as_str())
        .with_context(|| format!("no id in {}", answer.text))?
        .to_owned())
}
