//! Choosing how a list reads its candidate records: a full scan in creation order, or a
//! secondary index that narrows the candidates (and may already give the sort order).
//!
//! Whatever the plan, the full filter is still evaluated on every candidate, so an index only
//! ever narrows a superset of the matches; it never decides a match on its own.

use crate::kv::KvRead;
use crate::query::ast::{Expr, SortKey};
use crate::schema::CollectionSchema;
use crate::StorageError;

/// The candidates a list evaluates its filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidates {
    /// Every record of the collection, in creation order.
    FullScan,
    /// These record ids: a superset of the matches.
    Ids {
        ids: Vec<String>,
        /// True when `ids` is already in the order the sort asks for.
        sorted: bool,
    },
}

/// Pick the candidates for `filter` and `sort` over `schema`'s collection. At most
/// `candidates_max` ids are gathered from an index; past that the plan falls back to a scan.
#[allow(dead_code)] // Used by the list query, which lands with the evaluator.
pub(crate) fn candidates(
    _view: &dyn KvRead,
    _schema: &CollectionSchema,
    _filter: Option<&Expr>,
    _sort: &[SortKey],
    _candidates_max: usize,
) -> Result<Candidates, StorageError> {
    Ok(Candidates::FullScan)
}
