//! `EtcdDriver`: puts and serializable ranges through etcd's v3 HTTP/JSON gateway
//! (`POST /v3/kv/put`, `POST /v3/kv/range`, keys and values base64-encoded).

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::json;

use crate::driver::read_bounded;

/// Prefix of every key the bench writes.
const KEY_PREFIX: &str = "bench/";

pub struct EtcdDriver {
    http: reqwest::Client,
    write_url: String,
    read_url: String,
}

impl EtcdDriver {
    pub fn new(http: reqwest::Client, write_url: &str, read_url: &str) -> EtcdDriver {
        EtcdDriver {
            http,
            write_url: write_url.to_owned(),
            read_url: read_url.to_owned(),
        }
    }

    /// Put key `bench/NAME` with a value the size of a bench record; returns the key.
    pub async fn put(&self, name: &str) -> anyhow::Result<String> {
        let key = format!("{KEY_PREFIX}{name}");
        let value = json!({ "title": name, "views": 1 }).to_string();
        let response = self
            .http
            .post(format!("{}/v3/kv/put", self.write_url))
            .json(&json!({ "key": BASE64.encode(&key), "value": BASE64.encode(value) }))
            .send()
            .await?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            bail!("put: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(key)
    }

    /// Read one key from the read member's local state (`serializable`: no quorum round).
    pub async fn range(&self, key: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/v3/kv/range", self.read_url))
            .json(&json!({ "key": BASE64.encode(key), "serializable": true }))
            .send()
            .await?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            bail!("range: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        let body: serde_json::Value = serde_json::from_slice(&body).context("decode range")?;
        if body["kvs"].as_array().is_none_or(|kvs| kvs.is_empty()) {
            bail!("range: key {key} not found");
        }
        Ok(())
    }

    /// Wait-free check used after a preload: is `key` visible at the read member?
    pub async fn readable(&self, key: &str) -> bool {
        self.range(key).await.is_ok()
    }
}
