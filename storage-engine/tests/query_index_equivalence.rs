//! Property: a list served from a secondary index returns exactly what a full scan returns.
//! The same random records go into two collections, one with indexes and one without; random
//! filters (AND/OR chains of comparisons on indexed and plain fields, with literals of every
//! type, empties and nulls) and random sorts must give the same ids in the same order and the
//! same totals on both. Seeded: the seed is printed, `EDGEBASE_TEST_SEED` replays it.

mod common;

use common::{apply, list_ids};
use edgebase_storage::query::{parse_filter, parse_sort, TotalCount};
use edgebase_storage::{CollectionDoc, CollectionExpect, Command, RecordExpect, StateMachine};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const RECORDS: usize = 400;
const QUERIES: usize = 600;
const INDEXED: &str = "pbc_indexed";
const PLAIN: &str = "pbc_plain";

fn fields() -> Value {
    json!([
        {"id": "text3208210256", "name": "id", "type": "text", "primaryKey": true, "system": true},
        {"id": "t1", "name": "cat", "type": "text"},
        {"id": "t2", "name": "name", "type": "text"},
        {"id": "n1", "name": "n", "type": "number"},
        {"id": "n2", "name": "score", "type": "number"},
        {"id": "b1", "name": "flag", "type": "bool"},
        {"id": "d1", "name": "day", "type": "date"}
    ])
}

fn collection(id: &str, name: &str, indexes: Value) -> Command {
    let doc = json!({
        "id": id, "name": name, "type": "base", "listRule": "", "viewRule": "",
        "fields": fields(), "indexes": indexes,
    });
    Command::PutCollection {
        collection: CollectionDoc {
            id: id.into(),
            name: name.into(),
            doc_json: doc.to_string(),
        },
        expect: CollectionExpect::Absent,
    }
}

fn random_record(rng: &mut StdRng, position: usize) -> Value {
    let cats = ["a", "b", "c", "", "B", "a b"];
    let names = ["ann", "Ann", "bob", "", "zed", "ännie", "10", "2"];
    let day = format!(
        "2026-0{}-1{} 10:00:00.000Z",
        rng.gen_range(1..10),
        rng.gen_range(0..10)
    );
    let mut record = json!({
        "id": format!("rec{position:012}"),
        "cat": cats.choose(rng).copied().unwrap_or_default(),
        "name": names.choose(rng).copied().unwrap_or_default(),
        "n": rng.gen_range(-3..8),
        "score": (rng.gen_range(-50..50) as f64) / 4.0,
        "flag": rng.gen_bool(0.5),
        "day": if rng.gen_bool(0.2) { String::new() } else { day },
    });
    // Now and then a field is missing (a record written before the field existed): it
    // filters and sorts as the field's empty value.
    if rng.gen_bool(0.1) {
        let field = ["cat", "n", "score", "flag", "day"]
            .choose(rng)
            .copied()
            .unwrap_or("n");
        if let Some(fields) = record.as_object_mut() {
            fields.remove(field);
        }
    }
    record
}

fn literal(rng: &mut StdRng, field: &str) -> String {
    let texts = [
        "'a'", "'b'", "'B'", "''", "'ann'", "'Ann'", "'10'", "'2'", "null", "'zzz'",
    ];
    let numbers = [
        "0", "1", "3", "-2", "7.5", "2.25", "'3'", "null", "''", "true",
    ];
    let bools = ["true", "false", "1", "0", "null", "''", "'true'"];
    let days = [
        "'2026-03-15 10:00:00.000Z'",
        "'2026-05-10 10:00:00.000Z'",
        "''",
        "null",
        "'2026'",
    ];
    let pool: &[&str] = match field {
        "n" | "score" => &numbers,
        "flag" => &bools,
        "day" => &days,
        _ => &texts,
    };
    pool.choose(rng).copied().unwrap_or("''").to_string()
}

fn comparison(rng: &mut StdRng) -> String {
    let fields = ["cat", "name", "n", "score", "flag", "day", "id"];
    let operators = ["=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?>"];
    let field = fields.choose(rng).copied().unwrap_or("cat");
    let operator = operators.choose(rng).copied().unwrap_or("=");
    let value = if field == "id" {
        format!("'rec{:012}'", rng.gen_range(0..RECORDS))
    } else {
        literal(rng, field)
    };
    if rng.gen_bool(0.1) {
        format!("{value} {operator} {field}")
    } else {
        format!("{field} {operator} {value}")
    }
}

fn filter(rng: &mut StdRng) -> String {
    // No filter at all: a sort alone may be served from an index.
    if rng.gen_bool(0.1) {
        return String::new();
    }
    let mut text = comparison(rng);
    for _ in 0..rng.gen_range(0..4) {
        let joiner = if rng.gen_bool(0.8) { "&&" } else { "||" };
        text = format!("{text} {joiner} {}", comparison(rng));
    }
    if rng.gen_bool(0.1) {
        text = format!("({text}) && cat != 'c'");
    }
    text
}

fn sort(rng: &mut StdRng) -> String {
    let keys = [
        "cat", "-cat", "n", "-n", "name", "-name", "score", "-score", "day", "-day", "@rowid",
        "-@rowid",
    ];
    let count = rng.gen_range(0..3);
    (0..count)
        .map(|_| keys.choose(rng).copied().unwrap_or("cat"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn index_backed_lists_equal_full_scans_in_memory() {
    check_equivalence(StateMachine::in_memory(), "memory");
}

#[test]
fn index_backed_lists_equal_full_scans_on_rocksdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = edgebase_storage::Store::open(dir.path()).expect("open the store");
    check_equivalence(store.state(), "rocksdb");
}

fn check_equivalence(state: StateMachine, backend: &str) {
    let seed = std::env::var("EDGEBASE_TEST_SEED")
        .ok()
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or_else(rand::random);
    eprintln!(
        "query_index_equivalence ({backend}) seed {seed} (replay with EDGEBASE_TEST_SEED={seed})"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut index = 0;
    let mut next = || {
        index += 1;
        index
    };
    apply(
        &state,
        next(),
        collection(
            INDEXED,
            "indexed",
            json!([
                "CREATE INDEX idx_cat_n ON indexed (cat, n)",
                "CREATE INDEX idx_name ON indexed (name COLLATE NOCASE)",
                "CREATE INDEX idx_score ON indexed (score DESC)",
                "CREATE INDEX idx_flag_day ON indexed (flag, day)",
                "CREATE INDEX idx_n_partial ON indexed (n) WHERE cat != 'c'"
            ]),
        ),
    );
    apply(&state, next(), collection(PLAIN, "plain", json!([])));
    for position in 0..RECORDS {
        let record = random_record(&mut rng, position);
        let id = record["id"].as_str().unwrap_or_default().to_string();
        for collection_id in [INDEXED, PLAIN] {
            apply(
                &state,
                next(),
                Command::PutRecord {
                    collection_id: collection_id.into(),
                    record_id: id.clone(),
                    doc_json: record.to_string(),
                    expect: RecordExpect::Absent,
                },
            );
        }
    }
    // Updates and deletes, so index maintenance (old entries removed, new ones added) is
    // exercised before the queries.
    for _ in 0..RECORDS / 4 {
        let position = rng.gen_range(0..RECORDS);
        let record = random_record(&mut rng, position);
        let id = record["id"].as_str().unwrap_or_default().to_string();
        let delete = rng.gen_bool(0.3);
        if delete && state.record(PLAIN, &id).expect("read").is_none() {
            continue;
        }
        for collection_id in [INDEXED, PLAIN] {
            let command = if delete {
                Command::DeleteRecord {
                    collection_id: collection_id.into(),
                    record_id: id.clone(),
                    expect: RecordExpect::Exists,
                }
            } else {
                Command::PutRecord {
                    collection_id: collection_id.into(),
                    record_id: id.clone(),
                    doc_json: record.to_string(),
                    expect: RecordExpect::Exists,
                }
            };
            apply(&state, next(), command);
        }
    }
    let mut used_index = 0;
    let mut index_ordered = 0;
    for case in 0..QUERIES {
        let filter_text = filter(&mut rng);
        let sort_text = sort(&mut rng);
        let offset = if rng.gen_bool(0.3) {
            rng.gen_range(0..20)
        } else {
            0
        };
        let limit = if rng.gen_bool(0.3) {
            rng.gen_range(1..30)
        } else {
            1000
        };
        // Without a total, a list in an index's order reads the index only up to its page.
        let total = if rng.gen_bool(0.3) {
            TotalCount::Skip
        } else {
            TotalCount::Count
        };
        let indexed = list_ids(
            &state,
            INDEXED,
            &filter_text,
            &sort_text,
            offset,
            limit,
            total,
        );
        let plain = list_ids(
            &state,
            PLAIN,
            &filter_text,
            &sort_text,
            offset,
            limit,
            total,
        );
        assert_eq!(
            indexed, plain,
            "seed {seed}, case {case}: filter {filter_text:?} sort {sort_text:?} offset {offset} limit {limit} total {total:?}"
        );
        let expr = parse_filter(&filter_text).ok().flatten();
        let sort_keys = parse_sort(&sort_text).unwrap_or_default();
        if let Ok(plan) = state.explain_list(INDEXED, expr.as_ref(), &sort_keys, 1_000_000) {
            if plan.index.is_some() {
                used_index += 1;
            }
            if plan.sorted {
                index_ordered += 1;
            }
        }
    }
    eprintln!("{QUERIES} queries, {used_index} served from an index, {index_ordered} in its order");
    assert!(
        used_index > QUERIES / 10,
        "seed {seed}: only {used_index} of {QUERIES} queries used an index; the property was barely exercised"
    );
    assert!(
        index_ordered > QUERIES / 100,
        "seed {seed}: only {index_ordered} of {QUERIES} queries were served in an index's order"
    );
}
