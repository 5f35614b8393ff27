//! When a certificate is renewed: 30 days before it expires, or a third of its lifetime
//! before for short-lived ones (Let's Encrypt also issues 6-day certificates), and at once
//! when it does not cover every configured name.

use std::time::Duration;

use super::CertificateSummary;

/// Renew at most this long before expiry.
const RENEW_BEFORE_EXPIRY_S: i64 = 30 * 24 * 3_600;

/// Whether `summary`'s certificate names every one of `domains` (exactly, ignoring case).
pub(super) fn covers(summary: &CertificateSummary, domains: &[String]) -> bool {
    domains.iter().all(|domain| {
        summary
            .dns_names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(domain))
    })
}

/// How long from `now_unix_s` until the certificate should be renewed; zero means now.
pub(super) fn wait_before_renewal(
    summary: &CertificateSummary,
    domains: &[String],
    now_unix_s: i64,
) -> Duration {
    if !covers(summary, domains) {
        return Duration::ZERO;
    }
    let lifetime_s = summary
        .not_after_unix_s
        .saturating_sub(summary.not_before_unix_s)
        .max(0);
    let margin_s = RENEW_BEFORE_EXPIRY_S.min(lifetime_s / 3);
    let renew_at_unix_s = summary.not_after_unix_s.saturating_sub(margin_s);
    let wait_s = renew_at_unix_s.saturating_sub(now_unix_s).max(0);
    Duration::from_secs(u64::try_from(wait_s).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_S: i64 = 24 * 3_600;

    fn summary(
        names: &[&str],
        not_before_unix_s: i64,
        not_after_unix_s: i64,
    ) -> CertificateSummary {
        CertificateSummary {
            serial: "01".to_owned(),
            issuer: "CN=test".to_owned(),
            not_before_unix_s,
            not_after_unix_s,
            dns_names: names.iter().map(|name| (*name).to_owned()).collect(),
        }
    }

    #[test]
    fn renewal_waits_for_the_margin_before_expiry() {
        let domains = vec!["a.test".to_owned()];
        // (names, valid from day, valid to day, now day, expected wait in days)
        let cases: &[(&[&str], i64, i64, i64, i64)] = &[
            // 90-day certificate: renewed 30 days before expiry.
            (&["a.test"], 0, 90, 0, 60),
            (&["A.TEST", "b.test"], 0, 90, 59, 1),
            (&["a.test"], 0, 90, 60, 0),
            (&["a.test"], 0, 90, 200, 0),
            // 6-day certificate: renewed with a third of its life left.
            (&["a.test"], 0, 6, 0, 4),
            (&["a.test"], 0, 6, 5, 0),
            // A certificate for other names: now.
            (&["b.test"], 0, 90, 0, 0),
            (&[], 0, 90, 0, 0),
            // Nonsense validity: now.
            (&["a.test"], 90, 0, 0, 0),
        ];
        for &(names, from, to, now, expected_days) in cases {
            let wait = wait_before_renewal(
                &summary(names, from * DAY_S, to * DAY_S),
                &domains,
                now * DAY_S,
            );
            assert_eq!(
                wait,
                Duration::from_secs((expected_days * DAY_S) as u64),
                "names {names:?}, valid {from}..{to}, now {now}"
            );
        }
    }
}
