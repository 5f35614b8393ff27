//! Reading whole collections back for "nothing was lost" assertions.

use anyhow::{bail, Context};
use edgebase_client::{Client, Record, Totals};

/// Records per page when reading a whole collection (PocketBase's maximum).
const PAGE_SIZE: u64 = 1000;
/// Pages read at most; a test collection larger than this is a test bug.
const PAGES_MAX: u64 = 100;

/// Every record of `collection`, sorted by id.
pub async fn all_records(client: &Client, collection: &str) -> anyhow::Result<Vec<Record>> {
    let mut items = Vec::new();
    for page in 1..=PAGES_MAX {
        let result = client
            .records(collection)
            .list(page, PAGE_SIZE, Totals::Skip)
            .await
            .with_context(|| format!("list page {page} of {collection}"))?;
        let full = result.items.len() as u64 == PAGE_SIZE;
        items.extend(result.items);
        if !full {
            items.sort_by(|a: &Record, b: &Record| a["id"].as_str().cmp(&b["id"].as_str()));
            return Ok(items);
        }
    }
    bail!(
        "{collection} has more than {} records",
        PAGE_SIZE * PAGES_MAX
    )
}

/// The string value of `key` in a record.
pub fn string_field(record: &Record, key: &str) -> anyhow::Result<String> {
    record
        .get(key)
        .and_then(|value| value.as_str())
        .map(str::to_owned)
        .with_context(|| format!("no string {key:?} in {record:?}"))
}

/// Where a node keeps the blob of `content` (`DATA_DIR/blobs/sha256/ab/<sha-256>`).
pub fn blob_path(data_dir: &std::path::Path, content: &[u8]) -> std::path::PathBuf {
    use sha2::Digest;
    let hex = format!("{:x}", sha2::Sha256::digest(content));
    data_dir
        .join("blobs")
        .join("sha256")
        .join(&hex[..2])
        .join(hex)
}
