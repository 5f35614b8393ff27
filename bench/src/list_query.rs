//! `ListQuery`: the list requests the filtered-list benchmark times, each with a random
//! parameter drawn per request (which category, where the range starts).

use rand::Rng;

use crate::items_dataset::{CATEGORY_COUNT, N_END};

/// Width of the `n` range of `ListQuery::NumberRange`.
pub const RANGE_WIDTH: u64 = 5000;
/// Records per page in every timed list.
pub const PER_PAGE: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListQuery {
    /// `cat='cNNN'` on the indexed text field, with the total counted.
    CategoryEquals,
    /// The same with `skipTotal=1`.
    CategoryEqualsSkipTotal,
    /// `n>=X && n<X+5000` on the indexed number field.
    NumberRange,
    /// `title~'abc'` on a field with no index: a scan on both servers.
    TitleContains,
    /// The range, sorted by `-n`: the index gives the order as well.
    NumberRangeSorted,
    /// No filter, sorted by `-n`, with the total: the newest page of the whole collection
    /// in the index's order.
    AllSorted,
}

impl ListQuery {
    pub const ALL: [ListQuery; 6] = [
        ListQuery::CategoryEquals,
        ListQuery::CategoryEqualsSkipTotal,
        ListQuery::NumberRange,
        ListQuery::TitleContains,
        ListQuery::NumberRangeSorted,
        ListQuery::AllSorted,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ListQuery::CategoryEquals => "`cat='cNNN'` (indexed)",
            ListQuery::CategoryEqualsSkipTotal => "`cat='cNNN'` + `skipTotal=1` (indexed)",
            ListQuery::NumberRange => "`n>=X && n<X+5000` (indexed)",
            ListQuery::TitleContains => "`title~'abc'` (not indexed)",
            ListQuery::NumberRangeSorted => "`n>=X && n<X+5000`, `sort=-n` (indexed)",
            ListQuery::AllSorted => "no filter, `sort=-n` (indexed)",
        }
    }

    /// The query parameters of one request, its random part drawn from `rng`.
    pub fn params(self, rng: &mut impl Rng) -> Vec<(&'static str, String)> {
        let filter = match self {
            ListQuery::CategoryEquals | ListQuery::CategoryEqualsSkipTotal => {
                category_filter(rng.gen_range(0..CATEGORY_COUNT))
            }
            ListQuery::NumberRange | ListQuery::NumberRangeSorted => {
                range_filter(rng.gen_range(0..N_END - RANGE_WIDTH))
            }
            ListQuery::TitleContains => "title~'abc'".to_owned(),
            ListQuery::AllSorted => String::new(),
        };
        let mut params = vec![("perPage", PER_PAGE.to_string())];
        if !filter.is_empty() {
            params.push(("filter", filter));
        }
        if self == ListQuery::CategoryEqualsSkipTotal {
            params.push(("skipTotal", "1".to_owned()));
        }
        if matches!(self, ListQuery::NumberRangeSorted | ListQuery::AllSorted) {
            params.push(("sort", "-n".to_owned()));
        }
        params
    }
}

pub fn category_filter(category: u32) -> String {
    format!("cat='c{category}'")
}

pub fn range_filter(start: u64) -> String {
    format!("n>={start} && n<{}", start + RANGE_WIDTH)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn check(query: ListQuery, filter_prefix: &str, skip_total: bool) {
        let seed = 11;
        let mut rng = StdRng::seed_from_u64(seed);
        let params = query.params(&mut rng);
        let filter = &params
            .iter()
            .find(|(name, _)| *name == "filter")
            .expect("filter")
            .1;
        assert!(
            filter.starts_with(filter_prefix),
            "seed {seed}: {query:?} {filter}"
        );
        assert_eq!(
            params
                .iter()
                .any(|(name, value)| *name == "skipTotal" && value == "1"),
            skip_total,
            "seed {seed}: {query:?}"
        );
        assert!(params.contains(&("perPage", "30".to_owned())), "{query:?}");
    }

    #[test]
    fn each_query_builds_its_filter() {
        check(ListQuery::CategoryEquals, "cat='c", false);
        check(ListQuery::CategoryEqualsSkipTotal, "cat='c", true);
        check(ListQuery::NumberRange, "n>=", false);
        check(ListQuery::TitleContains, "title~'abc'", false);
        check(ListQuery::NumberRangeSorted, "n>=", false);
        assert_eq!(range_filter(10), "n>=10 && n<5010");
    }

    #[test]
    fn the_sorted_queries_sort_by_n_descending_and_the_last_has_no_filter() {
        let mut rng = StdRng::seed_from_u64(3);
        for query in [ListQuery::NumberRangeSorted, ListQuery::AllSorted] {
            assert!(query.params(&mut rng).contains(&("sort", "-n".to_owned())));
        }
        let all = ListQuery::AllSorted.params(&mut rng);
        assert!(all.iter().all(|(name, _)| *name != "filter"), "{all:?}");
    }
}
