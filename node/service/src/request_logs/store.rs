//! `LogStore`: this node's request logs in a RocksDB database of their own (`<data>/logs`),
//! never replicated. The logs are records of one local collection, `_logs`, so listing them
//! takes PocketBase's filter and sort language through the same query engine as records.

use std::path::Path;

use chrono::Timelike;
use std::sync::Mutex;

use edgebase_storage::query::{parse_filter, parse_sort, FilterAccess, SortKey};
use edgebase_storage::{
    ApplyEntry, CollectionDoc, CollectionExpect, Command, EntryResult, FilterPart, ListPage,
    ListRequest, QueryError, RecordExpect, RequestContext, StateMachine, Store, StoredRecord,
    TotalCount,
};
use serde_json::{json, Map, Value};

use super::entry::LogEntry;
use crate::ServiceError;

/// The local collection holding the logs.
pub const LOGS_COLLECTION_ID: &str = "_pb_logs_";
const LOGS_COLLECTION_NAME: &str = "_logs";
/// Logs deleted per write when pruning, so no write batch grows with the store.
const DELETE_CHUNK: u64 = 500;
/// Hourly buckets one stats request may count (a little over a year of logs).
pub const STATS_BUCKETS_MAX: i64 = 24 * 400;

/// One hour of logs and how many matched (`GET /api/logs/stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsBucket {
    /// The hour's start, as PocketBase shows datetimes.
    pub date: String,
    pub total: u64,
}

pub struct LogStore {
    machine: StateMachine,
    /// The last entry index applied; each write takes the next one.
    applied_index: Mutex<u64>,
}

impl LogStore {
    /// Open (or create) the logs database in `dir`.
    pub fn open(dir: &Path) -> Result<LogStore, ServiceError> {
        LogStore::over(Store::open_local_state(dir)?)
    }

    /// Logs held in memory (tests).
    pub fn in_memory() -> Result<LogStore, ServiceError> {
        LogStore::over(StateMachine::in_memory())
    }

    fn over(machine: StateMachine) -> Result<LogStore, ServiceError> {
        let applied_index = machine
            .applied()?
            .last_applied
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(0);
        let store = LogStore {
            machine,
            applied_index: Mutex::new(applied_index),
        };
        if store
            .machine
            .collection_by_id(LOGS_COLLECTION_ID)?
            .is_none()
        {
            store.apply(Command::PutCollection {
                collection: CollectionDoc {
                    id: LOGS_COLLECTION_ID.into(),
                    name: LOGS_COLLECTION_NAME.into(),
                    doc_json: collection_doc().to_string(),
                },
                expect: CollectionExpect::Absent,
            })?;
        }
        Ok(store)
    }

    /// Apply one command as the next entry.
    fn apply(&self, command: Command) -> Result<Option<EntryResult>, ServiceError> {
        let mut applied = self
            .applied_index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = *applied + 1;
        let result = self.machine.apply(ApplyEntry {
            index,
            command: Some(command),
            last_applied: index.to_string().into_bytes(),
            membership: None,
        })?;
        *applied = index;
        Ok(result)
    }

    /// Store `entries`, in their order, in one write.
    pub fn append(&self, entries: Vec<LogEntry>) -> Result<(), ServiceError> {
        if entries.is_empty() {
            return Ok(());
        }
        let commands = entries
            .into_iter()
            .map(|entry| Command::PutRecord {
                collection_id: LOGS_COLLECTION_ID.into(),
                record_id: entry.id.clone(),
                doc_json: entry.to_document().to_string(),
                expect: RecordExpect::Absent,
            })
            .collect();
        self.apply(Command::Group(commands))?;
        Ok(())
    }

    /// One page of logs (`request.collection_id` is set here).
    pub fn list(&self, request: ListRequest) -> Result<ListPage, QueryError> {
        self.machine.list_records(&ListRequest {
            collection_id: LOGS_COLLECTION_ID.into(),
            ..request
        })
    }

    /// One log, PocketBase-shaped.
    pub fn get(&self, id: &str) -> Result<Option<Map<String, Value>>, ServiceError> {
        match self.machine.record(LOGS_COLLECTION_ID, id)? {
            Some(stored) => Ok(Some(shown(&stored)?)),
            None => Ok(None),
        }
    }

    /// How many logs are stored.
    pub fn count(&self) -> Result<u64, ServiceError> {
        Ok(self.machine.count_records(LOGS_COLLECTION_ID)?)
    }

    /// Delete every log matching `filter` (all of them for `None`), oldest first, at most
    /// `limit`; returns how many were deleted.
    pub fn delete_matching(
        &self,
        filter: Option<&str>,
        limit: u64,
        records_examined_max: u64,
    ) -> Result<u64, ServiceError> {
        let filters = match filter {
            Some(filter) => vec![parsed_filter(filter)?],
            None => Vec::new(),
        };
        let mut deleted = 0;
        while deleted < limit {
            let chunk = DELETE_CHUNK.min(limit - deleted);
            let page = self.list(ListRequest::matching(
                LOGS_COLLECTION_ID.into(),
                filters.clone(),
                chunk,
                RequestContext::at(chrono::Utc::now().timestamp_millis()),
                records_examined_max,
            ))?;
            if page.records.is_empty() {
                break;
            }
            let found = page.records.len() as u64;
            let commands = page
                .records
                .into_iter()
                .map(|record| Command::DeleteRecord {
                    collection_id: LOGS_COLLECTION_ID.into(),
                    record_id: record.id,
                    expect: RecordExpect::Exists,
                })
                .collect();
            self.apply(Command::Group(commands))?;
            deleted += found;
            if found < chunk {
                break;
            }
        }
        Ok(deleted)
    }

    /// Matching logs counted per hour, oldest hour first, empty hours left out.
    pub fn stats(
        &self,
        filter: Option<FilterPart>,
        records_examined_max: u64,
    ) -> Result<Vec<StatsBucket>, ServiceError> {
        let filters: Vec<FilterPart> = filter.into_iter().collect();
        let (Some(first), Some(last)) = (
            self.edge(&filters, "created", records_examined_max)?,
            self.edge(&filters, "-created", records_examined_max)?,
        ) else {
            return Ok(Vec::new());
        };
        let mut buckets = Vec::new();
        let mut hour = first;
        let mut examined = 0u64;
        for _ in 0..STATS_BUCKETS_MAX {
            if hour > last {
                break;
            }
            let next = hour + chrono::Duration::hours(1);
            let mut bucket_filters = filters.clone();
            bucket_filters.push(parsed_filter(&format!(
                "created >= '{}' && created < '{}'",
                edgebase_model::time::format_time(hour),
                edgebase_model::time::format_time(next),
            ))?);
            let page = self.list(ListRequest {
                total: TotalCount::Count,
                limit: 0,
                records_examined_max: records_examined_max.saturating_sub(examined),
                ..ListRequest::matching(
                    LOGS_COLLECTION_ID.into(),
                    bucket_filters,
                    0,
                    RequestContext::at(chrono::Utc::now().timestamp_millis()),
                    0,
                )
            })?;
            examined += page.records_examined;
            let total = page.total.unwrap_or(0);
            if total > 0 {
                buckets.push(StatsBucket {
                    date: edgebase_model::time::format_time(hour),
                    total,
                });
            }
            hour = next;
        }
        Ok(buckets)
    }

    /// The hour of the first log matching `filters` in `sort` order.
    fn edge(
        &self,
        filters: &[FilterPart],
        sort: &str,
        records_examined_max: u64,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ServiceError> {
        let sort: Vec<SortKey> = parse_sort(sort)?;
        let page = self.list(ListRequest {
            sort,
            ..ListRequest::matching(
                LOGS_COLLECTION_ID.into(),
                filters.to_vec(),
                1,
                RequestContext::at(chrono::Utc::now().timestamp_millis()),
                records_examined_max,
            )
        })?;
        let Some(record) = page.records.first() else {
            return Ok(None);
        };
        let created = shown(record)?
            .get("created")
            .and_then(Value::as_str)
            .and_then(|text| {
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.fZ").ok()
            })
            .ok_or_else(|| ServiceError::internal("read a stored log's time"))?;
        let hour = created
            .date()
            .and_hms_opt(created.hour(), 0, 0)
            .ok_or_else(|| ServiceError::internal("round a log's time to its hour"))?;
        Ok(Some(hour.and_utc()))
    }
}

/// A filter the node builds itself (never from a request), unrestricted.
fn parsed_filter(filter: &str) -> Result<FilterPart, ServiceError> {
    let expr = parse_filter(filter)
        .map_err(QueryError::from)?
        .ok_or_else(|| ServiceError::internal("an empty internal log filter"))?;
    Ok(FilterPart::new(expr, FilterAccess::Unrestricted))
}

/// A stored log as PocketBase shows it: `id`, `created`, `data`, `message`, `level`.
pub fn shown(stored: &StoredRecord) -> Result<Map<String, Value>, ServiceError> {
    let mut doc: Map<String, Value> = serde_json::from_str(&stored.doc_json)
        .map_err(|error| ServiceError::internal_from("parse a stored log", error))?;
    let mut shown = Map::new();
    shown.insert("id".into(), Value::String(stored.id.clone()));
    for key in ["created", "data", "message", "level"] {
        shown.insert(key.into(), doc.remove(key).unwrap_or(Value::Null));
    }
    Ok(shown)
}

/// `_logs`: PocketBase's log columns as fields, indexed by time.
fn collection_doc() -> Value {
    json!({
        "id": LOGS_COLLECTION_ID,
        "name": LOGS_COLLECTION_NAME,
        "type": "base",
        "system": true,
        "fields": [
            {"id": "log_id", "name": "id", "type": "text", "primaryKey": true, "system": true},
            {"id": "log_created", "name": "created", "type": "date", "system": true},
            {"id": "log_level", "name": "level", "type": "number", "system": true},
            {"id": "log_message", "name": "message", "type": "text", "system": true},
            {"id": "log_data", "name": "data", "type": "json", "system": true},
        ],
        // Only time is indexed: every stored log pays for each index on the request path's
        // writer thread, and lists and stats are by time (a level is a filter on a range).
        "indexes": ["CREATE INDEX idx_logs_created ON _logs (created)"],
    })
}

#[cfg(test)]
mod tests;
