//! One log line as the node records it: PocketBase's log model (`id`, `created`, `level`,
//! `message`, `data`).

use serde_json::{json, Map, Value};

/// PocketBase's (slog's) levels: debug -4, info 0, warn 4, error 8.
pub const LEVEL_INFO: i64 = 0;
pub const LEVEL_ERROR: i64 = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub id: String,
    /// When it happened, as PocketBase shows datetimes.
    pub created: String,
    pub level: i64,
    pub message: String,
    /// Keys in alphabetical order, as PocketBase's JSON map is written.
    pub data: Map<String, Value>,
}

impl LogEntry {
    /// A log of now with a fresh id; `data`'s keys are put in order.
    pub fn now(level: i64, message: String, data: Map<String, Value>) -> LogEntry {
        let mut sorted: Vec<(String, Value)> = data.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        LogEntry {
            id: edgebase_model::ids::new_record_id(),
            created: edgebase_model::time::now_string(),
            level,
            message,
            data: sorted.into_iter().collect(),
        }
    }

    /// The stored document (the id is the record's key).
    pub fn to_document(&self) -> Value {
        json!({
            "created": self.created,
            "level": self.level,
            "message": self.message,
            "data": self.data,
        })
    }
}
