//! Checking a settings document the way PocketBase 0.40 does, with its codes and messages.

use crate::ValidationCode;
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::{cron, RateLimitRule, S3Settings, Settings};
use crate::{field_error, FieldErrors};

const AUTH_METHODS: &[&str] = &["LOGIN", "PLAIN"];
const AUDIENCES: &[&str] = &["", "@guest", "@auth"];

static RATE_LIMIT_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\w+ /[\w/-]*|/[\w/-]*|\w+:\w+|\*:\w+|\w+)$").expect("static pattern")
});
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("static pattern"));
static DNS_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,62}[a-zA-Z0-9_])?\.?$")
        .expect("static pattern")
});

/// Every error in `settings`, nested by section as PocketBase reports them.
pub(super) fn errors(settings: &Settings) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut section = |name: &str, section_errors: FieldErrors| {
        if !section_errors.is_empty() {
            errors.insert(name.into(), Value::Object(section_errors));
        }
    };
    section("meta", meta(settings));
    section("logs", logs(settings));
    section("smtp", smtp(settings));
    section("s3", s3(&settings.s3));
    section("backups", backups(settings));
    section("batch", batch(settings));
    section("rateLimits", rate_limits(settings));
    section("superuserIPs", ip_list(&settings.superuser_ips));
    errors
}

/// The first failing check of a field, as ozzo-validation stops at the first.
struct Checks<'a> {
    errors: &'a mut FieldErrors,
}

impl Checks<'_> {
    fn field(&mut self, name: &str, error: Option<Value>) {
        if let Some(error) = error {
            self.errors.insert(name.into(), error);
        }
    }
}

fn required() -> Value {
    field_error(ValidationCode::Required, "Cannot be blank.", None)
}

fn at_least(threshold: i64) -> Value {
    field_error(
        ValidationCode::MinGreaterEqualThanRequired,
        format!("Must be no less than {threshold}."),
        Some(json!({ "threshold": threshold })),
    )
}

fn in_invalid() -> Value {
    field_error(ValidationCode::InInvalid, "Must be a valid value.", None)
}

/// ozzo's `Required`: empty strings and zeroes are blank.
fn blank_text(text: &str, when: bool) -> Option<Value> {
    (when && text.is_empty()).then(required)
}

fn blank_number(number: i64, when: bool) -> Option<Value> {
    (when && number == 0).then(required)
}

/// ozzo's `Min`: zero counts as empty and passes.
fn below(number: i64, threshold: i64) -> Option<Value> {
    (number != 0 && number < threshold).then(|| at_least(threshold))
}

fn length_between(text: &str, min: usize, max: usize) -> Option<Value> {
    let length = text.chars().count();
    (!text.is_empty() && (length < min || length > max)).then(|| {
        field_error(
            ValidationCode::LengthOutOfRange,
            format!("The length must be between {min} and {max}."),
            Some(json!({ "max": max, "min": min })),
        )
    })
}

fn not_url(text: &str) -> Option<Value> {
    (!text.is_empty() && !is_url(text))
        .then(|| field_error(ValidationCode::IsUrl, "Must be a valid URL.", None))
}

fn not_email(text: &str) -> Option<Value> {
    (!text.is_empty() && !EMAIL.is_match(text)).then(|| {
        field_error(
            ValidationCode::IsEmail,
            "Must be a valid email address.",
            None,
        )
    })
}

fn not_host(text: &str) -> Option<Value> {
    (!text.is_empty() && !is_host(text)).then(|| {
        field_error(
            ValidationCode::IsHost,
            "Must be a valid IP address or DNS name.",
            None,
        )
    })
}

fn is_host(text: &str) -> bool {
    text.parse::<IpAddr>().is_ok() || (text.len() <= 253 && DNS_NAME.is_match(text))
}

/// A URL with a scheme and host, or a bare host name with a dot (as govalidator accepts).
fn is_url(text: &str) -> bool {
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let scheme_ok = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = authority.rsplit('@').next().unwrap_or_default();
            let host = match host.rsplit_once(':') {
                Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
                _ => host,
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            scheme_ok && !host.is_empty() && is_host(host)
        }
        None => {
            let host = text.split(['/', '?', '#']).next().unwrap_or_default();
            host.contains('.') && is_host(host)
        }
    }
}

fn one_of(text: &str, allowed: &[&str]) -> Option<Value> {
    (!text.is_empty() && !allowed.contains(&text)).then(in_invalid)
}

fn first(checks: impl IntoIterator<Item = Option<Value>>) -> Option<Value> {
    checks.into_iter().flatten().next()
}

fn meta(settings: &Settings) -> FieldErrors {
    let meta = &settings.meta;
    let mut errors = FieldErrors::new();
    let mut checks = Checks {
        errors: &mut errors,
    };
    checks.field(
        "appName",
        first([
            blank_text(&meta.app_name, true),
            length_between(&meta.app_name, 1, 255),
        ]),
    );
    checks.field(
        "appURL",
        first([blank_text(&meta.app_url, true), not_url(&meta.app_url)]),
    );
    checks.field(
        "senderName",
        first([
            blank_text(&meta.sender_name, true),
            length_between(&meta.sender_name, 1, 255),
        ]),
    );
    checks.field(
        "senderAddress",
        first([
            not_email(&meta.sender_address),
            blank_text(&meta.sender_address, true),
        ]),
    );
    errors
}

fn logs(settings: &Settings) -> FieldErrors {
    let mut errors = FieldErrors::new();
    Checks {
        errors: &mut errors,
    }
    .field("maxDays", below(settings.logs.max_days, 0));
    errors
}

fn smtp(settings: &Settings) -> FieldErrors {
    let smtp = &settings.smtp;
    let mut errors = FieldErrors::new();
    let mut checks = Checks {
        errors: &mut errors,
    };
    checks.field(
        "host",
        first([blank_text(&smtp.host, smtp.enabled), not_host(&smtp.host)]),
    );
    checks.field(
        "port",
        first([blank_number(smtp.port, smtp.enabled), below(smtp.port, 0)]),
    );
    checks.field("authMethod", one_of(&smtp.auth_method, AUTH_METHODS));
    checks.field("localName", not_host(&smtp.local_name));
    errors
}

fn s3(s3: &S3Settings) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut checks = Checks {
        errors: &mut errors,
    };
    checks.field(
        "endpoint",
        first([not_url(&s3.endpoint), blank_text(&s3.endpoint, s3.enabled)]),
    );
    checks.field("bucket", blank_text(&s3.bucket, s3.enabled));
    checks.field("region", blank_text(&s3.region, s3.enabled));
    checks.field("accessKey", blank_text(&s3.access_key, s3.enabled));
    checks.field("secret", blank_text(&s3.secret, s3.enabled));
    errors
}

fn backups(settings: &Settings) -> FieldErrors {
    let backups = &settings.backups;
    let mut errors = FieldErrors::new();
    let s3_errors = s3(&backups.s3);
    if !s3_errors.is_empty() {
        errors.insert("s3".into(), Value::Object(s3_errors));
    }
    let mut checks = Checks {
        errors: &mut errors,
    };
    checks.field(
        "cron",
        cron::check(&backups.cron)
            .err()
            .map(|message| field_error(ValidationCode::InvalidCron, message, None)),
    );
    checks.field(
        "cronMaxKeep",
        first([
            blank_number(backups.cron_max_keep, !backups.cron.is_empty()),
            below(backups.cron_max_keep, 1),
        ]),
    );
    errors
}

fn batch(settings: &Settings) -> FieldErrors {
    let batch = &settings.batch;
    let mut errors = FieldErrors::new();
    let mut checks = Checks {
        errors: &mut errors,
    };
    checks.field(
        "maxRequests",
        first([
            blank_number(batch.max_requests, batch.enabled),
            below(batch.max_requests, 0),
        ]),
    );
    checks.field(
        "timeout",
        first([
            blank_number(batch.timeout, batch.enabled),
            below(batch.timeout, 0),
        ]),
    );
    checks.field("maxBodySize", below(batch.max_body_size, 0));
    errors
}

fn rate_limit_rule(rule: &RateLimitRule) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let mut checks = Checks {
        errors: &mut errors,
    };
    checks.field(
        "label",
        first([
            blank_text(&rule.label, true),
            (!rule.label.is_empty() && !RATE_LIMIT_LABEL.is_match(&rule.label)).then(|| {
                field_error(
                    ValidationCode::MatchInvalid,
                    "Must be in a valid format.",
                    None,
                )
            }),
        ]),
    );
    checks.field(
        "maxRequests",
        first([
            blank_number(rule.max_requests, true),
            below(rule.max_requests, 1),
        ]),
    );
    checks.field(
        "duration",
        first([blank_number(rule.duration, true), below(rule.duration, 1)]),
    );
    checks.field("audience", one_of(&rule.audience, AUDIENCES));
    errors
}

fn rate_limits(settings: &Settings) -> FieldErrors {
    let limits = &settings.rate_limits;
    let mut errors = FieldErrors::new();
    if limits.enabled && limits.rules.is_empty() {
        errors.insert("rules".into(), required());
        return errors;
    }
    let mut rule_errors = Map::new();
    for (position, rule) in limits.rules.iter().enumerate() {
        let found = rate_limit_rule(rule);
        if !found.is_empty() {
            rule_errors.insert(position.to_string(), Value::Object(found));
        }
    }
    if rule_errors.is_empty() {
        // Two rules conflict when one's label@audience is a prefix of the other's.
        let mut seen: Vec<String> = Vec::new();
        for (position, rule) in limits.rules.iter().enumerate() {
            let key = format!("{}@@{}", rule.label, rule.audience);
            if seen
                .iter()
                .any(|other| other.starts_with(&key) || key.starts_with(other.as_str()))
            {
                let error = field_error(
                    ValidationCode::ConflictingRateLimitRule,
                    format!(
                        "Rate limit rule configuration with label {} already exists or conflicts with another rule.",
                        rule.label
                    ),
                    Some(json!({ "label": rule.label })),
                );
                rule_errors.insert(position.to_string(), json!({ "label": error }));
                break;
            }
            seen.push(key);
        }
    }
    if !rule_errors.is_empty() {
        errors.insert("rules".into(), Value::Object(rule_errors));
    }
    let excluded = ip_list(&limits.excluded_ips);
    if !excluded.is_empty() {
        errors.insert("excludedIPs".into(), Value::Object(excluded));
    }
    errors
}

/// Each entry must be an IP address or a CIDR subnet.
fn ip_list(entries: &[String]) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for (position, entry) in entries.iter().enumerate() {
        if !is_ip_or_subnet(entry) {
            errors.insert(
                position.to_string(),
                field_error(
                    ValidationCode::InvalidIpOrSubnet,
                    "Invalid IP or CIDR subnet.",
                    None,
                ),
            );
        }
    }
    errors
}

fn is_ip_or_subnet(entry: &str) -> bool {
    match entry.split_once('/') {
        None => entry.parse::<IpAddr>().is_ok(),
        Some((address, bits)) => match (address.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Ok(IpAddr::V4(_)), Ok(bits)) => bits <= 32,
            (Ok(IpAddr::V6(_)), Ok(bits)) => bits <= 128,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hosts() {
        for (text, url) in [
            ("http://localhost:8090", true),
            ("https://example.com/a?b", true),
            ("example.com", true),
            ("notaurl", false),
            ("http://", false),
            ("ht tp://x.com", false),
        ] {
            assert_eq!(is_url(text), url, "{text}");
        }
        assert!(is_host("10.0.0.1"));
        assert!(is_host("mail.example.com"));
        assert!(!is_host("a b"));
        assert!(is_ip_or_subnet("10.0.0.0/8"));
        assert!(is_ip_or_subnet("::1"));
        assert!(!is_ip_or_subnet("10.0.0.0/33"));
        assert!(!is_ip_or_subnet("notip"));
    }
}
