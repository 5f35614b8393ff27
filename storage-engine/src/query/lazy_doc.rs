//! A record's document as a query reads it: split into fields once, each field's value parsed
//! only when the filter, a sort or a join first reads it. A filter on one field of a record
//! with twenty parses one value; the others stay text. Splitting checks the whole document
//! is well-formed JSON (a corrupt record fails its query, as before), without building the
//! values.

use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

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
    key: String,
    /// Where the value's JSON text sits in the document.
    span: Range<usize>,
    value: OnceCell<Value>,
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
        let spans = {
            let mut deserializer = serde_json::Deserializer::from_str(&text);
            let spans = deserializer.deserialize_any(FieldSpans {
                base: text.as_ptr() as usize,
            })?;
            deserializer.end()?;
            spans
        };
        let fields = spans
            .into_iter()
            .map(|(key, span)| Field {
                key,
                span,
                value: OnceCell::new(),
            })
            .collect();
        Ok(LazyDoc {
            source: Source::Text { text, fields },
        })
    }

    /// The value of `key` (the last one, should the document repeat a key, as a parsed map
    /// would keep).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.source {
            Source::Parsed(map) => map.get(key),
            Source::Text { text, fields } => {
                let field = fields.iter().rev().find(|field| field.key == key)?;
                Some(field.value.get_or_init(|| {
                    // The span was checked to be JSON when the document was split.
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
            Source::Text { fields, .. } => fields
                .iter()
                .filter_map(|field| Some((field.key.clone(), self.get(&field.key)?.clone())))
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
    fn refuses_what_is_not_json_and_has_no_fields_when_not_an_object() {
        assert!(LazyDoc::from_text(r#"{"a": }"#.to_owned()).is_err());
        assert!(LazyDoc::from_text(r#"{"a": 1} x"#.to_owned()).is_err());
        let list = LazyDoc::from_text("[1, 2]".to_owned()).expect("json");
        assert_eq!(list.get("0"), None);
        assert!(list.to_map().is_empty());
    }
}
