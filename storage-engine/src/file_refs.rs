//! Which blobs the records refer to, kept by apply in the record's own write batch. A
//! record document carries its files' contents under the reserved key [`FILES_KEY`]
//! (`{"name.png": {"blob": "<sha-256 hex>", "size": 123, "type": "image/png"}}`; field
//! names are `\w+`, so no field can collide with it), and apply keeps two indexes of it: by
//! blob (so a node can tell, with one seek, whether anything still refers to a blob it
//! holds) and by record (so a record's or a whole collection's references can be dropped).

use std::collections::BTreeSet;

use crate::index::maintain::RecordMap;
use crate::keys;
use crate::overlay::Overlay;
use crate::StorageError;

/// The document key holding a record's file contents by file name.
pub const FILES_KEY: &str = "@files";

/// A quick test on the stored text before parsing it: no files key, no files.
pub(crate) fn may_refer_to_blobs(doc_json: &str) -> bool {
    doc_json.contains("\"@files\"")
}

/// The blobs a record document refers to (entries that name no valid hash are ignored).
pub(crate) fn blobs_of(doc: &RecordMap) -> BTreeSet<[u8; 32]> {
    let Some(serde_json::Value::Object(files)) = doc.get(FILES_KEY) else {
        return BTreeSet::new();
    };
    files
        .values()
        .filter_map(|file| file.get("blob")?.as_str())
        .filter_map(|hex| {
            let mut blob = [0u8; 32];
            (hex.len() == 64 && decode_hex(hex, &mut blob)).then_some(blob)
        })
        .collect()
}

fn decode_hex(hex: &str, out: &mut [u8; 32]) -> bool {
    let digit = |byte: u8| match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    };
    for (slot, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => *slot = high << 4 | low,
            _ => return false,
        }
    }
    true
}

/// Drop the entries of [`FILES_KEY`] no value of `file_fields` names any more (a file field
/// was removed from the collection); whether anything was dropped.
pub(crate) fn prune_unnamed(doc: &mut RecordMap, file_fields: &[&str]) -> bool {
    let named: BTreeSet<String> = file_fields
        .iter()
        .filter_map(|field| doc.get(*field))
        .flat_map(|value| match value {
            serde_json::Value::String(name) => vec![name.clone()],
            serde_json::Value::Array(names) => names
                .iter()
                .filter_map(|name| name.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let Some(serde_json::Value::Object(files)) = doc.get_mut(FILES_KEY) else {
        return false;
    };
    let before = files.len();
    files.retain(|name, _| named.contains(name));
    let changed = files.len() != before;
    if files.is_empty() {
        doc.remove(FILES_KEY);
    }
    changed
}

/// Replace one record's references: `old` are the blobs it referred to, `new` the blobs it
/// refers to after this write (empty for a delete).
pub(crate) fn replace_refs(
    overlay: &mut Overlay<'_>,
    collection_id: &str,
    record_id: &str,
    old: &BTreeSet<[u8; 32]>,
    new: &BTreeSet<[u8; 32]>,
) {
    for blob in old.difference(new) {
        overlay.delete(keys::blob_ref(blob, collection_id, record_id));
        overlay.delete(keys::record_blob(collection_id, record_id, blob));
    }
    for blob in new.difference(old) {
        overlay.put(keys::blob_ref(blob, collection_id, record_id), Vec::new());
        overlay.put(
            keys::record_blob(collection_id, record_id, blob),
            Vec::new(),
        );
    }
}

/// Drop every reference of a collection's records (the collection is deleted or truncated).
/// Work is bounded by the references the collection holds.
pub(crate) fn drop_collection_refs(
    overlay: &mut Overlay<'_>,
    collection_id: &str,
) -> Result<(), StorageError> {
    let prefix = keys::collection_blobs_prefix(collection_id);
    let refs = overlay.scan_prefix_merged(&prefix)?;
    for key in refs.keys() {
        let Some((record_id, blob)) = split_record_blob(&key[prefix.len()..]) else {
            return Err(StorageError::corrupt(
                "record blob reference",
                format!("{} bytes after the collection", key.len() - prefix.len()),
            ));
        };
        overlay.delete(keys::blob_ref(&blob, collection_id, &record_id));
    }
    let end = keys::prefix_end(&prefix);
    overlay.delete_range(prefix, end);
    Ok(())
}

/// `len+record id, blob` after a collection's prefix.
fn split_record_blob(rest: &[u8]) -> Option<(String, [u8; 32])> {
    let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let record_id = std::str::from_utf8(rest.get(4..4 + length)?).ok()?;
    let blob: [u8; 32] = rest.get(4 + length..)?.try_into().ok()?;
    Some((record_id.to_owned(), blob))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_blobs_a_document_names() {
        let hex = "ab".repeat(32);
        let doc: RecordMap = serde_json::from_value(serde_json::json!({
            "avatar": "a_x1.png",
            "@files": {
                "a_x1.png": {"blob": hex, "size": 3, "type": "image/png"},
                "b.txt": {"blob": "not-a-hash"},
                "c.txt": {"size": 1},
            }
        }))
        .expect("object");
        assert_eq!(blobs_of(&doc), [[0xab; 32]].into_iter().collect());
        assert!(blobs_of(&RecordMap::new()).is_empty());
        assert!(may_refer_to_blobs(
            &serde_json::Value::Object(doc).to_string()
        ));
        assert!(!may_refer_to_blobs(r#"{"title":"no files"}"#));
    }

    #[test]
    fn record_blob_keys_split_back() {
        let key = keys::record_blob("pbc_1", "rec1", &[7; 32]);
        let prefix = keys::collection_blobs_prefix("pbc_1");
        assert_eq!(
            split_record_blob(&key[prefix.len()..]),
            Some(("rec1".to_owned(), [7; 32]))
        );
    }
}
