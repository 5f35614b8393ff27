//! PocketBase's subscription topics: `collection/*` (every record, the list rule),
//! `collection/recordId` (one record, the view rule) and the deprecated bare `collection`
//! (as `/*`), each naming its collection by name or id, and optionally carrying
//! `?options={"query":{...},"headers":{...}}`: the `filter`, `expand` and `fields` a
//! request would send, and headers for the rules to read. Options that do not parse are
//! ignored, as PocketBase ignores them.

use serde_json::{Map, Value};

/// What a topic selects in its collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every record (`/*`, or the bare collection): checked against the list rule.
    Every,
    /// One record: checked against the view rule.
    Record(String),
}

/// One subscription of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The topic as the client sent it: the name of the events it receives.
    pub topic: String,
    /// The collection, by name or id, as written.
    pub collection: String,
    pub target: Target,
    /// `options.query`, values as text.
    pub query: Map<String, Value>,
    /// `options.headers`, names in the snake case rules use (`X-Token` is `x_token`).
    pub headers: Map<String, Value>,
}

impl Subscription {
    /// The subscription `topic` names; `None` for an empty topic (skipped, as PocketBase).
    pub fn parse(topic: &str) -> Option<Subscription> {
        if topic.is_empty() {
            return None;
        }
        let (path, options) = match topic.split_once('?') {
            Some((path, query)) => (path, options_of(query)),
            None => (topic, (Map::new(), Map::new())),
        };
        let (collection, target) = match path.split_once('/') {
            Some((collection, "*")) => (collection, Target::Every),
            Some((collection, record)) => (collection, Target::Record(record.to_string())),
            None => (path, Target::Every),
        };
        Some(Subscription {
            topic: topic.to_string(),
            collection: collection.to_string(),
            target,
            query: options.0,
            headers: options.1,
        })
    }

    /// Whether this subscription is about `record_id` of the collection named `name` or
    /// identified by `id`.
    pub fn selects(&self, name: &str, id: &str, record_id: &str) -> bool {
        (self.collection == name || self.collection == id)
            && match &self.target {
                Target::Every => true,
                Target::Record(wanted) => wanted == record_id,
            }
    }

    /// A query option as text (`filter`, `expand`, `fields`), if set and not empty.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    }
}

/// `options` from a topic's query string.
fn options_of(query: &str) -> (Map<String, Value>, Map<String, Value>) {
    let raw = url::form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "options")
        .map(|(_, value)| value.into_owned());
    let Some(Ok(Value::Object(options))) = raw.map(|raw| serde_json::from_str::<Value>(&raw))
    else {
        return (Map::new(), Map::new());
    };
    let texts = |key: &str, rename: fn(&str) -> String| -> Map<String, Value> {
        match options.get(key) {
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(name, value)| (rename(name), Value::String(as_text(value))))
                .collect(),
            _ => Map::new(),
        }
    };
    (texts("query", str::to_string), texts("headers", snake_case))
}

/// A JSON value as text, as PocketBase's cast reads one (`null` is empty).
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `X-Token` as rules name it: `x_token`.
fn snake_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_read_as_pocketbase_reads_them() {
        let every = Subscription::parse("posts/*").expect("topic");
        assert_eq!(
            (every.collection.as_str(), &every.target),
            ("posts", &Target::Every)
        );
        let legacy = Subscription::parse("posts").expect("topic");
        assert_eq!(legacy.target, Target::Every);
        let one = Subscription::parse("pbc_1/abc").expect("topic");
        assert_eq!(one.target, Target::Record("abc".into()));
        assert!(one.selects("posts", "pbc_1", "abc") && !one.selects("posts", "pbc_1", "xyz"));
        assert!(Subscription::parse("").is_none());

        let options =
            r#"{"query":{"filter":"n > 1","expand":"author","page":2},"headers":{"X-Token":"t"}}"#;
        let topic = format!(
            "posts/*?options={}",
            url::form_urlencoded::byte_serialize(options.as_bytes()).collect::<String>()
        );
        let with = Subscription::parse(&topic).expect("topic");
        assert_eq!(with.option("filter"), Some("n > 1"));
        assert_eq!(with.option("expand"), Some("author"));
        assert_eq!(with.query["page"], "2");
        assert_eq!(with.headers["x_token"], "t");
        assert_eq!(with.topic, topic, "events carry the topic as sent");

        let broken = Subscription::parse("posts/*?options={nope").expect("topic");
        assert!(
            broken.query.is_empty() && broken.target == Target::Every,
            "bad options are ignored"
        );
    }
}
