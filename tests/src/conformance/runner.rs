//! `run_conformance`: each scenario against a fresh reference and candidate server; every
//! difference in status or normalised body is a `Mismatch`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use super::diff::json_differences;
use super::normalize::Normalizer;
use super::scenario::{
    lookup, remove_path, substitute, substitute_json, Auth, Compare, Scenario, Step,
};
use super::target::{Target, TargetKind};
use crate::raw::{RawBody, RawResponse};

/// How often a step with `until` asks again, and how long it keeps asking by default.
const UNTIL_POLL: Duration = Duration::from_millis(200);
const UNTIL_TIMEOUT_SECS: u64 = 20;

/// The `Authorization` value of `Auth::Garbage`.
const GARBAGE_TOKEN: &str = "garbage.not-a.token";

/// One difference between the two servers (or between the reference and the scenario).
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub scenario: String,
    pub step: String,
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "[{}] step {:?}:\n{}",
            self.scenario, self.step, self.detail
        )
    }
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct ConformanceReport {
    pub scenarios_run: usize,
    pub steps_run: usize,
    pub mismatches: Vec<Mismatch>,
}

/// A target's per-scenario state: captured variables and its normaliser.
struct Side {
    target: Target,
    vars: BTreeMap<String, String>,
    normalizer: Normalizer,
}

/// A normalised answer.
struct Outcome {
    status: u16,
    body: Option<Value>,
    text: String,
    /// The compared response headers, normalised.
    headers: Vec<(String, Option<String>)>,
}

/// Run every scenario with fresh servers of `reference` and `candidate` kinds.
pub async fn run_conformance(
    scenarios: &[Scenario],
    reference: TargetKind,
    candidate: TargetKind,
    root: &Path,
) -> anyhow::Result<ConformanceReport> {
    let mut report = ConformanceReport::default();
    for (number, scenario) in scenarios.iter().enumerate() {
        let reference_label = format!("{:02}-{}-reference-{reference}", number, scenario.name);
        let candidate_label = format!("{:02}-{}-candidate-{candidate}", number, scenario.name);
        let (left, right) = tokio::join!(
            Target::start_with_hooks(reference, root, &reference_label, &scenario.hooks),
            Target::start_with_hooks(candidate, root, &candidate_label, &scenario.hooks)
        );
        let mut left = new_side(left.context("start the reference server")?);
        let mut right = new_side(right.context("start the candidate server")?);
        for step in &scenario.steps {
            report.steps_run += 1;
            if let Some(mismatch) = run_step(scenario, step, &mut left, &mut right).await {
                report.mismatches.push(mismatch);
            }
        }
        report.scenarios_run += 1;
    }
    Ok(report)
}

fn new_side(target: Target) -> Side {
    Side {
        target,
        vars: BTreeMap::new(),
        normalizer: Normalizer::new(),
    }
}

async fn run_step(
    scenario: &Scenario,
    step: &Step,
    left: &mut Side,
    right: &mut Side,
) -> Option<Mismatch> {
    let mismatch = |detail: String| Mismatch {
        scenario: scenario.name.clone(),
        step: step.name.clone(),
        detail,
    };
    let (left_outcome, right_outcome) = match (send(step, left).await, send(step, right).await) {
        (Ok(left_outcome), Ok(right_outcome)) => (left_outcome, right_outcome),
        (Err(error), _) => {
            return Some(mismatch(format!(
                "reference ({}) failed: {error:#}",
                left.target.label
            )))
        }
        (_, Err(error)) => {
            return Some(mismatch(format!(
                "candidate ({}) failed: {error:#}",
                right.target.label
            )))
        }
    };
    let mut problems = Vec::new();
    if let Some(expected) = step.expect_status {
        if left_outcome.status != expected {
            problems.push(format!(
                "the reference answered {} but the scenario expects {expected}: {}",
                left_outcome.status, left_outcome.text
            ));
        }
    }
    if left_outcome.status != right_outcome.status {
        problems.push(format!(
            "status: {} {} | {} {}",
            left.target.kind, left_outcome.status, right.target.kind, right_outcome.status
        ));
    }
    if left_outcome.headers != right_outcome.headers {
        problems.push(format!(
            "headers: reference {:?} | candidate {:?}",
            left_outcome.headers, right_outcome.headers
        ));
    }
    // Answers that are not JSON (downloaded files) are compared as text.
    let both_text = left_outcome.body.is_none() && right_outcome.body.is_none();
    if step.compare == Compare::Full && both_text && left_outcome.text != right_outcome.text {
        problems.push(format!(
            "text body: reference {:?} | candidate {:?}",
            clip(&left_outcome.text),
            clip(&right_outcome.text)
        ));
    }
    if step.compare == Compare::Full && left_outcome.body != right_outcome.body {
        match (&left_outcome.body, &right_outcome.body) {
            (Some(a), Some(b)) => {
                problems.push("body differs (left = reference, right = candidate):".to_owned());
                problems.extend(
                    json_differences(a, b)
                        .into_iter()
                        .map(|line| format!("  {line}")),
                );
            }
            _ => problems.push(format!(
                "body: reference {:?} | candidate {:?}",
                clip(&left_outcome.text),
                clip(&right_outcome.text)
            )),
        }
    }
    if problems.is_empty() {
        return None;
    }
    let pretty = |outcome: &Outcome| {
        outcome
            .body
            .as_ref()
            .and_then(|body| serde_json::to_string_pretty(body).ok())
            .unwrap_or_else(|| clip(&outcome.text))
    };
    Some(mismatch(format!(
        "{} {}\n{}\n--- reference {} (normalised):\n{}\n--- candidate {} (normalised):\n{}",
        step.method,
        step.path,
        problems.join("\n"),
        left.target.kind,
        pretty(&left_outcome),
        right.target.kind,
        pretty(&right_outcome)
    )))
}

/// Send the step to one side, capture its variables, and normalise the answer.
async fn send(step: &Step, side: &mut Side) -> anyhow::Result<Outcome> {
    let path = substitute(&step.path, &side.vars)?;
    let body = match (&step.body, &step.raw_body, &step.multipart) {
        (Some(body), None, None) => RawBody::Json(substitute_json(body, &side.vars)?),
        (None, Some(raw), None) => RawBody::Text(substitute(raw, &side.vars)?),
        (None, None, Some(parts)) => multipart_body(parts, &side.vars)?,
        (None, None, None) => RawBody::None,
        _ => anyhow::bail!("a step has one of `body`, `raw_body` and `multipart`"),
    };
    let mut request_headers = Vec::new();
    for (name, value) in &step.headers {
        request_headers.push((name.as_str(), substitute(value, &side.vars)?));
    }
    let captured_token = match &step.auth_token {
        Some(name) => Some(
            side.vars
                .get(name)
                .with_context(|| format!("token variable {name:?} was never captured"))?
                .clone(),
        ),
        None => None,
    };
    let auth = match (&captured_token, step.auth) {
        (Some(token), _) => Some(token.as_str()),
        (None, Auth::None) => None,
        (None, Auth::Superuser) => Some(side.target.superuser_token.as_str()),
        (None, Auth::Garbage) => Some(GARBAGE_TOKEN),
    };
    let deadline = step.until.as_ref().map(|until| {
        Instant::now() + Duration::from_secs(until.timeout_secs.unwrap_or(UNTIL_TIMEOUT_SECS))
    });
    let response: RawResponse = loop {
        let response = side
            .target
            .client
            .send(&step.method, &path, auth, body.clone(), &request_headers)
            .await?;
        let (Some(until), Some(deadline)) = (&step.until, deadline) else {
            break response;
        };
        let reached = response
            .json
            .as_ref()
            .and_then(|json| lookup(json, &until.path))
            == Some(&until.equals);
        if reached || Instant::now() >= deadline {
            break response;
        }
        tokio::time::sleep(UNTIL_POLL).await;
    };
    for (name, capture_path) in &step.capture {
        let value = response
            .json
            .as_ref()
            .and_then(|json| lookup(json, capture_path))
            .with_context(|| {
                format!(
                    "capture {name}: no {capture_path:?} in the answer {}",
                    clip(&response.text)
                )
            })?;
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        side.vars.insert(name.clone(), text);
    }
    let body = response.json.as_ref().map(|json| {
        let mut json = json.clone();
        if let Some(keep) = &step.keep_items {
            if let Some(Value::Array(items)) = json.get_mut("items") {
                items.retain(|item| {
                    item.get(&keep.key)
                        .is_some_and(|value| keep.values.contains(value))
                });
            }
        }
        for path in &step.ignore {
            remove_path(&mut json, path);
        }
        side.normalizer.normalize(&json)
    });
    let headers = step
        .compare_headers
        .iter()
        .map(|name| {
            let value = response
                .headers
                .get(name.as_str())
                .and_then(|value| value.to_str().ok())
                .map(|value| side.normalizer.normalize_text(value));
            (name.clone(), value)
        })
        .collect();
    Ok(Outcome {
        status: response.status,
        body,
        text: response.text,
        headers,
    })
}

/// The multipart body of a step.
fn multipart_body(
    parts: &[super::scenario::Part],
    vars: &BTreeMap<String, String>,
) -> anyhow::Result<RawBody> {
    use base64::Engine;
    let mut body = crate::MultipartBody::new();
    for part in parts {
        body = match (&part.value, &part.filename) {
            (Some(value), None) => body.text(&part.name, &substitute(value, vars)?),
            (None, Some(filename)) => {
                let mut content = match (&part.content, &part.content_base64) {
                    (Some(text), None) => text.clone().into_bytes(),
                    (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .context("a part's content_base64")?,
                    (None, None) => Vec::new(),
                    _ => anyhow::bail!("a file part has `content` or `content_base64`"),
                };
                if let Some(times) = part.repeat {
                    content = content.repeat(times);
                }
                body.file(&part.name, filename, &content)
            }
            _ => anyhow::bail!("a part has either `value` or `filename`"),
        };
    }
    Ok(body.build())
}

fn clip(text: &str) -> String {
    text.chars().take(500).collect()
}
