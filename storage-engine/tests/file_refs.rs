//! Blob references kept by apply: every write, delete, truncation, collection delete and
//! field removal leaves exactly the blobs some record still names referenced, on the memory
//! backend and on RocksDB alike.

mod common;

use common::{apply, put_record};
use edgebase_storage::{
    BlobUse, CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, StateMachine,
    Store,
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
    page(state, None, 100)
}

fn page(state: &StateMachine, after: Option<&[u8; 32]>, limit: usize) -> Vec<[u8; 32]> {
    state
        .referenced_blobs(after, limit)
        .expect("referenced blobs")
        .into_iter()
        .map(|(blob, _)| blob)
        .collect()
}

fn used(state: &StateMachine, byte: u8) -> BlobUse {
    state.blob_use(&blob(byte)).expect("read")
}

/// `doc` with every entry kept in the S3 bucket.
fn doc_in_bucket(files: &[(&str, u8)]) -> String {
    let mut value: serde_json::Value = serde_json::from_str(&doc(files)).expect("json");
    for entry in value["@files"].as_object_mut().expect("files").values_mut() {
        entry["store"] = "s3".into();
    }
    value.to_string()
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
    assert!(used(state, 1).on_members && !used(state, 1).in_bucket);

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
    assert!(!used(state, 2).is_referenced());

    // Paging: strictly after the last blob seen.
    step(put_record(
        "c1",
        "r3",
        &doc(&[("e.txt", 4), ("f.txt", 5)]),
        RecordExpect::Absent,
    ));
    assert_eq!(page(state, None, 2), vec![blob(3), blob(4)]);
    assert_eq!(page(state, Some(&blob(4)), 2), vec![blob(5)]);

    // An entry in the bucket marks its reference; the same content on the members too
    // counts both ways, and replacing the record moves the mark.
    step(put_record(
        "c1",
        "r6",
        &doc_in_bucket(&[("i.txt", 5), ("j.txt", 8)]),
        RecordExpect::Absent,
    ));
    assert_eq!(
        used(state, 5),
        BlobUse {
            on_members: true,
            in_bucket: true
        }
    );
    assert_eq!(
        used(state, 8),
        BlobUse {
            on_members: false,
            in_bucket: true
        }
    );
    assert_eq!(
        state.referenced_blobs(Some(&blob(5)), 1).expect("page"),
        vec![(
            blob(8),
            BlobUse {
                on_members: false,
                in_bucket: true
            }
        )]
    );
    step(put_record(
        "c1",
        "r6",
        &doc(&[("j.txt", 8)]),
        RecordExpect::Exists,
    ));
    assert_eq!(
        used(state, 8),
        BlobUse {
            on_members: true,
            in_bucket: false
        }
    );
    step(Command::DeleteRecord {
        collection_id: "c1".into(),
        record_id: "r6".into(),
        expect: RecordExpect::Exists,
    });

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
    assert!(!used(state, 7).is_referenced());
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
