//! A record's document as a query reads it: split into fields once, each field's value parsed
//! only when the filter, a sort or a join first reads it. A filter on one field of a record
//! with twenty parses one value; the others stay text. A record in the on-disk layout
//! (`record_layout`) comes with its field table and is not scanned at all; one in the older
//! layout is split here, which checks the whole document is well-formed JSON (a corrupt
//! record fails its query, as before) without building the values.

use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;

use serde_json::{Map, Value};

use crate::record_layout::{split_fields, FieldSpan};

/// One record's document.
#[derive(Clone)]
pub struct LazyDoc {
    source: Source,
}

#[derive(Clone)]
enum Source {
    /// Already a map (a document about to be written, an auth record from a token).
    Parsed(Map<String, Value>),
    /// Stored text, split into fields.
    Text { text: String, fields: Vec<Field> },
}

#[derive(Clone)]
struct Field {
    key: Key,
    /// Where the value's JSON text sits in the document.
    span: Range<usize>,
    value: OnceCell<Value>,
}

#[derive(Clone)]
enum Key {
    /// Read from the text when it was split.
    Owned(String),
    /// The name between its quotes in the text, as JSON escaped it.
    InText(Range<usize>),
}

impl Key {
    fn is(&self, text: &str, name: &str) -> bool {
        match self {
            Key::Owned(key) => key == name,
            Key::InText(span) => {
                let raw = &text[span.clone()];
                if raw.contains('\\') {
                    unescape(raw).as_deref() == Some(name)
                } else {
                    raw == name
                }
            }
        }
    }

    fn to_name(&self, text: &str) -> String {
        match self {
            Key::Owned(key) => key.clone(),
            Key::InText(span) => {
                let raw = &text[span.clone()];
                if raw.contains('\\') {
                    unescape(raw).unwrap_or_default()
                } else {
                    raw.to_owned()
                }
            }
        }
    }
}

/// A JSON string's contents (between its quotes) unescaped.
fn unescape(raw: &str) -> Option<String> {
    serde_json::from_str(&format!("\"{raw}\"")).ok()
}

impl LazyDoc {
    pub fn parsed(map: Map<String, Value>) -> Self {
        LazyDoc {
            source: Source::Parsed(map),
        }
    }

    /// Split stored JSON text into fields; an error if it is not JSON. A JSON value that is
    /// not an object has no fields.
    pub fn from_text(text: String) -> Result<Self, serde_json::Error> {
        let fields = split_fields(&text)?
            .into_iter()
            .map(|(key, span)| Field {
                key: Key::Owned(key),
                span,
                value: OnceCell::new(),
            })
            .collect();
        Ok(LazyDoc {
            source: Source::Text { text, fields },
        })
    }

    /// A stored document with its field table (checked to lie within `text` when read).
    pub(crate) fn from_layout(text: String, table: Vec<FieldSpan>) -> Self {
        let fields = table
            .into_iter()
            .map(|span| Field {
                key: Key::InText(span.name),
                span: span.value,
                value: OnceCell::new(),
            })
            .collect();
        LazyDoc {
            source: Source::Text { text, fields },
        }
    }

    /// The value of `key` (the last one, should the document repeat a key, as a parsed map
    /// would keep).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.source {
            Source::Parsed(map) => map.get(key),
            Source::Text { text, fields } => {
                let field = fields.iter().rev().find(|field| field.key.is(text, key))?;
                Some(field.value.get_or_init(|| {
                    // The span was checked to be JSON when the document was split or laid
                    // out (and RocksDB checksums what it stores).
                    serde_json::from_str(&text[field.span.clone()]).unwrap_or(Value::Null)
                }))
            }
        }
    }

    /// The stored text this document was split from (none for a parsed map).
    pub fn text(&self) -> Option<&str> {
        match &self.source {
            Source::Parsed(_) => None,
            Source::Text { text, .. } => Some(text),
        }
    }

    /// Every field, parsed.
    pub fn to_map(&self) -> Map<String, Value> {
        match &self.source {
            Source::Parsed(map) => map.clone(),
            Source::Text { text, fields } => fields
                .iter()
                .filter_map(|field| {
                    let name = field.key.to_name(text);
                    let value = self.get(&name)?.clone();
                    Some((name, value))
                })
                .collect(),
        }
    }
}

impl Default for LazyDoc {
    fn default() -> Self {
        LazyDoc::parsed(Map::new())
    }
}

impl PartialEq for LazyDoc {
    fn eq(&self, other: &Self) -> bool {
        self.to_map() == other.to_map()
    }
}

impl fmt::Debug for LazyDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Parsed(map) => map.fmt(f),
            Source::Text { text, .. } => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::LazyDoc;

    #[test]
    fn reads_fields_as_a_parsed_map_would() {
        let text = r#"{"a": 1, "b": {"c": [1, "x\"y"]}, "é": "ü", "a": "again", "n": null}"#;
        let lazy = LazyDoc::from_text(text.to_owned()).expect("json");
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).expect("json");
        for key in ["a", "b", "é", "n", "missing"] {
            assert_eq!(lazy.get(key), parsed.get(key), "{key}");
        }
        assert_eq!(lazy.get("b"), Some(&json!({"c": [1, "x\"y"]})));
        assert_eq!(lazy.to_map(), parsed);
    }

    #[test]
    fn a_laid_out_record_reads_as_its_text_would() {
        let text = r#"{"a": 1, "b": {"c": [1, "x\"y"]}, "w\u00e9ird\"": "ü", "a": "again"}"#;
        let bytes = crate::record_layout::encode(text, 1, 1).expect("encode");
        let value = crate::record_layout::decode_record(&bytes).expect("decode");
        let laid_out = LazyDoc::from_layout(value.doc_json, value.fields.expect("table"));
        let split = LazyDoc::from_text(text.to_owned()).expect("json");
        for key in ["a", "b", "wéird\"", "missing"] {
            assert_eq!(laid_out.get(key), split.get(key), "{key}");
        }
        assert_eq!(laid_out.to_map(), split.to_map());
    }

    #[test]
    fn refuses_what_is_not_json_and_has_no_fields_when_not_an_object() {
        assert!(LazyDoc::from_text(r#"{"a": }"#.to_owned()).is_err());
        assert!(LazyDoc::from_text(r#"{"a": 1} x"#.to_owned()).is_err());
        let list = LazyDoc::from_text("[1, 2]".to_owned()).expect("json");
        assert_eq!(list.get("0"), None);
        assert!(list.to_map().is_empty());
    }
}
