//! `Scenario`: one scenario file, a named list of HTTP steps with `{{var}}` substitution.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value;

/// Largest scenario file read.
const SCENARIO_BYTES_MAX: u64 = 1024 * 1024;

/// A scenario: steps run in order against a fresh server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Files of the servers' `pb_hooks` folder (name -> JavaScript source), written next to
    /// the data dir of both servers before they start.
    #[serde(default)]
    pub hooks: std::collections::BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

/// Who a step's request claims to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// The superuser's token.
    Superuser,
    /// A token no server issued.
    Garbage,
}

/// How much of the two answers must agree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compare {
    /// Status and normalised JSON body.
    #[default]
    Full,
    /// Status only.
    Status,
}

/// Keep only the `items` whose `key` is one of `values` (to hide, say, system collections
/// that only one server has) before comparing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepItems {
    pub key: String,
    pub values: Vec<Value>,
}

/// One HTTP request and what to do with its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub method: String,
    /// Path and query; `{{var}}` is replaced by a captured value.
    pub path: String,
    #[serde(default)]
    pub auth: Auth,
    /// A captured variable holding a token (say, a user's login) to send as
    /// `Authorization` instead of `auth`.
    #[serde(default)]
    pub auth_token: Option<String>,
    /// A JSON body (string values get `{{var}}` substitution).
    #[serde(default)]
    pub body: Option<Value>,
    /// A body sent verbatim as `application/json` (for malformed JSON).
    #[serde(default)]
    pub raw_body: Option<String>,
    /// A `multipart/form-data` body, part by part.
    #[serde(default)]
    pub multipart: Option<Vec<Part>>,
    /// Request headers (values get `{{var}}` substitution), e.g. `Range`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Response headers whose (normalised) values must agree, by lower-case name.
    #[serde(default)]
    pub compare_headers: Vec<String>,
    /// Variable name -> dotted path in the answer (`id`, `items.0.id`).
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// The status the reference server must give (checks the scenario itself).
    #[serde(default)]
    pub expect_status: Option<u16>,
    /// Dotted paths removed from both answers before comparing.
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub keep_items: Option<KeepItems>,
    #[serde(default)]
    pub compare: Compare,
    /// Send again (each server on its own, every `UNTIL_POLL`) until the answer has this
    /// value at this path, or the deadline passes: for what a server does a moment after
    /// answering (PocketBase writes its request logs every few seconds).
    #[serde(default)]
    pub until: Option<Until>,
}

/// The condition of [`Step::until`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Until {
    /// Dotted path in the answer (`totalItems`, `items.0.level`).
    pub path: String,
    pub equals: Value,
    /// How long to keep asking; 20 s when not given.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// One part of a multipart body: a text value, or a file with its content given as text,
/// base64 or a repeated text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub content_base64: Option<String>,
    /// `content` repeated this many times (large files without large scenario files).
    #[serde(default)]
    pub repeat: Option<usize>,
}

/// Every `*.json` scenario in `dir`, sorted by file name; `filter` keeps names containing it.
pub fn load_scenarios(dir: &Path, filter: Option<&str>) -> anyhow::Result<Vec<Scenario>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    paths.sort();
    let mut scenarios = Vec::new();
    for path in paths {
        let length = path
            .metadata()
            .with_context(|| format!("stat {}", path.display()))?
            .len();
        if length > SCENARIO_BYTES_MAX {
            bail!(
                "{} is larger than {SCENARIO_BYTES_MAX} bytes",
                path.display()
            );
        }
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let scenario: Scenario =
            serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
        if filter.is_none_or(|filter| scenario.name.contains(filter)) {
            scenarios.push(scenario);
        }
    }
    Ok(scenarios)
}

/// Replace every `{{name}}` in `text` by its variable; an unknown name is an error.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .with_context(|| format!("unclosed {{{{ in {text:?}"))?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .with_context(|| format!("variable {name:?} was never captured"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `substitute` in every string of a JSON value.
pub fn substitute_json(value: &Value, vars: &BTreeMap<String, String>) -> anyhow::Result<Value> {
    Ok(match value {
        Value::String(text) => Value::String(substitute(text, vars)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| substitute_json(item, vars))
                .collect::<anyhow::Result<_>>()?,
        ),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, item) in map {
                out.insert(key.clone(), substitute_json(item, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The value at a dotted path (`items.0.id`).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |current, segment| match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
            _ => None,
        })
}

/// Remove the value at a dotted path, if there is one; a `*` segment stands for every item
/// of an array (or every value of an object) there (`items.*.logo`).
pub fn remove_path(value: &mut Value, path: &str) {
    let segments: Vec<&str> = path.split('.').collect();
    remove_segments(value, &segments);
}

fn remove_segments(value: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    if rest.is_empty() {
        match value {
            Value::Object(map) => {
                map.remove(*first);
            }
            Value::Array(items) => {
                if let Some(index) = first.parse::<usize>().ok().filter(|i| *i < items.len()) {
                    items.remove(index);
                }
            }
            _ => {}
        }
        return;
    }
    match (value, *first) {
        (Value::Array(items), "*") => items
            .iter_mut()
            .for_each(|item| remove_segments(item, rest)),
        (Value::Object(map), "*") => map
            .values_mut()
            .for_each(|item| remove_segments(item, rest)),
        (Value::Object(map), key) => {
            if let Some(item) = map.get_mut(key) {
                remove_segments(item, rest);
            }
        }
        (Value::Array(items), index) => {
            if let Some(item) = index.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                remove_segments(item, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitution() {
        let vars: BTreeMap<String, String> = [("rec1".to_owned(), "abc".to_owned())]
            .into_iter()
            .collect();
        let cases = [
            ("/api/x/{{rec1}}", Some("/api/x/abc")),
            ("{{ rec1 }}{{rec1}}", Some("abcabc")),
            ("plain", Some("plain")),
            ("{{missing}}", None),
            ("{{rec1", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                substitute(input, &vars).ok().as_deref(),
                expected,
                "{input}"
            );
        }
        let body = json!({"a": ["{{rec1}}", 1], "b": {"c": "x{{rec1}}"}});
        assert_eq!(
            substitute_json(&body, &vars).expect("all variables known"),
            json!({"a": ["abc", 1], "b": {"c": "xabc"}})
        );
    }

    #[test]
    fn paths() {
        let mut value = json!({"items": [{"id": "a"}, {"id": "b"}], "page": 1});
        assert_eq!(lookup(&value, "items.1.id"), Some(&json!("b")));
        assert_eq!(lookup(&value, "items.2.id"), None);
        assert_eq!(lookup(&value, "page.x"), None);
        remove_path(&mut value, "items.0.id");
        remove_path(&mut value, "page");
        remove_path(&mut value, "nothing.here");
        assert_eq!(value, json!({"items": [{}, {"id": "b"}]}));
    }
}
