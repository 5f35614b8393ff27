//! The list query against answers read off PocketBase 0.40.6: `query_cases/probe.py` built
//! the dataset in a real PocketBase, ran every case of `query_cases/cases.tsv` and wrote
//! `expected.tsv`; here the same data goes into an in-memory state machine and every case
//! must give the same ids (as a set for filters, in order for sorts) or a 400-class error.

mod common;

use common::apply;
use edgebase_storage::query::{
    parse_filter, parse_sort, FilterPart, HiddenFields, ListRequest, QueryError, RequestContext,
    TotalCount,
};
use edgebase_storage::{CollectionDoc, CollectionExpect, Command, RecordExpect, StateMachine};
use serde_json::{json, Value};

const STORED: &str = include_str!("query_cases/stored.json");
const EXPECTED: &str = include_str!("query_cases/expected.tsv");

/// The time the cases were probed at is irrelevant to them: every macro case holds for any
/// date after the dataset's (2026-11-21 here).
const NOW_UNIX_MS: i64 = 1_795_000_000_000;

fn load() -> StateMachine {
    let state = StateMachine::in_memory();
    let stored: Value = serde_json::from_str(STORED).expect("stored.json");
    let mut index = 0;
    let mut next = || {
        index += 1;
        index
    };
    for collection in stored["collections"].as_array().expect("collections") {
        let id = collection["id"].as_str().expect("id").to_string();
        let name = collection["name"].as_str().expect("name").to_string();
        apply(
            &state,
            next(),
            Command::PutCollection {
                collection: CollectionDoc {
                    id,
                    name,
                    doc_json: collection.to_string(),
                },
                expect: CollectionExpect::Absent,
            },
        );
    }
    for collection in stored["collections"].as_array().expect("collections") {
        let id = collection["id"].as_str().expect("id");
        let name = collection["name"].as_str().expect("name");
        for record in stored["records"][name].as_array().expect("records") {
            apply(
                &state,
                next(),
                Command::PutRecord {
                    collection_id: id.into(),
                    record_id: record["id"].as_str().expect("record id").into(),
                    doc_json: record.to_string(),
                    expect: RecordExpect::Absent,
                },
            );
        }
    }
    state
}

fn superuser_context() -> RequestContext {
    let mut context = RequestContext::at(NOW_UNIX_MS);
    context.auth = json!({
        "id": "ne068dyu0t5irl8",
        "collectionId": "pbc_3142635823",
        "collectionName": "_superusers",
        "email": "admin@example.com",
    })
    .as_object()
    .cloned();
    context.query = json!({"perPage": "500", "filter": ""})
        .as_object()
        .cloned()
        .unwrap_or_default();
    context
}

fn short(id: &str) -> String {
    let digits = id[1..].trim_start_matches('0');
    format!("{}{}", &id[..1], digits)
}

fn run(
    state: &StateMachine,
    collection: &str,
    filter: &str,
    sort: &str,
) -> Result<Vec<String>, QueryError> {
    let collection_id = state
        .collection_by_name(collection)
        .expect("read")
        .expect("collection")
        .id;
    let mut filters = Vec::new();
    if let Some(expr) = parse_filter(filter)? {
        filters.push(FilterPart {
            expr,
            hidden: HiddenFields::Allow,
        });
    }
    let request = ListRequest {
        collection_id,
        filters,
        sort: parse_sort(sort)?,
        sort_hidden: HiddenFields::Allow,
        offset: 0,
        limit: 500,
        total: TotalCount::Count,
        context: superuser_context(),
        records_examined_max: 100_000,
        random_seed: 7,
    };
    let page = state.list_records(&request)?;
    assert_eq!(page.total, Some(page.records.len() as u64));
    Ok(page
        .records
        .iter()
        .map(|record| short(&record.id))
        .collect())
}

#[test]
fn filters_and_sorts_match_pocketbase() {
    let state = load();
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in EXPECTED.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [collection, filter, sort, expected] = columns[..] else {
            panic!("bad line {line:?}");
        };
        cases += 1;
        let got = run(&state, collection, filter, sort);
        let ok = match (expected.strip_prefix("ids "), &got) {
            (Some(ids), Ok(got)) => {
                let mut want: Vec<String> = ids
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                let mut got = got.clone();
                // Filters compare as sets (PocketBase's DISTINCT over joins has no fixed order);
                // sorts compare in order, except `@random`.
                if sort.is_empty() || sort.contains("@random") {
                    want.sort();
                    got.sort();
                }
                want == got
            }
            (None, Err(error)) => expected.starts_with("error 400") && error.is_bad_request(),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{collection} | {filter} | {sort}: want {expected}, got {got:?}"
            ));
        }
    }
    assert!(cases >= 300, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
