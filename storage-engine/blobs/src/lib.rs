//! The blob store: file contents addressed by their SHA-256, under one directory of the
//! node's data dir. A blob is written through a [`BlobWriter`] in chunks (never whole in
//! memory), hashed as it goes, synced to disk and only then given its content address, so a
//! blob that can be opened is complete and durable. With S3 storage on, a bucket (`edgebase-bucket`)
//! holds the blobs under the same addresses and the local store is where uploads are spooled and
//! downloads are cached. Which blobs a node should keep, and who
//! else holds them, is the caller's business: this crate knows no records, HTTP or peers.

mod blob_id;
mod error;
mod store;
mod writer;

pub use blob_id::BlobId;
pub use error::BlobError;
pub use store::{BlobStore, HeldBlob, StoredBlob};
pub use writer::BlobWriter;
