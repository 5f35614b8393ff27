//! Matching a request to a custom route, with PocketBase's (Go 1.22 `ServeMux`) patterns:
//! `/hello/{name}` captures one segment, `/files/{path...}` the rest of the path, `{$}` ends
//! a pattern that must match exactly. A `GET` route also answers `HEAD`. When several match,
//! the one with the most literal segments wins, then the earliest registered.

use std::collections::BTreeMap;

use crate::registry::Route;

/// A matched route and the values its wildcards captured (percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    pub route: &'a Route,
    pub path_values: BTreeMap<String, String>,
}

/// The route for `method` and `path`, if any.
pub fn find<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<Matched<'a>> {
    let mut best: Option<(usize, Matched<'a>)> = None;
    for route in routes {
        let method_matches = route.method == method
            || route.method.is_empty()
            || route.method == "*"
            || (method == "HEAD" && route.method == "GET");
        if !method_matches {
            continue;
        }
        let Some((literals, path_values)) = match_path(&route.path, path) else {
            continue;
        };
        if best.as_ref().is_none_or(|(known, _)| literals > *known) {
            best = Some((literals, Matched { route, path_values }));
        }
    }
    best.map(|(_, matched)| matched)
}

/// Whether `path` fits `pattern`: how many literal segments it matched, and the captures.
fn match_path(pattern: &str, path: &str) -> Option<(usize, BTreeMap<String, String>)> {
    let pattern_segments: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let path_segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut values = BTreeMap::new();
    let mut literals = 0;
    for (i, segment) in pattern_segments.iter().enumerate() {
        if *segment == "{$}" {
            return (i == path_segments.len() - 1 && path_segments[i].is_empty())
                .then_some((literals, values));
        }
        if let Some(name) = segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix("...}"))
        {
            let rest = path_segments
                .get(i..)
                .map(|rest| rest.join("/"))
                .unwrap_or_default();
            values.insert(name.to_owned(), decode(&rest));
            return Some((literals, values));
        }
        let value = path_segments.get(i)?;
        if let Some(name) = segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
        {
            if value.is_empty() {
                return None;
            }
            values.insert(name.to_owned(), decode(value));
        } else if segment == value {
            literals += 1;
        } else {
            return None;
        }
    }
    // A pattern ending in `/` matches everything below it, as in Go.
    if pattern.ends_with('/') && pattern_segments.len() <= path_segments.len() {
        return Some((literals, values));
    }
    (pattern_segments.len() == path_segments.len()).then_some((literals, values))
}

/// `%xx` escapes decoded (an invalid escape or invalid UTF-8 is kept as it was).
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            handler: String::new(),
            middlewares: Vec::new(),
        }
    }

    #[test]
    fn patterns_match_as_pocketbase_routes_do() {
        let routes = vec![
            route("GET", "/hello/{name}"),
            route("GET", "/hello/world"),
            route("POST", "/files/{path...}"),
            route("GET", "/exact/{$}"),
        ];
        let found = find(&routes, "GET", "/hello/ada%20l").expect("match");
        assert_eq!(found.route.path, "/hello/{name}");
        assert_eq!(found.path_values["name"], "ada l");
        assert_eq!(
            find(&routes, "GET", "/hello/world")
                .expect("literal")
                .route
                .path,
            "/hello/world"
        );
        assert_eq!(
            find(&routes, "HEAD", "/hello/x").expect("head").route.path,
            "/hello/{name}"
        );
        assert!(find(&routes, "POST", "/hello/x").is_none());
        assert!(find(&routes, "GET", "/hello/").is_none());
        assert!(find(&routes, "GET", "/hello/a/b").is_none());
        let files = find(&routes, "POST", "/files/a/b/c.txt").expect("rest");
        assert_eq!(files.path_values["path"], "a/b/c.txt");
        assert!(find(&routes, "GET", "/exact/").is_some());
        assert!(find(&routes, "GET", "/exact/more").is_none());
        assert_eq!(decode("%zz%41"), "%zzA");
        assert_eq!(decode("50%"), "50%");
    }
}
