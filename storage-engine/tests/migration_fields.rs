//! Collection updates migrate records and indexes in the same command: fields matched by id
//! (renamed values move, removed values go), indexes added, changed and dropped, and a new
//! unique index that existing records violate rejects the whole update.

mod common;

use std::sync::Arc;

use common::{apply, put_record};
use edgebase_storage::query::parse_filter;
use edgebase_storage::query::plan::{explain, Explain};
use edgebase_storage::schema::CollectionSchema;
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, CommandResult, KvBackend, MemoryBackend,
    RecordExpect, Rejection, StateMachine,
};

/// `fields`: (field id, name, type).
fn doc(fields: &[(&str, &str, &str)], indexes: &[&str]) -> String {
    let fields: Vec<serde_json::Value> = fields
        .iter()
        .map(|(id, name, kind)| serde_json::json!({"id": id, "name": name, "type": kind}))
        .collect();
    serde_json::json!({"id": "c1", "name": "posts", "type": "base", "fields": fields, "indexes": indexes})
        .to_string()
}

fn put_collection(doc_json: String, expect: CollectionExpect) -> Command {
    Command::PutCollection {
        collection: CollectionDoc {
            id: "c1".into(),
            name: "posts".into(),
            doc_json,
        },
        expect,
    }
}

struct Fixture {
    backend: Arc<MemoryBackend>,
    state: StateMachine,
    next_index: u64,
}

impl Fixture {
    /// A collection with `fields` and `indexes`, holding `records` (id, document).
    fn new(fields: &[(&str, &str, &str)], indexes: &[&str], records: &[(&str, &str)]) -> Self {
        let backend = Arc::new(MemoryBackend::new());
        let state = StateMachine::with_backend(backend.clone());
        let mut fixture = Fixture {
            backend,
            state,
            next_index: 1,
        };
        let created = fixture.apply(put_collection(
            doc(fields, indexes),
            CollectionExpect::Absent,
        ));
        assert!(
            matches!(created, CommandResult::Applied { .. }),
            "{created:?}"
        );
        for (id, record) in records {
            let put = fixture.apply(put_record("c1", id, record, RecordExpect::Absent));
            assert!(matches!(put, CommandResult::Applied { .. }), "{put:?}");
        }
        fixture
    }

    fn apply(&mut self, command: Command) -> CommandResult {
        let result = apply(&self.state, self.next_index, command);
        self.next_index += 1;
        result
    }

    fn update(&mut self, fields: &[(&str, &str, &str)], indexes: &[&str]) -> CommandResult {
        let version = self
            .state
            .collection_by_id("c1")
            .expect("read")
            .expect("exists")
            .version;
        self.apply(put_collection(
            doc(fields, indexes),
            CollectionExpect::Version(version),
        ))
    }

    fn record(&self, id: &str) -> serde_json::Value {
        let stored = self.state.record("c1", id).expect("read").expect("exists");
        serde_json::from_str(&stored.doc_json).expect("json")
    }

    fn explain(&self, filter: &str) -> Explain {
        let collection = self
            .state
            .collection_by_id("c1")
            .expect("read")
            .expect("exists");
        let schema = CollectionSchema::from_doc_json(&collection.doc_json).expect("schema");
        let filter = parse_filter(filter).expect("filter");
        let view = self.backend.view().expect("view");
        explain(&*view, &schema, filter.as_ref(), &[], 1000).expect("plan")
    }
}

const FIELDS: &[(&str, &str, &str)] = &[
    ("f_slug", "slug", "text"),
    ("f_n", "n", "number"),
    ("f_a", "a", "text"),
    ("f_b", "b", "text"),
];

fn records() -> Vec<(&'static str, &'static str)> {
    vec![
        ("r1", r#"{"slug":"x","n":1,"a":"A1","b":"B1"}"#),
        ("r2", r#"{"slug":"y","n":2,"a":"A2","b":"B2"}"#),
        ("r3", r#"{"slug":"x","n":3,"a":"A3","b":"B3"}"#),
    ]
}

#[test]
fn renamed_fields_move_and_removed_fields_go() {
    let mut fixture = Fixture::new(FIELDS, &[], &records());
    // slug -> title, a <-> b swapped by id, n removed.
    let result = fixture.update(
        &[
            ("f_slug", "title", "text"),
            ("f_a", "b", "text"),
            ("f_b", "a", "text"),
        ],
        &[],
    );
    let CommandResult::Applied { version } = result else {
        panic!("update rejected: {result:?}");
    };
    assert_eq!(
        fixture.record("r1"),
        serde_json::json!({"title": "x", "b": "A1", "a": "B1"})
    );
    assert_eq!(
        fixture.record("r3"),
        serde_json::json!({"title": "x", "b": "A3", "a": "B3"})
    );
    // Rewritten records carry the update's version, so stale proposals are refused.
    assert_eq!(
        fixture
            .state
            .record("c1", "r2")
            .expect("read")
            .expect("r2")
            .version,
        version
    );
    assert_eq!(fixture.state.count_records("c1").expect("count"), 3);
}

#[test]
fn an_update_without_field_changes_leaves_records_alone() {
    let mut fixture = Fixture::new(FIELDS, &[], &records());
    let before = fixture.state.record("c1", "r1").expect("read");
    let result = fixture.update(FIELDS, &[]);
    assert!(matches!(result, CommandResult::Applied { .. }));
    assert_eq!(fixture.state.record("c1", "r1").expect("read"), before);
}

#[test]
fn indexes_are_built_changed_and_dropped_with_the_update() {
    let mut fixture = Fixture::new(FIELDS, &[], &records());
    assert_eq!(fixture.explain("slug = 'x'").index, None);

    // Added on existing data: the planner finds exactly the two records.
    let result = fixture.update(FIELDS, &["CREATE INDEX idx_slug ON posts (slug)"]);
    assert!(
        matches!(result, CommandResult::Applied { .. }),
        "{result:?}"
    );
    let plan = fixture.explain("slug = 'x'");
    assert_eq!(
        (plan.index.as_deref(), plan.candidates),
        (Some("idx_slug"), Some(2))
    );

    // Changed (same name, new column): rebuilt on the new column.
    let result = fixture.update(FIELDS, &["CREATE INDEX idx_slug ON posts (n)"]);
    assert!(
        matches!(result, CommandResult::Applied { .. }),
        "{result:?}"
    );
    assert_eq!(fixture.explain("slug = 'x'").index, None);
    assert_eq!(fixture.explain("n >= 2").candidates, Some(2));

    // A renamed indexed field: the index follows the new name.
    let renamed = &[
        ("f_slug", "slug", "text"),
        ("f_n", "count", "number"),
        ("f_a", "a", "text"),
        ("f_b", "b", "text"),
    ];
    let result = fixture.update(renamed, &["CREATE INDEX idx_slug ON posts (count)"]);
    assert!(
        matches!(result, CommandResult::Applied { .. }),
        "{result:?}"
    );
    assert_eq!(fixture.explain("count < 3").candidates, Some(2));

    // Dropped.
    let result = fixture.update(renamed, &[]);
    assert!(
        matches!(result, CommandResult::Applied { .. }),
        "{result:?}"
    );
    assert_eq!(fixture.explain("count < 3").index, None);
}

#[test]
fn a_unique_index_over_duplicates_rejects_the_whole_update() {
    let mut fixture = Fixture::new(FIELDS, &[], &records());
    let before = fixture.state.collection_by_id("c1").expect("read");
    // Also renames a field: nothing of it may be written.
    let renamed = &[("f_slug", "title", "text"), ("f_n", "n", "number")];
    let result = fixture.update(renamed, &["CREATE UNIQUE INDEX idx_title ON posts (title)"]);
    assert_eq!(
        result,
        CommandResult::Rejected(Rejection::UniqueViolation {
            index: "idx_title".into(),
            columns: vec!["title".into()],
        })
    );
    assert_eq!(fixture.state.collection_by_id("c1").expect("read"), before);
    assert_eq!(fixture.record("r1")["slug"], "x");

    // Without the duplicate it applies, and the constraint holds from then on.
    let delete = Command::DeleteRecord {
        collection_id: "c1".into(),
        record_id: "r3".into(),
        expect: RecordExpect::Exists,
    };
    assert!(matches!(
        fixture.apply(delete),
        CommandResult::Applied { .. }
    ));
    let result = fixture.update(renamed, &["CREATE UNIQUE INDEX idx_title ON posts (title)"]);
    assert!(
        matches!(result, CommandResult::Applied { .. }),
        "{result:?}"
    );
    let duplicate = put_record("c1", "r9", r#"{"title":"y"}"#, RecordExpect::Absent);
    assert!(matches!(
        fixture.apply(duplicate),
        CommandResult::Rejected(Rejection::UniqueViolation { .. })
    ));
    // Dropping the index lifts the constraint.
    let result = fixture.update(renamed, &[]);
    assert!(matches!(result, CommandResult::Applied { .. }));
    let duplicate = put_record("c1", "r9", r#"{"title":"y"}"#, RecordExpect::Absent);
    assert!(matches!(
        fixture.apply(duplicate),
        CommandResult::Applied { .. }
    ));
}

#[test]
fn deleting_a_collection_removes_its_index_entries() {
    let unique = &["CREATE UNIQUE INDEX idx_slug ON posts (slug)"];
    let mut fixture = Fixture::new(FIELDS, unique, &[("r1", r#"{"slug":"x"}"#)]);
    let delete = Command::DeleteCollection {
        collection_id: "c1".into(),
    };
    assert!(matches!(
        fixture.apply(delete),
        CommandResult::Applied { .. }
    ));
    let recreate = put_collection(doc(FIELDS, unique), CollectionExpect::Absent);
    assert!(matches!(
        fixture.apply(recreate),
        CommandResult::Applied { .. }
    ));
    let again = put_record("c1", "r2", r#"{"slug":"x"}"#, RecordExpect::Absent);
    assert!(matches!(
        fixture.apply(again),
        CommandResult::Applied { .. }
    ));
    assert_eq!(fixture.explain("slug = 'x'").candidates, Some(1));
    // No key of the deleted generation survives.
    let dump = fixture.backend.dump().expect("dump");
    let index_keys = dump
        .iter()
        .filter(|(key, _)| key.first() == Some(&0x08))
        .count();
    assert_eq!(index_keys, 1);
}

#[test]
fn an_update_in_a_batch_sees_the_batch_s_earlier_records() {
    let mut fixture = Fixture::new(FIELDS, &[], &[("r1", r#"{"slug":"x"}"#)]);
    let version = fixture
        .state
        .collection_by_id("c1")
        .expect("read")
        .expect("exists")
        .version;
    let unique = &["CREATE UNIQUE INDEX idx_slug ON posts (slug)"];
    let update = || put_collection(doc(FIELDS, unique), CollectionExpect::Version(version));
    // A record written earlier in the batch duplicates a stored one: the index build sees it.
    let batch = Command::Batch(vec![
        put_record("c1", "r2", r#"{"slug":"x"}"#, RecordExpect::Absent),
        update(),
    ]);
    assert_eq!(
        fixture.apply(batch),
        CommandResult::Rejected(Rejection::InBatch {
            position: 1,
            reason: Box::new(Rejection::UniqueViolation {
                index: "idx_slug".into(),
                columns: vec!["slug".into()],
            }),
        })
    );
    assert!(fixture.state.record("c1", "r2").expect("read").is_none());
    // Without the duplicate, the batch's record is indexed along with the stored one.
    let batch = Command::Batch(vec![
        put_record("c1", "r2", r#"{"slug":"y"}"#, RecordExpect::Absent),
        update(),
    ]);
    assert!(matches!(
        fixture.apply(batch),
        CommandResult::Applied { .. }
    ));
    assert_eq!(fixture.explain("slug >= 'x'").candidates, Some(2));
    assert_eq!(fixture.explain("slug = 'y'").candidates, Some(1));
}
