//! PocketBase's `sort` parameter: `-created,+title,@random,@rowid,author.name`.

use crate::query::ast::{SortKey, SortTarget};
use crate::query::query_error::QueryError;

/// Most keys in one `sort` parameter.
pub const SORT_KEYS_MAX: usize = 16;

/// Parse a `sort` parameter. An empty parameter is no keys (creation order).
pub fn parse_sort(text: &str) -> Result<Vec<SortKey>, QueryError> {
    let invalid = |reason: &str| QueryError::InvalidSort {
        sort: text.to_string(),
        reason: reason.to_string(),
    };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for item in text.split(',') {
        if keys.len() == SORT_KEYS_MAX {
            return Err(invalid("too many sort keys"));
        }
        let item = item.trim();
        let (descending, name) = match item.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, item.strip_prefix('+').unwrap_or(item)),
        };
        let target = match name {
            "" => return Err(invalid("empty sort key")),
            "@random" => SortTarget::Random,
            "@rowid" => SortTarget::RowId,
            path => {
                let valid = path.split('.').all(|s| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':'))
                });
                if !valid {
                    return Err(invalid("invalid sort field"));
                }
                SortTarget::Field(path.split('.').map(String::from).collect())
            }
        };
        keys.push(SortKey { target, descending });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        let field = |path: &[&str], descending| SortKey {
            target: SortTarget::Field(path.iter().map(|s| s.to_string()).collect()),
            descending,
        };
        let ok: Vec<(&str, Vec<SortKey>)> = vec![
            ("", vec![]),
            (
                "-created,+title",
                vec![field(&["created"], true), field(&["title"], false)],
            ),
            ("author.name", vec![field(&["author", "name"], false)]),
            (
                "@random,-@rowid",
                vec![
                    SortKey {
                        target: SortTarget::Random,
                        descending: false,
                    },
                    SortKey {
                        target: SortTarget::RowId,
                        descending: true,
                    },
                ],
            ),
        ];
        for (text, expected) in ok {
            assert_eq!(parse_sort(text).expect(text), expected, "{text}");
        }
        for bad in ["-", "title,,views", "a..b", "a b", "(x)"] {
            assert!(parse_sort(bad).is_err(), "{bad}");
        }
    }
}
