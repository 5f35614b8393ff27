//! The planner against a plain evaluation: on seeded random records and random AND-chains
//! over indexed fields, the candidates always contain every record a reference matcher
//! accepts, and a plan that claims the sort order keeps it. Also: a snapshot of a RocksDB
//! state keeps its indexes usable.

mod common;

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use common::{apply, put_record, seed};
use edgebase_storage::query::plan::{candidates, explain, Candidates};
use edgebase_storage::query::{parse_filter, SortKey, SortTarget};
use edgebase_storage::schema::CollectionSchema;
use edgebase_storage::{
    CollectionDoc, CollectionExpect, Command, KvBackend, MemoryBackend, RecordExpect, StateMachine,
    Store,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RECORDS: usize = 150;
const QUERIES: usize = 1500;

fn collection_doc() -> String {
    serde_json::json!({
        "id": "c1", "name": "posts", "type": "base",
        "fields": [
            {"id": "f1", "name": "title", "type": "text"},
            {"id": "f2", "name": "n", "type": "number"},
            {"id": "f3", "name": "on", "type": "bool"},
            {"id": "f4", "name": "day", "type": "date"},
            {"id": "f5", "name": "tag", "type": "select", "maxSelect": 1},
        ],
        "indexes": [
            "CREATE INDEX idx_title ON posts (title)",
            "CREATE INDEX idx_n_day ON posts (n, day)",
            "CREATE INDEX idx_on_n ON posts (`on`, n DESC)",
            "CREATE INDEX idx_tag ON posts (tag COLLATE NOCASE, title)",
            "CREATE INDEX idx_part ON posts (day) WHERE n > 2",
        ],
    })
    .to_string()
}

fn create() -> Command {
    Command::PutCollection {
        collection: CollectionDoc {
            id: "c1".into(),
            name: "posts".into(),
            doc_json: collection_doc(),
        },
        expect: CollectionExpect::Absent,
    }
}

const TEXTS: &[&str] = &["", "a", "A", "b", "ab", "B", "c", "5", "x_y"];
const DAYS: &[&str] = &[
    "",
    "2024-01-01 00:00:00.000Z",
    "2024-06-01 10:00:00.000Z",
    "2025-01-01 00:00:00.000Z",
];

/// A record; each field is sometimes missing (as if stored before the field existed).
fn random_record(rng: &mut StdRng) -> serde_json::Value {
    let mut record = serde_json::Map::new();
    if rng.gen_bool(0.9) {
        record.insert("title".into(), TEXTS[rng.gen_range(0..TEXTS.len())].into());
    }
    if rng.gen_bool(0.9) {
        let n = [-2.5, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 10.0][rng.gen_range(0..8)];
        record.insert("n".into(), serde_json::json!(n));
    }
    if rng.gen_bool(0.9) {
        record.insert("on".into(), rng.gen_bool(0.5).into());
    }
    if rng.gen_bool(0.9) {
        record.insert("day".into(), DAYS[rng.gen_range(0..DAYS.len())].into());
    }
    if rng.gen_bool(0.9) {
        record.insert("tag".into(), TEXTS[rng.gen_range(0..TEXTS.len())].into());
    }
    serde_json::Value::Object(record)
}

fn random_literal(rng: &mut StdRng, field: &str) -> String {
    // Mostly the field's own type, sometimes another, null or ''.
    match rng.gen_range(0..10) {
        0 => "null".into(),
        1 => "''".into(),
        2 => format!("'{}'", rng.gen_range(-2..6)),
        3 => format!("{}", rng.gen_range(-2..6)),
        4 => ["true", "false"][rng.gen_range(0..2)].into(),
        _ => match field {
            "n" => format!(
                "{}",
                [-2.5, -1.0, 0.0, 1.0, 2.0, 3.0, 4.5, 10.0][rng.gen_range(0..8)]
            ),
            "on" => ["true", "false"][rng.gen_range(0..2)].into(),
            "day" => format!("'{}'", DAYS[rng.gen_range(0..DAYS.len())]),
            _ => format!("'{}'", TEXTS[rng.gen_range(0..TEXTS.len())]),
        },
    }
}

const FIELDS: &[&str] = &["title", "n", "on", "day", "tag", "id"];
const OPERATORS: &[&str] = &["=", "!=", ">", ">=", "<", "<=", "~", "!~"];

fn random_comparison(rng: &mut StdRng) -> String {
    let field = FIELDS[rng.gen_range(0..FIELDS.len())];
    let op = OPERATORS[rng.gen_range(0..OPERATORS.len())];
    let literal = random_literal(rng, field);
    if rng.gen_bool(0.15) {
        format!("{literal} {op} {field}")
    } else {
        format!("{field} {op} {literal}")
    }
}

fn random_filter(rng: &mut StdRng) -> String {
    let terms: Vec<String> = (0..rng.gen_range(1..5))
        .map(|_| {
            if rng.gen_bool(0.15) {
                format!("({} || {})", random_comparison(rng), random_comparison(rng))
            } else {
                random_comparison(rng)
            }
        })
        .collect();
    terms.join(" && ")
}

fn random_sort(rng: &mut StdRng) -> Vec<SortKey> {
    (0..rng.gen_range(0..3))
        .map(|_| SortKey {
            target: SortTarget::Field(vec![FIELDS[rng.gen_range(0..5)].to_owned()]),
            descending: rng.gen_bool(0.5),
        })
        .collect()
}

/// A record field's value as PocketBase's column would hold it: missing fields read as the
/// type's empty value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Number(f64),
    Text(String),
}

fn field_value(id: &str, record: &serde_json::Value, field: &str) -> Value {
    if field == "id" {
        return Value::Text(id.to_owned());
    }
    match (field, record.get(field)) {
        ("n", Some(n)) => Value::Number(n.as_f64().expect("number")),
        ("n", None) => Value::Number(0.0),
        ("on", Some(flag)) => Value::Number(f64::from(u8::from(flag.as_bool().expect("bool")))),
        ("on", None) => Value::Number(0.0),
        (_, Some(text)) => Value::Text(text.as_str().expect("text").to_owned()),
        (_, None) => Value::Text(String::new()),
    }
}

/// A literal under the column's affinity (numeric columns read numeric text as numbers).
fn literal_value(field: &str, literal: &str) -> Option<Value> {
    let numeric = matches!(field, "n" | "on");
    if literal == "null" {
        return None;
    }
    let quoted = literal
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''));
    Some(match (quoted, numeric) {
        (Some(text), true) => text
            .parse::<f64>()
            .map(Value::Number)
            .unwrap_or_else(|_| Value::Text(text.to_owned())),
        (Some(text), false) => Value::Text(text.to_owned()),
        (None, true) => match literal {
            "true" => Value::Number(1.0),
            "false" => Value::Number(0.0),
            number => Value::Number(
                number
                    .parse()
                    .unwrap_or_else(|_| panic!("number literal {number}")),
            ),
        },
        (None, false) => match literal {
            "true" => Value::Text("1".into()),
            "false" => Value::Text("0".into()),
            number => {
                let number: f64 = number
                    .parse()
                    .unwrap_or_else(|_| panic!("number literal {number}"));
                Value::Text(format!("{number}"))
            }
        },
    })
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.partial_cmp(b).expect("no NaN"),
        (Value::Number(_), Value::Text(_)) => Ordering::Less,
        (Value::Text(_), Value::Number(_)) => Ordering::Greater,
        (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
    }
}

/// The reference matcher for one comparison `field op literal` (or reversed).
fn comparison_matches(id: &str, record: &serde_json::Value, text: &str) -> bool {
    // Literals may hold spaces; the field side never does.
    let forward: Vec<&str> = text.splitn(3, ' ').collect();
    let (field, op, literal, reversed) = if FIELDS.contains(&forward[0]) {
        (forward[0], forward[1], forward[2], false)
    } else {
        let backward: Vec<&str> = text.rsplitn(3, ' ').collect();
        (backward[0], backward[1], backward[2], true)
    };
    let value = field_value(id, record, field);
    let Some(literal) = literal_value(field, literal) else {
        // `= null` means "is empty" in PocketBase; no narrowing depends on it.
        let empty = matches!(&value, Value::Text(t) if t.is_empty()) || value == Value::Number(0.0);
        return match op {
            "=" => empty,
            "!=" => !empty,
            _ => false,
        };
    };
    let (a, b) = if reversed {
        (&literal, &value)
    } else {
        (&value, &literal)
    };
    let order = compare(a, b);
    match op {
        "=" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        ">" => order == Ordering::Greater,
        ">=" => order != Ordering::Less,
        "<" => order == Ordering::Less,
        "<=" => order != Ordering::Greater,
        "~" | "!~" => {
            let (Value::Text(haystack), Value::Text(needle)) = (a, b) else {
                return op == "!~";
            };
            haystack.contains(needle.as_str()) == (op == "~")
        }
        other => panic!("operator {other}"),
    }
}

fn filter_matches(id: &str, record: &serde_json::Value, filter: &str) -> bool {
    filter
        .split(" && ")
        .all(|term| match term.strip_prefix('(') {
            Some(inner) => inner
                .trim_end_matches(')')
                .split(" || ")
                .any(|part| comparison_matches(id, record, part)),
            None => comparison_matches(id, record, term),
        })
}

fn fill(state: &StateMachine, rng: &mut StdRng) -> Vec<(String, serde_json::Value)> {
    apply(state, 1, create());
    let mut records = Vec::new();
    for position in 0..RECORDS {
        let id = format!("r{position:03}");
        let record = random_record(rng);
        apply(
            state,
            2 + position as u64,
            put_record("c1", &id, &record.to_string(), RecordExpect::Absent),
        );
        records.push((id, record));
    }
    // Rewrite a third of them so old entries must have been replaced.
    for position in (0..RECORDS).step_by(3) {
        let (id, record) = &mut records[position];
        *record = random_record(rng);
        let index = 1000 + position as u64;
        apply(
            state,
            index,
            put_record("c1", id, &record.to_string(), RecordExpect::Exists),
        );
    }
    records
}

#[test]
fn candidates_contain_every_match() {
    let seed = seed("candidates_contain_every_match");
    let mut rng = StdRng::seed_from_u64(seed);
    let backend = Arc::new(MemoryBackend::new());
    let state = StateMachine::with_backend(backend.clone());
    let records = fill(&state, &mut rng);
    let schema = CollectionSchema::from_doc_json(&collection_doc()).expect("schema");
    let view = backend.view().expect("view");
    let (mut narrowed, mut sorted_plans, mut exact_plans) = (0, 0, 0);
    for query in 0..QUERIES {
        let filter_text = random_filter(&mut rng);
        let filter = parse_filter(&filter_text).expect("parse");
        let sort = random_sort(&mut rng);
        let context = format!("seed {seed}, query {query}: {filter_text} sort {sort:?}");
        let planned = candidates(&*view, &schema, filter.as_ref(), &sort, RECORDS).expect("plan");
        let Candidates::Ids {
            ids, sorted, exact, ..
        } = planned
        else {
            continue;
        };
        narrowed += 1;
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{context}: repeated ids");
        let matches: Vec<&(String, serde_json::Value)> = records
            .iter()
            .filter(|(id, record)| filter_matches(id, record, &filter_text))
            .collect();
        for (id, record) in &matches {
            assert!(unique.contains(id), "{context}: missed {id} {record}");
        }
        if exact {
            exact_plans += 1;
            assert_eq!(
                ids.len(),
                matches.len(),
                "{context}: an exact plan gave more than the matches"
            );
        }
        if sorted {
            sorted_plans += 1;
            let in_order: Vec<&(String, serde_json::Value)> = ids
                .iter()
                .filter_map(|id| matches.iter().find(|(match_id, _)| match_id == id).copied())
                .collect();
            for pair in in_order.windows(2) {
                let order = sort
                    .iter()
                    .map(|key| {
                        let SortTarget::Field(path) = &key.target else {
                            panic!("field sort")
                        };
                        let a = field_value(&pair[0].0, &pair[0].1, &path[0]);
                        let b = field_value(&pair[1].0, &pair[1].1, &path[0]);
                        let order = compare(&a, &b);
                        if key.descending {
                            order.reverse()
                        } else {
                            order
                        }
                    })
                    .find(|order| *order != Ordering::Equal)
                    .unwrap_or(Ordering::Equal);
                assert_ne!(order, Ordering::Greater, "{context}: out of order {pair:?}");
            }
        }
    }
    eprintln!(
        "seed {seed}: {narrowed} of {QUERIES} plans used an index, {sorted_plans} sorted, \
         {exact_plans} exact"
    );
    assert!(exact_plans > 0, "seed {seed}: no exact plan to check");
    assert!(
        narrowed > QUERIES / 5,
        "seed {seed}: only {narrowed} plans used an index"
    );
}

#[test]
fn plans_cases() {
    let backend = Arc::new(MemoryBackend::new());
    let state = StateMachine::with_backend(backend.clone());
    apply(&state, 1, create());
    let docs = [
        r#"{"title":"a","n":1,"on":true,"day":"2024-01-01","tag":"X"}"#,
        r#"{"title":"b","n":2,"on":false,"day":"2024-02-01","tag":"x"}"#,
        r#"{"title":"c","n":3,"on":true,"day":"2024-03-01","tag":"y"}"#,
    ];
    for (position, doc) in docs.iter().enumerate() {
        let id = format!("r{position}");
        apply(
            &state,
            2 + position as u64,
            put_record("c1", &id, doc, RecordExpect::Absent),
        );
    }
    let schema = CollectionSchema::from_doc_json(&collection_doc()).expect("schema");
    let view = backend.view().expect("view");
    let check =
        |filter: &str, sort: &str, limit: usize, expected: (Option<&str>, Option<usize>, bool)| {
            let filter_expr = parse_filter(filter).expect("filter");
            let sort: Vec<SortKey> = sort
                .split(',')
                .filter(|key| !key.is_empty())
                .map(|key| SortKey {
                    target: SortTarget::Field(vec![key.trim_start_matches('-').to_owned()]),
                    descending: key.starts_with('-'),
                })
                .collect();
            let plan = explain(&*view, &schema, filter_expr.as_ref(), &sort, limit).expect("plan");
            assert_eq!(
                (plan.index.as_deref(), plan.candidates, plan.sorted),
                expected,
                "{filter} sort {sort:?}: {plan:?}"
            );
        };
    check("title = 'b'", "", 100, (Some("idx_title"), Some(1), false));
    check("'b' = title", "", 100, (Some("idx_title"), Some(1), false));
    check(
        "title > 'a'",
        "title",
        100,
        (Some("idx_title"), Some(2), true),
    );
    check(
        "title > 'a'",
        "-title",
        100,
        (Some("idx_title"), Some(2), true),
    );
    check(
        "n = 2 && day >= '2024-02-01'",
        "",
        100,
        (Some("idx_n_day"), Some(1), false),
    );
    check("n >= 2", "n", 100, (Some("idx_n_day"), Some(2), true));
    check("on = true", "-n", 100, (Some("idx_on_n"), Some(2), true));
    check("tag = 'x'", "title", 100, (Some("idx_tag"), Some(2), true));
    check("", "title", 100, (Some("idx_title"), Some(3), true));
    check("", "title", 2, (None, None, false));
    // Empty values are indexed like PocketBase's column defaults.
    check("title = ''", "", 100, (Some("idx_title"), Some(0), false));
    check("n = 0", "", 100, (Some("idx_n_day"), Some(0), false));
    check("on = false", "", 100, (Some("idx_on_n"), Some(1), false));
    check("n > -1", "", 100, (Some("idx_n_day"), Some(3), false));
    // Fallbacks: OR at the top, any-of, modifiers, relation paths, type mismatches, empty
    // values, NOCASE ranges, partial indexes, @request operands.
    for filter in [
        "title = 'a' || n = 1",
        "title ?= 'a'",
        "title:lower = 'a'",
        "author.name = 'a'",
        "n = '5'",
        "tag > 'a'",
        "day = '2024-01-01'",
        "title = @request.auth.id",
        "title ~ 'a'",
        "title != 'a'",
    ] {
        check(filter, "", 100, (None, None, false));
    }
}

#[test]
fn a_snapshot_keeps_indexes_usable() {
    let seed = seed("a_snapshot_keeps_indexes_usable");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("rocks")).expect("open");
    let memory_backend = Arc::new(MemoryBackend::new());
    let memory = StateMachine::with_backend(memory_backend.clone());
    fill(&store.state(), &mut StdRng::seed_from_u64(seed));
    fill(&memory, &mut StdRng::seed_from_u64(seed));
    let path = dir.path().join("snap");
    store.state().build_snapshot(&path).expect("build");
    let installed_backend = Arc::new(MemoryBackend::new());
    let installed = StateMachine::with_backend(installed_backend.clone());
    installed.install_snapshot(&path).expect("install");
    // Same keys as a state that applied the same entries, index entries included.
    assert_eq!(
        installed_backend.dump().expect("dump"),
        memory_backend.dump().expect("dump"),
        "seed {seed}"
    );
    let schema = CollectionSchema::from_doc_json(&collection_doc()).expect("schema");
    let view = installed_backend.view().expect("view");
    let filter = parse_filter("n >= 1").expect("filter");
    let plan = explain(&*view, &schema, filter.as_ref(), &[], RECORDS).expect("plan");
    assert_eq!(plan.index.as_deref(), Some("idx_n_day"), "seed {seed}");
    // A memory view holds the state's lock: drop it before applying.
    drop(view);
    // The installed state enforces and maintains the same way.
    let put = put_record("c1", "new", r#"{"n":7}"#, RecordExpect::Absent);
    apply(&installed, 5000, put);
    let filter = parse_filter("n = 7").expect("filter");
    let candidates = candidates(
        &*installed_backend.view().expect("view"),
        &schema,
        filter.as_ref(),
        &[],
        RECORDS,
    )
    .expect("plan");
    assert!(
        matches!(&candidates, Candidates::Ids { ids, .. } if ids.contains(&"new".to_owned())),
        "seed {seed}: {candidates:?}"
    );
}
