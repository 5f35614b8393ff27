//! EdgeBase's own HTTP headers (DESIGN.md section 5).

/// Response: the applied log index the read saw, or the index of the write.
pub const HEADER_INDEX: &str = "x-edgebase-index";
/// Request: wait until the serving node has applied at least this index.
pub const HEADER_AFTER: &str = "x-edgebase-after";
/// Request: `local` (default) or `strong` (linearizable read through a read index).
pub const HEADER_CONSISTENCY: &str = "x-edgebase-consistency";
pub const HEADER_MAX_STALENESS_MS: &str = "x-edgebase-max-staleness-ms";
pub const HEADER_STALE_FALLBACK: &str = "x-edgebase-stale-fallback";
/// Response (resumable uploads): the stored file name a finished upload became.
pub const HEADER_FILE_NAME: &str = "x-edgebase-file";
