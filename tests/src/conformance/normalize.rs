//! `Normalizer`: replaces what legitimately differs between two servers (generated ids,
//! timestamps, tokens) by stable placeholders, consistently within one target.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

/// Keys whose string value is a generated id.
const ID_KEYS: &[&str] = &["id", "collectionId", "authId"];

/// Keys whose string value is an auth token.
const TOKEN_KEYS: &[&str] = &["token"];

fn timestamp_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
            .expect("the timestamp pattern is valid")
    })
}

/// The random part PocketBase puts in a stored file name: `_` and 10 of `[a-z0-9]`, before
/// the extension, another random part, a closing quote (in a header) or the end.
fn stored_name_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"_[a-z0-9]{10}(?P<end>\.|_<random>|\x22|$)")
            .expect("the stored name pattern is valid")
    })
}

fn jwt_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
            .expect("the token pattern is valid")
    })
}

/// Maps each id seen to `<id-N>` in order of first appearance (objects are walked with
/// sorted keys, so two servers that answer alike number alike).
#[derive(Debug, Default)]
pub struct Normalizer {
    ids: HashMap<String, String>,
}

impl Normalizer {
    pub fn new() -> Normalizer {
        Normalizer::default()
    }

    /// The normalised copy of `value`, with object keys sorted.
    pub fn normalize(&mut self, value: &Value) -> Value {
        self.walk(value, None)
    }

    /// A header value, with stored file names' random parts replaced.
    pub fn normalize_text(&mut self, text: &str) -> String {
        // A name sanitised twice (batch uploads) has two random parts: replace until none.
        let mut text = text.to_owned();
        loop {
            let next = stored_name_pattern()
                .replace_all(&text, "_<random>${end}")
                .into_owned();
            if next == text {
                return text;
            }
            text = next;
        }
    }

    /// The placeholder of an id, minting one if it is new.
    fn placeholder(&mut self, id: &str) -> String {
        let next = self.ids.len() + 1;
        self.ids
            .entry(id.to_owned())
            .or_insert_with(|| format!("<id-{next}>"))
            .clone()
    }

    fn walk(&mut self, value: &Value, key: Option<&str>) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for key in keys {
                    let normalized = self.walk(&map[key.as_str()], Some(key.as_str()));
                    out.insert(key.clone(), normalized);
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.walk(item, None)).collect())
            }
            Value::String(text) => Value::String(self.string(text, key)),
            Value::Number(number) => Value::Number(integral(number)),
            other => other.clone(),
        }
    }

    fn string(&mut self, text: &str, key: Option<&str>) -> String {
        let key = key.unwrap_or("");
        if text.is_empty() {
            return String::new();
        }
        if TOKEN_KEYS.contains(&key) || jwt_pattern().is_match(text) {
            return "<token>".to_owned();
        }
        if timestamp_pattern().is_match(text) {
            return "<timestamp>".to_owned();
        }
        if ID_KEYS.contains(&key) {
            return self.placeholder(text);
        }
        match self.ids.get(text) {
            Some(placeholder) => placeholder.clone(),
            None => self.normalize_text(text),
        }
    }
}

/// A float with an integral value as the integer it equals: `0.0` and `0` are one JSON
/// number (JavaScript clients cannot tell them apart), though Go prints `0` and serde `0.0`.
fn integral(number: &serde_json::Number) -> serde_json::Number {
    const EXACT_INTEGER_MAX: f64 = 9_007_199_254_740_992.0; // 2^53
    match number.as_f64() {
        Some(value)
            if number.is_f64() && value.fract() == 0.0 && value.abs() <= EXACT_INTEGER_MAX =>
        {
            serde_json::Number::from(value as i64)
        }
        _ => number.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_timestamps_and_tokens_become_placeholders() {
        let mut normalizer = Normalizer::new();
        let collection = json!({
            "name": "posts", "id": "pbc_1", "created": "2026-11-21 17:19:34.714Z",
            "fields": [{"id": "text1", "name": "title"}]
        });
        assert_eq!(
            normalizer.normalize(&collection),
            json!({
                "created": "<timestamp>", "fields": [{"id": "<id-1>", "name": "title"}],
                "id": "<id-2>", "name": "posts"
            })
        );
        // The collection id seen before keeps its placeholder, wherever it appears.
        let record = json!({"id": "abc", "collectionId": "pbc_1", "note": "pbc_1", "title": "x"});
        assert_eq!(
            normalizer.normalize(&record),
            json!({"collectionId": "<id-2>", "id": "<id-3>", "note": "<id-2>", "title": "x"})
        );
        let numbers = json!([0.0, 0, -3.0, 2.5, 1e300]);
        assert_eq!(
            normalizer.normalize(&numbers),
            json!([0, 0, -3, 2.5, 1e300])
        );
        let auth = json!({"token": "anything", "other": "eyJhbGciOi.eyJleHAi.c2ln"});
        assert_eq!(
            normalizer.normalize(&auth),
            json!({"other": "<token>", "token": "<token>"})
        );
    }

    #[test]
    fn two_servers_answering_alike_normalise_alike() {
        let mut left = Normalizer::new();
        let mut right = Normalizer::new();
        let a = json!({"items": [{"id": "aaa", "ref": "bbb"}, {"id": "bbb"}]});
        let b = json!({"items": [{"ref": "yyy", "id": "xxx"}, {"id": "yyy"}]});
        // "ref" is not an id key and its value is unknown when first seen, so it stays as is
        // on both sides: a difference, reported rather than hidden.
        assert_ne!(left.normalize(&a), right.normalize(&b));
        let mut left = Normalizer::new();
        let mut right = Normalizer::new();
        let a = json!([{"id": "aaa", "n": 1}, {"id": "bbb", "n": 2}]);
        let b = json!([{"n": 1, "id": "xxx"}, {"n": 2, "id": "yyy"}]);
        assert_eq!(left.normalize(&a), right.normalize(&b));
        let c = json!([{"n": 2, "id": "yyy"}, {"n": 1, "id": "xxx"}]);
        assert_ne!(left.normalize(&a), right.normalize(&c));
    }
}
