//! Text-like fields: text (length, pattern, autogenerate), password and editor.

use crate::ValidationCode;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use serde_json::{json, Value};

use crate::field_error;

/// Default and largest text length when a text field sets no `max`.
pub const TEXT_LENGTH_DEFAULT_MAX: i64 = 5_000;
/// Editor content size when an editor field sets no `maxSize` (PocketBase's 5 MiB).
pub const EDITOR_SIZE_DEFAULT_MAX_BYTES: i64 = 5 << 20;
/// Patterns are user input: bound their compiled size.
pub const PATTERN_SIZE_LIMIT_BYTES: usize = 64 * 1024;
/// Longest string an `autogeneratePattern` may produce per repetition (`+`, `*`).
const AUTOGENERATE_REPEAT_MAX: u32 = 32;
/// Compiled patterns kept; past the limit the cache starts over.
const PATTERNS_MAX: usize = 1_024;

pub fn cast_text(raw: &Value) -> String {
    match raw {
        Value::String(text) => text.clone(),
        // Go prints floats without an exponent (`1e21` is `1000000000000000000000`).
        Value::Number(number) => match number.as_i64() {
            Some(integer) => integer.to_string(),
            None => number
                .as_f64()
                .map(|float| float.to_string())
                .unwrap_or_default(),
        },
        Value::Bool(flag) => flag.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
    }
}

fn length_of(value: &Value) -> i64 {
    i64::try_from(value.as_str().unwrap_or_default().chars().count()).unwrap_or(i64::MAX)
}

pub fn validate_text(value: &Value, min: i64, max: i64, pattern: &str) -> Option<Value> {
    let text = value.as_str().unwrap_or_default();
    let length = length_of(value);
    let max = if max <= 0 {
        TEXT_LENGTH_DEFAULT_MAX
    } else {
        max
    };
    if length < min {
        return Some(field_error(
            ValidationCode::MinTextConstraint,
            format!("Must be at least {min} character(s)."),
            Some(json!({ "min": min })),
        ));
    }
    if length > max {
        return Some(field_error(
            ValidationCode::MaxTextConstraint,
            format!("Must be no more than {max} character(s)."),
            Some(json!({ "max": max })),
        ));
    }
    if !pattern.is_empty() && !matches_pattern(pattern, text) {
        return Some(field_error(
            ValidationCode::InvalidFormat,
            "Invalid value format.",
            None,
        ));
    }
    None
}

/// Password length errors carry no params in PocketBase 0.40.6.
pub fn validate_password(value: &Value, min: i64, max: i64, pattern: &str) -> Option<Value> {
    let length = length_of(value);
    // bcrypt reads at most 71 bytes; PocketBase caps the length there.
    let max = if max <= 0 { 71 } else { max };
    if length < min {
        return Some(field_error(
            ValidationCode::MinTextConstraint,
            format!("Must be at least {min} character(s)."),
            None,
        ));
    }
    if length > max {
        return Some(field_error(
            ValidationCode::MaxTextConstraint,
            format!("Must be less than {max} character(s)."),
            None,
        ));
    }
    if !pattern.is_empty() && !matches_pattern(pattern, value.as_str().unwrap_or_default()) {
        return Some(field_error(
            ValidationCode::InvalidFormat,
            "Invalid value format.",
            None,
        ));
    }
    None
}

pub fn validate_editor(value: &Value, max_size: i64) -> Option<Value> {
    let limit = if max_size <= 0 {
        EDITOR_SIZE_DEFAULT_MAX_BYTES
    } else {
        max_size
    };
    let size = i64::try_from(value.as_str().unwrap_or_default().len()).unwrap_or(i64::MAX);
    (size > limit).then(|| {
        field_error(
            ValidationCode::ContentSizeLimit,
            format!("The maximum allowed content size is {limit} bytes."),
            Some(json!({ "maxSize": limit })),
        )
    })
}

static PATTERNS: LazyLock<Mutex<HashMap<String, Option<Regex>>>> = LazyLock::new(Default::default);

/// Compile a user pattern with a bounded program size; `Err` carries the parse error.
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_SIZE_LIMIT_BYTES)
        .build()
}

/// Match against a cached compiled pattern (a create should not compile `id`'s each time).
pub fn matches_pattern(pattern: &str, text: &str) -> bool {
    let mut patterns = PATTERNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !patterns.contains_key(pattern) {
        if patterns.len() >= PATTERNS_MAX {
            patterns.clear();
        }
        patterns.insert(pattern.to_string(), compile_pattern(pattern).ok());
    }
    // A `Regex` clone shares the compiled program; match outside the lock.
    let compiled = patterns.get(pattern).cloned().flatten();
    drop(patterns);
    compiled.is_some_and(|re| re.is_match(text))
}

/// A string generated from an `autogeneratePattern`; `None` if the pattern cannot be used.
/// Repetitions are bounded, so a pattern like `a+` gives a bounded string.
pub fn autogenerate(pattern: &str) -> Option<String> {
    let generator = rand_regex::Regex::compile(pattern, AUTOGENERATE_REPEAT_MAX).ok()?;
    let mut rng = rand::thread_rng();
    Some(rand::Rng::sample(&mut rng, &generator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autogenerate_matches_its_pattern() {
        let cases = ["[a-z0-9]{15}", "x[0-9]{3}", "ab+", "(foo|bar)-[A-Z]{2}"];
        for pattern in cases {
            let generated = autogenerate(pattern).expect(pattern);
            let anchored = Regex::new(&format!("^(?:{pattern})$")).expect(pattern);
            assert!(anchored.is_match(&generated), "{pattern}: {generated}");
        }
    }
}
