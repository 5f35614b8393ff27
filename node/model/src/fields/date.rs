//! Date fields: the datetime layouts PocketBase reads, its stored shape
//! `YYYY-MM-DD HH:MM:SS.sssZ`, and `min`/`max` bounds.

use crate::ValidationCode;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use regex::Regex;
use serde_json::{json, Value};

use crate::field_error;

/// Layouts with an offset, in the order Go's date casting tries them (a trailing `Z`
/// is read as `+00:00` first).
const OFFSET_LAYOUTS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f %:z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%a, %d %b %Y %H:%M:%S %z",
];
/// Layouts read as UTC.
const NAIVE_LAYOUTS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%a, %d %b %Y %H:%M:%S",
];
/// Date-only layouts.
const DATE_LAYOUTS: &[&str] = &["%Y-%m-%d", "%d %b %Y"];
/// Zone names Go reads as UTC at the end of a datetime.
const UTC_NAMES: &[&str] = &[" UTC", " GMT"];

/// Parse a datetime as PocketBase does; `None` if no layout reads it. Go's zero time
/// (`0001-01-01 00:00:00Z`) counts as no datetime.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    parse_any(text).filter(|time| {
        NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .is_none_or(|zero| time.naive_utc() != zero)
    })
}

/// Go reads months, days, minutes and seconds as exactly two digits; chrono takes one.
static ISO_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{1,2}:[0-9]{2}:[0-9]{2}([^0-9].*)?)?$")
        .expect("static pattern")
});

fn parse_any(text: &str) -> Option<DateTime<Utc>> {
    let iso_like = text.len() > 4 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if iso_like && !ISO_SHAPE.is_match(text) {
        return None;
    }
    let with_offset = match text.strip_suffix('Z') {
        Some(rest) => format!("{rest}+00:00"),
        None => text.to_string(),
    };
    // `2006-01-02 15:04:05 -0700 MST`: the offset decides, the zone name is a label.
    let without_zone = with_offset
        .rsplit_once(' ')
        .filter(|(head, name)| {
            name.len() <= 5
                && name.chars().all(|c| c.is_ascii_uppercase())
                && head.contains(['+', '-'])
        })
        .map(|(head, _)| head.to_string());
    for candidate in [Some(with_offset.clone()), without_zone]
        .into_iter()
        .flatten()
    {
        for layout in OFFSET_LAYOUTS {
            if let Ok(parsed) = DateTime::parse_from_str(&candidate, layout) {
                return Some(parsed.with_timezone(&Utc));
            }
        }
    }
    let naive_text = UTC_NAMES
        .iter()
        .find_map(|name| text.strip_suffix(name))
        .unwrap_or(text);
    for layout in NAIVE_LAYOUTS {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(naive_text, layout) {
            return Some(parsed.and_utc());
        }
    }
    DATE_LAYOUTS.iter().find_map(|layout| {
        NaiveDate::parse_from_str(text, layout)
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|midnight| midnight.and_utc())
    })
}

/// PocketBase's stored and shown shape (milliseconds, truncated).
pub fn format(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string()
}

/// A string that parses becomes the normalised datetime; anything else is "" (PocketBase
/// drops values it cannot read rather than failing).
pub fn cast(raw: &Value) -> String {
    match raw {
        Value::String(text) => normalise(text),
        _ => String::new(),
    }
}

/// The normalised datetime, or "" when `text` is not one.
pub fn normalise(text: &str) -> String {
    parse(text).map(|time| format(&time)).unwrap_or_default()
}

/// Go's `time.Time.String()` for a UTC time: `2006-01-02 15:04:05[.fraction] +0000 UTC`.
fn go_string(time: &DateTime<Utc>) -> String {
    let fraction = time.format("%.9f").to_string();
    let fraction = fraction.trim_end_matches('0').trim_end_matches('.');
    format!("{}{fraction} +0000 UTC", time.format("%Y-%m-%d %H:%M:%S"))
}

pub fn validate(value: &Value, min: &str, max: &str) -> Option<Value> {
    let time = parse(value.as_str().unwrap_or_default())?;
    if let Some(min) = parse(min).filter(|min| time < *min) {
        return Some(field_error(
            ValidationCode::MinGreaterEqualThanRequired,
            format!("Must be no less than {}.", go_string(&min)),
            Some(json!({ "threshold": min.to_rfc3339_opts(SecondsFormat::AutoSi, true) })),
        ));
    }
    if let Some(max) = parse(max).filter(|max| time > *max) {
        return Some(field_error(
            ValidationCode::MaxLessEqualThanRequired,
            format!("Must be no greater than {}.", go_string(&max)),
            Some(json!({ "threshold": max.to_rfc3339_opts(SecondsFormat::AutoSi, true) })),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read off PocketBase 0.40.6: input -> stored value ("" when it is not a datetime).
    #[test]
    fn normalises_like_pocketbase() {
        let cases = [
            ("2025-05-05T10:11:12Z", "2025-05-05 10:11:12.000Z"),
            ("2025-05-05 10:11:12.123456Z", "2025-05-05 10:11:12.123Z"),
            ("2025-05-05T10:11:12.5+02:00", "2025-05-05 08:11:12.500Z"),
            ("2025-05-05 10:11:12+02:00", "2025-05-05 08:11:12.000Z"),
            ("2025-05-05T10:11:12", "2025-05-05 10:11:12.000Z"),
            ("2025-05-05", "2025-05-05 00:00:00.000Z"),
            ("2025-05-05T10:11:12.123456789Z", "2025-05-05 10:11:12.123Z"),
            ("2025-05-05 10:11", ""),
            (" 2025-05-05 ", ""),
            ("2025-13-45", ""),
            ("1700000000", ""),
            ("notadate", ""),
            ("2025-05-05T10:11:12-0700", "2025-05-05 17:11:12.000Z"),
            ("2025-05-05 10:11:12 -07:00", "2025-05-05 17:11:12.000Z"),
            ("2025-05-05 10:11:12 -0700", "2025-05-05 17:11:12.000Z"),
            ("05 May 2025", "2025-05-05 00:00:00.000Z"),
            ("Mon, 05 May 2025 10:11:12 GMT", "2025-05-05 10:11:12.000Z"),
            (
                "Mon, 05 May 2025 10:11:12 -0700",
                "2025-05-05 17:11:12.000Z",
            ),
            ("2025-05-05T10:11:12.123+0530", "2025-05-05 04:41:12.123Z"),
            ("2025-05-05 10:11:12.5", "2025-05-05 10:11:12.500Z"),
            ("2025-5-5", ""),
            ("2025-05-05T10:11:12z", ""),
            ("2025-05-05t10:11:12Z", ""),
            ("0001-01-01 00:00:00.000Z", ""),
            ("9999-12-31 23:59:59.999Z", "9999-12-31 23:59:59.999Z"),
            (
                "2025-05-05 10:11:12.000 +0000 UTC",
                "2025-05-05 10:11:12.000Z",
            ),
            ("2025-02-30", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise(input), expected, "{input}");
        }
    }

    #[test]
    fn bounds_read_like_go() {
        let error = validate(
            &json!("2019-01-01 00:00:00.000Z"),
            "2020-01-01 00:00:00.000Z",
            "",
        )
        .expect("below min");
        assert_eq!(
            error,
            json!({"code": "validation_min_greater_equal_than_required",
                   "message": "Must be no less than 2020-01-01 00:00:00 +0000 UTC.",
                   "params": {"threshold": "2020-01-01T00:00:00Z"}})
        );
    }
}
