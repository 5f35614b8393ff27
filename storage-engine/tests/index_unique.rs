//! Unique indexes enforced at apply: two records proposed with the same unique value (as two
//! nodes racing would) apply in log order, the second is rejected, inside a batch nothing is
//! written; semantics read off PocketBase 0.40.6.

mod common;

use common::{apply, put_record};
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, Rejection, StateMachine,
};

fn posts(indexes: &[&str]) -> Command {
    let doc = serde_json::json!({
        "id": "c1", "name": "posts", "type": "base",
        "fields": [
            {"id": "f_id", "name": "id", "type": "text"},
            {"id": "f_slug", "name": "slug", "type": "text"},
            {"id": "f_n", "name": "n", "type": "number"},
            {"id": "f_j", "name": "j", "type": "json"},
            {"id": "f_tags", "name": "tags", "type": "select", "maxSelect": 2}
        ],
        "indexes": indexes,
    });
    Command::PutCollection {
        collection: CollectionDoc {
            id: "c1".into(),
            name: "posts".into(),
            doc_json: doc.to_string(),
        },
        expect: CollectionExpect::Absent,
    }
}

fn violation(index: &str, columns: &[&str]) -> CommandResult {
    CommandResult::Rejected(Rejection::UniqueViolation {
        index: index.into(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
    })
}

fn applied(version: u64) -> CommandResult {
    CommandResult::Applied { version }
}

/// Each case: index statements, then (record id, document, expected result) applied in order
/// starting at log index 2.
#[test]
fn unique_cases() {
    let check = |indexes: &[&str], writes: &[(&str, &str, Option<CommandResult>)]| {
        let state = StateMachine::in_memory();
        assert_eq!(apply(&state, 1, posts(indexes)), applied(1));
        for (offset, (record_id, doc, expected)) in writes.iter().enumerate() {
            let index = 2 + offset as u64;
            let expect = match state.record("c1", record_id).expect("read") {
                Some(current) => RecordExpect::Version(current.version),
                None => RecordExpect::Absent,
            };
            let result = apply(&state, index, put_record("c1", record_id, doc, expect));
            let expected = expected.clone().unwrap_or(applied(index));
            assert_eq!(
                result, expected,
                "{indexes:?}: write {offset} {record_id} {doc}"
            );
        }
    };
    let unique_slug = &["CREATE UNIQUE INDEX idx_slug ON posts (slug)"][..];
    // Two nodes propose different record ids with the same value: the later entry loses.
    check(
        unique_slug,
        &[
            ("r1", r#"{"slug":"a"}"#, None),
            (
                "r2",
                r#"{"slug":"a"}"#,
                Some(violation("idx_slug", &["slug"])),
            ),
            ("r3", r#"{"slug":"A"}"#, None),
        ],
    );
    // PocketBase 0.40.6: two records with '' in a unique text column conflict.
    check(
        unique_slug,
        &[
            ("r1", r#"{"slug":""}"#, None),
            (
                "r2",
                r#"{"slug":""}"#,
                Some(violation("idx_slug", &["slug"])),
            ),
        ],
    );
    // Updating a record keeps its own value; moving away frees it.
    check(
        unique_slug,
        &[
            ("r1", r#"{"slug":"a"}"#, None),
            ("r1", r#"{"slug":"a","n":2}"#, None),
            ("r1", r#"{"slug":"b"}"#, None),
            ("r2", r#"{"slug":"a"}"#, None),
            (
                "r2",
                r#"{"slug":"b"}"#,
                Some(violation("idx_slug", &["slug"])),
            ),
        ],
    );
    // NULLs (JSON null, a missing field) never conflict, as in SQLite; equal JSON does.
    check(
        &["CREATE UNIQUE INDEX idx_j ON posts (j)"],
        &[
            ("r1", r#"{"j":null}"#, None),
            ("r2", r#"{"j":null}"#, None),
            ("r3", r#"{}"#, None),
            ("r4", r#"{"j":{"a":1}}"#, None),
            (
                "r5",
                r#"{"j":{ "a" : 1 }}"#,
                Some(violation("idx_j", &["j"])),
            ),
        ],
    );
    // NOCASE folds ASCII case; a composite unique key needs every column equal; a partial
    // index only holds the records its WHERE accepts.
    check(
        &[
            "create unique index `idx_s` on posts (slug collate nocase) where slug != ''",
            "CREATE UNIQUE INDEX idx_sn ON posts (slug, n DESC)",
        ],
        &[
            ("r1", r#"{"slug":"","n":1}"#, None),
            ("r2", r#"{"slug":"","n":2}"#, None),
            (
                "r3",
                r#"{"slug":"","n":2}"#,
                Some(violation("idx_sn", &["slug", "n"])),
            ),
            ("r4", r#"{"slug":"Ab","n":3}"#, None),
            (
                "r5",
                r#"{"slug":"aB","n":4}"#,
                Some(violation("idx_s", &["slug"])),
            ),
        ],
    );
    // PocketBase 0.40.6: a multiple select is its JSON array text, order kept; two empty
    // selections ([]) conflict.
    check(
        &["CREATE UNIQUE INDEX idx_tags ON posts (tags)"],
        &[
            ("r1", r#"{"tags":["a","b"]}"#, None),
            ("r2", r#"{"tags":["b","a"]}"#, None),
            (
                "r3",
                r#"{"tags":["a","b"]}"#,
                Some(violation("idx_tags", &["tags"])),
            ),
            ("r4", r#"{"tags":[]}"#, None),
            ("r5", r#"{}"#, Some(violation("idx_tags", &["tags"]))),
        ],
    );
    // The `id` column reads the record id.
    check(
        &["CREATE UNIQUE INDEX idx_id_slug ON posts (id, slug)"],
        &[
            ("r1", r#"{"slug":"a"}"#, None),
            ("r2", r#"{"slug":"a"}"#, None),
        ],
    );
}

#[test]
fn deleting_frees_the_value() {
    let state = StateMachine::in_memory();
    apply(
        &state,
        1,
        posts(&["CREATE UNIQUE INDEX idx_slug ON posts (slug)"]),
    );
    apply(
        &state,
        2,
        put_record("c1", "r1", r#"{"slug":"a"}"#, RecordExpect::Absent),
    );
    let delete = Command::DeleteRecord {
        collection_id: "c1".into(),
        record_id: "r1".into(),
        expect: RecordExpect::Exists,
    };
    assert_eq!(apply(&state, 3, delete), applied(3));
    let again = put_record("c1", "r2", r#"{"slug":"a"}"#, RecordExpect::Absent);
    assert_eq!(apply(&state, 4, again), applied(4));
    let truncate = Command::TruncateCollection {
        collection_id: "c1".into(),
    };
    assert_eq!(apply(&state, 5, truncate), applied(5));
    let after = put_record("c1", "r3", r#"{"slug":"a"}"#, RecordExpect::Absent);
    assert_eq!(apply(&state, 6, after), applied(6));
}

#[test]
fn a_batch_with_a_conflict_writes_nothing() {
    let state = StateMachine::in_memory();
    apply(
        &state,
        1,
        posts(&["CREATE UNIQUE INDEX idx_slug ON posts (slug)"]),
    );
    apply(
        &state,
        2,
        put_record("c1", "r1", r#"{"slug":"a"}"#, RecordExpect::Absent),
    );
    let check = |index: u64, commands: Vec<Command>, expected: CommandResult| {
        assert_eq!(apply(&state, index, Command::Batch(commands)), expected);
    };
    // Conflicts with a stored record.
    check(
        3,
        vec![
            put_record("c1", "r2", r#"{"slug":"b"}"#, RecordExpect::Absent),
            put_record("c1", "r3", r#"{"slug":"a"}"#, RecordExpect::Absent),
        ],
        CommandResult::Rejected(Rejection::InBatch {
            position: 1,
            reason: Box::new(Rejection::UniqueViolation {
                index: "idx_slug".into(),
                columns: vec!["slug".into()],
            }),
        }),
    );
    // Conflicts with an earlier command of the same batch.
    check(
        4,
        vec![
            put_record("c1", "r2", r#"{"slug":"c"}"#, RecordExpect::Absent),
            put_record("c1", "r3", r#"{"slug":"c"}"#, RecordExpect::Absent),
        ],
        CommandResult::Rejected(Rejection::InBatch {
            position: 1,
            reason: Box::new(Rejection::UniqueViolation {
                index: "idx_slug".into(),
                columns: vec!["slug".into()],
            }),
        }),
    );
    assert_eq!(state.count_records("c1").expect("count"), 1);
    assert!(state.record("c1", "r2").expect("read").is_none());
    // Swapping values inside one batch is fine: the first frees what the second takes.
    check(
        5,
        vec![
            put_record("c1", "r1", r#"{"slug":"z"}"#, RecordExpect::Exists),
            put_record("c1", "r2", r#"{"slug":"a"}"#, RecordExpect::Absent),
        ],
        applied(5),
    );
    // "b" and "c" were never taken.
    check(
        6,
        vec![
            put_record("c1", "r3", r#"{"slug":"b"}"#, RecordExpect::Absent),
            put_record("c1", "r4", r#"{"slug":"c"}"#, RecordExpect::Absent),
        ],
        applied(6),
    );
}

#[test]
fn unusable_index_statements_are_rejected_at_apply() {
    let check = |indexes: &[&str], expected: Rejection| {
        let state = StateMachine::in_memory();
        assert_eq!(
            apply(&state, 1, posts(indexes)),
            CommandResult::Rejected(expected)
        );
        assert!(state.collection_by_id("c1").expect("read").is_none());
    };
    check(
        &["CREATE INDEX idx_x ON posts (nope)"],
        Rejection::InvalidIndex {
            index: "idx_x".into(),
            message: "Failed to create index idx_x - no such column: nope".into(),
        },
    );
    check(
        &[
            "CREATE INDEX idx_a ON posts (slug)",
            "CREATE INDEX idx_A ON posts (n)",
        ],
        Rejection::InvalidIndex {
            index: "idx_A".into(),
            message: "The index name already exists.".into(),
        },
    );
    check(
        &["nonsense"],
        Rejection::InvalidIndex {
            index: String::new(),
            message: "Invalid CREATE INDEX expression: expected CREATE".into(),
        },
    );
}
