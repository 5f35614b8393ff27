//! Blobs in an S3-compatible bucket (PocketBase's `s3` settings), under the same
//! content addresses as on disk: `sha256/ab/abcd…`. A blob goes up from the local store
//! in bounded parts (one request for a small blob, a multipart upload for a large one), and
//! comes down into a [`BlobWriter`] that checks its hash, so a copy from the bucket is as
//! trustworthy as one from a peer.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig, WriteMultipart};
use tokio::io::AsyncReadExt;

use edgebase_blobs::{BlobId, BlobStore, BlobWriter, HeldBlob, StoredBlob};

use crate::BucketError;

/// Bytes per uploaded part (S3 wants 5 MiB at least for every part but the last); a blob
/// no larger goes up in one request.
const PART_BYTES: usize = 8 << 20;
/// Parts in flight at once for one blob.
const PARTS_IN_FLIGHT_MAX: usize = 2;
/// Bound on one request to the bucket, and on retries of a failed one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const RETRIES_MAX: usize = 3;
const RETRY_TIMEOUT: Duration = Duration::from_secs(120);
/// Where blobs live in the bucket.
const ADDRESSED_PREFIX: &str = "sha256";

/// How to reach a bucket: PocketBase's `s3` settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketConfig {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret: String,
    pub force_path_style: bool,
}

/// A connected bucket; cheap to clone.
#[derive(Debug, Clone)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    name: String,
}

impl Bucket {
    /// A client for `config` (no request is made yet).
    pub fn connect(config: &BucketConfig) -> Result<Bucket, BucketError> {
        let client = ClientOptions::new()
            .with_allow_http(true)
            .with_timeout(REQUEST_TIMEOUT)
            .with_connect_timeout(CONNECT_TIMEOUT);
        let retry = RetryConfig {
            max_retries: RETRIES_MAX,
            retry_timeout: RETRY_TIMEOUT,
            ..RetryConfig::default()
        };
        let store = AmazonS3Builder::new()
            .with_endpoint(config.endpoint.trim_end_matches('/'))
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key)
            .with_secret_access_key(&config.secret)
            .with_virtual_hosted_style_request(!config.force_path_style)
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|source| BucketError::request("configure the bucket client", source))?;
        Ok(Bucket {
            store: Arc::new(store),
            name: config.bucket.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Copy `id` from the local `store` into the bucket, unless the bucket holds it already.
    pub async fn put_blob(&self, store: &BlobStore, id: BlobId) -> Result<StoredBlob, BucketError> {
        self.put_at(store, id, object_path(&id)).await
    }

    /// Copy `id` from the local `store` into the bucket under `name` (a backup archive,
    /// kept by its file name as PocketBase keeps backups; outside the addressed prefix, so
    /// the blob collector never lists it), unless an object of its size is there already.
    pub async fn put_named(
        &self,
        store: &BlobStore,
        id: BlobId,
        name: &str,
    ) -> Result<StoredBlob, BucketError> {
        self.put_at(store, id, named_path(name)?).await
    }

    async fn put_at(
        &self,
        store: &BlobStore,
        id: BlobId,
        path: ObjectPath,
    ) -> Result<StoredBlob, BucketError> {
        let (mut file, size_bytes) = store
            .open_blob(&id)
            .await?
            .ok_or_else(|| BucketError::Missing { id: id.to_hex() })?;
        if self.size_at(&path).await? == Some(size_bytes) {
            return Ok(StoredBlob { id, size_bytes });
        }
        if size_bytes <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size_bytes as usize);
            file.read_to_end(&mut bytes)
                .await
                .map_err(|source| BucketError::Read {
                    id: id.to_hex(),
                    source,
                })?;
            self.store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(|source| BucketError::request("upload a blob", source))?;
            return Ok(StoredBlob { id, size_bytes });
        }
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|source| BucketError::request("start a multipart upload", source))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let read = match file.read(&mut chunk).await {
                Ok(read) => read,
                Err(source) => {
                    let _ = parts.abort().await;
                    return Err(BucketError::Read {
                        id: id.to_hex(),
                        source,
                    });
                }
            };
            if read == 0 {
                break;
            }
            if let Err(source) = parts.wait_for_capacity(PARTS_IN_FLIGHT_MAX).await {
                return Err(BucketError::request("upload a blob part", source));
            }
            parts.write(&chunk[..read]);
        }
        parts
            .finish()
            .await
            .map_err(|source| BucketError::request("finish a multipart upload", source))?;
        Ok(StoredBlob { id, size_bytes })
    }

    /// The blob's size, if the bucket holds it.
    pub async fn size_of(&self, id: &BlobId) -> Result<Option<u64>, BucketError> {
        self.size_at(&object_path(id)).await
    }

    async fn size_at(&self, path: &ObjectPath) -> Result<Option<u64>, BucketError> {
        match self.store.head(path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(BucketError::request("look up a blob", source)),
        }
    }

    /// Download `id` into `writer` (opened expecting `id`, so a wrong copy stores nothing);
    /// `None` if the bucket does not hold it.
    pub async fn fetch_into(
        &self,
        id: &BlobId,
        writer: BlobWriter,
    ) -> Result<Option<StoredBlob>, BucketError> {
        self.fetch_at(&object_path(id), writer).await
    }

    /// Download the object `name` into `writer` (opened expecting the blob it should hash
    /// to); `None` if the bucket has no such object.
    pub async fn fetch_named_into(
        &self,
        name: &str,
        writer: BlobWriter,
    ) -> Result<Option<StoredBlob>, BucketError> {
        self.fetch_at(&named_path(name)?, writer).await
    }

    async fn fetch_at(
        &self,
        path: &ObjectPath,
        mut writer: BlobWriter,
    ) -> Result<Option<StoredBlob>, BucketError> {
        let got = match self.store.get(path).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(BucketError::request("download a blob", source)),
        };
        let mut body = got.into_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| BucketError::request("download a blob", source))?;
            writer.write(&chunk).await?;
        }
        Ok(Some(writer.finish().await?))
    }

    /// Every blob the bucket holds, with when it was stored, in id order.
    pub async fn list(&self) -> Result<Vec<HeldBlob>, BucketError> {
        let prefix = ObjectPath::from(ADDRESSED_PREFIX);
        let mut listed = self.store.list(Some(&prefix));
        let mut blobs = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(|source| BucketError::request("list blobs", source))?;
            let Some(id) = meta
                .location
                .filename()
                .and_then(|name| name.parse::<BlobId>().ok())
            else {
                continue;
            };
            blobs.push(HeldBlob {
                id,
                size_bytes: meta.size,
                stored_at: SystemTime::from(meta.last_modified),
            });
        }
        blobs.sort_by_key(|blob| blob.id);
        Ok(blobs)
    }

    /// Remove a blob (removing one the bucket does not hold is no error).
    pub async fn remove(&self, id: &BlobId) -> Result<(), BucketError> {
        self.remove_at(&object_path(id)).await
    }

    /// Remove the object `name` (removing one that is not there is no error).
    pub async fn remove_named(&self, name: &str) -> Result<(), BucketError> {
        self.remove_at(&named_path(name)?).await
    }

    async fn remove_at(&self, path: &ObjectPath) -> Result<(), BucketError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(BucketError::request("remove a blob", source)),
        }
    }

    /// PocketBase's connection test: upload `pb_settings_test_XXXXX/test.txt`, then list
    /// that prefix and delete what is under it, so writing, listing and deleting all work.
    pub async fn check(&self) -> Result<(), BucketError> {
        let suffix: String = {
            use rand::Rng;
            let mut rng = rand::thread_rng();
            (0..5)
                .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)]))
                .collect()
        };
        let prefix = ObjectPath::from(format!("pb_settings_test_{suffix}"));
        let key = prefix.child("test.txt");
        self.store
            .put(&key, PutPayload::from_static(b"test"))
            .await
            .map_err(|source| BucketError::request("upload a test file", source))?;
        let mut listed = self.store.list(Some(&prefix));
        while let Some(meta) = listed.next().await {
            let meta =
                meta.map_err(|source| BucketError::request("list the test prefix", source))?;
            self.store
                .delete(&meta.location)
                .await
                .map_err(|source| BucketError::request("delete a test file", source))?;
        }
        Ok(())
    }
}

/// The object a name stands for: one plain path segment, never under the addressed prefix.
fn named_path(name: &str) -> Result<ObjectPath, BucketError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && name != ADDRESSED_PREFIX;
    if !plain {
        return Err(BucketError::BadName {
            name: name.to_owned(),
        });
    }
    ObjectPath::parse(name).map_err(|_| BucketError::BadName {
        name: name.to_owned(),
    })
}

fn object_path(id: &BlobId) -> ObjectPath {
    let hex = id.to_hex();
    ObjectPath::from(format!("{ADDRESSED_PREFIX}/{}/{hex}", &hex[..2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_keep_their_disk_address_in_the_bucket() {
        let id = BlobId::from_digest([0xab; 32]);
        assert_eq!(
            object_path(&id).as_ref(),
            format!("sha256/ab/{}", id.to_hex())
        );
        let config = BucketConfig {
            endpoint: "http://127.0.0.1:9/".into(),
            bucket: "b".into(),
            region: "us-east-1".into(),
            access_key: "k".into(),
            secret: "s".into(),
            force_path_style: true,
        };
        assert_eq!(Bucket::connect(&config).expect("client").name(), "b");
    }

    #[test]
    fn named_objects_are_one_plain_segment_outside_the_addressed_prefix() {
        assert_eq!(
            named_path("pb_backup_20261207.zip")
                .expect("plain")
                .as_ref(),
            "pb_backup_20261207.zip"
        );
        for bad in ["", ".", "..", "a/b.zip", "a\\b.zip", "sha256"] {
            assert!(
                matches!(named_path(bad), Err(BucketError::BadName { .. })),
                "{bad:?}"
            );
        }
    }
}
