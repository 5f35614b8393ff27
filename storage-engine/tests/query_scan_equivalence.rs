//! Property: the fast paths of a full scan return exactly what the plain evaluation returns.
//! A `~` term at the top of a filter lets the scan skip records whose stored bytes cannot
//! match, and a scan that counts or sorts reads records in key order and puts the matches in
//! creation order after. Each random filter is compared with the same filter behind an `||`
//! that never holds (an OR is one opaque term: no byte test) and with `skipTotal` (the
//! creation-order scan that stops at a full page): same ids, same order, same totals. The
//! records' texts mix cases, quotes, backslashes, wildcards, newlines and non-ASCII.
//! Seeded: the seed is printed, `EDGEBASE_TEST_SEED` replays it.

mod common;

use common::{apply, list_ids};
use edgebase_storage::query::TotalCount;
use edgebase_storage::{CollectionDoc, CollectionExpect, Command, RecordExpect, StateMachine};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

const RECORDS: usize = 300;
const QUERIES: usize = 400;
const COLLECTION: &str = "pbc_notes";
/// Characters the texts and patterns are made of.
const ALPHABET: &[&str] = &[
    "a", "A", "b", "B", "ab", "Ab", "c", " ", "\"", "\\", "%", "_", "é", "É", "\n", "1", "/",
];

fn text(rng: &mut StdRng, max: usize) -> String {
    (0..rng.gen_range(0..=max))
        .map(|_| *ALPHABET.choose(rng).expect("alphabet"))
        .collect()
}

/// A filter literal in single quotes (PocketBase's filter strings escape `'` and `\`).
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn term(rng: &mut StdRng) -> String {
    let field = ["title", "body", "tags", "n"]
        .choose(rng)
        .copied()
        .unwrap_or("title");
    match rng.gen_range(0..10) {
        0 => format!("{field} !~ {}", quoted(&text(rng, 3))),
        1 => format!("n > {}", rng.gen_range(0..5)),
        2 => format!("{field} ?~ {}", quoted(&text(rng, 3))),
        _ => format!("{field} ~ {}", quoted(&text(rng, 4))),
    }
}

fn list(
    state: &StateMachine,
    filter_text: &str,
    sort_text: &str,
    offset: u64,
    total: TotalCount,
) -> Result<(Vec<String>, Option<u64>), String> {
    list_ids(state, COLLECTION, filter_text, sort_text, offset, 7, total)
}

#[test]
fn fast_scans_equal_plain_evaluation_in_memory() {
    check(StateMachine::in_memory(), "memory");
}

#[test]
fn fast_scans_equal_plain_evaluation_on_rocksdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = edgebase_storage::Store::open(dir.path()).expect("open the store");
    check(store.state(), "rocksdb");
}

fn check(state: StateMachine, backend: &str) {
    let seed = std::env::var("EDGEBASE_TEST_SEED")
        .ok()
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or_else(rand::random);
    eprintln!(
        "query_scan_equivalence ({backend}) seed {seed} (replay with EDGEBASE_TEST_SEED={seed})"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let doc = json!({
        "id": COLLECTION, "name": "notes", "type": "base", "listRule": "", "viewRule": "",
        "fields": [
            {"id": "text3208210256", "name": "id", "type": "text", "primaryKey": true, "system": true},
            {"id": "t1", "name": "title", "type": "text"},
            {"id": "e1", "name": "body", "type": "editor"},
            {"id": "s1", "name": "tags", "type": "select", "maxSelect": 3,
             "values": ["a", "A b", "\"q\"", "é%"]},
            {"id": "n1", "name": "n", "type": "number"}
        ],
    });
    let mut index = 1;
    apply(
        &state,
        index,
        Command::PutCollection {
            collection: CollectionDoc {
                id: COLLECTION.into(),
                name: "notes".into(),
                doc_json: doc.to_string(),
            },
            expect: CollectionExpect::Absent,
        },
    );
    // Ids in an order unrelated to creation order, so key order and creation order differ.
    let mut ids: Vec<usize> = (0..RECORDS).collect();
    ids.shuffle(&mut rng);
    for id in ids {
        index += 1;
        let tags: Vec<&str> = ["a", "A b", "\"q\"", "é%"]
            .into_iter()
            .filter(|_| rng.gen_bool(0.3))
            .collect();
        let record = json!({
            "id": format!("n{id:014}"),
            "title": text(&mut rng, 6),
            "body": text(&mut rng, 10),
            "tags": tags,
            "n": rng.gen_range(0..6),
        });
        apply(
            &state,
            index,
            Command::PutRecord {
                collection_id: COLLECTION.into(),
                record_id: format!("n{id:014}"),
                doc_json: record.to_string(),
                expect: RecordExpect::Absent,
            },
        );
    }

    let mut compared = 0;
    for query in 0..QUERIES {
        let mut filter = term(&mut rng);
        for _ in 0..rng.gen_range(0..3) {
            filter = format!("{filter} && {}", term(&mut rng));
        }
        let sort = ["", "", "title", "-n", "@rowid", "-@rowid"]
            .choose(&mut rng)
            .copied()
            .unwrap_or("");
        let offset = rng.gen_range(0..4);
        let fast = list(&state, &filter, sort, offset, TotalCount::Count);
        let plain = list(
            &state,
            &format!("({filter}) || n = 'never'"),
            sort,
            offset,
            TotalCount::Count,
        );
        assert_eq!(
            fast, plain,
            "query {query}: {filter:?} sort {sort:?} offset {offset}"
        );
        if sort.is_empty() {
            let skipping =
                list(&state, &filter, sort, offset, TotalCount::Skip).map(|(ids, _)| ids);
            assert_eq!(
                skipping,
                plain.map(|(ids, _)| ids),
                "query {query} with skipTotal: {filter:?} offset {offset}"
            );
        }
        compared += 1;
    }
    eprintln!("{compared} queries compared");
}
