//! The change feed: a listener hears every applied record change in log order, with the
//! document before and after, a batch's changes under its one index, the collections an
//! entry put or deleted, and nothing of an entry that was rejected.

mod common;

use std::sync::{Arc, Mutex};

use common::{apply, create_collection, put_record};
use edgebase_storage::{
    AppliedChanges, ChangeAction, ChangeListener, Command, CommandResult, RecordExpect,
    StateMachine,
};

#[derive(Default)]
struct Heard {
    applied: Mutex<Vec<AppliedChanges>>,
}

impl ChangeListener for Heard {
    fn applied(&self, changes: AppliedChanges) {
        self.applied.lock().expect("lock").push(changes);
    }

    fn jumped(&self, _index: u64) {}
}

/// One change as heard: record id, action, document before and after.
type HeardChange<'a> = (&'a str, ChangeAction, Option<&'a str>, Option<&'a str>);

#[test]
fn listeners_hear_applied_changes_in_order() {
    let state = StateMachine::in_memory();
    let heard = Arc::new(Heard::default());
    assert!(state.set_change_listener(heard.clone()));
    assert!(
        !state.set_change_listener(Arc::new(Heard::default())),
        "one listener"
    );

    apply(&state, 1, create_collection("c1", "posts"));
    apply(
        &state,
        2,
        put_record("c1", "r1", r#"{"title":"a"}"#, RecordExpect::Absent),
    );
    apply(
        &state,
        3,
        put_record("c1", "r1", r#"{"title":"b"}"#, RecordExpect::Exists),
    );
    // Rejected: r1 exists. Nothing is heard of it.
    let rejected = apply(
        &state,
        4,
        put_record("c1", "r1", r#"{"title":"c"}"#, RecordExpect::Absent),
    );
    assert!(
        matches!(rejected, CommandResult::Rejected(_)),
        "{rejected:?}"
    );
    apply(
        &state,
        5,
        Command::Batch(vec![
            put_record("c1", "r2", r#"{"title":"d"}"#, RecordExpect::Absent),
            Command::DeleteRecord {
                collection_id: "c1".into(),
                record_id: "r1".into(),
                expect: RecordExpect::Exists,
            },
        ]),
    );

    apply(
        &state,
        6,
        Command::DeleteCollection {
            collection_id: "c1".into(),
        },
    );
    // Rejected: c1 is gone. Nothing is heard of it.
    let rejected = apply(
        &state,
        7,
        Command::DeleteCollection {
            collection_id: "c1".into(),
        },
    );
    assert!(
        matches!(rejected, CommandResult::Rejected(_)),
        "{rejected:?}"
    );

    let heard = heard.applied.lock().expect("lock");
    let collections: Vec<(u64, Vec<&str>)> = heard
        .iter()
        .filter(|entry| !entry.collections.is_empty())
        .map(|entry| {
            (
                entry.index,
                entry.collections.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(collections, vec![(1, vec!["c1"]), (6, vec!["c1"])]);
    let summary: Vec<(u64, Vec<HeardChange<'_>>)> = heard
        .iter()
        .map(|entry| {
            let changes = entry
                .changes
                .iter()
                .map(|c| {
                    (
                        c.record_id.as_str(),
                        c.action,
                        c.before.as_deref(),
                        c.after.as_deref(),
                    )
                })
                .collect();
            (entry.index, changes)
        })
        .filter(|(_, changes): &(u64, Vec<HeardChange<'_>>)| !changes.is_empty())
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                2,
                vec![("r1", ChangeAction::Create, None, Some(r#"{"title":"a"}"#))]
            ),
            (
                3,
                vec![(
                    "r1",
                    ChangeAction::Update,
                    Some(r#"{"title":"a"}"#),
                    Some(r#"{"title":"b"}"#)
                )]
            ),
            (
                5,
                vec![
                    ("r2", ChangeAction::Create, None, Some(r#"{"title":"d"}"#)),
                    ("r1", ChangeAction::Delete, Some(r#"{"title":"b"}"#), None),
                ]
            ),
        ]
    );
}
