//! Snapshots: built on one store, installed on another, identical reads; a bad file changes
//! nothing.

mod common;

use common::{apply, create_collection, observe, put_record};
use edgebase_storage::{Command, RecordExpect, StateMachine, Store};

const IDS: &[&str] = &["c1", "c2"];
const NAMES: &[&str] = &["posts", "users"];
const RECORDS: &[&str] = &["r1", "r2", "r3"];
const SETTINGS: &[&str] = &["k"];

fn fill(state: &StateMachine, first_index: u64, doc: &str) {
    let commands = vec![
        create_collection("c1", "posts"),
        put_record("c1", "r1", doc, RecordExpect::Absent),
        put_record("c1", "r2", doc, RecordExpect::Absent),
        create_collection("c2", "users"),
        put_record("c2", "r3", doc, RecordExpect::Absent),
        Command::PutSetting {
            key: "k".into(),
            value_json: doc.into(),
        },
    ];
    for (offset, command) in commands.into_iter().enumerate() {
        apply(state, first_index + offset as u64, command);
    }
}

#[test]
fn snapshot_moves_the_whole_state_between_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let leader = Store::open(&dir.path().join("leader")).expect("open");
    let follower = Store::open(&dir.path().join("follower")).expect("open");
    fill(&leader.state(), 1, "{\"from\":\"leader\"}");
    // The follower holds other, older state that must vanish entirely.
    apply(&follower.state(), 1, create_collection("old", "old"));
    apply(
        &follower.state(),
        2,
        put_record("old", "r1", "{}", RecordExpect::Absent),
    );

    let path = dir.path().join("snap");
    let stats = leader.state().build_snapshot(&path).expect("build");
    assert_eq!(stats.bytes, std::fs::metadata(&path).expect("stat").len());
    assert_eq!(stats.applied.last_applied, Some(b"6".to_vec()));
    follower.state().install_snapshot(&path).expect("install");

    assert_eq!(
        observe(&leader.state(), IDS, NAMES, RECORDS, SETTINGS),
        observe(&follower.state(), IDS, NAMES, RECORDS, SETTINGS)
    );
    assert!(follower
        .state()
        .collection_by_id("old")
        .expect("read")
        .is_none());
    assert_eq!(follower.state().count_records("old").expect("count"), 0);

    // It keeps applying after the install, and survives a restart.
    apply(
        &follower.state(),
        7,
        put_record("c1", "r9", "{}", RecordExpect::Absent),
    );
    drop(follower);
    let reopened = Store::open(&dir.path().join("follower")).expect("reopen");
    assert_eq!(reopened.state().count_records("c1").expect("count"), 3);
    assert_eq!(
        reopened.state().applied().expect("applied").last_applied,
        Some(b"7".to_vec())
    );
}

#[test]
fn a_damaged_snapshot_leaves_the_old_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = StateMachine::in_memory();
    fill(&source, 1, "{\"new\":true}");
    let path = dir.path().join("snap");
    source.build_snapshot(&path).expect("build");
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 30;
    bytes[last] ^= 0xFF;
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, &bytes).expect("write");

    let store = Store::open(&dir.path().join("db")).expect("open");
    let target = store.state();
    fill(&target, 1, "{\"old\":true}");
    let before = observe(&target, IDS, NAMES, RECORDS, SETTINGS);
    assert!(
        target.install_snapshot(&damaged).is_err(),
        "damaged file accepted"
    );
    assert_eq!(before, observe(&target, IDS, NAMES, RECORDS, SETTINGS));
    // The engine still works and a good snapshot still installs.
    target
        .install_snapshot(&path)
        .expect("install a good snapshot");
    assert_eq!(
        observe(&source, IDS, NAMES, RECORDS, SETTINGS),
        observe(&target, IDS, NAMES, RECORDS, SETTINGS)
    );
}
