//! PocketBase's list paging: `page`, `perPage`, `skipTotal`, with its defaults and bounds.

use edgebase_client::wire::ListResult;
use serde::Deserialize;

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
    pub fn page(&self) -> Page {
        let number =
            |text: &Option<String>| text.as_deref().and_then(|t| t.trim().parse::<i64>().ok());
        let page = number(&self.page).filter(|page| *page >= 1).unwrap_or(1) as u64;
        let per_page = number(&self.per_page)
            .filter(|per_page| *per_page >= 1)
            .map_or(PER_PAGE_DEFAULT, |per_page| {
                (per_page as u64).min(PER_PAGE_MAX)
            });
        let skip_total = matches!(
            self.skip_total.as_deref().map(str::trim),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        );
        Page {
            page,
            per_page,
            skip_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(page: Option<&str>, per_page: Option<&str>, expected: (u64, u64)) {
        let query = ListQuery {
            page: page.map(String::from),
            per_page: per_page.map(String::from),
            ..Default::default()
        };
        let got = query.page();
        assert_eq!((got.page, got.per_page), expected, "{page:?} {per_page:?}");
    }

    #[test]
    fn defaults_and_clamps_like_pocketbase() {
        check(None, None, (1, 30));
        check(Some("-3"), Some("9999"), (1, 1000));
        check(Some("2"), Some("0"), (2, 30));
        check(Some("x"), Some("abc"), (1, 30));
        check(Some("3"), Some("7"), (3, 7));
    }
}
