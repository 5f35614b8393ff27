//! What applying each command does, case by case, on the in-memory and RocksDB backends.

mod common;

use common::{apply, create_collection, put_record};
use edgebase_storage::{
    ApplyEntry, CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, Rejection,
    SettingExpect, StateMachine, Store, StoredSetting,
};

fn applied(version: u64) -> CommandResult {
    CommandResult::Applied { version }
}

fn rejected(rejection: Rejection) -> CommandResult {
    CommandResult::Rejected(rejection)
}

fn in_batch(position: u32, reason: Rejection) -> CommandResult {
    rejected(Rejection::InBatch {
        position,
        reason: Box::new(reason),
    })
}

fn rename(id: &str, name: &str, version: u64) -> Command {
    Command::PutCollection {
        collection: CollectionDoc {
            id: id.into(),
            name: name.into(),
            doc_json: "{}".into(),
        },
        expect: CollectionExpect::Version(version),
    }
}

fn delete_record(collection_id: &str, record_id: &str, expect: RecordExpect) -> Command {
    Command::DeleteRecord {
        collection_id: collection_id.into(),
        record_id: record_id.into(),
        expect,
    }
}

/// Run `steps` (command, expected result) from index 1 on both backends.
fn check(steps: Vec<(Command, CommandResult)>, then: impl Fn(&StateMachine)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    for state in [StateMachine::in_memory(), store.state()] {
        for (position, (command, expected)) in steps.iter().enumerate() {
            let index = position as u64 + 1;
            assert_eq!(
                apply(&state, index, command.clone()),
                *expected,
                "step {index}: {command:?}"
            );
        }
        then(&state);
    }
}

#[test]
fn collections() {
    check(
        vec![
            (create_collection("c1", "Posts"), applied(1)),
            (
                create_collection("c1", "other"),
                rejected(Rejection::CollectionExists),
            ),
            (
                create_collection("c2", "POSTS"),
                rejected(Rejection::CollectionNameTaken),
            ),
            (create_collection("c2", "users"), applied(4)),
            (
                rename("c2", "posts", 4),
                rejected(Rejection::CollectionNameTaken),
            ),
            (
                rename("c2", "people", 3),
                rejected(Rejection::VersionMismatch { current: 4 }),
            ),
            (
                rename("c9", "people", 3),
                rejected(Rejection::CollectionMissing),
            ),
            (rename("c2", "People", 4), applied(8)),
            (rename("c1", "posts", 1), applied(9)),
        ],
        |state| {
            let names: Vec<String> = state
                .collections()
                .expect("collections")
                .into_iter()
                .map(|c| c.name)
                .collect();
            assert_eq!(names, ["posts", "People"], "creation order, new names");
            assert!(
                state.collection_by_name("users").expect("read").is_none(),
                "old name freed"
            );
            let people = state
                .collection_by_name("PEOPLE")
                .expect("read")
                .expect("renamed");
            assert_eq!((people.id.as_str(), people.version), ("c2", 8));
        },
    );
}

#[test]
fn records() {
    check(
        vec![
            (
                put_record("c1", "r1", "{}", RecordExpect::Absent),
                rejected(Rejection::CollectionMissing),
            ),
            (create_collection("c1", "posts"), applied(2)),
            (
                put_record("c1", "r1", "{\"a\":1}", RecordExpect::Absent),
                applied(3),
            ),
            (
                put_record("c1", "r1", "{}", RecordExpect::Absent),
                rejected(Rejection::RecordExists),
            ),
            (
                put_record("c1", "r2", "{}", RecordExpect::Exists),
                rejected(Rejection::RecordMissing),
            ),
            (
                put_record("c1", "r1", "{}", RecordExpect::Version(2)),
                rejected(Rejection::VersionMismatch { current: 3 }),
            ),
            (
                put_record("c1", "r2", "{}", RecordExpect::Absent),
                applied(7),
            ),
            (
                put_record("c1", "r1", "{\"a\":2}", RecordExpect::Version(3)),
                applied(8),
            ),
            (
                delete_record("c1", "r9", RecordExpect::Exists),
                rejected(Rejection::RecordMissing),
            ),
            (delete_record("c1", "r9", RecordExpect::Absent), applied(10)),
            (
                delete_record("c1", "r2", RecordExpect::Version(7)),
                applied(11),
            ),
            (
                put_record("c1", "r3", "{}", RecordExpect::Absent),
                applied(12),
            ),
        ],
        |state| {
            let page = state.records_page("c1", 0, 10).expect("page");
            let ids: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids, ["r1", "r3"], "creation order survives an update");
            assert_eq!(page[0].doc_json, "{\"a\":2}");
            assert_eq!((page[0].version, page[0].created_seq), (8, 3 << 16));
            assert_eq!(state.count_records("c1").expect("count"), 2);
            assert_eq!(state.records_page("c1", 1, 10).expect("page").len(), 1);
            assert_eq!(state.records_page("c1", 0, 1).expect("page").len(), 1);
            assert!(state.records_page("c1", 5, 10).expect("page").is_empty());
        },
    );
}

#[test]
fn delete_collection_removes_its_records_only() {
    check(
        vec![
            (create_collection("a", "a"), applied(1)),
            (create_collection("ab", "ab"), applied(2)),
            (
                put_record("a", "r1", "{}", RecordExpect::Absent),
                applied(3),
            ),
            (
                put_record("ab", "r1", "{}", RecordExpect::Absent),
                applied(4),
            ),
            (
                Command::DeleteCollection {
                    collection_id: "a".into(),
                },
                applied(5),
            ),
            (
                Command::DeleteCollection {
                    collection_id: "a".into(),
                },
                rejected(Rejection::CollectionMissing),
            ),
            (create_collection("a", "A"), applied(7)),
        ],
        |state| {
            assert!(state.record("a", "r1").expect("read").is_none());
            assert_eq!(state.count_records("a").expect("count"), 0);
            assert!(state.records_page("a", 0, 10).expect("page").is_empty());
            assert!(
                state.record("ab", "r1").expect("read").is_some(),
                "neighbour untouched"
            );
            assert_eq!(state.count_records("ab").expect("count"), 1);
        },
    );
}

#[test]
fn batches_are_all_or_nothing() {
    check(
        vec![
            (create_collection("c1", "posts"), applied(1)),
            (
                Command::Batch(vec![
                    put_record("c1", "r1", "{}", RecordExpect::Absent),
                    put_record("c1", "r1", "{\"x\":1}", RecordExpect::Version(2)),
                    put_record("c1", "r2", "{}", RecordExpect::Absent),
                ]),
                applied(2),
            ),
            (
                Command::Batch(vec![
                    put_record("c1", "r3", "{}", RecordExpect::Absent),
                    Command::PutSetting {
                        key: "k".into(),
                        value_json: "1".into(),
                    },
                    put_record("c1", "r1", "{}", RecordExpect::Absent),
                ]),
                in_batch(2, Rejection::RecordExists),
            ),
            (
                Command::Batch(vec![
                    Command::DeleteCollection {
                        collection_id: "c1".into(),
                    },
                    create_collection("c1", "fresh"),
                    put_record("c1", "r9", "{}", RecordExpect::Absent),
                    put_record("c1", "r1", "{}", RecordExpect::Exists),
                ]),
                in_batch(3, Rejection::RecordMissing),
            ),
        ],
        |state| {
            let ids: Vec<String> = state
                .records_page("c1", 0, 10)
                .expect("page")
                .into_iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(ids, ["r1", "r2"], "created in one entry, in order");
            let r1 = state.record("c1", "r1").expect("read").expect("exists");
            assert_eq!((r1.doc_json.as_str(), r1.version), ("{\"x\":1}", 2));
            let r2 = state.record("c1", "r2").expect("read").expect("exists");
            assert!(r1.created_seq < r2.created_seq);
            assert_eq!(
                state.setting("k").expect("read"),
                None,
                "rejected batch wrote nothing"
            );
            assert_eq!(
                state
                    .collection_by_id("c1")
                    .expect("read")
                    .expect("kept")
                    .name,
                "posts"
            );
            let applied = state.applied().expect("applied");
            assert_eq!(
                applied.last_applied,
                Some(b"4".to_vec()),
                "a rejection still advances"
            );
        },
    );
}

#[test]
fn entries_without_commands_and_out_of_order_entries() {
    let state = StateMachine::in_memory();
    let entry = |index: u64, membership: Option<Vec<u8>>| ApplyEntry {
        index,
        command: None,
        last_applied: vec![index as u8],
        membership,
    };
    assert_eq!(state.apply(entry(0, None)).expect("apply"), None);
    assert_eq!(state.apply(entry(1, Some(vec![7]))).expect("apply"), None);
    assert_eq!(state.apply(entry(2, None)).expect("apply"), None);
    let applied = state.applied().expect("applied");
    assert_eq!(applied.last_applied, Some(vec![2]));
    assert_eq!(
        applied.membership,
        Some(vec![7]),
        "membership kept until replaced"
    );
    assert!(
        state.apply(entry(2, None)).is_err(),
        "the applied index only grows"
    );
}

#[test]
fn truncate_keeps_the_collection_and_removes_only_its_records() {
    let truncate = |id: &str| Command::TruncateCollection {
        collection_id: id.into(),
    };
    check(
        vec![
            (create_collection("a", "A"), applied(1)),
            (create_collection("b", "B"), applied(2)),
            (
                put_record("a", "r1", "{}", RecordExpect::Absent),
                applied(3),
            ),
            (
                put_record("a", "r2", "{}", RecordExpect::Absent),
                applied(4),
            ),
            (
                put_record("b", "r1", "{}", RecordExpect::Absent),
                applied(5),
            ),
            (truncate("a"), applied(6)),
            (truncate("missing"), rejected(Rejection::CollectionMissing)),
            // A truncated collection takes new records, the old ids included.
            (
                put_record("a", "r1", "{}", RecordExpect::Absent),
                applied(8),
            ),
        ],
        |state| {
            assert!(state.collection_by_id("a").expect("read").is_some());
            assert_eq!(state.count_records("a").expect("count"), 1);
            assert!(state.record("a", "r2").expect("read").is_none());
            let page = state.records_page("a", 0, 10).expect("page");
            assert_eq!(page.len(), 1);
            assert_eq!(state.count_records("b").expect("count"), 1);
        },
    );
}

fn put_setting_if(value: &str, expect: SettingExpect) -> Command {
    Command::PutSettingIf {
        key: "k".into(),
        value_json: value.into(),
        expect,
    }
}

#[test]
fn setting_writes_are_conditioned_on_the_version_read() {
    let mismatch = |current| rejected(Rejection::SettingVersionMismatch { current });
    check(
        vec![
            (
                put_setting_if("1", SettingExpect::Version(1)),
                mismatch(None),
            ),
            (put_setting_if("2", SettingExpect::Unversioned), applied(2)),
            // Planned before step 2 applied: it would undo it.
            (
                put_setting_if("3", SettingExpect::Unversioned),
                mismatch(Some(2)),
            ),
            (put_setting_if("4", SettingExpect::Version(2)), applied(4)),
            // A legacy write keeps the version too.
            (
                Command::PutSetting {
                    key: "k".into(),
                    value_json: "5".into(),
                },
                applied(5),
            ),
            (
                put_setting_if("6", SettingExpect::Version(4)),
                mismatch(Some(5)),
            ),
            (put_setting_if("7", SettingExpect::Version(5)), applied(7)),
        ],
        |state| {
            let stored = state.stored_setting("k").expect("read").expect("written");
            assert_eq!(
                stored,
                StoredSetting {
                    value_json: "7".into(),
                    version: Some(7),
                }
            );
            assert_eq!(stored.expect(), SettingExpect::Version(7));
            assert_eq!(state.setting("k").expect("read").as_deref(), Some("7"));
            assert_eq!(state.stored_setting("other").expect("read"), None);
        },
    );
}
