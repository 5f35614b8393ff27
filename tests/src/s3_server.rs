//! A local S3-compatible server for the S3 storage tests: `moto` in server mode (from
//! PyPI, installed by `tests/run-all.sh`), started on a free loopback port with one bucket,
//! and killed when dropped. Requests to it need no signature, so the test reads the bucket
//! with plain HTTP.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{ensure, Context};
use tokio::process::{Child, Command};

use crate::{free_addr, wait_until};

/// How long moto may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct S3Server {
    child: Child,
    endpoint: String,
    bucket: String,
    http: reqwest::Client,
}

impl S3Server {
    /// Start moto and create `bucket` in it.
    pub async fn start(bucket: &str) -> anyhow::Result<S3Server> {
        let port = free_addr()?.port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("start moto (python3 with moto[server], see tests/run-all.sh)")?;
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        };
        wait_until("moto answers", START_TIMEOUT, || async {
            Ok(server
                .http
                .get(&server.endpoint)
                .send()
                .await
                .ok()
                .map(|_| ()))
        })
        .await?;
        let created = server
            .http
            .put(format!("{}/{bucket}", server.endpoint))
            .send()
            .await?;
        ensure!(
            created.status().is_success(),
            "create bucket: {}",
            created.status()
        );
        Ok(server)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// PocketBase's `s3` settings for this bucket.
    pub fn settings(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": true,
            "bucket": self.bucket,
            "region": "us-east-1",
            "endpoint": self.endpoint,
            "accessKey": "test-key",
            "secret": "test-secret",
            "forcePathStyle": true,
        })
    }

    /// Every key in the bucket (at most the first 1000), in key order.
    pub async fn keys(&self) -> anyhow::Result<Vec<String>> {
        let listing = self
            .http
            .get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .send()
            .await?
            .text()
            .await?;
        Ok(listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_string()))
            .collect())
    }

    /// The bytes under `key`, if any.
    pub async fn object(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let got = self
            .http
            .get(format!("{}/{}/{key}", self.endpoint, self.bucket))
            .send()
            .await?;
        if got.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        ensure!(got.status().is_success(), "get {key}: {}", got.status());
        Ok(Some(got.bytes().await?.to_vec()))
    }
}

/// The bucket key of a blob with `content`.
pub fn bucket_key(content: &[u8]) -> String {
    use sha2::Digest;
    let hex = format!("{:x}", sha2::Sha256::digest(content));
    format!("sha256/{}/{hex}", &hex[..2])
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Err(error) = self.child.start_kill() {
            eprintln!("stop moto: {error}");
        }
    }
}
