//! Peers authenticate each other: a certificate from another CA fails the handshake in both
//! directions, and a CA-signed peer cannot send Raft messages in another node's name.

mod common;

use std::time::Duration;

use anyhow::{bail, ensure};
use common::{start_node, start_node_with_tls, Ca};
use edgebase_consensus::transport::{QuicTransport, RpcRequest, RpcResponse, TransportError};
use edgebase_consensus::{ConsensusError, JoinRole};
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::Vote;

const RPC_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn foreign_ca_is_refused_and_senders_must_match_certificates() -> anyhow::Result<()> {
    common::bounded(scenario()).await
}

async fn scenario() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::create(&dir.path().join("ca"))?;
    let foreign_ca = Ca::create(&dir.path().join("foreign-ca"))?;

    let n1 = start_node(dir.path(), &ca, 1).await?;
    n1.node.initialize_single().await?;
    let n1_addr = n1.node.info().raft_addr.clone();
    let term_before = n1.node.raft().metrics().borrow().current_term;

    // A node with a certificate from another CA cannot join.
    let rogue_dir = dir.path().join("rogue");
    let rogue_tls = foreign_ca.issue(2, &rogue_dir.join("certs"))?;
    let rogue = start_node_with_tls(&rogue_dir, 2, rogue_tls.clone()).await?;
    match rogue.node.join(&n1_addr, JoinRole::Voter).await {
        Err(ConsensusError::JoinRefused { reason }) => {
            tracing::info!(%reason, "join refused as expected");
        }
        other => bail!("a foreign-CA node must not join, got {other:?}"),
    }

    // Nor can it send Raft traffic: the handshake fails before any request is read.
    let rogue_transport = QuicTransport::bind("127.0.0.1:0".parse()?, &rogue_tls.load()?)?;
    let vote = RpcRequest::Vote(VoteRequest::new(Vote::new(100, 2), None));
    match rogue_transport.call(1, &n1_addr, &vote, RPC_TIMEOUT).await {
        Err(TransportError::Handshake { .. }) => {}
        other => bail!("foreign-CA vote must fail the handshake, got {other:?}"),
    }

    // A CA-signed peer (node 9) is served...
    let insider_tls = ca.issue(9, &dir.path().join("insider"))?;
    let insider = QuicTransport::bind("127.0.0.1:0".parse()?, &insider_tls.load()?)?;
    match insider
        .call(1, &n1_addr, &RpcRequest::NodeStatus, RPC_TIMEOUT)
        .await?
    {
        RpcResponse::NodeStatus(status) => ensure!(status.node_id == 1, "status of node 1"),
        other => bail!("expected a status, got {}", other.kind()),
    }
    // ...but may not speak in another node's name.
    let forged_vote = RpcRequest::Vote(VoteRequest::new(Vote::new(100, 1), None));
    let forged_append = RpcRequest::AppendEntries(AppendEntriesRequest {
        vote: Vote::new_committed(100, 3),
        prev_log_id: None,
        leader_commit: None,
        entries: Vec::new(),
    });
    for forged in [forged_vote, forged_append] {
        match insider.call(1, &n1_addr, &forged, RPC_TIMEOUT).await? {
            RpcResponse::Refused(reason) => {
                tracing::info!(%reason, kind = forged.kind(), "forged sender refused")
            }
            other => bail!(
                "forged {} must be refused, got {}",
                forged.kind(),
                other.kind()
            ),
        }
    }
    // Asking for node 1 at an address where another node answers fails verification.
    let rogue_addr = rogue.node.info().raft_addr.clone();
    match insider
        .call(1, &rogue_addr, &RpcRequest::NodeStatus, RPC_TIMEOUT)
        .await
    {
        Err(TransportError::Handshake { .. }) => {}
        other => bail!("a foreign-CA server must fail verification, got {other:?}"),
    }
    let term_after = n1.node.raft().metrics().borrow().current_term;
    ensure!(
        term_after == term_before,
        "no refused message changed node 1's term ({term_before} -> {term_after})"
    );
    ensure!(n1.node.leader_id() == Some(1), "node 1 still leads");

    rogue_transport.close();
    insider.close();
    rogue.node.shutdown().await?;
    n1.node.shutdown().await?;
    Ok(())
}
