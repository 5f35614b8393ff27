//! A partial index's `WHERE` clause: comparisons of the record's own fields with literals,
//! joined by AND and OR, evaluated on the record's JSON with SQLite's NULL and affinity rules.
//! The SQL is rewritten into the filter language (`AND` -> `&&`, `OR` -> `||`) and parsed by
//! [`crate::query::parse_filter`]; anything else is rejected when the index is compiled.

use std::cmp::Ordering;

use crate::index::definition::Collation;
use crate::index::error::IndexError;
use crate::index::value::IndexValue;
use crate::query::{CompareKind, Expr, Operand, PathRoot};
use crate::schema::{CollectionSchema, FieldInfo, FieldShape};

/// A compiled `WHERE` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexCondition {
    And(Box<IndexCondition>, Box<IndexCondition>),
    Or(Box<IndexCondition>, Box<IndexCondition>),
    Compare {
        field: FieldInfo,
        kind: CompareKind,
        literal: IndexValue,
    },
}

impl IndexCondition {
    /// Compile `sql` (the text after `WHERE`) against `schema`.
    pub fn compile(
        index: &str,
        sql: &str,
        schema: &CollectionSchema,
    ) -> Result<IndexCondition, IndexError> {
        let fail = |detail: String| IndexError::Condition {
            index: index.to_owned(),
            detail,
        };
        let filter = sql_to_filter(sql);
        let expr = crate::query::parse_filter(&filter)
            .map_err(|error| fail(error.to_string()))?
            .ok_or_else(|| fail("empty".into()))?;
        compile_expr(&expr, schema, &fail)
    }

    /// Whether the record (its JSON object) satisfies the clause. NULL compares false.
    pub fn matches(&self, record: &serde_json::Map<String, serde_json::Value>) -> bool {
        match self {
            IndexCondition::And(left, right) => left.matches(record) && right.matches(record),
            IndexCondition::Or(left, right) => left.matches(record) || right.matches(record),
            IndexCondition::Compare {
                field,
                kind,
                literal,
            } => {
                let value = IndexValue::from_field(field, record.get(&field.name));
                let Some(order) = value.compare(literal, Collation::Binary) else {
                    return false;
                };
                match kind {
                    CompareKind::Eq => order == Ordering::Equal,
                    CompareKind::NotEq => order != Ordering::Equal,
                    CompareKind::Greater => order == Ordering::Greater,
                    CompareKind::GreaterOrEq => order != Ordering::Less,
                    CompareKind::Less => order == Ordering::Less,
                    CompareKind::LessOrEq => order != Ordering::Greater,
                    CompareKind::Like | CompareKind::NotLike => false,
                }
            }
        }
    }
}

fn compile_expr(
    expr: &Expr,
    schema: &CollectionSchema,
    fail: &dyn Fn(String) -> IndexError,
) -> Result<IndexCondition, IndexError> {
    match expr {
        Expr::And(left, right) => Ok(IndexCondition::And(
            Box::new(compile_expr(left, schema, fail)?),
            Box::new(compile_expr(right, schema, fail)?),
        )),
        Expr::Or(left, right) => Ok(IndexCondition::Or(
            Box::new(compile_expr(left, schema, fail)?),
            Box::new(compile_expr(right, schema, fail)?),
        )),
        Expr::Compare { left, op, right } => {
            if op.any_of {
                return Err(fail("any-of (?) operators are not supported".into()));
            }
            let (path, literal, kind) = match (left, right) {
                (Operand::Path(path), literal) => (path, literal, op.kind),
                (literal, Operand::Path(path)) => (path, literal, flip(op.kind)),
                _ => return Err(fail("each comparison needs one column".into())),
            };
            if matches!(kind, CompareKind::Like | CompareKind::NotLike) {
                return Err(fail("LIKE is not supported".into()));
            }
            if path.root != PathRoot::Record || path.segments.len() != 1 || path.modifier.is_some()
            {
                return Err(fail("only the record's own columns can be compared".into()));
            }
            let name = &path.segments[0];
            let field =
                field_named(schema, name).ok_or_else(|| fail(format!("no such column: {name}")))?;
            let literal = literal_value(literal, field.shape)
                .ok_or_else(|| fail("each comparison needs one literal".into()))?;
            Ok(IndexCondition::Compare {
                field: field.clone(),
                kind,
                literal,
            })
        }
    }
}

/// A literal as SQLite compares it with a column of `shape` (column affinity applies to an
/// untyped literal: numeric columns turn numeric-looking text into numbers, text columns
/// turn numbers into text).
pub(crate) fn literal_value(literal: &Operand, shape: FieldShape) -> Option<IndexValue> {
    let numeric = matches!(shape, FieldShape::Number | FieldShape::Bool);
    Some(match literal {
        Operand::Null => IndexValue::Null,
        Operand::Number(number) if numeric => IndexValue::Number(*number),
        Operand::Number(number) => IndexValue::Text(sqlite_number_text(*number)),
        Operand::Bool(flag) if numeric => IndexValue::Number(f64::from(u8::from(*flag))),
        Operand::Bool(flag) => IndexValue::Text(u8::from(*flag).to_string()),
        Operand::Text(text) if numeric => match text.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => IndexValue::Number(number),
            _ => IndexValue::Text(text.clone()),
        },
        Operand::Text(text) => IndexValue::Text(text.clone()),
        _ => return None,
    })
}

fn sqlite_number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        number.to_string()
    }
}

pub(crate) fn flip(kind: CompareKind) -> CompareKind {
    match kind {
        CompareKind::Greater => CompareKind::Less,
        CompareKind::GreaterOrEq => CompareKind::LessOrEq,
        CompareKind::Less => CompareKind::Greater,
        CompareKind::LessOrEq => CompareKind::GreaterOrEq,
        other => other,
    }
}

/// A field by column name; SQLite column names are case-insensitive.
pub(crate) fn field_named<'a>(schema: &'a CollectionSchema, name: &str) -> Option<&'a FieldInfo> {
    schema.field(name).or_else(|| {
        schema
            .fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    })
}

/// Rewrite SQL's `AND`, `OR`, `<>`, `==` and quoted identifiers into filter syntax, leaving
/// string literals alone.
fn sql_to_filter(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '`' | '[' => {
                let close = if c == '[' { ']' } else { '`' };
                for inner in chars.by_ref() {
                    if inner == close {
                        break;
                    }
                    out.push(inner);
                }
            }
            '<' if chars.peek() == Some(&'>') => {
                chars.next();
                out.push_str("!=");
            }
            '=' if chars.peek() == Some(&'=') => {
                chars.next();
                out.push('=');
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(next) = chars.peek().copied() {
                    if next.is_alphanumeric() || next == '_' || next == '.' {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if word.eq_ignore_ascii_case("AND") {
                    out.push_str("&&");
                } else if word.eq_ignore_ascii_case("OR") {
                    out.push_str("||");
                } else {
                    out.push_str(&word);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> CollectionSchema {
        CollectionSchema::from_doc_json(
            r#"{"id":"c","name":"posts","fields":[
                {"id":"f1","name":"slug","type":"text"},
                {"id":"f2","name":"n","type":"number"},
                {"id":"f3","name":"on","type":"bool"}]}"#,
        )
        .expect("schema")
    }

    #[test]
    fn evaluates_where_clauses() {
        let schema = schema();
        let check = |sql: &str, record: serde_json::Value, expected: bool| {
            let condition = IndexCondition::compile("i", sql, &schema).expect(sql);
            let record = record.as_object().expect("object").clone();
            assert_eq!(condition.matches(&record), expected, "{sql} on {record:?}");
        };
        use serde_json::json;
        check("slug != ''", json!({"slug": ""}), false);
        check("slug != \"\"", json!({"slug": "a"}), true);
        check("slug != ''", json!({}), false);
        check("n > 3 AND slug <> 'x'", json!({"n": 4, "slug": "y"}), true);
        check("n > 3 and slug <> 'x'", json!({"n": 4, "slug": "x"}), false);
        check("n > 3 OR `slug` = 'x'", json!({"n": 1, "slug": "x"}), true);
        check("n = '5'", json!({"n": 5}), true);
        check("5 < n", json!({"n": 6}), true);
        check("on = true", json!({"on": true}), true);
        check("[on] == 1", json!({"on": false}), false);
        check("slug = 'and or'", json!({"slug": "and or"}), true);
    }

    #[test]
    fn rejects_what_it_cannot_evaluate() {
        let schema = schema();
        for sql in [
            "slug IS NOT NULL",
            "nope = 1",
            "slug ~ 'a'",
            "lower(slug) = 'a'",
            "slug = n",
            "@request.auth.id != ''",
            "slug:lower = 'a'",
        ] {
            assert!(
                matches!(
                    IndexCondition::compile("i", sql, &schema),
                    Err(IndexError::Condition { .. })
                ),
                "{sql}"
            );
        }
    }
}
