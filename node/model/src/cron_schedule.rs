//! PocketBase's cron dialect: five fields (minute, hour, day of month, month, day of week)
//! or a macro, each field a list of `*`, `N`, `A-B`, with an optional `/STEP`. A moment is
//! due when every field holds it (day of month and day of week both, as PocketBase checks
//! them, not cron's either-or).

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Macros PocketBase accepts in place of five fields, with what each stands for.
const MACROS: &[(&str, &str)] = &[
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// Minute, hour, day of month, month, day of week: the inclusive bounds of each field.
const FIELD_BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

const WRONG_FIELD_COUNT: &str =
    "Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.";
const BAD_VALUE: &str = "Invalid segment value - must be between the min and max of the segment.";
const BAD_STEP: &str = "Invalid segment step - must be a positive number.";

/// A parsed schedule: for each field, the set of values it holds (bit `v` set for value
/// `v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CronSchedule {
    fields: [u64; 5],
}

impl CronSchedule {
    /// Parse an expression; the error is PocketBase's message for it.
    pub fn parse(expression: &str) -> Result<CronSchedule, &'static str> {
        let expression = MACROS
            .iter()
            .find(|(name, _)| *name == expression)
            .map_or(expression, |(_, fields)| fields);
        let parts: Vec<&str> = expression.split_whitespace().collect();
        if parts.len() != FIELD_BOUNDS.len() {
            return Err(WRONG_FIELD_COUNT);
        }
        let mut fields = [0u64; 5];
        for ((field, text), (min, max)) in fields.iter_mut().zip(&parts).zip(FIELD_BOUNDS) {
            for part in text.split(',') {
                *field |= parse_part(part, min, max)?;
            }
        }
        Ok(CronSchedule { fields })
    }

    /// Whether the minute `at` falls in is due.
    pub fn is_due(&self, at: DateTime<Utc>) -> bool {
        let values = [
            at.minute(),
            at.hour(),
            at.day(),
            at.month(),
            at.weekday().num_days_from_sunday(),
        ];
        self.fields
            .iter()
            .zip(values)
            .all(|(field, value)| field & (1u64 << value) != 0)
    }
}

/// The values one comma-separated part holds, as a bit set.
fn parse_part(part: &str, min: u32, max: u32) -> Result<u64, &'static str> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => match step.parse::<u32>() {
            Ok(step) if step > 0 => (range, step),
            _ => return Err(BAD_STEP),
        },
        None => (part, 1),
    };
    let number = |text: &str| match text.parse::<u32>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(BAD_VALUE),
    };
    let (low, high) = if range == "*" {
        (min, max)
    } else if let Some((low, high)) = range.split_once('-') {
        let (low, high) = (number(low)?, number(high)?);
        if low > high {
            return Err(BAD_VALUE);
        }
        (low, high)
    } else {
        let value = number(range)?;
        // `N/STEP` runs from N to the field's end, as in cron.
        (value, if part.contains('/') { max } else { value })
    };
    Ok((low..=high)
        .step_by(step as usize)
        .fold(0u64, |set, value| set | (1u64 << value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        Utc.from_utc_datetime(&naive)
    }

    #[test]
    fn validity_matches_pocketbase() {
        for (expression, valid) in [
            ("@daily", true),
            ("*/5 1-3 * * 1,2", true),
            ("0 0 1 1 0", true),
            ("5/15 * * * *", true),
            ("bad cron", false),
            ("61 * * * *", false),
            ("* * 0 * *", false),
            ("*/0 * * * *", false),
            ("5-1 * * * *", false),
            ("* * * * * *", false),
            ("", false),
        ] {
            assert_eq!(
                CronSchedule::parse(expression).is_ok(),
                valid,
                "{expression}"
            );
        }
    }

    #[test]
    fn due_minutes() {
        let every_five = CronSchedule::parse("*/5 * * * *").unwrap();
        assert!(every_five.is_due(at("2026-12-07 10:05")));
        assert!(!every_five.is_due(at("2026-12-07 10:06")));
        let hourly = CronSchedule::parse("@hourly").unwrap();
        assert!(hourly.is_due(at("2026-12-07 10:00")));
        assert!(!hourly.is_due(at("2026-12-07 10:30")));
        // 2026-12-07 is a Monday (1): both the day of month and the weekday must hold.
        let monday_the_7th = CronSchedule::parse("0 0 7 * 1").unwrap();
        assert!(monday_the_7th.is_due(at("2026-12-07 00:00")));
        assert!(!CronSchedule::parse("0 0 7 * 2")
            .unwrap()
            .is_due(at("2026-12-07 00:00")));
        let from_five = CronSchedule::parse("5/20 * * * *").unwrap();
        for (minute, due) in [(5, true), (25, true), (45, true), (0, false), (6, false)] {
            assert_eq!(
                from_five.is_due(at(&format!("2026-12-07 10:{minute:02}"))),
                due,
                "{minute}"
            );
        }
    }
}
