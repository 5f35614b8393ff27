//! `/api/cluster/*`: operator endpoints (superusers only).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use edgebase_client::wire::{ClusterStatus, MemberRole, MemberStatus};
use serde_json::{json, Value};

use crate::api::access::require_superuser;
use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::principal;

pub async fn status(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<ClusterStatus>, ApiError> {
    require_superuser(&principal::resolve(&app, &headers)?)?;
    let state = app.consensus().cluster_state().await?;
    let leader_last_log = state
        .members
        .iter()
        .find(|member| member.is_leader)
        .and_then(|leader| leader.last_log_index);
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
        })
        .collect();
    Ok(Json(ClusterStatus {
        node_id: state.node_id,
        leader_id: state.leader_id,
        term: state.term,
        members,
    }))
}

pub async fn snapshot(State(app): State<App>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    require_superuser(&principal::resolve(&app, &headers)?)?;
    let index = app.consensus().snapshot_and_purge().await?;
    Ok(Json(json!({ "snapshotIndex": index })))
}
