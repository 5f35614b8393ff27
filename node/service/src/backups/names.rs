//! Backup names: PocketBase's rule for a chosen name, its generated names, and the bound on
//! an uploaded file's name (it becomes a key in URLs).

use chrono::{DateTime, Utc};
use edgebase_model::validation::ValidationCode;

/// Prefix of the backups the schedule makes; `cronMaxKeep` counts only these.
pub const AUTO_PREFIX: &str = "@auto_pb_backup_";
/// Prefix of a backup made on request without a name.
pub const MANUAL_PREFIX: &str = "pb_backup_";
pub const NAME_CHARS_MAX: usize = 150;
const APP_NAME_CHARS_MAX: usize = 50;

/// PocketBase's check of a requested name: 1-150 characters of `[a-z0-9_-]` ending in
/// `.zip`. The error is its validation code and message.
pub fn check_name(name: &str) -> Result<(), (ValidationCode, &'static str)> {
    let length = name.chars().count();
    if !(1..=NAME_CHARS_MAX).contains(&length) {
        return Err((
            ValidationCode::LengthOutOfRange,
            "The length must be between 1 and 150.",
        ));
    }
    let stem = name.strip_suffix(".zip").unwrap_or("");
    let valid = !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err((ValidationCode::MatchInvalid, "Must be in a valid format."));
    }
    Ok(())
}

/// An uploaded archive keeps its file name as key; it must be safe in a URL path: 1-150
/// characters of letters, digits, `_`, `-`, `.`, `@`, ending in `.zip`.
pub fn check_upload_name(name: &str) -> Result<(), &'static str> {
    let length = name.chars().count();
    let safe = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    if (1..=NAME_CHARS_MAX).contains(&length) && safe && name.ends_with(".zip") {
        Ok(())
    } else {
        Err("The file name must be 1-150 letters, digits, '_', '-', '.' or '@' and end in .zip.")
    }
}

/// `PREFIX<app_name_in_snake_case>_<YYYYMMDDhhmmss>.zip`, as PocketBase names them.
pub fn generated_name(prefix: &str, app_name: &str, at: DateTime<Utc>) -> String {
    let mut app: String = snake_case(app_name);
    if app.len() > APP_NAME_CHARS_MAX {
        let cut = (0..=APP_NAME_CHARS_MAX)
            .rev()
            .find(|i| app.is_char_boundary(*i))
            .unwrap_or(0);
        app.truncate(cut);
    }
    format!("{prefix}{app}_{}.zip", at.format("%Y%m%d%H%M%S"))
}

/// The name a scheduled backup gets.
pub fn auto_name(app_name: &str, at: DateTime<Utc>) -> String {
    generated_name(AUTO_PREFIX, app_name, at)
}

/// Lower case words joined by `_` (`"My App 2"` is `my_app_2`; `"MyApp"` is `my_app`).
fn snake_case(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && previous_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = c.is_lowercase() || c.is_numeric();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn requested_names() {
        assert!(check_name("b1.zip").is_ok());
        assert!(check_name("daily-2026_12.zip").is_ok());
        for bad in ["Bad Name", "b1", ".zip", "B1.zip", "a/b.zip", "@auto.zip"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_name(&"a".repeat(151)).unwrap_err().0,
            ValidationCode::LengthOutOfRange
        );
    }

    #[test]
    fn generated_names() {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 5, 3).unwrap();
        assert_eq!(
            generated_name(MANUAL_PREFIX, "Acme", at),
            "pb_backup_acme_20261207090503.zip"
        );
        assert_eq!(
            auto_name("My App", at),
            "@auto_pb_backup_my_app_20261207090503.zip"
        );
        assert_eq!(snake_case("MyApp"), "my_app");
        assert!(check_upload_name(&auto_name("My App", at)).is_ok());
        assert!(check_upload_name("../x.zip").is_err());
    }
}
