//! A CA-signed peer that sends an oversized or undecodable frame gets a refusal on that
//! stream, and the node keeps serving.

mod common;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use common::{start_node, Ca};
use edgebase_consensus::tls::node_server_name;
use edgebase_consensus::transport::frame::{decode_payload, read_frame};
use edgebase_consensus::transport::{QuicTransport, RpcRequest, RpcResponse, MAX_FRAME_BYTES};

const RPC_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_are_refused_without_harm() -> anyhow::Result<()> {
    common::bounded(scenario()).await
}

/// Send raw bytes on a fresh stream and decode the answer.
async fn send_raw(connection: &quinn::Connection, bytes: &[u8]) -> anyhow::Result<RpcResponse> {
    let (mut send, mut recv) = connection.open_bi().await?;
    send.write_all(bytes).await?;
    send.finish()?;
    let payload = tokio::time::timeout(RPC_TIMEOUT, read_frame(&mut recv))
        .await
        .context("answer in time")??;
    Ok(decode_payload(&payload)?)
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let n1 = start_node(dir.path(), &ca, 1).await?;
    let n1_addr = n1.node.local_raft_addr();

    let client_tls = ca.issue(9, &dir.path().join("client"))?.load()?;
    let client_config = client_tls.client_config(Arc::new(quinn::TransportConfig::default()))?;
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse()?)?;
    let connection = endpoint
        .connect_with(client_config, n1_addr, &node_server_name(1))?
        .await?;

    // A length prefix over the limit is refused before anything is allocated for it.
    let oversized = u32::try_from(MAX_FRAME_BYTES + 1)?.to_be_bytes();
    match send_raw(&connection, &oversized).await? {
        RpcResponse::Refused(reason) => ensure!(reason.contains("exceeds"), "{reason}"),
        other => bail!("oversized frame must be refused, got {}", other.kind()),
    }
    // A well-framed payload that is not a request is refused too.
    let mut garbage = 3u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
    match send_raw(&connection, &garbage).await? {
        RpcResponse::Refused(reason) => ensure!(reason.contains("undecodable"), "{reason}"),
        other => bail!("garbage must be refused, got {}", other.kind()),
    }

    // The node still serves well-formed requests, on the same connection and on new ones.
    let status = edgebase_consensus::transport::frame::encode_frame(&RpcRequest::NodeStatus)?;
    match send_raw(&connection, &status).await? {
        RpcResponse::NodeStatus(status) => ensure!(status.node_id == 1, "status of node 1"),
        other => bail!("expected a status, got {}", other.kind()),
    }
    let transport = QuicTransport::bind("127.0.0.1:0".parse()?, &client_tls)?;
    match transport
        .call(
            1,
            &n1_addr.to_string(),
            &RpcRequest::NodeStatus,
            RPC_TIMEOUT,
        )
        .await?
    {
        RpcResponse::NodeStatus(status) => ensure!(status.node_id == 1, "status of node 1"),
        other => bail!("expected a status, got {}", other.kind()),
    }

    connection.close(quinn::VarInt::from_u32(0), b"done");
    transport.close();
    n1.node.shutdown().await?;
    Ok(())
}
