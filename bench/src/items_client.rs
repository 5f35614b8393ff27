//! `ItemsClient`: the `items` collection of the filtered-list benchmark on one server
//! (EdgeBase or PocketBase): create it with its indexes, bulk-load it through
//! `POST /api/batch`, and list it with a filter.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::driver::read_bounded;
use crate::items_dataset::Item;

/// The collection every filtered-list run creates.
pub const COLLECTION: &str = "items";
/// Most creates in one `POST /api/batch` (the batch setting is raised to this).
pub const BATCH_REQUESTS_MAX: usize = 1000;
/// Seconds a server may spend on one batch (PocketBase's `batch.timeout`).
const BATCH_TIMEOUT_SECS: u64 = 30;
/// Client-side limit on one batch request.
const BATCH_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

pub struct ItemsClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl ItemsClient {
    /// Log in as a superuser at `url`.
    pub async fn login(
        http: reqwest::Client,
        url: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<ItemsClient> {
        let token = superuser_token(&http, url, email, password).await?;
        Ok(ItemsClient {
            http,
            url: url.to_owned(),
            token,
        })
    }

    /// Turn batches on, up to `BATCH_REQUESTS_MAX` requests each.
    pub async fn enable_batch(&self) -> anyhow::Result<()> {
        let response = self
            .http
            .patch(format!("{}/api/settings", self.url))
            .header("authorization", &self.token)
            .json(&json!({ "batch": {
                "enabled": true,
                "maxRequests": BATCH_REQUESTS_MAX,
                "timeout": BATCH_TIMEOUT_SECS
            }}))
            .send()
            .await?;
        checked_json(response, "enable batches").await.map(|_| ())
    }

    /// Create `items` (`cat` text, `n` number, `title` text; `cat` and `n` indexed), listable
    /// by anyone so list requests carry no token.
    pub async fn create_collection(&self) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/api/collections", self.url))
            .header("authorization", &self.token)
            .json(&json!({
                "name": COLLECTION,
                "type": "base",
                "listRule": "", "viewRule": "",
                "fields": [
                    {"name": "cat", "type": "text"},
                    {"name": "n", "type": "number"},
                    {"name": "title", "type": "text"}
                ],
                "indexes": [
                    format!("CREATE INDEX idx_items_cat ON {COLLECTION} (cat)"),
                    format!("CREATE INDEX idx_items_n ON {COLLECTION} (n)")
                ]
            }))
            .send()
            .await?;
        checked_json(response, "create the items collection")
            .await
            .map(|_| ())
    }

    /// Create `items` in batches of `BATCH_REQUESTS_MAX`, one batch at a time; returns how
    /// long the whole load took.
    pub async fn load(&self, items: &[Item]) -> anyhow::Result<Duration> {
        let began = Instant::now();
        for (number, chunk) in items.chunks(BATCH_REQUESTS_MAX).enumerate() {
            let requests: Vec<Value> = chunk
                .iter()
                .map(|item| {
                    json!({
                        "method": "POST",
                        "url": format!("/api/collections/{COLLECTION}/records"),
                        "body": item.body()
                    })
                })
                .collect();
            let response = self
                .http
                .post(format!("{}/api/batch", self.url))
                .header("authorization", &self.token)
                .timeout(BATCH_REQUEST_TIMEOUT)
                .json(&json!({ "requests": requests }))
                .send()
                .await?;
            let answers = checked_json(response, "create a batch of items")
                .await
                .with_context(|| format!("batch {number}"))?;
            let created = answers.as_array().map_or(0, Vec::len);
            if created != chunk.len() {
                bail!(
                    "batch {number}: {created} answers for {} creates",
                    chunk.len()
                );
            }
        }
        Ok(began.elapsed())
    }

    /// One list request without a token; returns `totalItems` (-1 with `skipTotal`).
    pub async fn list(&self, params: &[(&str, String)]) -> anyhow::Result<i64> {
        let response = self
            .http
            .get(format!("{}/api/collections/{COLLECTION}/records", self.url))
            .query(params)
            .send()
            .await?;
        let page = checked_json(response, "list items").await?;
        page["totalItems"]
            .as_i64()
            .context("no totalItems in the list answer")
    }
}

/// A superuser's token from logging in at `url`.
pub async fn superuser_token(
    http: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = http
        .post(format!(
            "{url}/api/collections/_superusers/auth-with-password"
        ))
        .json(&json!({ "identity": email, "password": password }))
        .send()
        .await?;
    let login = checked_json(response, "log in as superuser").await?;
    Ok(login["token"]
        .as_str()
        .context("no token in the login answer")?
        .to_owned())
}

/// The JSON body of a 2xx answer, or an error with the status and body.
pub async fn checked_json(response: reqwest::Response, doing: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body = read_bounded(response).await?;
    if !status.is_success() {
        bail!("{doing}: HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("{doing}: decode the answer"))
}
