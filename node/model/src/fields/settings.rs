//! A field's own options, checked when a collection is created or updated, with
//! PocketBase's codes and messages keyed by option name.

use crate::ValidationCode;
use edgebase_wire::{Field, FieldKind};
use serde_json::{json, Map, Value};

use crate::field_error;
use crate::fields::{address, date, text};

/// Longest password bcrypt reads.
const PASSWORD_LENGTH_MAX: i64 = 71;
/// bcrypt's cost range.
const PASSWORD_COST_MIN: i64 = 4;
const PASSWORD_COST_MAX: i64 = 31;

/// What the checks need to know beyond the field itself.
pub struct SettingsContext<'a> {
    /// Whether a collection with this id exists (or is the one being saved).
    pub collection_exists: &'a dyn Fn(&str) -> bool,
}

/// The largest integer a JSON number holds exactly (PocketBase's bound on sizes and counts).
const JS_SAFE_INTEGER_MAX: i64 = (1 << 53) - 1;

/// A thumb size: `WxH` with an optional `t`, `b` or `f`.
static THUMB_SIZE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^[0-9]+x[0-9]+[tbf]?$").expect("static pattern")
});

fn at_least(threshold: i64) -> Value {
    field_error(
        ValidationCode::MinGreaterEqualThanRequired,
        format!("Must be no less than {threshold}."),
        Some(json!({ "threshold": threshold })),
    )
}

fn at_most(threshold: i64) -> Value {
    field_error(
        ValidationCode::MaxLessEqualThanRequired,
        format!("Must be no greater than {threshold}."),
        Some(json!({ "threshold": threshold })),
    )
}

fn required() -> Value {
    field_error(ValidationCode::Required, "Cannot be blank.", None)
}

/// A regex error in the words Go's `regexp` uses for the common mistakes (what PocketBase
/// reports); other errors keep the Rust description.
fn regex_error(pattern: &str, error: &regex::Error) -> Value {
    field_error(
        ValidationCode::InvalidRegex,
        format!(
            "Error parsing regexp: {}.",
            go_regex_message(pattern, error)
        ),
        None,
    )
}

fn go_regex_message(pattern: &str, error: &regex::Error) -> String {
    let regex::Error::Syntax(text) = error else {
        return "expression too large".to_string();
    };
    let description = text
        .lines()
        .find_map(|line| line.strip_prefix("error: "))
        .unwrap_or("invalid pattern");
    // The caret line under the one-line pattern marks the span (4 columns of indent).
    let span: Option<(usize, usize)> = text.lines().find_map(|line| {
        let trimmed = line.trim_end();
        let start = trimmed.find('^')?;
        trimmed[start..]
            .chars()
            .all(|c| c == '^')
            .then(|| (start.saturating_sub(4), trimmed.len().saturating_sub(4)))
    });
    let chars: Vec<char> = pattern.chars().collect();
    let spanned = |to_end: bool| -> String {
        match span {
            Some((start, end)) if start < chars.len() => {
                let end = if to_end {
                    chars.len()
                } else {
                    end.min(chars.len())
                };
                chars[start..end].iter().collect()
            }
            _ => pattern.to_string(),
        }
    };
    if description.starts_with("unclosed character class") {
        format!("missing closing ]: `{}`", spanned(true))
    } else if description.starts_with("unclosed group") {
        format!("missing closing ): `{pattern}`")
    } else if description.starts_with("unopened group") {
        format!("unexpected ): `{pattern}`")
    } else if description.starts_with("repetition operator missing expression") {
        format!(
            "missing argument to repetition operator: `{}`",
            spanned(false)
        )
    } else if description.starts_with("invalid repetition count range") {
        format!("invalid repeat count: `{}`", spanned(false))
    } else if description.starts_with("invalid character class range") {
        format!("invalid character class range: `{}`", spanned(false))
    } else {
        description.to_string()
    }
}

fn domain_lists(errors: &mut Map<String, Value>, except: &[String], only: &[String]) {
    if !except.is_empty() && !only.is_empty() {
        let blank = || field_error(ValidationCode::Empty, "Must be blank.", None);
        errors.insert("exceptDomains".into(), blank());
        errors.insert("onlyDomains".into(), blank());
        return;
    }
    for (key, list) in [("exceptDomains", except), ("onlyDomains", only)] {
        let mut items = Map::new();
        for (index, domain) in list.iter().enumerate() {
            if !address::is_domain(domain) {
                items.insert(
                    index.to_string(),
                    field_error(ValidationCode::IsDomain, "Must be a valid domain.", None),
                );
            }
        }
        if !items.is_empty() {
            errors.insert(key.into(), Value::Object(items));
        }
    }
}

/// Normalise options PocketBase rewrites on save (date bounds to its datetime shape).
pub fn normalise(field: &mut Field) {
    match &mut field.kind {
        FieldKind::Date { min, max } => {
            *min = date::normalise(min);
            *max = date::normalise(max);
        }
        // PocketBase's autodate has neither `help` nor `required`.
        FieldKind::Autodate { .. } => {
            field.help.clear();
            field.required = false;
        }
        _ => {}
    }
}

/// The option errors of one field, keyed by option name (empty when it is valid).
pub fn validate(field: &Field, context: &SettingsContext<'_>) -> Map<String, Value> {
    let mut errors = Map::new();
    match &field.kind {
        FieldKind::Text {
            min,
            max,
            pattern,
            autogenerate_pattern,
            primary_key,
        } => {
            if *min < 0 {
                errors.insert("min".into(), at_least(0));
            }
            if *max != 0 && max < min {
                errors.insert("max".into(), at_least(*min));
            }
            if let Err(error) = text::compile_pattern(pattern) {
                errors.insert("pattern".into(), regex_error(pattern, &error));
            }
            if let Err(error) = text::compile_pattern(autogenerate_pattern) {
                errors.insert(
                    "autogeneratePattern".into(),
                    regex_error(autogenerate_pattern, &error),
                );
            }
            if *primary_key && field.name != "id" {
                errors.insert(
                    "name".into(),
                    field_error(
                        ValidationCode::InInvalid,
                        "The primary key must be named \"id\".",
                        None,
                    ),
                );
                errors.insert("primaryKey".into(), composite_primary_key());
                if pattern.is_empty() {
                    errors.insert("pattern".into(), required());
                }
                if !field.required {
                    errors.insert("required".into(), required());
                }
            }
        }
        FieldKind::Password {
            min,
            max,
            pattern,
            cost,
        } => {
            // bcrypt reads at most 71 bytes and takes costs 4 to 31 (0 is its default).
            if *min < 0 {
                errors.insert("min".into(), at_least(1));
            }
            if *max > PASSWORD_LENGTH_MAX {
                errors.insert("max".into(), at_most(PASSWORD_LENGTH_MAX));
            } else if *max != 0 && max < min {
                errors.insert("max".into(), at_least(*min));
            }
            if let Err(error) = text::compile_pattern(pattern) {
                errors.insert("pattern".into(), regex_error(pattern, &error));
            }
            if *cost != 0 && *cost < PASSWORD_COST_MIN {
                errors.insert("cost".into(), at_least(PASSWORD_COST_MIN));
            } else if *cost > PASSWORD_COST_MAX {
                errors.insert("cost".into(), at_most(PASSWORD_COST_MAX));
            }
        }
        FieldKind::Number { min, max, only_int } => {
            let fractional =
                |bound: &Option<f64>| *only_int && bound.is_some_and(|b| b.fract() != 0.0);
            let decimal = || {
                field_error(
                    ValidationCode::OnlyIntConstraint,
                    "Decimal numbers are not allowed.",
                    None,
                )
            };
            if fractional(min) {
                errors.insert("min".into(), decimal());
            }
            if fractional(max) {
                errors.insert("max".into(), decimal());
            } else if let (Some(min), Some(max)) = (min, max) {
                if max < min {
                    let shown = crate::fields::number::number_value(*min);
                    errors.insert(
                        "max".into(),
                        field_error(
                            ValidationCode::MinNumberConstraint,
                            format!("Must be greater or equal than {shown}."),
                            Some(json!({ "min": shown })),
                        ),
                    );
                }
            }
        }
        FieldKind::Email {
            except_domains,
            only_domains,
        }
        | FieldKind::Url {
            except_domains,
            only_domains,
        } => domain_lists(&mut errors, except_domains, only_domains),
        FieldKind::Editor { max_size, .. } | FieldKind::Json { max_size } => {
            if *max_size < 0 {
                errors.insert("maxSize".into(), at_least(0));
            }
        }
        FieldKind::Autodate {
            on_create,
            on_update,
        } => {
            if !on_create && !on_update {
                let neither = || {
                    field_error(
                        ValidationCode::Required,
                        "Either onCreate or onUpdate must be enabled.",
                        None,
                    )
                };
                errors.insert("onCreate".into(), neither());
                errors.insert("onUpdate".into(), neither());
            }
        }
        FieldKind::Select { values, max_select } => {
            if values.is_empty() {
                errors.insert("values".into(), required());
            }
            if *max_select < 0 {
                errors.insert("maxSelect".into(), at_least(0));
            } else if *max_select > i64::try_from(values.len()).unwrap_or(i64::MAX) {
                let count = i64::try_from(values.len()).unwrap_or(i64::MAX);
                if count > 0 {
                    errors.insert("maxSelect".into(), at_most(count));
                }
            }
        }
        FieldKind::Relation {
            collection_id,
            min_select,
            max_select,
            ..
        } => {
            if collection_id.is_empty() {
                errors.insert("collectionId".into(), required());
            } else if !(context.collection_exists)(collection_id) {
                errors.insert(
                    "collectionId".into(),
                    field_error(
                        ValidationCode::FieldRelationMissingCollection,
                        "The relation collection doesn't exist.",
                        None,
                    ),
                );
            }
            if *min_select < 0 {
                errors.insert("minSelect".into(), at_least(0));
            }
            if *max_select != 0 && max_select < min_select {
                errors.insert("maxSelect".into(), at_least(*min_select));
            }
        }
        FieldKind::File {
            max_select,
            max_size,
            thumbs,
            ..
        } => {
            for (key, value) in [("maxSelect", *max_select), ("maxSize", *max_size)] {
                if value < 0 {
                    errors.insert(key.into(), at_least(0));
                } else if value > JS_SAFE_INTEGER_MAX {
                    errors.insert(key.into(), at_most(JS_SAFE_INTEGER_MAX));
                }
            }
            let mut thumb_errors = Map::new();
            for (position, thumb) in thumbs.iter().enumerate() {
                let error = if matches!(thumb.as_str(), "0x0" | "0x0t" | "0x0b" | "0x0f") {
                    Some(field_error(
                        ValidationCode::NotInInvalid,
                        "Must not be in list.",
                        None,
                    ))
                } else if !THUMB_SIZE.is_match(thumb) {
                    Some(field_error(
                        ValidationCode::MatchInvalid,
                        "Must be in a valid format.",
                        None,
                    ))
                } else {
                    None
                };
                if let Some(error) = error {
                    thumb_errors.insert(position.to_string(), error);
                }
            }
            if !thumb_errors.is_empty() {
                errors.insert("thumbs".into(), Value::Object(thumb_errors));
            }
        }
        FieldKind::Bool {} | FieldKind::Date { .. } | FieldKind::GeoPoint {} => {}
    }
    errors
}

pub fn composite_primary_key() -> Value {
    field_error(
        ValidationCode::UnsupportedCompositePk,
        "Composite PKs are not supported and the collection must have only 1 PK.",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(field: Value, expected: Value) {
        let field: Field = serde_json::from_value(field.clone()).expect("field");
        let exists = |id: &str| id == "pbc_1";
        let errors = validate(
            &field,
            &SettingsContext {
                collection_exists: &exists,
            },
        );
        let codes: Map<String, Value> = errors
            .iter()
            .map(|(key, error)| {
                let code = error
                    .get("code")
                    .cloned()
                    .unwrap_or_else(|| json!(error.as_object().map(|m| m.len())));
                (key.clone(), code)
            })
            .collect();
        assert_eq!(Value::Object(codes), expected, "{field:?}");
    }

    /// Read off PocketBase 0.40.6.
    #[test]
    fn regex_errors_read_like_go() {
        let cases = [
            ("([", "missing closing ]: `[`"),
            ("[a-z", "missing closing ]: `[a-z`"),
            ("(abc", "missing closing ): `(abc`"),
            ("abc)", "unexpected ): `abc)`"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("a{2,1}", "invalid repeat count: `{2,1}`"),
            ("[z-a]", "invalid character class range: `z-a`"),
            ("(?P<n>a", "missing closing ): `(?P<n>a`"),
        ];
        for (pattern, expected) in cases {
            let error = text::compile_pattern(pattern).expect_err(pattern);
            assert_eq!(go_regex_message(pattern, &error), expected, "{pattern}");
        }
    }

    /// Read off PocketBase 0.40.6.
    #[test]
    fn option_errors_match_pocketbase() {
        let cases = [
            (
                json!({"name":"s","type":"select"}),
                json!({"values":"validation_required"}),
            ),
            (
                json!({"name":"s","type":"select","values":["a","a"],"maxSelect":5}),
                json!({"maxSelect":"validation_max_less_equal_than_required"}),
            ),
            (
                json!({"name":"t","type":"text","min":10,"max":5,"pattern":"(["}),
                json!({"max":"validation_min_greater_equal_than_required","pattern":"validation_invalid_regex"}),
            ),
            (
                json!({"name":"n","type":"number","min":10,"max":5}),
                json!({"max":"validation_min_number_constraint"}),
            ),
            (
                json!({"name":"r","type":"relation"}),
                json!({"collectionId":"validation_required"}),
            ),
            (
                json!({"name":"r","type":"relation","collectionId":"nope"}),
                json!({"collectionId":"validation_field_relation_missing_collection"}),
            ),
            (
                json!({"name":"r","type":"relation","collectionId":"pbc_1","minSelect":3,"maxSelect":2}),
                json!({"maxSelect":"validation_min_greater_equal_than_required"}),
            ),
            (
                json!({"name":"e","type":"email","onlyDomains":["a.com"],"exceptDomains":["b.com"]}),
                json!({"exceptDomains":"validation_empty","onlyDomains":"validation_empty"}),
            ),
            (
                json!({"name":"u","type":"url","onlyDomains":["not a domain"]}),
                json!({"onlyDomains":1}),
            ),
            (
                json!({"name":"a","type":"autodate"}),
                json!({"onCreate":"validation_required","onUpdate":"validation_required"}),
            ),
            (
                json!({"name":"j","type":"json","maxSize":-1}),
                json!({"maxSize":"validation_min_greater_equal_than_required"}),
            ),
            (json!({"name":"t","type":"text","max":100000}), json!({})),
        ];
        for (field, expected) in cases {
            check(field, expected);
        }
    }
}
