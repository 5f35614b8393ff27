//! Write modifiers in request bodies: `field+`, `+field`, `field-` and
//! `field:autogenerate`, and what each does to a field's current value.

use edgebase_wire::FieldKind;
use serde_json::Value;

use crate::fields::{list, number, text};

/// A write modifier in a request body key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `field+`: add (number) or append (list).
    Append,
    /// `+field`: prepend (list).
    Prepend,
    /// `field-`: subtract (number) or remove (list).
    Remove,
    /// `field:autogenerate`: the given prefix and a string from the text field's
    /// `autogeneratePattern`.
    Autogenerate,
}

impl Modifier {
    /// Split a body key into the field name and its modifier, if it has one.
    pub fn parse(key: &str) -> Option<(&str, Modifier)> {
        if let Some(name) = key.strip_suffix(":autogenerate") {
            Some((name, Modifier::Autogenerate))
        } else if let Some(name) = key.strip_prefix('+') {
            Some((name, Modifier::Prepend))
        } else if let Some(name) = key.strip_suffix('+') {
            Some((name, Modifier::Append))
        } else {
            key.strip_suffix('-').map(|name| (name, Modifier::Remove))
        }
    }
}

/// Apply a modifier to the current value; fields without modifiers keep their value.
pub fn modify(kind: &FieldKind, current: &Value, modifier: Modifier, raw: &Value) -> Value {
    match kind {
        FieldKind::Number { .. } => {
            let current = number::cast_number(current);
            let delta = number::cast_number(raw);
            match modifier {
                Modifier::Append => number::number_value(current + delta),
                Modifier::Remove => number::number_value(current - delta),
                Modifier::Prepend | Modifier::Autogenerate => number::number_value(current),
            }
        }
        FieldKind::Text {
            autogenerate_pattern,
            ..
        } if modifier == Modifier::Autogenerate => {
            // Without a pattern the prefix alone is the value, as in PocketBase.
            let generated = if autogenerate_pattern.is_empty() {
                Some(String::new())
            } else {
                text::autogenerate(autogenerate_pattern)
            };
            match generated {
                Some(generated) => Value::String(text::cast_text(raw) + &generated),
                None => current.clone(),
            }
        }
        FieldKind::Select { .. } | FieldKind::Relation { .. } => {
            let current = list::cast_list(current);
            let given = list::cast_list(raw);
            let items = match modifier {
                Modifier::Append => current.into_iter().chain(given).collect(),
                Modifier::Prepend => given.into_iter().chain(current).collect(),
                Modifier::Remove => current
                    .into_iter()
                    .filter(|item| !given.contains(item))
                    .collect(),
                Modifier::Autogenerate => current,
            };
            list::shape(kind, list::unique(items))
        }
        _ => current.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Read off PocketBase 0.40.6: (field, current, key, given) -> new value.
    #[test]
    fn modifiers_match_pocketbase() {
        let number: FieldKind = serde_json::from_value(json!({"type": "number"})).expect("kind");
        let single: FieldKind =
            serde_json::from_value(json!({"type": "select", "values": ["a", "b"]})).expect("kind");
        let multiple: FieldKind = serde_json::from_value(
            json!({"type": "select", "values": ["a", "b", "c"], "maxSelect": 3}),
        )
        .expect("kind");
        let text: FieldKind = serde_json::from_value(json!({"type": "text"})).expect("kind");
        let cases = [
            (&number, json!(5), "n+", json!(3), json!(8)),
            (&number, json!(8), "n-", json!(10), json!(-2)),
            (&number, json!(-2), "+n", json!(1), json!(-2)),
            (&number, json!(3), "n+", json!("abc"), json!(3)),
            (
                &multiple,
                json!(["a"]),
                "sm+",
                json!("b"),
                json!(["a", "b"]),
            ),
            (
                &multiple,
                json!(["a", "b"]),
                "+sm",
                json!(["c", "a"]),
                json!(["c", "a", "b"]),
            ),
            (
                &multiple,
                json!(["c", "a", "b"]),
                "sm-",
                json!("a"),
                json!(["c", "b"]),
            ),
            (&single, json!("a"), "s+", json!("b"), json!("b")),
            (&single, json!("b"), "s-", json!("b"), json!("")),
            (&text, json!("x"), "t+", json!("y"), json!("x")),
            (&text, json!("x"), "t:autogenerate", json!("q"), json!("q")),
        ];
        for (kind, current, key, given, expected) in cases {
            let (_, modifier) = Modifier::parse(key).expect(key);
            assert_eq!(modify(kind, &current, modifier, &given), expected, "{key}");
        }
    }
}
