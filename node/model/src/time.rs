//! Timestamps in PocketBase's format, `2006-01-02 15:04:05.000Z` (UTC).

/// Now, formatted as PocketBase stores and shows datetimes. Only the proposing node reads
/// the clock; the value travels inside the command.
pub fn now_string() -> String {
    format_time(chrono::Utc::now())
}

/// `at`, formatted as PocketBase stores and shows datetimes.
pub fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn format_has_pocketbase_shape() {
        let now = super::now_string();
        let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$").unwrap();
        assert!(re.is_match(&now), "{now}");
    }
}
