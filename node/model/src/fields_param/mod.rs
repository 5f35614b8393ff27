//! The `fields` query parameter: which keys of a response to keep (`id,title,expand.author.name`,
//! `*` for every top-level key) and value modifiers such as `:excerpt(200,true)`.

mod excerpt;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::ModelError;
use excerpt::Excerpt;

/// Longest `fields` parameter accepted, in bytes.
const FIELDS_PARAM_BYTES_MAX: usize = 4_096;
/// Most entries in one `fields` parameter.
const FIELDS_MAX: usize = 200;

/// A parsed `fields` parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldsPicker {
    entries: Vec<(String, Option<Excerpt>)>,
}

impl FieldsPicker {
    /// `None` for an absent or blank parameter: keep everything.
    pub fn parse(raw: &str) -> Result<Option<FieldsPicker>, ModelError> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        if raw.len() > FIELDS_PARAM_BYTES_MAX {
            return Err(ModelError::invalid_body());
        }
        let mut entries = Vec::new();
        for part in split_top_level(raw) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let entry = match part.split_once(':') {
                Some((path, modifier)) => (path.to_string(), Some(Excerpt::parse(modifier)?)),
                None => (part.to_string(), None),
            };
            // A later entry for the same path replaces an earlier one, as a Go map does.
            entries.retain(|(path, _): &(String, Option<Excerpt>)| *path != entry.0);
            entries.push(entry);
            if entries.len() > FIELDS_MAX {
                return Err(ModelError::invalid_body());
            }
        }
        Ok(Some(FieldsPicker { entries }))
    }

    /// Keep only the picked keys of one record (and of its nested objects).
    pub fn apply(&self, record: &mut Map<String, Value>) {
        let entries: Vec<(&str, Option<&Excerpt>)> = self
            .entries
            .iter()
            .map(|(path, modifier)| (path.as_str(), modifier.as_ref()))
            .collect();
        pick_map(record, &entries);
    }
}

/// Split on commas that are not inside parentheses or quotes.
fn split_top_level(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (position, character) in raw.char_indices() {
        match (quote, character) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(character),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                parts.push(&raw[start..position]);
                start = position + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    parts
}

/// Whether `path` names `key` itself or something under it.
fn under<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    if path == key {
        Some("")
    } else {
        path.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('.'))
    }
}

fn pick_map(data: &mut Map<String, Value>, entries: &[(&str, Option<&Excerpt>)]) {
    if entries.is_empty() {
        return;
    }
    let mut entries: Vec<(Cow<'_, str>, Option<&Excerpt>)> = entries
        .iter()
        .map(|(path, modifier)| (Cow::Borrowed(*path), *modifier))
        .collect();
    if let Some(star) = entries.iter().find(|(path, _)| path == "*").map(|e| e.1) {
        let missing: Vec<String> = data
            .keys()
            .filter(|key| !entries.iter().any(|(path, _)| under(path, key).is_some()))
            .cloned()
            .collect();
        entries.extend(missing.into_iter().map(|key| (Cow::Owned(key), star)));
    }
    let keys: Vec<String> = data.keys().cloned().collect();
    for key in keys {
        let matching: Vec<(&str, Option<&Excerpt>)> = entries
            .iter()
            .filter_map(|(path, modifier)| under(path, &key).map(|rest| (rest, *modifier)))
            .collect();
        if matching.is_empty() {
            data.remove(&key);
            continue;
        }
        let Some(value) = data.get_mut(&key) else {
            continue;
        };
        if let Some((_, modifier)) = matching.iter().find(|(rest, _)| rest.is_empty()) {
            if let Some(excerpt) = modifier {
                *value = excerpt.apply(value);
            }
            continue;
        }
        pick_value(value, &matching);
    }
}

fn pick_value(value: &mut Value, entries: &[(&str, Option<&Excerpt>)]) {
    match value {
        Value::Object(map) => pick_map(map, entries),
        // Lists of objects are picked item by item; other lists stay as they are.
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            for item in items.iter_mut() {
                if let Value::Object(map) = item {
                    pick_map(map, entries);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Map<String, Value> {
        json!({
            "collectionId": "pbc_1", "collectionName": "fp", "id": "r1",
            "title": "Hello world",
            "body": "<p>Hello   <b>bold</b> world</p><script>x()</script><div>next   block</div> tail é",
            "n": 5,
            "j": {"a": {"b": 1, "c": 2}, "d": [{"e": 1, "f": 2}]}
        })
        .as_object()
        .cloned()
        .expect("object")
    }

    /// Cases read off PocketBase 0.40.6.
    #[test]
    fn picks_like_pocketbase() {
        let cases = [
            ("title,n", json!({"title": "Hello world", "n": 5})),
            ("body:excerpt(10,true)", json!({"body": "Hello bold..."})),
            (
                "body:excerpt(200)",
                json!({"body": "Hello bold world next block tail é"}),
            ),
            (
                "j.a.b,j.d.e",
                json!({"j": {"a": {"b": 1}, "d": [{"e": 1}]}}),
            ),
            ("page,items", json!({})),
            (" title , n ", json!({"title": "Hello world", "n": 5})),
            ("nope", json!({})),
            ("title:excerpt(3,true)", json!({"title": "Hel..."})),
            (
                "body:excerpt(24,1)",
                json!({"body": "Hello bold world next bl..."}),
            ),
            ("expand,title", json!({"title": "Hello world"})),
        ];
        for (raw, expected) in cases {
            let picker = FieldsPicker::parse(raw).expect(raw).expect(raw);
            let mut data = record();
            picker.apply(&mut data);
            assert_eq!(Value::Object(data), expected, "{raw}");
        }
    }

    #[test]
    fn star_keeps_the_rest() {
        let picker = FieldsPicker::parse("*,body:excerpt(5)")
            .expect("valid")
            .expect("some");
        let mut data = record();
        picker.apply(&mut data);
        assert_eq!(data["body"], json!("Hello"));
        assert_eq!(data["j"], record()["j"]);
        assert_eq!(data.len(), record().len());
    }

    #[test]
    fn bad_modifiers_are_400s() {
        for raw in [
            "title:unknown(1)",
            "body:excerpt()",
            "body:excerpt(0)",
            "body:excerpt(1,2,3)",
        ] {
            let error = FieldsPicker::parse(raw).expect_err(raw);
            assert!(matches!(error, ModelError::InvalidBody), "{raw}: {error:?}");
        }
        assert_eq!(FieldsPicker::parse("  ").expect("blank"), None);
    }
}
