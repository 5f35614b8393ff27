//! PocketBase's list paging: `page`, `perPage`, `skipTotal`, with its defaults and bounds.

use edgebase_client::wire::ListResult;
use serde::Deserialize;

use crate::error::ApiError;

pub const PER_PAGE_DEFAULT: u64 = 30;
pub const PER_PAGE_MAX: u64 = 1_000;

/// Query parameters of a list request, as sent (unparsed values are ignored, as PocketBase does).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub page: Option<String>,
    #[serde(rename = "perPage")]
    pub per_page: Option<String>,
    #[serde(rename = "skipTotal")]
    pub skip_total: Option<String>,
    pub filter: Option<String>,
    pub sort: Option<String>,
    pub expand: Option<String>,
    pub fields: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub per_page: u64,
    pub skip_total: bool,
}

impl Page {
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// The page's answer; `total_items` is `None` when the totals were skipped (`-1`).
    pub fn result<T>(&self, items: Vec<T>, total_items: Option<u64>) -> ListResult<T> {
        let (total_items, total_pages) = match total_items {
            None => (-1, -1),
            Some(total) => (
                i64::try_from(total).unwrap_or(i64::MAX),
                i64::try_from(total.div_ceil(self.per_page)).unwrap_or(i64::MAX),
            ),
        };
        ListResult {
            items,
            page: self.page,
            per_page: self.per_page,
            total_items,
            total_pages,
        }
    }
}

impl ListQuery {
    /// The requested page, with PocketBase's defaults and clamping. A value that is not a
    /// number (or a boolean, for `skipTotal`) is PocketBase's generic 400.
    pub fn page(&self) -> Result<Page, ApiError> {
        let page = integer(&self.page)?.filter(|page| *page >= 1).unwrap_or(1) as u64;
        let per_page = integer(&self.per_page)?
            .filter(|per_page| *per_page >= 1)
            .map_or(PER_PAGE_DEFAULT, |per_page| {
                (per_page as u64).min(PER_PAGE_MAX)
            });
        let skip_total = match self.skip_total.as_deref() {
            None | Some("") => false,
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
            Some(_) => return Err(ApiError::invalid_body()),
        };
        Ok(Page {
            page,
            per_page,
            skip_total,
        })
    }
}

/// Strict integer parsing as Go's `strconv.Atoi` does it: no blanks, no fractions.
fn integer(text: &Option<String>) -> Result<Option<i64>, ApiError> {
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(page: Option<&str>, per_page: Option<&str>, expected: Option<(u64, u64)>) {
        let query = ListQuery {
            page: page.map(String::from),
            per_page: per_page.map(String::from),
            ..Default::default()
        };
        let got = query.page().ok().map(|got| (got.page, got.per_page));
        assert_eq!(got, expected, "{page:?} {per_page:?}");
    }

    #[test]
    fn defaults_and_clamps_like_pocketbase() {
        check(None, None, Some((1, 30)));
        check(Some("-3"), Some("9999"), Some((1, 1000)));
        check(Some("2"), Some("0"), Some((2, 30)));
        check(Some("3"), Some("7"), Some((3, 7)));
        check(Some(""), Some(""), Some((1, 30)));
        check(Some("x"), None, None);
        check(None, Some("abc"), None);
        check(Some("1.5"), None, None);
        check(None, Some(" 1"), None);
    }
}
