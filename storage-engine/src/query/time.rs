//! UTC calendar arithmetic for the datetime macros and `strftime`, on Unix milliseconds
//! (the HTTP layer passes the clock in; nothing here reads it).

pub const DAY_MS: i64 = 86_400_000;

/// A UTC instant split into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub millisecond: i64,
    /// 0 = Sunday.
    pub weekday: i64,
    pub day_of_year: i64,
}

impl Parts {
    pub fn from_unix_ms(ms: i64) -> Parts {
        let days = ms.div_euclid(DAY_MS);
        let in_day = ms.rem_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(days);
        Parts {
            year,
            month,
            day,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1000 % 60,
            millisecond: in_day % 1000,
            weekday: (days + 4).rem_euclid(7),
            day_of_year: days - days_from_civil(year, 1, 1) + 1,
        }
    }
}

/// Milliseconds since the epoch of `year-month-day` plus `ms_of_day`.
pub fn to_unix_ms(year: i64, month: i64, day: i64, ms_of_day: i64) -> i64 {
    days_from_civil(year, month, day) * DAY_MS + ms_of_day
}

/// PocketBase's datetime text: `2024-01-15 10:00:00.000Z`.
pub fn format_datetime(ms: i64) -> String {
    let p = Parts::from_unix_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millisecond
    )
}

/// Read `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z]`; anything else is None (SQLite's NULL).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z');
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.chars()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms_of_day = 0;
    if bytes.len() > 10 {
        if !matches!(bytes[10], b' ' | b'T') || bytes.len() < 16 || bytes[13] != b':' {
            return None;
        }
        let (hour, minute) = (number(11..13)?, number(14..16)?);
        let mut second = 0;
        let mut millisecond = 0;
        if bytes.len() >= 19 && bytes[16] == b':' {
            second = number(17..19)?;
            if bytes.len() > 20 && bytes[19] == b'.' {
                let fraction = text.get(20..)?;
                let digits: String = fraction.chars().take(3).collect();
                let scale = 10i64.pow(3 - digits.len() as u32);
                millisecond = digits.parse::<i64>().ok()? * scale;
            }
        }
        ms_of_day = ((hour * 60 + minute) * 60 + second) * 1000 + millisecond;
    }
    Some(to_unix_ms(year, month, day, ms_of_day))
}

/// SQLite's `strftime` for `%Y %m %d %H %M %S %f %j %w %s %%`.
pub fn strftime(format: &str, ms: i64) -> String {
    let p = Parts::from_unix_ms(ms);
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{:04}", p.year)),
            Some('m') => out.push_str(&format!("{:02}", p.month)),
            Some('d') => out.push_str(&format!("{:02}", p.day)),
            Some('H') => out.push_str(&format!("{:02}", p.hour)),
            Some('M') => out.push_str(&format!("{:02}", p.minute)),
            Some('S') => out.push_str(&format!("{:02}", p.second)),
            Some('f') => out.push_str(&format!("{:02}.{:03}", p.second, p.millisecond)),
            Some('j') => out.push_str(&format!("{:03}", p.day_of_year)),
            Some('w') => out.push_str(&p.weekday.to_string()),
            Some('s') => out.push_str(&ms.div_euclid(1000).to_string()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

// Howard Hinnant's civil calendar algorithms.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases = [
            ("2024-01-15 10:00:00.000Z", 1_705_312_800_000),
            ("1970-01-01 00:00:00.000Z", 0),
            ("2025-12-31 23:59:59.999Z", 1_767_225_599_999),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_datetime(text), Some(ms), "{text}");
            assert_eq!(format_datetime(ms), text);
        }
        assert_eq!(parse_datetime(""), None);
        assert_eq!(strftime("%Y-%m|%w|%j", 1_705_312_800_000), "2024-01|1|015");
    }
}
