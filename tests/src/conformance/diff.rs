//! `json_differences`: where two JSON values differ, as readable lines.

use serde_json::Value;

/// At most this many differences are listed.
const DIFFERENCES_MAX: usize = 20;

/// One line per differing path (`items.0.title: left "a" | right "b"`), at most 20.
pub fn json_differences(left: &Value, right: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(left, right, "$", &mut out);
    out
}

fn walk(left: &Value, right: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= DIFFERENCES_MAX || left == right {
        return;
    }
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = format!("{path}.{key}");
                match (a.get(key.as_str()), b.get(key.as_str())) {
                    (Some(x), Some(y)) => walk(x, y, &child, out),
                    (Some(x), None) => push(out, format!("{child}: only left has {}", short(x))),
                    (None, Some(y)) => push(out, format!("{child}: only right has {}", short(y))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                push(
                    out,
                    format!("{path}: left has {} items, right {}", a.len(), b.len()),
                );
            }
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                walk(x, y, &format!("{path}.{index}"), out);
            }
        }
        _ => push(
            out,
            format!("{path}: left {} | right {}", short(left), short(right)),
        ),
    }
}

fn push(out: &mut Vec<String>, line: String) {
    if out.len() < DIFFERENCES_MAX {
        out.push(line);
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        format!("{}...", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_their_paths() {
        let left = json!({"a": 1, "b": [1, 2], "c": {"d": "x"}, "e": true});
        let right = json!({"a": 1, "b": [1], "c": {"d": "y"}, "f": null});
        assert_eq!(
            json_differences(&left, &right),
            vec![
                "$.b: left has 2 items, right 1".to_owned(),
                "$.c.d: left \"x\" | right \"y\"".to_owned(),
                "$.e: only left has true".to_owned(),
                "$.f: only right has null".to_owned(),
            ]
        );
        assert!(json_differences(&left, &left).is_empty());
    }
}
