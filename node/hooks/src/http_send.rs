//! `$http.send`: one outgoing HTTP request from a hook, as PocketBase shapes it, bounded by
//! its own timeout (PocketBase's default 120 s), by what is left of the call's wall-clock
//! time, and by [`RESPONSE_BYTES_MAX`] of answer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::limits::Watchdog;

/// Most bytes of an answer a hook receives.
pub const RESPONSE_BYTES_MAX: usize = 4 << 20;
/// PocketBase's default timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a send did not answer.
pub enum SendFailure {
    /// The call's wall-clock time ran out while it waited.
    OutOfTime,
    /// The request failed (the hook can catch this).
    Failed(String),
}

#[derive(Deserialize)]
struct Config {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Seconds.
    #[serde(default)]
    timeout: Option<f64>,
    /// Deprecated in PocketBase: sent as JSON.
    #[serde(default)]
    data: Option<Value>,
}

/// Send the request `config_json` describes; the answer as PocketBase's `$http.send` gives
/// it (`statusCode`, `headers`, `cookies`, `body`, `raw`, `json`), as JSON.
pub fn send(
    handle: &tokio::runtime::Handle,
    client: &reqwest::Client,
    watchdog: &Watchdog,
    config_json: &str,
) -> Result<String, SendFailure> {
    let config: Config = serde_json::from_str(config_json)
        .map_err(|error| SendFailure::Failed(format!("$http.send: {error}")))?;
    let method = reqwest::Method::from_bytes(
        config
            .method
            .as_deref()
            .unwrap_or("GET")
            .to_uppercase()
            .as_bytes(),
    )
    .map_err(|_| SendFailure::Failed("$http.send: invalid method".into()))?;
    let timeout = config
        .timeout
        .filter(|secs| *secs > 0.0)
        .map(|secs| Duration::from_secs_f64(secs.min(86_400.0)))
        .unwrap_or(DEFAULT_TIMEOUT);
    let remaining = watchdog.remaining();
    let out_of_time = remaining <= timeout;
    let mut request = client.request(method, &config.url);
    for (name, value) in &config.headers {
        request = request.header(name, value);
    }
    if let Some(data) = &config.data {
        request = request
            .header("content-type", "application/json")
            .body(data.to_string());
    } else if let Some(body) = config.body {
        request = request.body(body);
    }
    let exchange = async move {
        let response = request.send().await.map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        let mut headers: Map<String, Value> = Map::new();
        let mut cookies: Map<String, Value> = Map::new();
        for (name, value) in response.headers() {
            let Ok(text) = value.to_str() else { continue };
            let entry = headers
                .entry(canonical(name.as_str()))
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::String(text.to_owned()));
            }
            if name == reqwest::header::SET_COOKIE {
                if let Some((cookie, value)) =
                    text.split(';').next().and_then(|pair| pair.split_once('='))
                {
                    cookies.insert(
                        cookie.trim().to_owned(),
                        json!({"name": cookie.trim(), "value": value.trim()}),
                    );
                }
            }
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
            if body.len() + chunk.len() > RESPONSE_BYTES_MAX {
                return Err(format!(
                    "the answer is larger than {RESPONSE_BYTES_MAX} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, String>((status, headers, cookies, body))
    };
    let bounded = crate::blocking::wait(handle, async {
        tokio::time::timeout(timeout.min(remaining), exchange).await
    });
    let (status, headers, cookies, body) = match bounded {
        Err(_) if out_of_time => return Err(SendFailure::OutOfTime),
        Err(_) => {
            return Err(SendFailure::Failed(format!(
                "$http.send: no answer within {} s",
                timeout.as_secs_f64()
            )))
        }
        Ok(Err(reason)) => return Err(SendFailure::Failed(format!("$http.send: {reason}"))),
        Ok(Ok(answer)) => answer,
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    let parsed = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    Ok(json!({
        "statusCode": status,
        "headers": headers,
        "cookies": cookies,
        "body": body,
        "raw": raw,
        "json": parsed,
    })
    .to_string())
}

/// `content-type` -> `Content-Type`, as Go's `http.Header` keys are.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join("-")
}
