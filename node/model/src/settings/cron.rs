//! Checking a backup schedule: PocketBase's cron dialect (`crate::cron_schedule`), where an
//! empty schedule means no automatic backups.

use crate::cron_schedule::CronSchedule;

/// Ok for an empty schedule, a macro, or five valid fields; else the message PocketBase
/// gives.
pub(super) fn check(expression: &str) -> Result<(), &'static str> {
    if expression.is_empty() {
        return Ok(());
    }
    CronSchedule::parse(expression).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_none() {
        assert!(check("").is_ok());
        assert!(check("@daily").is_ok());
        assert!(check("bad cron").is_err());
    }
}
