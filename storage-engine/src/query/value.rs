//! SQLite's value model as PocketBase's SQL sees it: storage classes, column affinity,
//! comparisons with affinity conversion, `LIKE`, `LOWER` and ORDER BY ordering. Filters are
//! evaluated over JSON documents with these rules so results match PocketBase's SQL.

use std::cmp::Ordering;

/// A SQLite value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// The affinity an operand carries into a comparison: a column's declared type, or none
/// (literals, parameters, function results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Text,
    Numeric,
    None,
}

/// One side of a comparison: its value and what PocketBase's SQL builder knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    pub value: SqlValue,
    pub affinity: Affinity,
    pub kind: OperandKind,
    /// A json field or json path: `=` becomes `IS` (no COALESCE).
    pub no_coalesce: bool,
}

/// How PocketBase's SQL builder sees an operand (decides the `=` rewrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandKind {
    /// A bound parameter (text or number literal, macro, `@request.*` value).
    Param,
    /// The identifiers `NULL`, `TRUE`/`1`, `FALSE`/`0`.
    Keyword,
    /// A column or expression.
    Column,
}

impl Operand {
    pub fn column(value: SqlValue, affinity: Affinity) -> Operand {
        Operand {
            value,
            affinity,
            kind: OperandKind::Column,
            no_coalesce: false,
        }
    }

    pub fn param(value: SqlValue) -> Operand {
        Operand {
            value,
            affinity: Affinity::None,
            kind: OperandKind::Param,
            no_coalesce: false,
        }
    }

    pub fn keyword(value: SqlValue) -> Operand {
        Operand {
            value,
            affinity: Affinity::None,
            kind: OperandKind::Keyword,
            no_coalesce: false,
        }
    }

    /// `NULL`, `''`, or a parameter whose value is NULL or ''.
    pub fn is_empty(&self) -> bool {
        match self.kind {
            OperandKind::Keyword => self.value == SqlValue::Null,
            OperandKind::Param => is_empty_value(&self.value),
            OperandKind::Column => false,
        }
    }

    /// `1`, `0`, or a parameter with a non-empty value.
    pub fn is_known_non_empty(&self) -> bool {
        match self.kind {
            OperandKind::Keyword => self.value != SqlValue::Null,
            OperandKind::Param => !is_empty_value(&self.value),
            OperandKind::Column => false,
        }
    }
}

fn is_empty_value(value: &SqlValue) -> bool {
    match value {
        SqlValue::Null => true,
        SqlValue::Text(text) => text.is_empty(),
        _ => false,
    }
}

/// SQL three-valued truth: `None` is NULL.
pub type Truth = Option<bool>;

pub fn and(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

pub fn or(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

pub fn not(a: Truth) -> Truth {
    a.map(|value| !value)
}

/// Apply SQLite's comparison affinity rules to both sides.
fn with_affinity(left: &Operand, right: &Operand) -> (SqlValue, SqlValue) {
    let (mut l, mut r) = (left.value.clone(), right.value.clone());
    let numeric = |a: Affinity| a == Affinity::Numeric;
    if numeric(left.affinity) && !numeric(right.affinity) {
        r = numeric_affinity(r);
    } else if numeric(right.affinity) && !numeric(left.affinity) {
        l = numeric_affinity(l);
    } else if left.affinity == Affinity::Text && right.affinity == Affinity::None {
        r = text_affinity(r);
    } else if right.affinity == Affinity::Text && left.affinity == Affinity::None {
        l = text_affinity(l);
    }
    (l, r)
}

/// Text that reads as a number becomes that number.
pub fn numeric_affinity(value: SqlValue) -> SqlValue {
    match value {
        SqlValue::Text(text) => match parse_number(text.trim()) {
            Some(number) => number,
            None => SqlValue::Text(text),
        },
        other => other,
    }
}

fn parse_number(text: &str) -> Option<SqlValue> {
    if text.is_empty() {
        return None;
    }
    if let Ok(integer) = text.parse::<i64>() {
        return Some(SqlValue::Integer(integer));
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if !looks_numeric {
        return None;
    }
    let real = text.parse::<f64>().ok()?;
    Some(real_value(real))
}

/// A real that is an exact integer is stored as INTEGER under NUMERIC affinity.
pub fn real_value(real: f64) -> SqlValue {
    if real.fract() == 0.0 && real.abs() < 9.0e15 {
        SqlValue::Integer(real as i64)
    } else {
        SqlValue::Real(real)
    }
}

fn text_affinity(value: SqlValue) -> SqlValue {
    match value {
        SqlValue::Null => SqlValue::Null,
        other => SqlValue::Text(to_text(&other).unwrap_or_default()),
    }
}

/// A value as SQLite renders it as text (`CAST(x AS TEXT)`); NULL stays None.
pub fn to_text(value: &SqlValue) -> Option<String> {
    match value {
        SqlValue::Null => None,
        SqlValue::Integer(integer) => Some(integer.to_string()),
        SqlValue::Real(real) => Some(real_text(*real)),
        SqlValue::Text(text) => Some(text.clone()),
    }
}

fn real_text(real: f64) -> String {
    if real.fract() == 0.0 && real.abs() < 1.0e15 {
        format!("{real:.1}")
    } else {
        let text = format!("{real}");
        if text.contains('.') || text.contains('e') || text.contains("inf") || text.contains("NaN")
        {
            text
        } else {
            format!("{text}.0")
        }
    }
}

/// A number as Go's `cast.ToString` renders a float64 (how PocketBase builds LIKE patterns).
pub fn go_text(value: &SqlValue) -> String {
    match value {
        SqlValue::Null => String::new(),
        SqlValue::Integer(integer) => integer.to_string(),
        SqlValue::Real(real) => format!("{real}"),
        SqlValue::Text(text) => text.clone(),
    }
}

/// ORDER BY ordering: NULL < numbers < text (binary collation).
pub fn order(a: &SqlValue, b: &SqlValue) -> Ordering {
    fn class(value: &SqlValue) -> u8 {
        match value {
            SqlValue::Null => 0,
            SqlValue::Integer(_) | SqlValue::Real(_) => 1,
            SqlValue::Text(_) => 2,
        }
    }
    match (a, b) {
        (SqlValue::Integer(x), SqlValue::Integer(y)) => x.cmp(y),
        (SqlValue::Integer(_) | SqlValue::Real(_), SqlValue::Integer(_) | SqlValue::Real(_)) => {
            as_f64(a).partial_cmp(&as_f64(b)).unwrap_or(Ordering::Equal)
        }
        (SqlValue::Text(x), SqlValue::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => class(a).cmp(&class(b)),
    }
}

fn as_f64(value: &SqlValue) -> f64 {
    match value {
        SqlValue::Integer(integer) => *integer as f64,
        SqlValue::Real(real) => *real,
        _ => 0.0,
    }
}

/// A value used as a number by SQLite's math functions; NULL stays None.
pub fn to_f64(value: &SqlValue) -> Option<f64> {
    match value {
        SqlValue::Null => None,
        SqlValue::Integer(_) | SqlValue::Real(_) => Some(as_f64(value)),
        SqlValue::Text(text) => Some(match numeric_affinity(SqlValue::Text(text.clone())) {
            SqlValue::Integer(integer) => integer as f64,
            SqlValue::Real(real) => real,
            _ => 0.0,
        }),
    }
}

/// `left OP right` for `= < <= > >=` (`None` when either side is NULL).
pub fn compare(left: &Operand, right: &Operand) -> Option<Ordering> {
    let (l, r) = with_affinity(left, right);
    if l == SqlValue::Null || r == SqlValue::Null {
        return None;
    }
    Some(order(&l, &r))
}

/// `left IS right`: NULL-safe equality.
pub fn is(left: &Operand, right: &Operand) -> bool {
    let (l, r) = with_affinity(left, right);
    match (&l, &r) {
        (SqlValue::Null, SqlValue::Null) => true,
        (SqlValue::Null, _) | (_, SqlValue::Null) => false,
        _ => order(&l, &r) == Ordering::Equal,
    }
}

/// `COALESCE(x, '')`: NULL becomes '' and the result has no affinity.
pub fn coalesce_empty(operand: &Operand) -> Operand {
    let value = match &operand.value {
        SqlValue::Null => SqlValue::Text(String::new()),
        other => other.clone(),
    };
    Operand::column(value, Affinity::None)
}

/// SQLite's `LOWER`: ASCII letters only.
pub fn lower(value: &SqlValue) -> SqlValue {
    match to_text(value) {
        Some(text) => SqlValue::Text(text.to_ascii_lowercase()),
        None => SqlValue::Null,
    }
}

/// Most character comparisons one LIKE may make; past it the filter is refused (a pattern
/// like `%a%a%a...%b` on a long text would otherwise take quadratic time).
pub const LIKE_STEPS_MAX: u64 = 20_000_000;

/// A LIKE that would take more than [`LIKE_STEPS_MAX`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LikeTooCostly;

/// SQLite's `text LIKE pattern ESCAPE '\'`: `%` any run, `_` one character, ASCII letters
/// compared case-insensitively.
pub fn like(text: &str, pattern: &str) -> Result<bool, LikeTooCostly> {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Iterative matcher that backtracks only to the last `%`.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let mut steps: u64 = 0;
    while t < text.len() {
        steps += 1;
        if steps > LIKE_STEPS_MAX {
            return Err(LikeTooCostly);
        }
        if p < pattern.len() {
            match pattern[p] {
                '%' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                '_' => {
                    t += 1;
                    p += 1;
                    continue;
                }
                '\\' if p + 1 < pattern.len() => {
                    if same_char(pattern[p + 1], text[t]) {
                        t += 1;
                        p += 2;
                        continue;
                    }
                }
                c => {
                    if same_char(c, text[t]) {
                        t += 1;
                        p += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((star_p, star_t)) => {
                p = star_p + 1;
                t = star_t + 1;
                star = Some((star_p, star_t + 1));
            }
            None => return Ok(false),
        }
    }
    while p < pattern.len() && pattern[p] == '%' {
        p += 1;
    }
    Ok(p == pattern.len())
}

fn same_char(a: char, b: char) -> bool {
    a.eq_ignore_ascii_case(&b)
}

/// PocketBase's LIKE parameter: wrapped in `%...%` (with `%`, `_` and `\` escaped) unless
/// it already holds an unescaped `%`.
pub fn like_param(raw: &str) -> String {
    if contains_unescaped_percent(raw) {
        return raw.to_string();
    }
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len() + 4);
    out.push('%');
    for (i, &c) in chars.iter().enumerate() {
        let special = matches!(c, '\\' | '%' | '_');
        let already_escaped = i > 0 && chars[i - 1] == '\\';
        if special
            && !already_escaped
            && !(c == '\\'
                && chars
                    .get(i + 1)
                    .is_some_and(|next| matches!(next, '%' | '_' | '\\')))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn contains_unescaped_percent(raw: &str) -> bool {
    let mut previous = '\0';
    for c in raw.chars() {
        if c == '%' && previous != '\\' {
            return true;
        }
        previous = if c == '\\' && previous == '\\' {
            '\0'
        } else {
            c
        };
    }
    false
}

/// A JSON value as SQLite's `json_extract` returns it.
pub fn from_json(value: &serde_json::Value) -> SqlValue {
    match value {
        serde_json::Value::Null => SqlValue::Null,
        serde_json::Value::Bool(flag) => SqlValue::Integer(i64::from(*flag)),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(integer) => SqlValue::Integer(integer),
            None => SqlValue::Real(number.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(text) => SqlValue::Text(text.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_cases() {
        let cases = [
            ("Hello World", "%hello%", true),
            ("Hello World", "h_llo%", true),
            ("100%_done", "%100\\%%", true),
            ("abc", "%\\_%", false),
            ("a_c", "%\\_%", true),
            ("Straße", "%straße%", true),
            ("Ünï", "%ünï%", false),
            ("", "%%", true),
            ("x", "", false),
        ];
        for (text, pattern, expected) in cases {
            assert_eq!(
                like(text, pattern),
                Ok(expected),
                "{text:?} LIKE {pattern:?}"
            );
        }
    }

    #[test]
    fn costly_likes_are_refused() {
        let text = "a".repeat(100_000);
        let pattern = format!("%{}b", "a".repeat(5_000));
        assert_eq!(like(&text, &pattern), Err(LikeTooCostly));
    }

    #[test]
    fn like_param_cases() {
        for (raw, expected) in [
            ("hello", "%hello%"),
            ("_", "%\\_%"),
            ("100\\%", "%100\\%%"),
            ("h_llo%", "h_llo%"),
            ("", "%%"),
        ] {
            assert_eq!(like_param(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn real_text_matches_sqlite() {
        assert_eq!(real_text(10.0), "10.0");
        assert_eq!(real_text(1.5), "1.5");
        assert_eq!(real_text(-2.0), "-2.0");
    }
}
