//! `RecordsDriver`: creates and gets records through PocketBase's REST API, which EdgeBase
//! serves too; writes and reads may go to different nodes.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::driver::read_bounded;
use crate::wait::wait_until;

/// How long a new collection may take to become visible on every node used.
const COLLECTION_VISIBLE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct RecordsDriver {
    http: reqwest::Client,
    write_url: String,
    read_url: String,
    token: String,
    collection: String,
}

impl RecordsDriver {
    /// Log in as a superuser at `admin_url` and create a fresh collection `name` with a text
    /// and a number field, readable and writable by anyone.
    pub async fn create_collection(
        http: reqwest::Client,
        admin_url: &str,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<RecordsDriver> {
        let login = http
            .post(format!(
                "{admin_url}/api/collections/_superusers/auth-with-password"
            ))
            .json(&json!({ "identity": email, "password": password }))
            .send()
            .await?
            .error_for_status()
            .context("log in as superuser")?;
        let login: Value = serde_json::from_slice(&read_bounded(login).await?)?;
        let token = login["token"]
            .as_str()
            .context("no token in the login answer")?
            .to_owned();
        http.post(format!("{admin_url}/api/collections"))
            .header("authorization", &token)
            .json(&json!({
                "name": name,
                "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}]
            }))
            .send()
            .await?
            .error_for_status()
            .context("create the bench collection")?;
        Ok(RecordsDriver {
            http,
            write_url: admin_url.to_owned(),
            read_url: admin_url.to_owned(),
            token,
            collection: name.to_owned(),
        })
    }

    /// The same collection and login, writing at `write_url` and reading at `read_url`;
    /// waits until both nodes know the collection.
    pub async fn at(&self, write_url: &str, read_url: &str) -> anyhow::Result<RecordsDriver> {
        for url in [write_url, read_url] {
            let probe = format!("{url}/api/collections/{}", self.collection);
            wait_until(
                "the bench collection to replicate",
                COLLECTION_VISIBLE_TIMEOUT,
                || async {
                    let response = self
                        .http
                        .get(&probe)
                        .header("authorization", &self.token)
                        .send()
                        .await?;
                    Ok(response.status().is_success())
                },
            )
            .await?;
        }
        Ok(RecordsDriver {
            http: self.http.clone(),
            write_url: write_url.to_owned(),
            read_url: read_url.to_owned(),
            token: self.token.clone(),
            collection: self.collection.clone(),
        })
    }

    /// Wait until record `id` can be read at the read node (replication of a preload).
    pub async fn wait_readable(&self, id: &str) -> anyhow::Result<()> {
        wait_until(
            "preloaded records to replicate",
            COLLECTION_VISIBLE_TIMEOUT,
            || async { Ok(self.get(id).await.is_ok()) },
        )
        .await
    }

    pub async fn create(&self, title: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!(
                "{}/api/collections/{}/records",
                self.write_url, self.collection
            ))
            .header("authorization", &self.token)
            .json(&json!({ "title": title, "views": 1 }))
            .send()
            .await?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            bail!("create: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        let body: Value = serde_json::from_slice(&body).context("decode created record")?;
        Ok(body["id"]
            .as_str()
            .context("created record has no id")?
            .to_owned())
    }

    pub async fn get(&self, id: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .get(format!(
                "{}/api/collections/{}/records/{id}",
                self.read_url, self.collection
            ))
            .header("authorization", &self.token)
            .send()
            .await?;
        let status = response.status();
        let body = read_bounded(response).await?;
        if !status.is_success() {
            bail!("get: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}
