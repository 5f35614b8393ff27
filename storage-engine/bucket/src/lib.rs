//! Blobs in an S3-compatible bucket, as PocketBase's `s3` settings name one: the blob
//! store's content addresses (`sha256/ab/abcd…`) as object keys, uploads from and downloads
//! into the local [`edgebase_blobs::BlobStore`], and PocketBase's connection test. Kept out
//! of the blob store so that crate stays free of any HTTP client.

mod bucket;
mod error;

pub use bucket::{Bucket, BucketConfig};
pub use error::BucketError;
