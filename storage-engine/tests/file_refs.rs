//! Blob references kept by apply: every write, delete, truncation, collection delete and
//! field removal leaves exactly the blobs some record still names referenced, on the memory
//! backend and on RocksDB alike.

mod common;

use common::{apply, put_record};
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, StateMachine, Store,
};

fn blob(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn hex(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

/// A record naming files `(name, blob byte)` in its `docs` field.
fn doc(files: &[(&str, u8)]) -> String {
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    let entries: serde_json::Map<String, serde_json::Value> = files
        .iter()
        .map(|(name, byte)| {
            (
                name.to_string(),
                serde_json::json!({"blob": hex(*byte), "size": 1, "type": "text/plain"}),
            )
        })
        .collect();
    serde_json::json!({"title": "t", "docs": names, "@files": entries}).to_string()
}

fn collection(fields: &str, expect: CollectionExpect) -> Command {
    Command::PutCollection {
        collection: CollectionDoc {
            id: "c1".into(),
            name: "posts".into(),
            doc_json: format!(r#"{{"name":"posts","fields":[{fields}]}}"#),
        },
        expect,
    }
}

const WITH_FILES: &str = r#"{"id":"t1","name":"title","type":"text"},
    {"id":"f1","name":"docs","type":"file","maxSelect":9}"#;
const WITHOUT_FILES: &str = r#"{"id":"t1","name":"title","type":"text"}"#;

fn referenced(state: &StateMachine) -> Vec<[u8; 32]> {
    state.referenced_blobs(None, 100).expect("referenced blobs")
}

fn applied(result: CommandResult) {
    assert!(
        matches!(result, CommandResult::Applied { .. }),
        "{result:?}"
    );
}

fn scenario(state: &StateMachine) {
    let mut index = 0;
    let mut step = |command: Command| {
        index += 1;
        applied(apply(state, index, command));
    };
    step(collection(WITH_FILES, CollectionExpect::Absent));
    step(put_record(
        "c1",
        "r1",
        &doc(&[("a.txt", 1), ("b.txt", 2)]),
        RecordExpect::Absent,
    ));
    step(put_record(
        "c1",
        "r2",
        &doc(&[("c.txt", 2)]),
        RecordExpect::Absent,
    ));
    assert_eq!(referenced(state), vec![blob(1), blob(2)]);
    assert!(state.blob_referenced(&blob(1)).expect("read"));

    // Replacing a file drops its old blob; a blob two records share stays while one does.
    step(put_record(
        "c1",
        "r1",
        &doc(&[("d.txt", 3)]),
        RecordExpect::Exists,
    ));
    assert_eq!(referenced(state), vec![blob(2), blob(3)]);
    step(Command::DeleteRecord {
        collection_id: "c1".into(),
        record_id: "r2".into(),
        expect: RecordExpect::Exists,
    });
    assert_eq!(referenced(state), vec![blob(3)]);
    assert!(!state.blob_referenced(&blob(2)).expect("read"));

    // Paging: strictly after the last blob seen.
    step(put_record(
        "c1",
        "r3",
        &doc(&[("e.txt", 4), ("f.txt", 5)]),
        RecordExpect::Absent,
    ));
    assert_eq!(
        state.referenced_blobs(None, 2).expect("page"),
        vec![blob(3), blob(4)]
    );
    assert_eq!(
        state.referenced_blobs(Some(&blob(4)), 2).expect("page"),
        vec![blob(5)]
    );

    // Removing the file field drops the files its values named, and their references.
    let version = state
        .collection_by_id("c1")
        .expect("read")
        .expect("held")
        .version;
    step(collection(
        WITHOUT_FILES,
        CollectionExpect::Version(version),
    ));
    assert!(referenced(state).is_empty(), "{:?}", referenced(state));
    let r3 = state.record("c1", "r3").expect("read").expect("held");
    assert!(!r3.doc_json.contains("@files"), "{}", r3.doc_json);

    // Truncating and deleting a collection drop every reference its records held.
    let version = state
        .collection_by_id("c1")
        .expect("read")
        .expect("held")
        .version;
    step(collection(WITH_FILES, CollectionExpect::Version(version)));
    step(put_record(
        "c1",
        "r4",
        &doc(&[("g.txt", 6)]),
        RecordExpect::Absent,
    ));
    assert_eq!(referenced(state), vec![blob(6)]);
    step(Command::TruncateCollection {
        collection_id: "c1".into(),
    });
    assert!(referenced(state).is_empty());
    step(put_record(
        "c1",
        "r5",
        &doc(&[("h.txt", 7)]),
        RecordExpect::Absent,
    ));
    step(Command::DeleteCollection {
        collection_id: "c1".into(),
    });
    assert!(referenced(state).is_empty());
    assert!(!state.blob_referenced(&blob(7)).expect("read"));
}

#[test]
fn references_follow_every_write_in_memory() {
    scenario(&StateMachine::in_memory());
}

#[test]
fn references_follow_every_write_on_rocksdb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("open store");
    scenario(&store.state());
}
