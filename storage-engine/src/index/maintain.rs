//! Index upkeep inside apply: every change to a record, a collection's fields or its index
//! statements writes the matching index entries into the same overlay (so the same batch),
//! and unique indexes reject a conflicting write deterministically.

use std::sync::Arc;

use crate::compiled_collection::CompiledCollections;
use crate::index::compiled::CompiledIndex;
use crate::index::{entry_value, read_entry_value};
use crate::keys;
use crate::overlay::Overlay;
use crate::{Rejection, StorageError};

pub(crate) type Outcome = Result<(), Rejection>;

/// A record's JSON object as stored; anything that is not an object reads as no fields.
pub(crate) type RecordMap = serde_json::Map<String, serde_json::Value>;

pub(crate) fn record_map(doc_json: &str) -> RecordMap {
    match serde_json::from_str::<serde_json::Value>(doc_json) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => RecordMap::new(),
    }
}

/// The compiled indexes of a collection document, or the rejection that keeps an unusable
/// statement (or two indexes sharing a name) out of the state. A document that is not a
/// collection object has no fields and so no indexes.
pub(crate) fn collection_indexes(
    compiled: &CompiledCollections,
    collection_id: &str,
    name: &str,
    doc_json: &str,
) -> Result<Arc<[CompiledIndex]>, Rejection> {
    match compiled.get(collection_id, name, doc_json) {
        Ok(collection) => collection.index_set(),
        Err(_) => Ok(Arc::from([])),
    }
}

/// Replace a record's entries in every index: `old` is the stored record (if any), `new` the
/// record being written (`None` for a delete), created at `created_seq`.
pub(crate) fn replace_entries(
    overlay: &mut Overlay<'_>,
    collection_id: &str,
    record_id: &str,
    created_seq: u64,
    indexes: &[CompiledIndex],
    old: Option<&RecordMap>,
    new: Option<&RecordMap>,
) -> Result<Outcome, StorageError> {
    for index in indexes {
        let old_entry = old.and_then(|old| index.entry(collection_id, record_id, old));
        let new_entry = new.and_then(|new| index.entry(collection_id, record_id, new));
        if old_entry == new_entry {
            continue;
        }
        if let Some(old_entry) = old_entry {
            overlay.delete(old_entry.key);
        }
        if let Some(new_entry) = new_entry {
            if let Err(rejection) = insert_entry(overlay, index, record_id, created_seq, new_entry)?
            {
                return Ok(Err(rejection));
            }
        }
    }
    Ok(Ok(()))
}

fn insert_entry(
    overlay: &mut Overlay<'_>,
    index: &CompiledIndex,
    record_id: &str,
    created_seq: u64,
    entry: crate::index::IndexEntry,
) -> Result<Outcome, StorageError> {
    if entry.exclusive {
        if let Some(owner) = overlay.get(&entry.key)? {
            let (owner, _) = read_entry_value(&owner)
                .map_err(|error| StorageError::corrupt("index entry", error))?;
            if owner != record_id {
                return Ok(Err(unique_violation(index)));
            }
        }
    }
    overlay.put(entry.key, entry_value(record_id, created_seq));
    Ok(Ok(()))
}

fn unique_violation(index: &CompiledIndex) -> Rejection {
    Rejection::UniqueViolation {
        index: index.name().to_owned(),
        columns: index
            .columns
            .iter()
            .map(|column| column.field.name.clone())
            .collect(),
    }
}

/// Drop every entry of one index.
pub(crate) fn drop_index(overlay: &mut Overlay<'_>, collection_id: &str, index_name: &str) {
    let prefix = keys::index_prefix(collection_id, index_name);
    let end = keys::prefix_end(&prefix);
    overlay.delete_range(prefix, end);
}

/// Drop every index entry of a collection.
pub(crate) fn drop_all(overlay: &mut Overlay<'_>, collection_id: &str) {
    let prefix = keys::indexes_prefix(collection_id);
    let end = keys::prefix_end(&prefix);
    overlay.delete_range(prefix, end);
}

/// (Re)build one index over `records` (id, creation sequence, document) from scratch; a
/// unique conflict rejects.
pub(crate) fn build_index(
    overlay: &mut Overlay<'_>,
    collection_id: &str,
    index: &CompiledIndex,
    records: &[(String, u64, RecordMap)],
) -> Result<Outcome, StorageError> {
    drop_index(overlay, collection_id, index.name());
    for (record_id, created_seq, record) in records {
        if let Some(entry) = index.entry(collection_id, record_id, record) {
            if let Err(rejection) = insert_entry(overlay, index, record_id, *created_seq, entry)? {
                return Ok(Err(rejection));
            }
        }
    }
    Ok(Ok(()))
}
