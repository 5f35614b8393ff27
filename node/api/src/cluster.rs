//! `/api/cluster/*`: operator endpoints (superusers only).

use edgebase_model::ValidationCode;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use edgebase_client::wire::{ClusterStatus, MemberRole, MemberStatus, ProposalCounts, RegionRtt};
use edgebase_consensus::MemberState;
use edgebase_consensus::{NodeId, NodeInfo};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::access::require_superuser;
use crate::error::{field_error, ApiError, FieldErrors};
use crate::extract::Body;
use edgebase_service::app::App;

pub async fn status(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<ClusterStatus>, ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    let state = app.consensus().cluster_state().await?;
    let proposed = app.consensus().proposal_stats();
    let leader_last_log = state
        .members
        .iter()
        .find(|member| member.is_leader)
        .and_then(|leader| leader.last_log_index);
    let region_rtts = region_rtts(&state.members);
    let voters = state
        .members
        .iter()
        .filter(|member| member.is_voter)
        .count() as u64;
    let quorum = voters / 2 + 1;
    let answering_voters = state
        .members
        .iter()
        .filter(|member| member.is_voter && member.reachable)
        .count() as u64;
    let wire_version = state
        .members
        .iter()
        .filter_map(|member| member.release.as_ref().map(|r| r.wire_version))
        .min();
    let members = state
        .members
        .into_iter()
        .map(|member| MemberStatus {
            id: member.id,
            region: member.info.region,
            raft_addr: member.info.raft_addr,
            http_addr: member.info.http_addr,
            role: if member.is_voter {
                MemberRole::Voter
            } else {
                MemberRole::Learner
            },
            is_leader: member.is_leader,
            reachable: member.reachable,
            term: member.term,
            last_applied_index: member.last_applied_index,
            lag: leader_last_log
                .zip(member.last_applied_index)
                .map(|(last, applied)| last.saturating_sub(applied)),
            lag_ms: member.lag_ms,
            last_contact_ms: member.leader_contact_ms,
            rtt_ms: member.probe_rtt_ms,
            version: member
                .release
                .as_ref()
                .map(|r| r.package_version.clone())
                .filter(|version| !version.is_empty()),
            hooks_hash: note(member.release.as_ref(), "hooks"),
            hooks_source: note(member.release.as_ref(), "hooks_source"),
            wire_version: member.release.map(|r| r.wire_version),
        })
        .collect();
    Ok(Json(ClusterStatus {
        node_id: state.node_id,
        leader_id: state.leader_id,
        term: state.term,
        voters,
        quorum,
        fault_tolerance: answering_voters.saturating_sub(quorum),
        members,
        region_rtts,
        proposals: ProposalCounts {
            entries: proposed.entries,
            writes: proposed.writes,
            largest_entry: proposed.largest_entry,
        },
        wire_version,
    }))
}

pub async fn snapshot(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    let index = app.consensus().snapshot_and_purge().await?;
    Ok(Json(json!({ "snapshotIndex": index })))
}

/// `GET /api/cluster/state-hash`: SHA-256 of this node's whole replicated state and the
/// index it was read at (etcd's `HashKV`). Replicas at the same index must agree.
pub async fn state_hash(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    // A scan of every key: keep it off the async workers.
    let state = app.state().clone();
    let hash = tokio::task::spawn_blocking(move || state.state_hash())
        .await
        .map_err(|error| {
            tracing::error!(%error, "state hash task failed");
            ApiError::internal()
        })??;
    Ok(Json(json!({
        "appliedIndex": hash.applied_index,
        "keys": hash.keys,
        "sha256": hash.hex(),
    })))
}

/// Body of `POST /api/cluster/learners`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddLearnerBody {
    id: NodeId,
    raft_addr: String,
    #[serde(default)]
    http_addr: String,
    #[serde(default)]
    region: String,
}

/// Body of `POST /api/cluster/leader`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferLeaderBody {
    id: NodeId,
}

/// Longest region label accepted.
const REGION_BYTES_MAX: usize = 64;

/// Membership and leadership changes: a refusal (bad target, last voter, the leader itself)
/// is the operator's mistake, so 400 with the reason; everything else as any consensus error.
fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("Invalid request body: {error}.")))
}

fn parse_node_id(text: &str) -> Result<NodeId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("Invalid node id {text:?}.")))
}

fn validate_learner(body: &AddLearnerBody) -> Result<NodeInfo, ApiError> {
    let mut errors = FieldErrors::new();
    if !edgebase_model::host_port::is_host_port(&body.raft_addr) {
        errors.insert(
            "raftAddr".into(),
            field_error(
                ValidationCode::InvalidAddress,
                "Must be a host (IP address or DNS name) and port.",
                None,
            ),
        );
    }
    if !body.http_addr.is_empty() && !edgebase_model::host_port::is_host_port(&body.http_addr) {
        errors.insert(
            "httpAddr".into(),
            field_error(
                ValidationCode::InvalidAddress,
                "Must be a host (IP address or DNS name) and port.",
                None,
            ),
        );
    }
    if body.region.len() > REGION_BYTES_MAX {
        errors.insert(
            "region".into(),
            field_error(
                ValidationCode::MaxTextConstraint,
                format!("Must be no more than {REGION_BYTES_MAX} character(s)."),
                None,
            ),
        );
    }
    if body.id == 0 {
        errors.insert(
            "id".into(),
            field_error(ValidationCode::Required, "Cannot be blank.", None),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("Failed to add the learner.", errors));
    }
    Ok(NodeInfo {
        raft_addr: body.raft_addr.clone(),
        http_addr: body.http_addr.clone(),
        region: body.region.clone(),
    })
}

/// `POST /api/cluster/learners`: add a non-voting member (it must be running with a
/// certificate from the cluster CA); answers once the membership change is committed.
pub async fn add_learner(
    State(app): State<App>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    let request: AddLearnerBody = parse_body(&body)?;
    let info = validate_learner(&request)?;
    app.consensus().add_learner(request.id, info).await?;
    tracing::info!(node = request.id, "learner added by an operator");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": request.id, "role": "learner" })),
    ))
}

/// `POST /api/cluster/members/{id}/promote`: make a learner a voter.
pub async fn promote(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    let id = parse_node_id(&id)?;
    app.consensus().promote(id).await?;
    tracing::info!(node = id, "member promoted by an operator");
    Ok(Json(json!({ "id": id, "role": "voter" })))
}

/// `DELETE /api/cluster/members/{id}`: remove a voter or learner. The leader and the last
/// voter are refused (transfer leadership first).
pub async fn remove(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    let id = parse_node_id(&id)?;
    app.consensus().remove(id).await?;
    tracing::info!(node = id, "member removed by an operator");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/cluster/leader` `{"id"}`: hand leadership to voter `id`; answers once it leads.
pub async fn transfer_leader(
    State(app): State<App>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    require_superuser(&crate::identity::principal(&app, &headers)?)?;
    let request: TransferLeaderBody = parse_body(&body)?;
    app.consensus().transfer_leader(request.id).await?;
    tracing::info!(node = request.id, "leadership transferred by an operator");
    Ok(Json(json!({ "leaderId": request.id })))
}

/// The status note `name` a member reported.
fn note(release: Option<&edgebase_consensus::Release>, name: &str) -> Option<String> {
    release?
        .notes
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// The shortest round trip between each pair of regions (both ways, each pair once, the
/// alphabetically first region as `from`), from every member's QUIC estimates.
fn region_rtts(members: &[MemberState]) -> Vec<RegionRtt> {
    let region_of: BTreeMap<u64, &str> = members
        .iter()
        .map(|member| (member.id, member.info.region.as_str()))
        .collect();
    let mut shortest: BTreeMap<(String, String), u64> = BTreeMap::new();
    for member in members {
        for (peer, ms) in &member.peer_rtts_ms {
            let Some(peer_region) = region_of.get(peer) else {
                continue;
            };
            let mut pair = [member.info.region.clone(), (*peer_region).to_owned()];
            pair.sort();
            let [from, to] = pair;
            shortest
                .entry((from, to))
                .and_modify(|known| *known = (*known).min(*ms))
                .or_insert(*ms);
        }
    }
    shortest
        .into_iter()
        .map(|((from, to), ms)| RegionRtt { from, to, ms })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learner_bodies_are_validated() {
        let check = |body: &str, expected: Result<(), &[&str]>| {
            let parsed: Result<AddLearnerBody, ApiError> = parse_body(body.as_bytes());
            let outcome = parsed.and_then(|request| validate_learner(&request).map(|_| ()));
            match (outcome, expected) {
                (Ok(()), Ok(())) => {}
                (Err(error), Err(fields)) => {
                    assert_eq!(error.status, StatusCode::BAD_REQUEST, "{body}");
                    let mut got: Vec<&str> = error.data.keys().map(String::as_str).collect();
                    got.sort_unstable();
                    assert_eq!(got, fields, "{body}");
                }
                (outcome, expected) => panic!("{body}: got {outcome:?}, expected {expected:?}"),
            }
        };
        check(r#"{"id":4,"raftAddr":"127.0.0.1:9001"}"#, Ok(()));
        check(
            r#"{"id":4,"raftAddr":"10.0.0.4:9001","httpAddr":"10.0.0.4:8090","region":"ap"}"#,
            Ok(()),
        );
        check(r#"{"id":4,"raftAddr":"nowhere"}"#, Err(&["raftAddr"]));
        check(
            r#"{"id":0,"raftAddr":"127.0.0.1:9001","httpAddr":"x"}"#,
            Err(&["httpAddr", "id"]),
        );
        let long_region = format!(
            r#"{{"id":4,"raftAddr":"127.0.0.1:9001","region":"{}"}}"#,
            "r".repeat(REGION_BYTES_MAX + 1)
        );
        check(&long_region, Err(&["region"]));
        // Not the body's shape at all: a 400 without field errors.
        check(r#"{"raftAddr":"127.0.0.1:9001"}"#, Err(&[]));
        check(r#"{"id":-1,"raftAddr":"127.0.0.1:9001"}"#, Err(&[]));
        check(
            r#"{"id":4,"raftAddr":"127.0.0.1:9001","extra":1}"#,
            Err(&[]),
        );
        check("[]", Err(&[]));
    }
}
