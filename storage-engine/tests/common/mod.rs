//! Helpers shared by the storage engine's integration tests.
#![allow(dead_code)]

use edgebase_storage::{
    ApplyEntry, CollectionDoc, CollectionExpect, Command, CommandResult, RecordExpect, StateMachine,
};

/// Apply `command` at `index`, with `last_applied` = the index as text.
pub fn apply(state: &StateMachine, index: u64, command: Command) -> CommandResult {
    state
        .apply(ApplyEntry {
            index,
            command: Some(command),
            last_applied: index.to_string().into_bytes(),
            membership: None,
        })
        .expect("apply")
        .expect("a command has a result")
        .into_one()
        .expect("not a group")
}

pub fn create_collection(id: &str, name: &str) -> Command {
    Command::PutCollection {
        collection: CollectionDoc {
            id: id.into(),
            name: name.into(),
            doc_json: format!(r#"{{"name":"{name}"}}"#),
        },
        expect: CollectionExpect::Absent,
    }
}

pub fn put_record(
    collection_id: &str,
    record_id: &str,
    doc: &str,
    expect: RecordExpect,
) -> Command {
    Command::PutRecord {
        collection_id: collection_id.into(),
        record_id: record_id.into(),
        doc_json: doc.into(),
        expect,
    }
}

/// Everything a reader can see, for comparing two state machines.
#[derive(Debug, PartialEq)]
pub struct Observed {
    collections: Vec<edgebase_storage::StoredCollection>,
    by_name: Vec<Option<edgebase_storage::StoredCollection>>,
    pages: Vec<Vec<edgebase_storage::StoredRecord>>,
    counts: Vec<u64>,
    records: Vec<Option<edgebase_storage::StoredRecord>>,
    settings: Vec<Option<String>>,
    applied: edgebase_storage::AppliedMeta,
}

pub fn observe(
    state: &StateMachine,
    collection_ids: &[&str],
    names: &[&str],
    record_ids: &[&str],
    settings: &[&str],
) -> Observed {
    let mut observed = Observed {
        collections: state.collections().expect("collections"),
        by_name: Vec::new(),
        pages: Vec::new(),
        counts: Vec::new(),
        records: Vec::new(),
        settings: Vec::new(),
        applied: state.applied().expect("applied"),
    };
    for name in names {
        observed
            .by_name
            .push(state.collection_by_name(name).expect("by name"));
    }
    for collection_id in collection_ids {
        observed
            .pages
            .push(state.records_page(collection_id, 0, 1000).expect("page"));
        observed
            .pages
            .push(state.records_page(collection_id, 1, 2).expect("page"));
        observed
            .counts
            .push(state.count_records(collection_id).expect("count"));
        for record_id in record_ids {
            observed
                .records
                .push(state.record(collection_id, record_id).expect("record"));
        }
    }
    for key in settings {
        observed.settings.push(state.setting(key).expect("setting"));
    }
    observed
}

/// A seed from `EDGEBASE_TEST_SEED`, else from the clock; printed so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("EDGEBASE_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: seed {seed} (replay with EDGEBASE_TEST_SEED={seed})");
    seed
}

/// One page of `collection_id` listed as a superuser would list it: the ids in order and the
/// total (when counted); an unusable filter or sort is an error's text.
pub fn list_ids(
    state: &StateMachine,
    collection_id: &str,
    filter_text: &str,
    sort_text: &str,
    offset: u64,
    limit: u64,
    total: edgebase_storage::query::TotalCount,
) -> Result<(Vec<String>, Option<u64>), String> {
    use edgebase_storage::query::{
        parse_filter, parse_sort, FilterAccess, FilterPart, ListRequest, RequestContext,
    };
    let filters = match parse_filter(filter_text).map_err(|error| error.to_string())? {
        Some(expr) => vec![FilterPart::new(expr, FilterAccess::Unrestricted)],
        None => Vec::new(),
    };
    let page = state
        .list_records(&ListRequest {
            collection_id: collection_id.into(),
            filters,
            sort: parse_sort(sort_text).map_err(|error| error.to_string())?,
            sort_access: FilterAccess::Unrestricted,
            offset,
            limit,
            total,
            context: RequestContext::at(1_795_000_000_000),
            records_examined_max: 10_000_000,
            random_seed: 0,
        })
        .map_err(|error| error.to_string())?;
    Ok((
        page.records.into_iter().map(|record| record.id).collect(),
        page.total,
    ))
}
