//! The state machine's logical key layout (before any generation prefix a backend adds).
//!
//! Every key starts with a one-byte tag. Keys that belong to a collection embed its id with a
//! 4-byte length prefix so one collection's keys never share a prefix with another's.
//!
//! | tag | key                                   | value                       |
//! |-----|---------------------------------------|-----------------------------|
//! | 00  | `a` / `i` / `m`                       | last applied / applied index / membership |
//! | 01  | collection id                         | `CollectionValue`           |
//! | 02  | case-folded collection name           | collection id               |
//! | 03  | created_seq (8 BE)                    | collection id               |
//! | 04  | len+collection id, record id          | record (`record_layout`)    |
//! | 05  | len+collection id, created_seq, record id | record id               |
//! | 06  | collection id                         | record count (8 BE)         |
//! | 07  | setting key                           | setting JSON                |
//! | 08  | len+collection id, len+index name, encoded column values [, record id] | record id |
//! | 09  | setting key                           | log index of its last write (8 BE) |
//! | 0A  | blob sha-256 (32), len+collection id, record id | empty (a record refers to the blob) |
//! | 0B  | len+collection id, len+record id, blob sha-256 (32) | empty (the same, by record) |
//! | 0C  | len+scope, key                         | `IdempotencyEntry`          |
//! | 0D  | created ms (8 BE), len+scope, key      | empty (keys by age)         |
//! | 00  | `k`                                    | idempotency key count (8 BE) |
//!
//! Index entries (tag 08) carry the record id suffix unless the index is unique and every
//! column is non-null; see `index::key_encoding` for the column value encoding. A setting
//! written before versions were kept has no tag 09 key.

const TAG_META: u8 = 0x00;
const TAG_COLLECTION: u8 = 0x01;
const TAG_COLLECTION_NAME: u8 = 0x02;
const TAG_COLLECTION_ORDER: u8 = 0x03;
const TAG_RECORD: u8 = 0x04;
const TAG_RECORD_ORDER: u8 = 0x05;
const TAG_RECORD_COUNT: u8 = 0x06;
const TAG_SETTING: u8 = 0x07;
const TAG_INDEX: u8 = 0x08;
const TAG_SETTING_VERSION: u8 = 0x09;
const TAG_BLOB_REF: u8 = 0x0A;
const TAG_RECORD_BLOB: u8 = 0x0B;
const TAG_IDEMPOTENCY: u8 = 0x0C;
const TAG_IDEMPOTENCY_BY_TIME: u8 = 0x0D;
const TAG_OUTBOX: u8 = 0x0E;

pub(crate) fn last_applied() -> Vec<u8> {
    vec![TAG_META, b'a']
}

pub(crate) fn applied_index() -> Vec<u8> {
    vec![TAG_META, b'i']
}

pub(crate) fn membership() -> Vec<u8> {
    vec![TAG_META, b'm']
}

pub(crate) fn idempotency_count() -> Vec<u8> {
    vec![TAG_META, b'k']
}

/// `len+scope, key`: the scope's length first, so scopes never share a prefix.
fn scoped_key(mut key: Vec<u8>, scope: &str, idempotency_key: &str) -> Vec<u8> {
    let length = u32::try_from(scope.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(scope.as_bytes());
    key.extend_from_slice(idempotency_key.as_bytes());
    key
}

pub(crate) fn idempotency(scope: &str, key: &str) -> Vec<u8> {
    scoped_key(vec![TAG_IDEMPOTENCY], scope, key)
}

pub(crate) fn idempotency_by_time(created_ms: u64, scope: &str, key: &str) -> Vec<u8> {
    let mut prefix = idempotency_by_time_prefix();
    prefix.extend_from_slice(&created_ms.to_be_bytes());
    scoped_key(prefix, scope, key)
}

pub(crate) fn outbox(id: &str) -> Vec<u8> {
    let mut key = outbox_prefix();
    key.extend_from_slice(id.as_bytes());
    key
}

pub(crate) fn outbox_prefix() -> Vec<u8> {
    vec![TAG_OUTBOX]
}

pub(crate) fn idempotency_by_time_prefix() -> Vec<u8> {
    vec![TAG_IDEMPOTENCY_BY_TIME]
}

/// `(created_ms, scope, key)` of an [`idempotency_by_time`] key.
pub(crate) fn parse_idempotency_by_time(raw: &[u8]) -> Option<(u64, String, String)> {
    let rest = raw.strip_prefix(&[TAG_IDEMPOTENCY_BY_TIME])?;
    let created_ms = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let rest = rest.get(8..)?;
    let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let scope = std::str::from_utf8(rest.get(4..4 + length)?).ok()?;
    let key = std::str::from_utf8(rest.get(4 + length..)?).ok()?;
    Some((created_ms, scope.to_string(), key.to_string()))
}

pub(crate) fn collection(id: &str) -> Vec<u8> {
    tagged(TAG_COLLECTION, id.as_bytes())
}

/// Names are unique case-insensitively; the index holds the lower-cased name.
pub(crate) fn collection_name(name: &str) -> Vec<u8> {
    tagged(TAG_COLLECTION_NAME, fold_name(name).as_bytes())
}

pub(crate) fn fold_name(name: &str) -> String {
    name.to_lowercase()
}

pub(crate) fn collection_order(created_seq: u64) -> Vec<u8> {
    tagged(TAG_COLLECTION_ORDER, &created_seq.to_be_bytes())
}

pub(crate) fn collection_order_prefix() -> Vec<u8> {
    vec![TAG_COLLECTION_ORDER]
}

pub(crate) fn record(collection_id: &str, record_id: &str) -> Vec<u8> {
    let mut key = records_prefix(collection_id);
    key.extend_from_slice(record_id.as_bytes());
    key
}

pub(crate) fn records_prefix(collection_id: &str) -> Vec<u8> {
    with_collection(TAG_RECORD, collection_id)
}

pub(crate) fn record_order(collection_id: &str, created_seq: u64, record_id: &str) -> Vec<u8> {
    let mut key = record_order_prefix(collection_id);
    key.extend_from_slice(&created_seq.to_be_bytes());
    key.extend_from_slice(record_id.as_bytes());
    key
}

pub(crate) fn record_order_prefix(collection_id: &str) -> Vec<u8> {
    with_collection(TAG_RECORD_ORDER, collection_id)
}

pub(crate) fn record_count(collection_id: &str) -> Vec<u8> {
    tagged(TAG_RECORD_COUNT, collection_id.as_bytes())
}

pub(crate) fn setting(key: &str) -> Vec<u8> {
    tagged(TAG_SETTING, key.as_bytes())
}

pub(crate) fn setting_version(key: &str) -> Vec<u8> {
    tagged(TAG_SETTING_VERSION, key.as_bytes())
}

/// Every index entry of one collection.
pub(crate) fn indexes_prefix(collection_id: &str) -> Vec<u8> {
    with_collection(TAG_INDEX, collection_id)
}

/// Every entry of one index of one collection; column values follow.
pub(crate) fn index_prefix(collection_id: &str, index_name: &str) -> Vec<u8> {
    let mut key = indexes_prefix(collection_id);
    // Index names come from collection documents inside Raft entries: far below 4 GiB.
    let length = u32::try_from(index_name.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(index_name.as_bytes());
    key
}

/// "Record `record_id` of `collection_id` refers to blob `blob`", by blob.
pub(crate) fn blob_ref(blob: &[u8; 32], collection_id: &str, record_id: &str) -> Vec<u8> {
    let mut key = blob_ref_prefix(blob);
    let length = u32::try_from(collection_id.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(collection_id.as_bytes());
    key.extend_from_slice(record_id.as_bytes());
    key
}

/// Every record that refers to `blob`.
pub(crate) fn blob_ref_prefix(blob: &[u8; 32]) -> Vec<u8> {
    tagged(TAG_BLOB_REF, blob)
}

/// Every reference to any blob, by blob.
pub(crate) fn blob_refs_prefix() -> Vec<u8> {
    vec![TAG_BLOB_REF]
}

/// The blob of a [`blob_ref`] key (the 32 bytes after the tag).
/// The blob a by-blob reference key names; None for any other key.
pub(crate) fn blob_of_ref_key(key: &[u8]) -> Option<[u8; 32]> {
    if key.first() != Some(&TAG_BLOB_REF) {
        return None;
    }
    blob_of_ref(key)
}

pub(crate) fn blob_of_ref(key: &[u8]) -> Option<[u8; 32]> {
    key.get(1..33)?.try_into().ok()
}

/// The same reference, by record.
pub(crate) fn record_blob(collection_id: &str, record_id: &str, blob: &[u8; 32]) -> Vec<u8> {
    let mut key = record_blobs_prefix(collection_id, record_id);
    key.extend_from_slice(blob);
    key
}

/// Every blob one record refers to.
pub(crate) fn record_blobs_prefix(collection_id: &str, record_id: &str) -> Vec<u8> {
    let mut key = collection_blobs_prefix(collection_id);
    let length = u32::try_from(record_id.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(record_id.as_bytes());
    key
}

/// Every blob any record of one collection refers to.
pub(crate) fn collection_blobs_prefix(collection_id: &str) -> Vec<u8> {
    with_collection(TAG_RECORD_BLOB, collection_id)
}

/// The first key after every key that starts with `prefix` (exclusive end of a range
/// delete). Every prefix here starts with a tag below 0xFF, so the end always exists.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

fn tagged(tag: u8, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + rest.len());
    key.push(tag);
    key.extend_from_slice(rest);
    key
}

fn with_collection(tag: u8, collection_id: &str) -> Vec<u8> {
    // Ids arrive inside Raft entries, which are far below 4 GiB, so the length always fits.
    let length = u32::try_from(collection_id.len()).unwrap_or(u32::MAX);
    let mut key = Vec::with_capacity(5 + collection_id.len());
    key.push(tag);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(collection_id.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_cases() {
        let check = |prefix: &[u8], expected: &[u8]| assert_eq!(prefix_end(prefix), expected);
        check(&[4, 0, 1], &[4, 0, 2]);
        check(&[4, 0xFF], &[5]);
        check(&[3], &[4]);
    }

    #[test]
    fn one_collection_prefix_never_covers_another() {
        let short = records_prefix("ab");
        let long = record("abc", "x");
        assert!(!long.starts_with(&short));
    }

    #[test]
    fn one_index_prefix_never_covers_another() {
        assert!(!index_prefix("c", "idx_ab").starts_with(&index_prefix("c", "idx_a")));
        assert!(index_prefix("c", "idx_a").starts_with(&indexes_prefix("c")));
    }

    #[test]
    fn record_order_sorts_by_created_seq() {
        assert!(record_order("c", 1 << 16, "zzz") < record_order("c", 2 << 16, "aaa"));
    }
}
