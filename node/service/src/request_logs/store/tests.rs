use edgebase_storage::query::{parse_filter, parse_sort, FilterAccess};
use edgebase_storage::{FilterPart, ListRequest, RequestContext, TotalCount};
use serde_json::{json, Map, Value};

use super::LogStore;
use crate::request_logs::LogEntry;

fn entry(id: &str, created: &str, level: i64, status: i64) -> LogEntry {
    let data: Map<String, Value> = json!({"type": "request", "status": status, "method": "GET"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    LogEntry {
        id: id.into(),
        created: created.into(),
        level,
        message: format!("GET /api/{id}"),
        data,
    }
}

fn filter(text: &str) -> FilterPart {
    FilterPart::new(
        parse_filter(text).unwrap().unwrap(),
        FilterAccess::Unrestricted,
    )
}

fn ids(store: &LogStore, filters: Vec<FilterPart>, sort: &str) -> (Vec<String>, Option<u64>) {
    let page = store
        .list(ListRequest {
            sort: parse_sort(sort).unwrap(),
            total: TotalCount::Count,
            ..ListRequest::matching(String::new(), filters, 100, RequestContext::at(0), 10_000)
        })
        .unwrap();
    (
        page.records.into_iter().map(|record| record.id).collect(),
        page.total,
    )
}

fn sample() -> LogStore {
    let store = LogStore::in_memory().unwrap();
    store
        .append(vec![
            entry("a", "2026-12-07 10:05:00.000Z", 0, 200),
            entry("b", "2026-12-07 10:59:59.999Z", 8, 404),
            entry("c", "2026-12-07 12:00:00.000Z", 0, 201),
        ])
        .unwrap();
    store
        .append(vec![entry("d", "2026-12-07 12:30:00.000Z", 8, 500)])
        .unwrap();
    store
}

#[test]
fn lists_filter_on_data_paths_and_sort() {
    let store = sample();
    assert_eq!(
        ids(&store, vec![], ""),
        (
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
            Some(4)
        )
    );
    assert_eq!(
        ids(&store, vec![filter("data.status >= 400")], "-@rowid"),
        (vec!["d".into(), "b".into()], Some(2))
    );
    assert_eq!(
        ids(&store, vec![filter("level = 0 && message ~ 'api/c'")], ""),
        (vec!["c".into()], Some(1))
    );
    assert_eq!(store.count().unwrap(), 4);
}

#[test]
fn shows_pocketbase_shape() {
    let store = sample();
    let shown = Value::Object(store.get("b").unwrap().unwrap());
    assert_eq!(
        shown,
        json!({
            "id": "b", "created": "2026-12-07 10:59:59.999Z",
            "data": {"method": "GET", "status": 404, "type": "request"},
            "message": "GET /api/b", "level": 8,
        })
    );
    let keys: Vec<&String> = shown.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "created", "data", "message", "level"]);
    assert!(store.get("zzz").unwrap().is_none());
}

#[test]
fn stats_count_per_hour_and_skip_empty_hours() {
    let store = sample();
    let buckets: Vec<(String, u64)> = store
        .stats(None, 10_000)
        .unwrap()
        .into_iter()
        .map(|bucket| (bucket.date, bucket.total))
        .collect();
    assert_eq!(
        buckets,
        [
            ("2026-12-07 10:00:00.000Z".to_string(), 2),
            ("2026-12-07 12:00:00.000Z".to_string(), 2)
        ]
    );
    let errors: Vec<u64> = store
        .stats(Some(filter("level >= 8")), 10_000)
        .unwrap()
        .into_iter()
        .map(|bucket| bucket.total)
        .collect();
    assert_eq!(errors, [1, 1]);
    assert!(store
        .stats(Some(filter("level = 99")), 10_000)
        .unwrap()
        .is_empty());
}

#[test]
fn deletes_matching_oldest_first_within_limit() {
    let store = sample();
    assert_eq!(
        store.delete_matching(Some("level = 0"), 1, 10_000).unwrap(),
        1
    );
    assert_eq!(
        ids(&store, vec![], "").0,
        ["b".to_string(), "c".into(), "d".into()]
    );
    assert_eq!(store.delete_matching(None, u64::MAX, 10_000).unwrap(), 3);
    assert_eq!(store.count().unwrap(), 0);
    // Written again after being emptied.
    store
        .append(vec![entry("e", "2026-12-07 13:00:00.000Z", 0, 200)])
        .unwrap();
    assert_eq!(ids(&store, vec![], "").0, ["e".to_string()]);
}

#[test]
fn reopens_with_its_logs_and_keeps_numbering_entries() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = LogStore::open(dir.path()).unwrap();
        store
            .append(vec![entry("a", "2026-12-07 10:05:00.000Z", 0, 200)])
            .unwrap();
    }
    let store = LogStore::open(dir.path()).unwrap();
    store
        .append(vec![entry("b", "2026-12-07 10:06:00.000Z", 0, 200)])
        .unwrap();
    assert_eq!(ids(&store, vec![], "").0, ["a".to_string(), "b".into()]);
}
