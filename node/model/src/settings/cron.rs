//! Checking a backup schedule: PocketBase's cron dialect (five fields or a macro).

/// Macros PocketBase accepts in place of five fields.
const MACROS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Minute, hour, day of month, month, day of week: the inclusive bounds of each field.
const FIELD_BOUNDS: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

/// Ok for an empty schedule (no automatic backups), a macro, or five valid fields; else the
/// message PocketBase gives.
pub(super) fn check(expression: &str) -> Result<(), &'static str> {
    if expression.is_empty() || MACROS.contains(&expression) {
        return Ok(());
    }
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() != FIELD_BOUNDS.len() {
        return Err("Invalid cron expression - must be a valid macro or to have exactly 5 space separated segments.");
    }
    for (field, (min, max)) in fields.iter().zip(FIELD_BOUNDS) {
        for part in field.split(',') {
            check_part(part, min, max)?;
        }
    }
    Ok(())
}

fn check_part(part: &str, min: u32, max: u32) -> Result<(), &'static str> {
    const BAD_VALUE: &str =
        "Invalid segment value - must be between the min and max of the segment.";
    const BAD_STEP: &str = "Invalid segment step - must be a positive number.";
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(step) if step > 0 => {}
            _ => return Err(BAD_STEP),
        }
    }
    if range == "*" {
        return Ok(());
    }
    let number = |text: &str| match text.parse::<u32>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(BAD_VALUE),
    };
    match range.split_once('-') {
        Some((low, high)) => {
            if number(low)? > number(high)? {
                return Err(BAD_VALUE);
            }
        }
        None => {
            number(range)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        for (expression, valid) in [
            ("", true),
            ("@daily", true),
            ("*/5 1-3 * * 1,2", true),
            ("0 0 1 1 0", true),
            ("bad cron", false),
            ("61 * * * *", false),
            ("* * 0 * *", false),
            ("*/0 * * * *", false),
            ("5-1 * * * *", false),
            ("* * * * * *", false),
        ] {
            assert_eq!(check(expression).is_ok(), valid, "{expression}");
        }
    }
}
