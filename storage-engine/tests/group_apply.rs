//! A `Command::Group` (writes a leader packed into one entry): each command applies or is
//! rejected on its own, sees what the ones before it wrote, and a rejected one leaves no
//! trace: not its records, not its index entries, not its changes in the feed. On the
//! in-memory and RocksDB backends alike.

mod common;

use std::sync::{Arc, Mutex};

use common::{apply, put_record};
use edgebase_storage::{
    AppliedChanges, ApplyEntry, ChangeListener, CollectionDoc, CollectionExpect, Command,
    CommandResult, EntryResult, RecordExpect, Rejection, StateMachine, Store,
};

fn users() -> Command {
    let doc = serde_json::json!({
        "id": "c1", "name": "users", "type": "base",
        "fields": [
            {"id": "f_id", "name": "id", "type": "text"},
            {"id": "f_email", "name": "email", "type": "text"}
        ],
        "indexes": ["CREATE UNIQUE INDEX idx_email ON users (email)"],
    });
    Command::PutCollection {
        collection: CollectionDoc {
            id: "c1".into(),
            name: "users".into(),
            doc_json: doc.to_string(),
        },
        expect: CollectionExpect::Absent,
    }
}

fn create(record_id: &str, email: &str) -> Command {
    put_record(
        "c1",
        record_id,
        &format!(r#"{{"id":"{record_id}","email":"{email}"}}"#),
        RecordExpect::Absent,
    )
}

fn applied(version: u64) -> CommandResult {
    CommandResult::Applied { version }
}

fn rejected(rejection: Rejection) -> CommandResult {
    CommandResult::Rejected(rejection)
}

#[derive(Default)]
struct Feed(Mutex<Vec<AppliedChanges>>);

impl ChangeListener for Feed {
    fn applied(&self, changes: AppliedChanges) {
        self.0.lock().expect("feed").push(changes);
    }

    fn jumped(&self, _index: u64) {}
}

fn apply_group(state: &StateMachine, index: u64, commands: Vec<Command>) -> Vec<CommandResult> {
    let result = state
        .apply(ApplyEntry {
            index,
            command: Some(Command::Group(commands)),
            last_applied: index.to_string().into_bytes(),
            membership: None,
        })
        .expect("apply");
    match result {
        Some(EntryResult::Each(results)) => results,
        other => panic!("a group has one result per command, got {other:?}"),
    }
}

#[test]
fn each_command_of_a_group_stands_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    for state in [StateMachine::in_memory(), store.state()] {
        let feed = Arc::new(Feed::default());
        assert!(state.set_change_listener(feed.clone()));
        assert_eq!(apply(&state, 1, users()), applied(1));
        assert_eq!(apply(&state, 2, create("r0", "zero@x")), applied(2));
        assert_eq!(apply(&state, 3, create("r4", "four@x")), applied(3));

        let results = apply_group(
            &state,
            4,
            vec![
                // Applies.
                create("r1", "one@x"),
                // Writes r1 again: both would be "version 4".
                put_record(
                    "c1",
                    "r1",
                    r#"{"id":"r1","email":"uno@x"}"#,
                    RecordExpect::Exists,
                ),
                // Sees r1's email in the unique index, written by the first command.
                create("r2", "one@x"),
                // A stale version: rejected, alone.
                put_record(
                    "c1",
                    "r0",
                    r#"{"id":"r0","email":"z@x"}"#,
                    RecordExpect::Version(1),
                ),
                // A batch failing at its second command: its first is taken back too.
                Command::Batch(vec![create("r5", "five@x"), create("r6", "zero@x")]),
                // Applies, after all those rejections.
                Command::DeleteRecord {
                    collection_id: "c1".into(),
                    record_id: "r4".into(),
                    expect: RecordExpect::Version(3),
                },
                // Nested groups are refused.
                Command::Group(vec![create("r7", "seven@x")]),
                // Sees that r4 is gone.
                Command::DeleteRecord {
                    collection_id: "c1".into(),
                    record_id: "r4".into(),
                    expect: RecordExpect::Exists,
                },
            ],
        );
        let unique = || Rejection::UniqueViolation {
            index: "idx_email".into(),
            columns: vec!["email".into()],
        };
        assert_eq!(
            results,
            vec![
                applied(4),
                rejected(Rejection::RecordWrittenInEntry),
                rejected(unique()),
                rejected(Rejection::VersionMismatch { current: 2 }),
                rejected(Rejection::InBatch {
                    position: 1,
                    reason: Box::new(unique()),
                }),
                applied(4),
                rejected(Rejection::GroupNested),
                rejected(Rejection::RecordMissing),
            ]
        );

        let email = |id: &str| {
            state.record("c1", id).expect("read").map(|record| {
                let doc: serde_json::Value = serde_json::from_str(&record.doc_json).expect("json");
                (
                    record.version,
                    doc["email"].as_str().unwrap_or("").to_owned(),
                )
            })
        };
        assert_eq!(email("r1"), Some((4, "one@x".to_owned())));
        assert_eq!(email("r0"), Some((2, "zero@x".to_owned())));
        for gone in ["r2", "r4", "r5", "r6", "r7"] {
            assert_eq!(email(gone), None, "{gone}");
        }
        // The rejected batch left no index entry behind: its email is free.
        assert_eq!(apply(&state, 5, create("r8", "five@x")), applied(5));
        // And the rejected r2 left none either.
        assert_eq!(
            apply(&state, 6, create("r9", "uno@x")),
            applied(6),
            "r1's rejected second write left no index entry"
        );

        // The feed heard only what was written: r1 created and r4 deleted at index 4.
        let heard = feed.0.lock().expect("feed");
        let at_four: Vec<(String, String)> = heard
            .iter()
            .filter(|changes| changes.index == 4)
            .flat_map(|changes| changes.changes.iter())
            .map(|change| (format!("{:?}", change.action), change.record_id.clone()))
            .collect();
        assert_eq!(
            at_four,
            vec![
                ("Create".to_owned(), "r1".to_owned()),
                ("Delete".to_owned(), "r4".to_owned())
            ]
        );
    }
}

#[test]
fn a_group_past_the_creation_order_bound_rejects_only_what_does_not_fit() {
    let state = StateMachine::in_memory();
    assert_eq!(apply(&state, 1, users()), applied(1));
    // 65,535 setting writes take every position but the last: one create still fits, the
    // next does not.
    let mut commands: Vec<Command> = (0..(1u32 << 16) - 1)
        .map(|n| Command::PutSetting {
            key: format!("k{}", n % 4),
            value_json: "1".into(),
        })
        .collect();
    commands.push(create("fits", "a@x"));
    commands.push(create("late", "b@x"));
    let results = apply_group(&state, 2, commands);
    assert_eq!(results[results.len() - 2], applied(2));
    assert_eq!(
        results[results.len() - 1],
        rejected(Rejection::TooManyCreates {
            commands_max: 1 << 16
        })
    );
    assert!(state.record("c1", "fits").expect("read").is_some());
    assert!(state.record("c1", "late").expect("read").is_none());
}
