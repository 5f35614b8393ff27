//! The state hash: replicas that applied the same entries agree; a replica with one record
//! different, or one entry behind, does not; a snapshot installed elsewhere hashes the same.

mod common;

use common::{apply, create_collection, put_record};
use edgebase_storage::{RecordExpect, StateMachine};

fn replica(titles: &[&str]) -> StateMachine {
    let state = StateMachine::in_memory();
    apply(&state, 1, create_collection("c1", "posts"));
    for (offset, title) in titles.iter().enumerate() {
        let id = format!("r{offset}");
        let doc = format!(r#"{{"title":"{title}"}}"#);
        apply(
            &state,
            2 + offset as u64,
            put_record("c1", &id, &doc, RecordExpect::Absent),
        );
    }
    state
}

#[test]
fn equal_states_hash_equal_and_any_difference_shows() {
    let first = replica(&["a", "b"]).state_hash().expect("hash");
    let second = replica(&["a", "b"]).state_hash().expect("hash");
    assert_eq!(first, second);
    assert_eq!(first.applied_index, 3);
    assert_eq!(first.hex().len(), 64);

    let other_value = replica(&["a", "c"]).state_hash().expect("hash");
    assert_eq!(other_value.applied_index, 3);
    assert_ne!(other_value.sha256, first.sha256, "one title differs");

    let behind = replica(&["a"]).state_hash().expect("hash");
    assert_eq!(behind.applied_index, 2);
    assert_ne!(behind.sha256, first.sha256);
}

#[test]
fn a_snapshot_installed_elsewhere_hashes_the_same() {
    let source = replica(&["a", "b", "c"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("snapshot");
    source.build_snapshot(&path).expect("build the snapshot");
    let target = StateMachine::in_memory();
    target
        .install_snapshot(&path)
        .expect("install the snapshot");
    assert_eq!(
        target.state_hash().expect("hash"),
        source.state_hash().expect("hash")
    );
}
