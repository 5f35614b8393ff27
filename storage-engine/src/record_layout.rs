//! How a record is laid out on disk: its document's JSON text followed by a table of where
//! each top-level field's value sits in that text, so a reader finds one field without
//! scanning the document and parses only the values it reads.
//!
//! ```text
//! 0xFF          marker
//! width  u8     2 or 4: the bytes of each offset in the table
//! version       u64 LE   log index of the entry that last wrote the record
//! created_seq   u64 LE   creation order (see `StoredRecord::created_seq`)
//! text length   u32 LE
//! text                   the document: {"name":value,"name":value}, names as JSON escapes them
//! n x 2 offsets LE       where each field's value starts and ends in `text`
//! ```
//!
//! Offsets are two bytes each when the text is shorter than 64 KiB; the field count is what
//! the table's length says. The text is written compactly, so names need no offsets: the
//! first starts after `{"`, each next one after the `,"` that ends the previous value, and
//! each ends at the `":` before its value. The table comes after the text so a scan that
//! tests a record's bytes (`document_bytes`) reads only the text. Records written before
//! this layout are bincode (`LegacyRecordValue`) and are read as before; bincode's first byte is a variable-length integer, which never
//! starts with 0xFF, so the two cannot be confused. A record is rewritten in this layout by
//! its next write.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::codec::decode;
use crate::stored::StoredRecord;
use crate::StorageError;

const MARKER: u8 = 0xFF;
const HEADER_BYTES: usize = 2 + 8 + 8 + 4;

/// Where one top-level field sits in a document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    /// The name between its quotes, as JSON wrote it (escapes included).
    pub name: Range<usize>,
    /// The value's whole JSON text.
    pub value: Range<usize>,
}

/// A record value read from disk, in either layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordValue {
    pub doc_json: String,
    pub version: u64,
    pub created_seq: u64,
    /// The field table; none for a record still in the bincode layout.
    pub fields: Option<Vec<FieldSpan>>,
}

impl RecordValue {
    pub(crate) fn into_stored(self, collection_id: &str, id: &str) -> StoredRecord {
        StoredRecord {
            collection_id: collection_id.to_owned(),
            id: id.to_owned(),
            doc_json: self.doc_json,
            version: self.version,
            created_seq: self.created_seq,
        }
    }
}

/// The bincode layout records were written in before this one.
#[derive(Serialize, Deserialize)]
struct LegacyRecordValue {
    doc_json: String,
    version: u64,
    created_seq: u64,
}

/// Lay out a record: its document (JSON text of an object) rewritten compactly at the top
/// level, each value's text kept as it came.
pub(crate) fn encode(
    doc_json: &str,
    version: u64,
    created_seq: u64,
) -> Result<Vec<u8>, StorageError> {
    let fields = split_fields(doc_json).map_err(|error| StorageError::Encode {
        what: "record document",
        detail: error.to_string(),
    })?;
    let mut text = String::with_capacity(doc_json.len());
    let mut table = Vec::with_capacity(fields.len());
    if !doc_json.trim_start().starts_with('{') {
        // Not an object: no fields, the text kept as it is.
        text.push_str(doc_json);
        return Ok(lay_out(version, created_seq, &table, &text));
    }
    text.push('{');
    for (index, (name, value)) in fields.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        // `to_string` of a str is its quoted, escaped JSON form and cannot fail.
        let quoted = serde_json::to_string(name).unwrap_or_default();
        let name_start = text.len() + 1;
        text.push_str(&quoted);
        text.push(':');
        let value_start = text.len();
        text.push_str(&doc_json[value.clone()]);
        table.push(FieldSpan {
            name: name_start..name_start + quoted.len() - 2,
            value: value_start..text.len(),
        });
    }
    text.push('}');
    let too_large = |_| StorageError::TooLarge {
        what: "record document",
        bytes: text.len() as u64,
        max_bytes: u64::from(u32::MAX),
    };
    u32::try_from(text.len()).map_err(too_large)?;
    Ok(lay_out(version, created_seq, &table, &text))
}

/// The bytes of a record whose text fits in a u32.
fn lay_out(version: u64, created_seq: u64, table: &[FieldSpan], text: &str) -> Vec<u8> {
    let width: usize = if text.len() <= usize::from(u16::MAX) {
        2
    } else {
        4
    };
    let mut bytes = Vec::with_capacity(HEADER_BYTES + text.len() + 2 * width * table.len());
    bytes.push(MARKER);
    bytes.push(width as u8);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&created_seq.to_le_bytes());
    bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    for span in table {
        for offset in [span.value.start, span.value.end] {
            // Every offset is within the text, whose length fits the width.
            bytes.extend_from_slice(&(offset as u32).to_le_bytes()[..width]);
        }
    }
    bytes
}

/// Where the text ends in a value of this layout, if its header says so plausibly.
fn text_end(bytes: &[u8]) -> Option<usize> {
    let text_len = u32::from_le_bytes(bytes.get(18..22)?.try_into().ok()?) as usize;
    HEADER_BYTES
        .checked_add(text_len)
        .filter(|end| *end <= bytes.len())
}

/// The part of a stored record value that holds the document's text (in the older layout,
/// the whole value), for tests on raw bytes. A damaged header gives the whole value.
pub(crate) fn document_bytes(bytes: &[u8]) -> &[u8] {
    if bytes.first() != Some(&MARKER) {
        return bytes;
    }
    match text_end(bytes) {
        Some(end) => &bytes[HEADER_BYTES..end],
        None => bytes,
    }
}

/// Read a record value in either layout.
pub(crate) fn decode_record(bytes: &[u8]) -> Result<RecordValue, StorageError> {
    if bytes.first() != Some(&MARKER) {
        let legacy: LegacyRecordValue = decode(bytes, "record")?;
        return Ok(RecordValue {
            doc_json: legacy.doc_json,
            version: legacy.version,
            created_seq: legacy.created_seq,
            fields: None,
        });
    }
    let corrupt = |detail: &str| StorageError::corrupt("record", detail);
    if bytes.len() < HEADER_BYTES {
        return Err(corrupt("shorter than its header"));
    }
    let width = usize::from(bytes[1]);
    if width != 2 && width != 4 {
        return Err(StorageError::corrupt(
            "record",
            format!("offset width {width} is not 2 or 4"),
        ));
    }
    let number = |at: usize, len: usize| {
        let mut le = [0u8; 8];
        le[..len].copy_from_slice(&bytes[at..at + len]);
        u64::from_le_bytes(le)
    };
    let version = number(2, 8);
    let created_seq = number(10, 8);
    let text_end = text_end(bytes).ok_or_else(|| corrupt("document runs past the value"))?;
    let table_bytes = bytes.len() - text_end;
    if !table_bytes.is_multiple_of(2 * width) {
        return Err(corrupt("field table is not a whole number of fields"));
    }
    let count = table_bytes / (2 * width);
    let text = std::str::from_utf8(&bytes[HEADER_BYTES..text_end])
        .map_err(|error| StorageError::corrupt("record", error))?;
    let span = |start: usize, end: usize| -> Result<Range<usize>, StorageError> {
        if start > end || end > text.len() {
            return Err(corrupt("field span runs past the document"));
        }
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(corrupt("field span splits a character"));
        }
        Ok(start..end)
    };
    let mut fields = Vec::with_capacity(count);
    // Where the next name starts: after `{"`, then after each value's `,"`.
    let mut name_start = 2;
    for index in 0..count {
        let at = text_end + index * 2 * width;
        let value_start = number(at, width) as usize;
        let value_end = number(at + width, width) as usize;
        let value = span(value_start, value_end)?;
        let name = span(name_start, value_start.saturating_sub(2))?;
        name_start = value_end + 2;
        fields.push(FieldSpan { name, value });
    }
    Ok(RecordValue {
        doc_json: text.to_owned(),
        version,
        created_seq,
        fields: Some(fields),
    })
}

/// Split a document's JSON text into its top-level fields: each name with the span of its
/// value's text. Checks the whole text is JSON without building the values; a JSON value that
/// is not an object has no fields.
pub(crate) fn split_fields(text: &str) -> Result<Vec<(String, Range<usize>)>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let spans = deserializer.deserialize_any(FieldSpans {
        base: text.as_ptr() as usize,
    })?;
    deserializer.end()?;
    Ok(spans)
}

/// Visits a document's top level: each key with the span of its value's text.
struct FieldSpans {
    base: usize,
}

impl<'de> Visitor<'de> for FieldSpans {
    type Value = Vec<(String, Range<usize>)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut spans = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<String>()? {
            let raw: &'de RawValue = map.next_value()?;
            let start = raw.get().as_ptr() as usize - self.base;
            spans.push((key, start..start + raw.get().len()));
        }
        Ok(spans)
    }

    // Any other top-level value: a document without fields.
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::{decode_record, encode, LegacyRecordValue};
    use crate::codec::encode as bincode_encode;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).expect("json")
    }

    fn field_map(value: &super::RecordValue) -> Map<String, Value> {
        let fields = value.fields.as_ref().expect("table");
        fields
            .iter()
            .map(|span| {
                let quoted = format!("\"{}\"", &value.doc_json[span.name.clone()]);
                (
                    serde_json::from_str::<String>(&quoted).expect("name"),
                    parsed(&value.doc_json[span.value.clone()]),
                )
            })
            .collect()
    }

    #[test]
    fn a_record_reads_back_with_a_table_that_finds_every_field() {
        let doc = r#"{ "id" : "r1", "title": "a \"quoted\" é", "tags": [1, {"x": null}],
            "we\"ird\\name": true, "n": -1.5e3 }"#;
        let bytes = encode(doc, 42, 7 << 16).expect("encode");
        let value = decode_record(&bytes).expect("decode");
        assert_eq!((value.version, value.created_seq), (42, 7 << 16));
        assert_eq!(parsed(&value.doc_json), parsed(doc));
        assert_eq!(Value::Object(field_map(&value)), parsed(doc));
        assert_eq!(
            &value.doc_json[value.fields.as_ref().expect("table")[1].name.clone()],
            "title"
        );
        assert_eq!(super::document_bytes(&bytes), value.doc_json.as_bytes());
    }

    #[test]
    fn a_document_of_64_kib_or_more_takes_four_byte_offsets() {
        let long = "x".repeat(70_000);
        let doc = format!(r#"{{"a":"{long}","b":2}}"#);
        let bytes = encode(&doc, 5, 6).expect("encode");
        assert_eq!(bytes[1], 4);
        let value = decode_record(&bytes).expect("decode");
        assert_eq!(Value::Object(field_map(&value)), parsed(&doc));
        let short = encode(r#"{"b":2}"#, 5, 6).expect("encode");
        assert_eq!(short[1], 2);
    }

    #[test]
    fn records_in_the_bincode_layout_still_read() {
        let legacy = LegacyRecordValue {
            doc_json: r#"{"id":"old"}"#.to_owned(),
            version: 3,
            created_seq: 9,
        };
        let bytes = bincode_encode(&legacy, "record").expect("bincode");
        let value = decode_record(&bytes).expect("decode");
        assert_eq!(value.doc_json, legacy.doc_json);
        assert_eq!(
            (value.version, value.created_seq, value.fields),
            (3, 9, None)
        );
    }

    #[test]
    fn documents_that_are_not_objects_have_no_fields_and_bad_json_is_refused() {
        let value = decode_record(&encode("[1, 2]", 1, 1).expect("encode")).expect("decode");
        assert_eq!(value.fields, Some(Vec::new()));
        assert_eq!(value.doc_json, "[1, 2]");
        assert!(encode(r#"{"a": }"#, 1, 1).is_err());
    }

    #[test]
    fn a_damaged_table_is_an_error_not_a_panic() {
        let bytes = encode(r#"{"a":1,"b":"two"}"#, 1, 1).expect("encode");
        for cut in 0..bytes.len() {
            let _ = decode_record(&bytes[..cut]);
        }
        let table = bytes.len() - 8;
        let mut far = bytes.clone();
        far[table + 2..table + 4].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(decode_record(&far).is_err());
        let mut crossed = bytes.clone();
        crossed[table..table + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(decode_record(&crossed).is_err());
        let mut long = bytes.clone();
        long[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_record(&long).is_err());
        assert_eq!(super::document_bytes(&long), long.as_slice());
        let mut ragged = bytes;
        ragged.push(0);
        assert!(decode_record(&ragged).is_err());
    }
}
