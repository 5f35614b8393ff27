//! `Driver`: the two kinds of server API the bench speaks, behind one write/read pair.

use crate::etcd_driver::EtcdDriver;
use crate::records_driver::RecordsDriver;

/// Longest response body the bench reads from any server.
pub const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

pub enum Driver {
    /// PocketBase's records API (EdgeBase and PocketBase).
    Records(RecordsDriver),
    /// etcd's v3 HTTP/JSON gateway.
    Etcd(EtcdDriver),
}

impl Driver {
    /// Create one record (put one key) named after `name`; returns its id (key).
    pub async fn write(&self, name: &str) -> anyhow::Result<String> {
        match self {
            Driver::Records(driver) => driver.create(name).await,
            Driver::Etcd(driver) => driver.put(name).await,
        }
    }

    /// Read one record (key) by id.
    pub async fn read(&self, id: &str) -> anyhow::Result<()> {
        match self {
            Driver::Records(driver) => driver.get(id).await,
            Driver::Etcd(driver) => driver.range(id).await,
        }
    }
}

/// Read a response body of at most `RESPONSE_BYTES_MAX` bytes.
pub async fn read_bounded(mut response: reqwest::Response) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > RESPONSE_BYTES_MAX {
            anyhow::bail!("response body over {RESPONSE_BYTES_MAX} bytes");
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A reqwest client for `connections` concurrent requests to one or a few hosts.
pub fn http_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .connect_timeout(std::time::Duration::from_secs(5))
        .pool_max_idle_per_host(connections)
        .build()?)
}
