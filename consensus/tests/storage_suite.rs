//! openraft's storage test suite against the RocksDB-backed adapters, plus snapshot transfer
//! between two stores and snapshot persistence across a restart.

use std::collections::BTreeSet;

use edgebase_consensus::storage::{RaftLogStore, RaftStateMachineStore};
use edgebase_consensus::type_config::{Entry, LogId, NodeId, SnapshotMeta, TypeConfig};
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, EntryResult, RecordExpect,
    StateMachine, Store,
};
use openraft::storage::RaftStateMachine;
use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageIOError;
use openraft::{CommittedLeaderId, EntryPayload, Membership, RaftSnapshotBuilder, StorageError};

/// Each store in its own temporary directory, removed when the test drops it.
struct TempStores;

fn setup_error(error: impl std::fmt::Display) -> StorageError<NodeId> {
    StorageIOError::write(openraft::AnyError::error(error)).into()
}

fn open(dir: &std::path::Path) -> anyhow::Result<(Store, RaftStateMachineStore)> {
    let store = Store::open(&dir.join("db"))?;
    let state_machine =
        RaftStateMachineStore::new(store.state(), dir.join("snapshots"), Default::default())?;
    Ok((store, state_machine))
}

impl StoreBuilder<TypeConfig, RaftLogStore, RaftStateMachineStore, tempfile::TempDir>
    for TempStores
{
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, RaftLogStore, RaftStateMachineStore), StorageError<NodeId>>
    {
        let dir = tempfile::tempdir().map_err(setup_error)?;
        let (store, state_machine) = open(dir.path()).map_err(setup_error)?;
        Ok((dir, RaftLogStore::new(store.log()), state_machine))
    }
}

#[test]
fn openraft_storage_suite() -> anyhow::Result<()> {
    Suite::test_all(TempStores).map_err(|e| anyhow::anyhow!("openraft storage suite: {e}"))
}

fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn normal(index: u64, command: Command) -> Entry {
    Entry {
        log_id: log_id(1, index),
        payload: EntryPayload::Normal(command),
    }
}

fn entries() -> Vec<Entry> {
    let membership = Membership::new(vec![BTreeSet::from([1, 2, 3])], ());
    vec![
        Entry {
            log_id: log_id(1, 1),
            payload: EntryPayload::Membership(membership),
        },
        normal(
            2,
            Command::PutCollection {
                collection: CollectionDoc {
                    id: "c1".into(),
                    name: "posts".into(),
                    doc_json: "{}".into(),
                },
                expect: CollectionExpect::Absent,
            },
        ),
        normal(
            3,
            Command::PutRecord {
                collection_id: "c1".into(),
                record_id: "r1".into(),
                doc_json: "{\"title\":\"hello\"}".into(),
                expect: RecordExpect::Absent,
            },
        ),
        normal(
            4,
            Command::PutRecord {
                collection_id: "c1".into(),
                record_id: "r1".into(),
                doc_json: "{}".into(),
                expect: RecordExpect::Absent,
            },
        ),
        Entry {
            log_id: log_id(1, 5),
            payload: EntryPayload::Blank,
        },
    ]
}

fn reads(
    state: &StateMachine,
) -> (
    Vec<edgebase_storage::StoredCollection>,
    Vec<edgebase_storage::StoredRecord>,
) {
    (
        state.collections().expect("collections"),
        state.records_page("c1", 0, 100).expect("records"),
    )
}

#[tokio::test]
async fn a_snapshot_built_on_one_store_installs_on_another() -> anyhow::Result<()> {
    let leader_dir = tempfile::tempdir()?;
    let follower_dir = tempfile::tempdir()?;
    let (_leader_store, mut leader) = open(leader_dir.path())?;
    let (_follower_store, mut follower) = open(follower_dir.path())?;

    let results = leader.apply(entries()).await?;
    assert_eq!(results.len(), 5);
    assert_eq!(
        results[2],
        EntryResult::One(CommandResult::Applied { version: 3 })
    );
    assert!(matches!(
        results[3],
        EntryResult::One(CommandResult::Rejected(_))
    ));
    assert_eq!(
        results[4],
        EntryResult::One(CommandResult::Applied { version: 5 })
    );

    let built = leader.get_snapshot_builder().await.build_snapshot().await?;
    assert_eq!(built.meta.last_log_id, Some(log_id(1, 5)));
    assert_eq!(built.meta.last_membership.log_id(), &Some(log_id(1, 1)));

    // Ship it the way a transport would: bytes into the follower's receiving file.
    let mut received = follower.begin_receiving_snapshot().await?;
    let mut source = built.snapshot;
    tokio::io::copy(&mut *source, &mut *received).await?;
    follower.install_snapshot(&built.meta, received).await?;

    assert_eq!(reads(leader.state()), reads(follower.state()));
    assert_eq!(
        follower.applied_state().await?,
        leader.applied_state().await?
    );
    let current = follower
        .get_current_snapshot()
        .await?
        .expect("current snapshot");
    assert_eq!(current.meta, built.meta);

    // The follower keeps applying after the install.
    follower
        .apply([normal(
            6,
            Command::PutSetting {
                key: "k".into(),
                value_json: "1".into(),
            },
        )])
        .await?;
    assert_eq!(follower.state().setting("k")?, Some("1".into()));
    Ok(())
}

#[tokio::test]
async fn the_current_snapshot_survives_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let latest: SnapshotMeta = {
        let (_store, mut state_machine) = open(dir.path())?;
        state_machine.apply(entries()).await?;
        let first = state_machine
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await?;
        state_machine
            .apply([normal(
                6,
                Command::PutSetting {
                    key: "k".into(),
                    value_json: "1".into(),
                },
            )])
            .await?;
        let second = state_machine
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await?;
        assert_ne!(first.meta.snapshot_id, second.meta.snapshot_id);
        assert_eq!(second.meta.last_log_id, Some(log_id(1, 6)));
        second.meta
    };
    let (_store, mut reopened) = open(dir.path())?;
    let current = reopened
        .get_current_snapshot()
        .await?
        .expect("current snapshot");
    assert_eq!(current.meta, latest);
    let snapshot_files = std::fs::read_dir(dir.path().join("snapshots"))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "snap"))
        .count();
    assert_eq!(snapshot_files, 1, "older snapshot files are deleted");
    let next = reopened
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await?;
    assert_ne!(
        next.meta.snapshot_id, latest.snapshot_id,
        "ids stay unique after a restart"
    );
    Ok(())
}
