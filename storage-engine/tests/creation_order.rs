//! Creation order inside one entry (`index << 16 | position`): an entry whose creates fit in
//! 16 bits of position keeps them in order; one with a create past them is rejected whole,
//! deterministically, instead of wrapping around and reordering silently.

mod common;

use common::{apply, create_collection, put_record};
use edgebase_storage::{Command, CommandResult, RecordExpect, Rejection, StateMachine};

/// Positions one entry can give its creates (the low 16 bits of creation order).
const POSITIONS: usize = 1 << 16;

fn check_record(record_id: &str) -> Command {
    Command::CheckRecord {
        collection_id: "c1".into(),
        record_id: record_id.into(),
        expect: RecordExpect::Absent,
    }
}

fn create(number: usize) -> Command {
    put_record("c1", &format!("r{number:06}"), "{}", RecordExpect::Absent)
}

#[test]
fn creates_past_the_order_bound_reject_the_whole_entry() {
    let too_many = rejected(Rejection::TooManyCreates {
        commands_max: POSITIONS as u64,
    });
    // (what, commands before the creates that write nothing, creates, expected)
    let cases: &[(&str, usize, usize, Option<CommandResult>)] = &[
        ("every position taken by a create", 0, POSITIONS, None),
        (
            "one create too many",
            0,
            POSITIONS + 1,
            Some(too_many.clone()),
        ),
        (
            "checks push the last create past",
            POSITIONS,
            1,
            Some(too_many),
        ),
        ("checks alone past the bound", POSITIONS + 5, 0, None),
    ];
    for (what, checks, creates, expected) in cases {
        let state = StateMachine::in_memory();
        let created = apply(&state, 1, create_collection("c1", "posts"));
        assert!(
            matches!(created, CommandResult::Applied { .. }),
            "{created:?}"
        );
        let mut commands: Vec<Command> = (0..*checks)
            .map(|number| check_record(&format!("missing{number}")))
            .collect();
        commands.extend((0..*creates).map(create));
        let result = apply(&state, 2, Command::Batch(commands));
        let expected = expected
            .clone()
            .unwrap_or(CommandResult::Applied { version: 2 });
        assert_eq!(result, expected, "{what}");
        let count = state.count_records("c1").expect("count");
        if matches!(expected, CommandResult::Rejected(_)) {
            assert_eq!(count, 0, "{what}: a rejected entry wrote records");
            continue;
        }
        assert_eq!(count, *creates as u64, "{what}");
        // Creation order is the order of the creates in the entry, first to last.
        let expected_ids: Vec<String> = (0..*creates).map(|n| format!("r{n:06}")).collect();
        assert_eq!(ids_in_creation_order(&state, count), expected_ids, "{what}");
    }
}

fn ids_in_creation_order(state: &StateMachine, count: u64) -> Vec<String> {
    const PAGE: u64 = 1000;
    let mut ids = Vec::new();
    for offset in (0..count).step_by(PAGE as usize) {
        let page = state.records_page("c1", offset, PAGE).expect("page");
        ids.extend(page.into_iter().map(|record| record.id));
    }
    ids
}

fn rejected(rejection: Rejection) -> CommandResult {
    CommandResult::Rejected(rejection)
}

#[test]
fn the_rejection_says_what_and_the_bound() {
    let text = Rejection::TooManyCreates {
        commands_max: POSITIONS as u64,
    }
    .to_string();
    assert!(
        text.contains("creation order") && text.contains("65536"),
        "{text}"
    );
}
