//! Which blobs the records refer to, kept by apply in the record's own write batch. A
//! record document carries its files' contents under the reserved key [`FILES_KEY`]
//! (`{"name.png": {"blob": "<sha-256 hex>", "size": 123, "type": "image/png"}}`; field
//! names are `\w+`, so no field can collide with it), and apply keeps two indexes of it: by
//! blob (so a node can tell, with one seek, whether anything still refers to a blob it
//! holds) and by record (so a record's or a whole collection's references can be dropped).
//! An entry stored in the S3 bucket (`"store": "s3"`) marks its by-blob reference, so a node
//! knows which blobs the members must hold and which the bucket holds for them.

use std::collections::{BTreeMap, BTreeSet};

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

/// An entry's `store` when its blob is in the S3 bucket rather than on the members.
pub const BUCKET_STORE: &str = "s3";
/// The by-blob reference's value for an entry in the bucket (on the members: empty).
const BUCKET_REF_VALUE: &[u8] = b"s3";

/// Where a referenced blob is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BlobPlace {
    /// On the members' disks, pushed to a majority of voters before the write.
    Members,
    /// In the S3 bucket, uploaded there before the write.
    Bucket,
}

impl BlobPlace {
    pub(crate) fn of_ref_value(value: &[u8]) -> BlobPlace {
        if value == BUCKET_REF_VALUE {
            BlobPlace::Bucket
        } else {
            BlobPlace::Members
        }
    }

    fn ref_value(self) -> Vec<u8> {
        match self {
            BlobPlace::Members => Vec::new(),
            BlobPlace::Bucket => BUCKET_REF_VALUE.to_vec(),
        }
    }
}

/// How the records use one blob: whether some entry keeps it on the members, and whether
/// some entry keeps it in the bucket (both, when the same content was uploaded each way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobUse {
    pub on_members: bool,
    pub in_bucket: bool,
}

impl BlobUse {
    pub(crate) fn add(&mut self, place: BlobPlace) {
        match place {
            BlobPlace::Members => self.on_members = true,
            BlobPlace::Bucket => self.in_bucket = true,
        }
    }

    pub fn is_referenced(&self) -> bool {
        self.on_members || self.in_bucket
    }
}

/// The blobs a record document refers to, with where each is kept (entries that name no
/// valid hash are ignored; a blob named both ways counts as on the members).
pub(crate) fn blobs_of(doc: &RecordMap) -> BTreeMap<[u8; 32], BlobPlace> {
    let mut blobs = BTreeMap::new();
    let Some(serde_json::Value::Object(files)) = doc.get(FILES_KEY) else {
        return blobs;
    };
    for file in files.values() {
        let Some(hex) = file.get("blob").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let mut blob = [0u8; 32];
        if hex.len() != 64 || !decode_hex(hex, &mut blob) {
            continue;
        }
        let place = match file.get("store").and_then(serde_json::Value::as_str) {
            Some(BUCKET_STORE) => BlobPlace::Bucket,
            _ => BlobPlace::Members,
        };
        blobs
            .entry(blob)
            .and_modify(|kept: &mut BlobPlace| *kept = (*kept).min(place))
            .or_insert(place);
    }
    blobs
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
    old: &BTreeMap<[u8; 32], BlobPlace>,
    new: &BTreeMap<[u8; 32], BlobPlace>,
) {
    for blob in old.keys().filter(|blob| !new.contains_key(*blob)) {
        overlay.delete(keys::blob_ref(blob, collection_id, record_id));
        overlay.delete(keys::record_blob(collection_id, record_id, blob));
    }
    for (blob, place) in new {
        match old.get(blob) {
            Some(kept) if kept == place => {}
            Some(_) => overlay.put(
                keys::blob_ref(blob, collection_id, record_id),
                place.ref_value(),
            ),
            None => {
                overlay.put(
                    keys::blob_ref(blob, collection_id, record_id),
                    place.ref_value(),
                );
                overlay.put(
                    keys::record_blob(collection_id, record_id, blob),
                    Vec::new(),
                );
            }
        }
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
                "d.txt": {"blob": "cd".repeat(32), "store": "s3"},
            }
        }))
        .expect("object");
        assert_eq!(
            blobs_of(&doc),
            [
                ([0xab; 32], BlobPlace::Members),
                ([0xcd; 32], BlobPlace::Bucket)
            ]
            .into_iter()
            .collect()
        );
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
