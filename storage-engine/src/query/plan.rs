//! Choosing how a list reads its candidate records: a full scan in creation order, or a
//! secondary index that narrows the candidates (and may already give the sort order).
//!
//! Whatever the plan, the full filter is still evaluated on every candidate, so an index only
//! ever narrows a superset of the matches; it never decides a match on its own. Only the
//! comparisons of an AND-chain between a plain field (no relation path, no modifier) and a
//! literal of the field's own type narrow; every other part of the filter is ignored, which
//! keeps the superset. A record stored without a field is indexed under the field's empty
//! value (`''`, `0`, `false`), as PocketBase's `NOT NULL DEFAULT` columns hold it.

use std::cmp::Ordering;

use crate::index::{
    compile_indexes, read_entry_value, Collation, CompiledIndex, Direction, IndexValue,
};
use crate::keys;
use crate::kv::{KvRead, ScanStep};
use crate::query::ast::{CompareKind, Expr, Operand, Path, PathRoot, SortKey, SortTarget};
use crate::schema::{CollectionSchema, FieldShape};
use crate::StorageError;

/// The candidates a list evaluates its filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidates {
    /// Every record of the collection, in creation order.
    FullScan,
    /// These record ids: a superset of the matches.
    Ids {
        ids: Vec<String>,
        /// Each id's creation sequence, as its index entry keeps it (`None` for entries
        /// written before entries kept it).
        created: Vec<Option<u64>>,
        /// True when `ids` is already in the order the sort asks for (ties in record id
        /// order, or reversed record id order for a reversed scan).
        sorted: bool,
        /// True when `ids` are exactly the matches: there is no filter, or every term of it
        /// is a comparison the index read applied, on columns whose order is the filter's
        /// (binary collation for text).
        exact: bool,
        /// When `sorted` and every column of the (non-unique) index is fixed by equality or
        /// sorted on: a number per id, equal for neighbouring ids whose sort values are equal
        /// (so each run of ties can be put in creation order without reading a record).
        ties: Option<Vec<u32>>,
    },
}

/// What the planner chose, for tests and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explain {
    /// The index read, or `None` for a full scan.
    pub index: Option<String>,
    /// Leading index columns fixed by equality.
    pub equality_columns: usize,
    /// Whether the next column was narrowed by a range.
    pub range: bool,
    /// How many candidate ids the index gave (`None` for a full scan).
    pub candidates: Option<usize>,
    pub sorted: bool,
    /// Why a full scan, when it is one.
    pub reason: &'static str,
}

/// Pick the candidates for `filter` and `sort` over `schema`'s collection (`schema.id` must
/// be the stored collection's id, as it is in documents the node writes). At most
/// `candidates_max` ids are gathered from an index; past that the plan falls back to a scan.
pub fn candidates(
    view: &dyn KvRead,
    schema: &CollectionSchema,
    filter: Option<&Expr>,
    sort: &[SortKey],
    candidates_max: usize,
) -> Result<Candidates, StorageError> {
    Ok(plan(view, schema, filter, sort, candidates_max, None)?.0)
}

/// The same plan as [`candidates`] for a caller that needs only the first `wanted` matches in
/// sort order (no count from them): an index that gives exactly the matches in the sort's
/// order, ties numbered, is then read only as far as that, and the rest of the last run of
/// ties (so ids may hold fewer than every match).
pub(crate) fn candidates_for_page(
    view: &dyn KvRead,
    schema: &CollectionSchema,
    filter: Option<&Expr>,
    sort: &[SortKey],
    candidates_max: usize,
    wanted: usize,
) -> Result<Candidates, StorageError> {
    Ok(plan(view, schema, filter, sort, candidates_max, Some(wanted))?.0)
}

/// The same plan as [`candidates`], described.
pub fn explain(
    view: &dyn KvRead,
    schema: &CollectionSchema,
    filter: Option<&Expr>,
    sort: &[SortKey],
    candidates_max: usize,
) -> Result<Explain, StorageError> {
    Ok(plan(view, schema, filter, sort, candidates_max, None)?.1)
}

/// What an index read gave: the ids, the creation sequence each entry keeps, and the tie
/// numbers when asked for.
struct IndexCandidates {
    ids: Vec<String>,
    created: Vec<Option<u64>>,
    ties: Option<Vec<u32>>,
}

/// One usable comparison: `field <kind> value`.
#[derive(Debug, Clone)]
struct Predicate {
    field: String,
    kind: CompareKind,
    value: IndexValue,
}

/// How one index would serve the query.
struct Choice<'a> {
    index: &'a CompiledIndex,
    equality: Vec<&'a Predicate>,
    range: Vec<&'a Predicate>,
    sort: Option<bool>,
}

impl Choice<'_> {
    fn narrowing(&self) -> usize {
        self.equality.len() * 2 + usize::from(!self.range.is_empty())
    }
}

fn full_scan(reason: &'static str) -> (Candidates, Explain) {
    (
        Candidates::FullScan,
        Explain {
            index: None,
            equality_columns: 0,
            range: false,
            candidates: None,
            sorted: false,
            reason,
        },
    )
}

fn plan(
    view: &dyn KvRead,
    schema: &CollectionSchema,
    filter: Option<&Expr>,
    sort: &[SortKey],
    candidates_max: usize,
    wanted: Option<usize>,
) -> Result<(Candidates, Explain), StorageError> {
    // Index keys are named by the collection id; a schema without one cannot find them.
    if schema.id.is_empty() {
        return Ok(full_scan("the schema has no collection id"));
    }
    let Ok(indexes) = compile_indexes(schema) else {
        return Ok(full_scan("the collection's indexes do not compile"));
    };
    let mut predicates = Vec::new();
    let mut terms_count = 0;
    if let Some(filter) = filter {
        let mut terms = Vec::new();
        conjuncts(filter, &mut terms);
        terms_count = terms.len();
        predicates.extend(terms.into_iter().filter_map(|term| predicate(term, schema)));
    }
    let best = indexes
        .iter()
        .filter(|index| index.condition.is_none())
        .map(|index| choose(index, &predicates, sort))
        .filter(|choice| choice.narrowing() > 0 || choice.sort.is_some())
        .max_by(|a, b| {
            a.narrowing()
                .cmp(&b.narrowing())
                .then(a.sort.is_some().cmp(&b.sort.is_some()))
                // Among equals, the first index listed wins.
                .then(Ordering::Greater)
        });
    let Some(choice) = best else {
        return Ok(full_scan("no index fits the filter or the sort"));
    };
    let binary = |column: &crate::index::CompiledColumn| {
        column.column.collation == Collation::Binary
            || matches!(column.field.shape, FieldShape::Number | FieldShape::Bool)
    };
    let exact = terms_count == 0
        || predicates.len() == terms_count
            && choice.equality.len() + choice.range.len() == predicates.len()
            && choice.index.columns[..choice.equality.len()]
                .iter()
                .all(binary);
    // Ties are numbered when the whole key is the equality and the sort: equal values then
    // mean equal keys up to the record id every entry of a non-unique index ends with.
    let number_ties = choice.sort.is_some()
        && !choice.index.definition.unique
        && choice.equality.len() + sort.len() == choice.index.columns.len();
    let wanted = wanted.filter(|_| number_ties && exact);
    let reversed = choice.sort == Some(true);
    let read = IndexRead {
        candidates_max,
        number_ties,
        // A reversed sort that may stop early reads the index from its end; one that reads
        // the whole range reads it forwards (a memtable steps back by searching again) and
        // turns it round here.
        backwards: reversed && wanted.is_some(),
        wanted,
    };
    let Some(found) = scan(view, &schema.id, &choice, &read)? else {
        return Ok(full_scan("the index gave more candidates than the limit"));
    };
    let IndexCandidates {
        mut ids,
        mut created,
        mut ties,
    } = found;
    if reversed && !read.backwards {
        ids.reverse();
        created.reverse();
        if let Some(ties) = ties.as_mut() {
            ties.reverse();
        }
    }
    let explain = Explain {
        index: Some(choice.index.name().to_owned()),
        equality_columns: choice.equality.len(),
        range: !choice.range.is_empty(),
        candidates: Some(ids.len()),
        sorted: choice.sort.is_some(),
        reason: "",
    };
    Ok((
        Candidates::Ids {
            ids,
            created,
            sorted: choice.sort.is_some(),
            exact,
            ties,
        },
        explain,
    ))
}

/// The terms of the top-level AND-chain (an OR is one opaque term).
pub(crate) fn conjuncts<'a>(expr: &'a Expr, terms: &mut Vec<&'a Expr>) {
    match expr {
        Expr::And(left, right) => {
            conjuncts(left, terms);
            conjuncts(right, terms);
        }
        other => terms.push(other),
    }
}

/// The record's own field a path names: no relation hop, no modifier, not `@request`.
pub(crate) fn own_field(path: &Path) -> Option<&str> {
    if path.root != PathRoot::Record || path.modifier.is_some() {
        return None;
    }
    match path.segments.as_slice() {
        [name] => Some(name),
        _ => None,
    }
}

fn predicate(term: &Expr, schema: &CollectionSchema) -> Option<Predicate> {
    let Expr::Compare { left, op, right } = term else {
        return None;
    };
    if op.any_of {
        return None;
    }
    let (path, literal, kind) = match (left, right) {
        (Operand::Path(path), literal) => (path, literal, op.kind),
        (literal, Operand::Path(path)) => (path, literal, crate::index::condition::flip(op.kind)),
        _ => return None,
    };
    let usable_kind = matches!(
        kind,
        CompareKind::Eq
            | CompareKind::Greater
            | CompareKind::GreaterOrEq
            | CompareKind::Less
            | CompareKind::LessOrEq
    );
    if !usable_kind {
        return None;
    }
    let name = own_field(path)?;
    let shape = if name == "id" {
        FieldShape::Text
    } else {
        let field = schema.field(name)?;
        if field.multiple {
            return None;
        }
        field.shape
    };
    let value = match (shape, literal) {
        (FieldShape::Number, Operand::Number(number)) => IndexValue::Number(*number),
        (FieldShape::Bool, Operand::Bool(flag)) => IndexValue::Number(f64::from(u8::from(*flag))),
        (FieldShape::Text | FieldShape::Date | FieldShape::Relation, Operand::Text(text)) => {
            IndexValue::Text(text.clone())
        }
        _ => return None,
    };
    Some(Predicate {
        field: name.to_owned(),
        kind,
        value,
    })
}

/// Equality on leading columns, a range on the next, and whether the remaining columns give
/// the sort (`Some(reversed)`).
fn choose<'a>(
    index: &'a CompiledIndex,
    predicates: &'a [Predicate],
    sort: &[SortKey],
) -> Choice<'a> {
    let mut equality = Vec::new();
    for column in &index.columns {
        let found = predicates
            .iter()
            .find(|p| p.field == column.field.name && p.kind == CompareKind::Eq);
        match found {
            Some(predicate) => equality.push(predicate),
            None => break,
        }
    }
    let mut range = Vec::new();
    if let Some(column) = index.columns.get(equality.len()) {
        let exact_order = column.column.direction == Direction::Ascending
            && (column.column.collation == Collation::Binary
                || matches!(column.field.shape, FieldShape::Number | FieldShape::Bool));
        if exact_order {
            range.extend(
                predicates
                    .iter()
                    .filter(|p| p.field == column.field.name && p.kind != CompareKind::Eq),
            );
        }
    }
    let sort_order = sort_order(index, equality.len(), sort);
    Choice {
        index,
        equality,
        range,
        sort: sort_order,
    }
}

fn sort_order(index: &CompiledIndex, from: usize, sort: &[SortKey]) -> Option<bool> {
    let columns = index.columns.get(from..)?;
    if sort.is_empty() || sort.len() > columns.len() {
        return None;
    }
    let mut reversed = None;
    for (key, column) in sort.iter().zip(columns) {
        let SortTarget::Field(path) = &key.target else {
            return None;
        };
        let [name] = path.as_slice() else {
            return None;
        };
        let binary = column.column.collation == Collation::Binary
            || matches!(column.field.shape, FieldShape::Number | FieldShape::Bool);
        if *name != column.field.name || !binary {
            return None;
        }
        let this = key.descending != (column.column.direction == Direction::Descending);
        if *reversed.get_or_insert(this) != this {
            return None;
        }
    }
    reversed
}

/// How to read the chosen key range.
struct IndexRead {
    /// Past this many ids the read gives up (`None`).
    candidates_max: usize,
    /// Number the runs of equal keys (see [`Candidates::Ids::ties`]).
    number_ties: bool,
    /// From the end of the range to its start.
    backwards: bool,
    /// Stop once this many ids are read and their last run of ties is complete.
    wanted: Option<usize>,
}

/// The ids of the chosen key range, or `None` past `candidates_max`.
fn scan(
    view: &dyn KvRead,
    collection_id: &str,
    choice: &Choice<'_>,
    read: &IndexRead,
) -> Result<Option<IndexCandidates>, StorageError> {
    let mut prefix = keys::index_prefix(collection_id, choice.index.name());
    for (predicate, column) in choice.equality.iter().zip(&choice.index.columns) {
        predicate.value.encode_key(
            column.column.collation,
            column.column.direction,
            &mut prefix,
        );
    }
    let mut start = prefix.clone();
    let mut end: Option<Vec<u8>> = None;
    if let Some(column) = choice.index.columns.get(choice.equality.len()) {
        for predicate in &choice.range {
            let mut bound = prefix.clone();
            predicate.value.encode_key(
                column.column.collation,
                column.column.direction,
                &mut bound,
            );
            match predicate.kind {
                CompareKind::Greater => start = start.max(keys::prefix_end(&bound)),
                CompareKind::GreaterOrEq => start = start.max(bound),
                CompareKind::Less => end = Some(end.map_or(bound.clone(), |e| e.min(bound))),
                CompareKind::LessOrEq => {
                    let bound = keys::prefix_end(&bound);
                    end = Some(end.map_or(bound.clone(), |e| e.min(bound)));
                }
                _ => {}
            }
        }
    }
    let mut ids = Vec::new();
    let mut created = Vec::new();
    let mut ties: Vec<u32> = Vec::new();
    let mut previous_values: Vec<u8> = Vec::new();
    let mut over = false;
    let mut corrupt = None;
    // An entry without its creation sequence cannot be put in creation order from the
    // entries alone: then every entry is read.
    let mut stoppable = read.wanted.is_some();
    let mut take = |key: &[u8], value: &[u8]| -> ScanStep {
        let (id, seq) = match read_entry_value(value) {
            Ok(entry) => entry,
            Err(error) => {
                corrupt = Some(error);
                return ScanStep::Stop;
            }
        };
        let values = key.strip_suffix(id.as_bytes()).unwrap_or(key);
        let same_run = read.number_ties && !ids.is_empty() && values == previous_values.as_slice();
        stoppable &= seq.is_some();
        if read.number_ties
            && stoppable
            && !same_run
            && read.wanted.is_some_and(|wanted| ids.len() >= wanted)
        {
            return ScanStep::Stop;
        }
        if ids.len() >= read.candidates_max {
            over = true;
            return ScanStep::Stop;
        }
        if read.number_ties {
            let tie = match ties.last() {
                Some(last) if same_run => *last,
                Some(last) => last + 1,
                None => 0,
            };
            ties.push(tie);
            previous_values.clear();
            previous_values.extend_from_slice(values);
        }
        ids.push(id.to_owned());
        created.push(seq);
        ScanStep::Continue
    };
    if read.backwards {
        view.scan_prefix_before(&prefix, end.as_deref(), &mut |key, value| {
            if key < start.as_slice() {
                return Ok(ScanStep::Stop);
            }
            Ok(take(key, value))
        })?;
    } else {
        view.scan_prefix_from(&prefix, &start, &mut |key, value| {
            if end.as_ref().is_some_and(|end| key >= end.as_slice()) {
                return Ok(ScanStep::Stop);
            }
            Ok(take(key, value))
        })?;
    }
    if let Some(error) = corrupt {
        return Err(StorageError::corrupt("index entry", error));
    }
    Ok((!over).then_some(IndexCandidates {
        ids,
        created,
        ties: read.number_ties.then_some(ties),
    }))
}
