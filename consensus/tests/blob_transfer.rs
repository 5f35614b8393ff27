//! Blobs between three in-process nodes over the real QUIC transport: a blob pushed from one
//! node is held durably by a majority when `replicate_blob` returns and by every voter soon
//! after, byte for byte; a node that lost its copy fetches it back; with a majority down,
//! replication fails instead of pretending.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context};
use common::{three_voters, Ca, TestNode};
use edgebase_blobs::{BlobId, BlobStore};
use tokio::io::AsyncReadExt;

/// Enough to take many transport chunks and more than one QUIC flow-control window.
const BLOB_BYTES: usize = 3 * 1024 * 1024 + 17;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blobs_reach_a_majority_then_everyone_and_can_be_fetched_back() -> anyhow::Result<()> {
    common::bounded(scenario()).await
}

/// Deterministic bytes (a fixed xorshift), so every run pushes the same blob.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

async fn put(store: &BlobStore, bytes: &[u8]) -> anyhow::Result<BlobId> {
    let mut writer = store.writer(bytes.len() as u64).await?;
    for chunk in bytes.chunks(100_000) {
        writer.write(chunk).await?;
    }
    Ok(writer.finish().await?.id)
}

async fn read(store: &BlobStore, blob: BlobId) -> anyhow::Result<Option<Vec<u8>>> {
    let Some((mut file, _)) = store.open_blob(&blob).await? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).await?;
    Ok(Some(bytes))
}

async fn holds(node: &TestNode, blob: BlobId) -> bool {
    matches!(node.node.blobs().size_of(&blob).await, Ok(Some(_)))
}

/// Poll (every 20 ms, up to `within`) until `node` holds `blob`.
async fn wait_held(node: &TestNode, blob: BlobId, within: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    while !holds(node, blob).await {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for the blob to reach every voter"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let (n1, n2, n3) = three_voters(dir.path(), &ca).await?;

    let bytes = content(7, BLOB_BYTES);
    let blob = put(n1.node.blobs(), &bytes).await?;
    let replication = n1.node.replicate_blob(blob).await?;
    ensure!(replication.voters == 3, "three voters: {replication:?}");
    ensure!(
        replication.holders.len() >= 2 && replication.holders.contains(&1),
        "a majority, this node included, holds it: {replication:?}"
    );
    for node in [&n2, &n3] {
        wait_held(node, blob, Duration::from_secs(30)).await?;
        let copy = read(node.node.blobs(), blob).await?.context("held")?;
        ensure!(copy == bytes, "byte-identical copy on every voter");
    }
    // Replicating again finds every copy in place.
    let again = n1.node.replicate_blob(blob).await?;
    ensure!(again.holders.len() >= 2, "still a majority: {again:?}");

    // A node that lost its copy fetches it back from a holder.
    ensure!(n3.node.blobs().remove(&blob).await?, "removed from node 3");
    let fetched = n3.node.fetch_blob(blob).await?.context("fetched")?;
    ensure!(
        fetched.size_bytes == BLOB_BYTES as u64,
        "whole blob fetched"
    );
    ensure!(
        read(n3.node.blobs(), blob).await?.as_deref() == Some(&bytes[..]),
        "fetched copy is byte-identical"
    );
    // Nobody holds a blob that was never written.
    let unknown = BlobId::from_digest([9; 32]);
    ensure!(n2.node.fetch_blob(unknown).await?.is_none(), "unknown blob");
    ensure!(
        !holds(&n2, unknown).await,
        "nothing kept for an unknown blob"
    );

    // With one voter down a majority is still reachable; with two down it is not.
    n3.node.shutdown().await?;
    let second = content(11, 200_000);
    let blob2 = put(n1.node.blobs(), &second).await?;
    let replication = n1.node.replicate_blob(blob2).await?;
    ensure!(
        replication.holders == [1, 2].into_iter().collect(),
        "nodes 1 and 2 hold it: {replication:?}"
    );
    n2.node.shutdown().await?;
    let third = content(13, 1000);
    let blob3 = put(n1.node.blobs(), &third).await?;
    let refused = n1.node.replicate_blob(blob3).await;
    ensure!(
        matches!(
            refused,
            Err(edgebase_consensus::ConsensusError::Unavailable { .. })
        ),
        "no majority, no success: {refused:?}"
    );
    n1.node.shutdown().await?;
    Ok(())
}
