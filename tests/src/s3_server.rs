//! A local S3-compatible server for the S3 storage tests: `moto` in server mode (from
//! PyPI, installed by `tests/run-all.sh`), started on a free loopback port with one bucket,
//! and killed when dropped. Listing needs no signature, so it is plain HTTP; objects are
//! private to the key that wrote them, so they are read with a signed client
//! (`object_store`, with the credentials `settings` gives the nodes).

use std::process::Stdio;
use std::time::Duration;

use anyhow::{ensure, Context};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore};
use tokio::process::{Child, Command};

use crate::{free_addr, wait_until};

/// How long moto may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct S3Server {
    child: Child,
    endpoint: String,
    bucket: String,
    http: reqwest::Client,
    signed: AmazonS3,
}

const ACCESS_KEY: &str = "test-key";
const SECRET: &str = "test-secret";
const REGION: &str = "us-east-1";

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
        let endpoint = format!("http://127.0.0.1:{port}");
        let signed = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_bucket_name(bucket)
            .with_region(REGION)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET)
            .with_client_options(ClientOptions::new().with_allow_http(true))
            .build()
            .context("a signed client of the bucket")?;
        let server = S3Server {
            child,
            endpoint,
            bucket: bucket.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            signed,
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
            "region": REGION,
            "endpoint": self.endpoint,
            "accessKey": ACCESS_KEY,
            "secret": SECRET,
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
        match self.signed.get(&ObjectPath::from(key)).await {
            Ok(got) => Ok(Some(
                got.bytes()
                    .await
                    .with_context(|| format!("read {key}"))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error).with_context(|| format!("get {key}")),
        }
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
