//! Email and url fields: format checks in the shape of the Go validators PocketBase uses,
//! and the `onlyDomains` / `exceptDomains` lists (exact, case-sensitive host match).

use crate::ValidationCode;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::field_error;

/// Longest url accepted (as Go's validator).
const URL_LENGTH_MAX: usize = 2083;

/// Characters above ASCII that Go's email pattern allows.
const WIDE: &str = r"\x{00A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}";
/// Go's `\S` (ASCII white space only).
const NOT_SPACE: &str = r"[^\t\n\x0B\f\r ]";

/// The shape of Go's `govalidator` email pattern, which PocketBase's email check uses:
/// dot-atoms or a quoted local part, `@`, dot-separated labels, a final label starting
/// with a letter, and an optional trailing dot.
static EMAIL_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    let atom = format!(r"[a-zA-Z0-9!#$%&'*+\-/=?^_`{{|}}~{WIDE}]");
    let dot_atoms = format!(r"{atom}+(\.{atom}+)*");
    let quoted_char = format!(
        r"([\x01-\x08\x0B\x0C\x0E-\x1F\x7F\x21\x23-\x5B\x5D-\x7E{WIDE}]|\\[\x01-\x09\x0B\x0C\x0D-\x7F{WIDE}])"
    );
    let folding = r"(([\x20\x09]*\x0D\x0A)?[\x20\x09]+)?";
    let quoted = format!(r#""({folding}{quoted_char})*{folding}""#);
    let alnum = format!(r"[a-zA-Z0-9{WIDE}]");
    let letter = format!(r"[a-zA-Z{WIDE}]");
    let label = format!(r"({alnum}|{alnum}[a-zA-Z0-9\-._~{WIDE}]*{alnum})");
    let last = format!(r"({letter}|{letter}[a-zA-Z0-9\-_~{WIDE}]*{letter})");
    Regex::new(&format!(r"^({dot_atoms}|{quoted})@({label}\.)+{last}\.?$")).expect("static pattern")
});

/// The shape of Go's `govalidator` url pattern: optional scheme and user info, then an
/// IPv4 address, a bracketed IPv6 address or a host name, an optional port and path.
static URL_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    let scheme = r"((ftp|tcp|udp|wss?|https?)://)";
    let user = format!(r"({NOT_SPACE}+(:{NOT_SPACE}*)?@)");
    let ipv4 = r"(([1-9][0-9]?|1[0-9][0-9]|2[01][0-9]|22[0-3]|24[0-9]|25[0-5])(\.([0-9]{1,2}|1[0-9][0-9]|2[0-4][0-9]|25[0-5])){2}(\.([0-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])))";
    let ipv6 = r"(\[[0-9a-fA-F:.%]+\])";
    let wide = r"\x{00a1}-\x{ffff}";
    let named = r"([a-zA-Z0-9]([a-zA-Z0-9\-_]+)?[a-zA-Z0-9]([\-.][a-zA-Z0-9]+)*)";
    let subdomain = r"((www\.)|([a-zA-Z0-9]+([\-_.]?[a-zA-Z0-9])*[a-zA-Z0-9]\.[a-zA-Z0-9]+))";
    let host = format!(
        r"(({named}|{subdomain}?)?(([a-zA-Z{wide}0-9]+-?-?)*[a-zA-Z{wide}0-9]+)(\.[a-zA-Z{wide}]+)?)"
    );
    let path = format!(r"([/?#]{NOT_SPACE}*)");
    Regex::new(&format!(
        r"^{scheme}?{user}?({ipv4}|{ipv6}|{host})\.?(:[0-9]{{1,5}})?{path}?$"
    ))
    .expect("static pattern")
});

fn domain_error(kind: &str) -> Value {
    if kind == "email" {
        field_error(
            ValidationCode::EmailDomainNotAllowed,
            "Email domain is not allowed.",
            None,
        )
    } else {
        field_error(
            ValidationCode::UrlDomainNotAllowed,
            "Url domain is not allowed.",
            None,
        )
    }
}

fn check_domains(host: &str, except: &[String], only: &[String], kind: &str) -> Option<Value> {
    let listed = |list: &[String]| list.iter().any(|domain| domain == host);
    if (!only.is_empty() && !listed(only)) || (!except.is_empty() && listed(except)) {
        return Some(domain_error(kind));
    }
    None
}

pub fn is_email(text: &str) -> bool {
    EMAIL_PATTERN.is_match(text)
}

pub fn validate_email(value: &Value, except: &[String], only: &[String]) -> Option<Value> {
    let text = value.as_str().unwrap_or_default();
    if !is_email(text) {
        return Some(field_error(
            ValidationCode::IsEmail,
            "Must be a valid email address.",
            None,
        ));
    }
    let domain = text
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .unwrap_or("");
    check_domains(domain, except, only, "email")
}

/// Go's `govalidator.IsURL` in outline: bounded length, no leading dot, a host (or a path
/// that looks like one), and the url pattern.
pub fn is_url(text: &str) -> bool {
    if text.chars().count() >= URL_LENGTH_MAX || text.len() <= 3 || text.starts_with('.') {
        return false;
    }
    let parsed = if text.contains(':') && !text.contains("://") {
        format!("http://{text}")
    } else {
        text.to_string()
    };
    let host = parsed_host(&parsed);
    if host.starts_with('.') {
        return false;
    }
    let path = parsed.split(['?', '#']).next().unwrap_or_default();
    if host.is_empty() && !path.is_empty() && !path.contains('.') {
        return false;
    }
    URL_PATTERN.is_match(text)
}

/// The host (with port) as Go's `url.Parse` gives it for `text`, or for `http://` + `text`
/// when `text` names no scheme.
fn host_of(text: &str) -> String {
    let after_scheme = match text.split_once("://") {
        Some((_, rest)) => rest,
        None => text,
    };
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map(|(_, host)| host)
        .unwrap_or(authority);
    host.to_string()
}

/// The host Go's `url.Parse(text).Host` gives: empty when `text` names no `//` authority.
fn parsed_host(text: &str) -> String {
    match text.split_once("://") {
        Some(_) => host_of(text),
        None => String::new(),
    }
}

pub fn validate_url(value: &Value, except: &[String], only: &[String]) -> Option<Value> {
    let text = value.as_str().unwrap_or_default();
    if !is_url(text) {
        return Some(field_error(
            ValidationCode::InvalidUrl,
            "Must be a valid url.",
            None,
        ));
    }
    check_domains(&parsed_host(text), except, only, "url")
}

/// Go's `is.Domain`, for the domain lists themselves: dot-separated labels of letters,
/// digits and inner hyphens, ending in a label of letters only.
pub fn is_domain(text: &str) -> bool {
    static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?i)([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{1,63}$")
            .expect("static pattern")
    });
    text.len() <= 255 && DOMAIN.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read off PocketBase 0.40.6.
    #[test]
    fn formats_match_pocketbase() {
        let urls = [
            ("http://bad.com/x", true),
            ("ftp://a.com", true),
            ("mailto:x@y.com", true),
            ("http://localhost", true),
            ("https://good.com:8080/a?b#c", true),
            ("x.com", true),
            ("notaurl", false),
            ("http://", false),
            ("//x.com", false),
            ("  ", false),
            ("https://a.b.c/d", false),
            ("http://192.168.1.1:80", true),
            ("http://[::1]:80/x", true),
            ("https://ü.com", true),
            ("https://a_b.com", true),
            ("https://-a.com", false),
            ("http://a", true),
            ("ws://x.com", true),
            ("file:///etc/passwd", false),
            ("https://x.com/a b", false),
            ("https://user:pw@x.com", true),
            ("x.com:8080", true),
            ("http://x.com:999999", false),
            ("https://x.com.", true),
            ("http://300.1.1.1", false),
            ("HTTP://X.COM", false),
            ("javascript:alert(1)", false),
            ("x", false),
            ("abcd.", true),
            ("a.b", false),
        ];
        for (text, valid) in urls {
            assert_eq!(is_url(text), valid, "{text}");
        }
        let emails = [
            ("a@b.com", true),
            ("A@Good.Com", true),
            ("a@b", false),
            ("a b@c.com", false),
            ("<a@b.com>", false),
            ("Name <a@b.com>", false),
            ("notanemail", false),
            ("a+b@c.co", true),
            ("a.b@c-d.com", true),
            ("a..b@c.com", false),
            (".a@c.com", false),
            ("a@-c.com", false),
            ("a@c..com", false),
            ("üser@c.com", true),
            ("a@c.com.", true),
            ("a@c_d.com", true),
            ("a@192.168.0.1", false),
            ("a@[127.0.0.1]", false),
            ("\"q\"@c.com", true),
            ("a@c.c", true),
            ("a@c.123", false),
            ("a@ü.com", true),
            ("a@c-.com", false),
        ];
        for (text, valid) in emails {
            assert_eq!(is_email(text), valid, "{text}");
        }
    }

    #[test]
    fn domains_match_pocketbase() {
        let cases = [
            ("Good.com", true),
            ("a.b", true),
            ("sub.domain.co.uk", true),
            ("x", false),
            ("a_b.com", false),
            ("xn--d1acufc.xn--p1ai", false),
            ("-a.com", false),
            ("a-.com", false),
            ("1.2.3.4", false),
            ("a.com.", false),
            ("localhost", false),
            ("a.c1", false),
        ];
        for (text, valid) in cases {
            assert_eq!(is_domain(text), valid, "{text}");
        }
    }

    #[test]
    fn domain_lists_match_hosts_exactly() {
        let only = vec!["good.com".to_string()];
        let cases = [
            ("https://good.com/p", true),
            ("https://GOOD.com", false),
            ("https://good.com:8080", false),
            ("https://sub.good.com", false),
        ];
        for (text, allowed) in cases {
            assert_eq!(
                validate_url(&Value::from(text), &[], &only).is_none(),
                allowed,
                "{text}"
            );
        }
    }
}
