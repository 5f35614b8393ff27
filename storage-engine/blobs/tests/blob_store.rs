//! The blob store on a real directory: durable, content-addressed writes in chunks, refusals
//! that leave nothing behind, and crash leftovers cleared on open.

use edgebase_blobs::{BlobError, BlobId, BlobStore};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

fn sha256(bytes: &[u8]) -> BlobId {
    BlobId::from_digest(Sha256::digest(bytes).into())
}

fn incoming_files(store: &BlobStore) -> usize {
    std::fs::read_dir(store.root().join("incoming"))
        .expect("incoming dir")
        .count()
}

#[tokio::test]
async fn a_blob_written_in_chunks_reads_back_by_its_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path()).expect("open");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut writer = store.writer(1 << 20).await.expect("writer");
    for chunk in content.chunks(7_919) {
        writer.write(chunk).await.expect("write");
    }
    let stored = writer.finish().await.expect("finish");
    assert_eq!(stored.id, sha256(&content));
    assert_eq!(stored.size_bytes, content.len() as u64);

    let (mut file, size) = store
        .open_blob(&stored.id)
        .await
        .expect("open")
        .expect("held");
    assert_eq!(size, content.len() as u64);
    let mut read = Vec::new();
    file.read_to_end(&mut read).await.expect("read");
    assert_eq!(read, content);
    assert_eq!(store.size_of(&stored.id).await.expect("size"), Some(size));
    let listed = store.list().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id, listed[0].size_bytes),
        (stored.id, stored.size_bytes)
    );
    assert_eq!(incoming_files(&store), 0);

    // The same content again is the same blob, stored once.
    let mut again = store.writer(1 << 20).await.expect("writer");
    again.write(&content).await.expect("write");
    assert_eq!(again.finish().await.expect("finish"), stored);
    assert_eq!(store.list().await.expect("list").len(), 1);

    assert!(store.remove(&stored.id).await.expect("remove"));
    assert!(!store.remove(&stored.id).await.expect("remove again"));
    assert!(store.open_blob(&stored.id).await.expect("open").is_none());
}

#[tokio::test]
async fn refused_and_abandoned_writes_leave_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path()).expect("open");

    let mut too_large = store.writer(10).await.expect("writer");
    too_large.write(b"0123456789").await.expect("at the bound");
    assert!(matches!(
        too_large.write(b"x").await,
        Err(BlobError::TooLarge { bytes_max: 10 })
    ));
    drop(too_large);

    let expected = sha256(b"what the peer promised");
    let mut corrupted = store
        .writer_expecting(expected, 1 << 10)
        .await
        .expect("writer");
    corrupted.write(b"what arrived").await.expect("write");
    assert!(matches!(
        corrupted.finish().await,
        Err(BlobError::HashMismatch { .. })
    ));

    let mut abandoned = store.writer(1 << 10).await.expect("writer");
    abandoned.write(b"half of it").await.expect("write");
    drop(abandoned);

    assert!(store.list().await.expect("list").is_empty());
    assert_eq!(incoming_files(&store), 0);

    let mut verified = store
        .writer_expecting(expected, 1 << 10)
        .await
        .expect("writer");
    verified
        .write(b"what the peer promised")
        .await
        .expect("write");
    assert_eq!(verified.finish().await.expect("finish").id, expected);
}

#[tokio::test]
async fn opening_the_store_clears_what_a_crash_left_unfinished() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = BlobStore::open(dir.path()).expect("open");
    let mut writer = store.writer(1 << 10).await.expect("writer");
    writer.write(b"in flight").await.expect("write");
    // A crash: the writer never finishes and never drops.
    std::mem::forget(writer);
    assert_eq!(incoming_files(&store), 1);

    let reopened = BlobStore::open(dir.path()).expect("reopen");
    assert_eq!(incoming_files(&reopened), 0);
    assert!(reopened.list().await.expect("list").is_empty());
}
