//! The list query and the one-record rule check, over one consistent view: resolve the
//! filters and sort against the schema (one set of joins, as PocketBase's one SQL query),
//! pick candidates (`plan::candidates`), evaluate, order, page and count, with a bound on
//! the records examined.

use std::cmp::Ordering;
use std::rc::Rc;

use crate::kv::{KvRead, ScanStep};
use crate::query::ast::{self, CompareKind, CompareOp, Expr, Modifier, SortKey, SortTarget};
use crate::query::catalog::{parse_row, parse_stored_row, Catalog, RecordRow};
use crate::query::evaluate::Evaluator;
use crate::query::lazy_doc::LazyDoc;
use crate::query::plan::{candidates, candidates_for_page, Candidates};
use crate::query::query_error::QueryError;
use crate::query::raw_prefilter::RawPrefilter;
use crate::query::request_context::RequestContext;
use crate::query::resolve::{FieldRef, FilterAccess, RExpr, ROperand, ResolvedFilter, Resolver};
use crate::query::value::{order, Operand, SqlValue};
use std::sync::Arc;

use crate::compiled_collection::{CompiledCollection, CompiledCollections};
use crate::state_machine::{record_count_in, record_in, RECORDS_PAGE_LIMIT_MAX};
use crate::{StorageError, StoredRecord};
use serde_json::{Map, Value};

/// A filter and who wrote it: the collection's rule and a superuser's filter are
/// [`FilterAccess::Unrestricted`]; another client's filter is [`FilterAccess::Restricted`].
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPart {
    /// Shared: a collection's compiled rule is used as it is, not re-parsed or copied.
    pub expr: Arc<Expr>,
    pub access: FilterAccess,
}

impl FilterPart {
    pub fn new(expr: impl Into<Arc<Expr>>, access: FilterAccess) -> FilterPart {
        FilterPart {
            expr: expr.into(),
            access,
        }
    }

    /// `field = 'value'` on the record, unrestricted: the node's own lookups by a field
    /// (built, not parsed, so any value is safe in it).
    pub fn field_equals(field: &str, value: &str) -> FilterPart {
        let expr = Expr::Compare {
            left: ast::Operand::Path(ast::Path {
                root: ast::PathRoot::Record,
                segments: vec![field.to_owned()],
                modifier: None,
            }),
            op: CompareOp {
                kind: CompareKind::Eq,
                any_of: false,
            },
            right: ast::Operand::Text(value.to_owned()),
        };
        FilterPart::new(expr, FilterAccess::Unrestricted)
    }
}

/// Whether a list also counts every match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalCount {
    Count,
    Skip,
}

/// One list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    pub collection_id: String,
    /// ANDed together (the list rule and the user's filter).
    pub filters: Vec<FilterPart>,
    pub sort: Vec<SortKey>,
    /// Who wrote the sort (restricted for clients other than superusers).
    pub sort_access: FilterAccess,
    pub offset: u64,
    /// Clamped to [`RECORDS_PAGE_LIMIT_MAX`].
    pub limit: u64,
    pub total: TotalCount,
    pub context: RequestContext,
    /// Records (and joined rows) one request may visit before it fails.
    pub records_examined_max: u64,
    /// Seed for `@random` (the HTTP layer picks it).
    pub random_seed: u64,
}

impl ListRequest {
    /// The first `limit` records of `collection_id` matching every filter, in creation
    /// order, uncounted: the shape of every lookup the node makes for itself.
    pub fn matching(
        collection_id: String,
        filters: Vec<FilterPart>,
        limit: u64,
        context: RequestContext,
        records_examined_max: u64,
    ) -> ListRequest {
        ListRequest {
            collection_id,
            filters,
            sort: Vec::new(),
            sort_access: FilterAccess::Unrestricted,
            offset: 0,
            limit,
            total: TotalCount::Skip,
            context,
            records_examined_max,
            random_seed: 0,
        }
    }
}

/// One page of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub records: Vec<StoredRecord>,
    /// Every match, when counted.
    pub total: Option<u64>,
    /// The work the list took (records visited, rows combined), charged against a request's
    /// budget by the caller.
    pub records_examined: u64,
}

/// The answer of a rule check on one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheck {
    pub matched: bool,
    /// Every other record the evaluation read, with the version it read.
    pub reads: Vec<RecordRead>,
    /// The work the check took, as [`ListPage::records_examined`].
    pub records_examined: u64,
}

/// A record a rule check read, at the version it read: a write that relied on the check
/// carries it as a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRead {
    pub collection_id: String,
    pub record_id: String,
    pub version: u64,
}

/// The record a rule is checked against.
#[derive(Debug, Clone, Copy)]
pub enum RuleSubject<'a> {
    /// A stored record, as read.
    Stored(&'a StoredRecord),
    /// A document as it is about to be written, or as a login's changes would leave it: not
    /// stored in this shape, so it has no version and sorts after every stored record.
    Document {
        collection_id: &'a str,
        id: &'a str,
        doc: &'a Map<String, Value>,
    },
}

impl RuleSubject<'_> {
    fn collection_id(&self) -> &str {
        match self {
            RuleSubject::Stored(record) => &record.collection_id,
            RuleSubject::Document { collection_id, .. } => collection_id,
        }
    }

    fn id(&self) -> &str {
        match self {
            RuleSubject::Stored(record) => &record.id,
            RuleSubject::Document { id, .. } => id,
        }
    }

    fn row(&self) -> Result<RecordRow, QueryError> {
        match self {
            RuleSubject::Stored(record) => parse_row(
                record.collection_id.clone(),
                record.id.clone(),
                record.version,
                record.created_seq,
                &record.doc_json,
            ),
            RuleSubject::Document {
                collection_id,
                id,
                doc,
            } => Ok(RecordRow {
                collection_id: collection_id.to_string(),
                id: id.to_string(),
                version: 0,
                created_seq: u64::MAX,
                doc: LazyDoc::parsed((*doc).clone()),
            }),
        }
    }
}

enum SortValue {
    Field(FieldRef),
    Random,
    RowId,
}

/// A filter that always holds (the joins of a sort with no filter).
fn always() -> RExpr {
    let one = || ROperand::Fixed(Operand::keyword(SqlValue::Integer(1)));
    RExpr::Compare {
        left: Box::new(one()),
        op: CompareOp {
            kind: CompareKind::Eq,
            any_of: false,
        },
        right: Box::new(one()),
    }
}

/// The authenticated record's collection, for `@request.auth.*` joins.
fn auth_collection(
    catalog: &Catalog<'_>,
    context: &RequestContext,
) -> Result<Option<Arc<CompiledCollection>>, QueryError> {
    let id = context
        .auth
        .as_ref()
        .and_then(|auth| auth.get("collectionId"))
        .and_then(serde_json::Value::as_str);
    match id {
        Some(id) => catalog.schema_by_id(id),
        None => Ok(None),
    }
}

/// Resolve every filter part and the sort with one resolver (shared joins).
fn resolve_query(
    catalog: &Catalog<'_>,
    collection: &Arc<CompiledCollection>,
    filters: &[FilterPart],
    sort: &[SortKey],
    sort_access: FilterAccess,
    context: &RequestContext,
) -> Result<(ResolvedFilter, Vec<(SortValue, bool)>), QueryError> {
    let mut resolver = Resolver::new(
        catalog,
        collection.clone(),
        auth_collection(catalog, context)?,
    );
    let mut combined: Option<RExpr> = None;
    for part in filters {
        let expr = resolver.part(&part.expr, part.access)?;
        combined = Some(match combined {
            None => expr,
            Some(previous) => RExpr::And(Box::new(previous), Box::new(expr)),
        });
    }
    let mut keys = Vec::with_capacity(sort.len());
    for key in sort {
        let value = match &key.target {
            SortTarget::Random => SortValue::Random,
            SortTarget::RowId => SortValue::RowId,
            SortTarget::Field(segments) => {
                let text = segments.join(".");
                let mut segments = segments.clone();
                let mut modifier = None;
                if let Some(last) = segments.last_mut() {
                    if let Some((name, suffix)) = last.clone().split_once(':') {
                        modifier = match suffix {
                            "lower" => Some(Modifier::Lower),
                            "length" => Some(Modifier::Length),
                            _ => {
                                return Err(QueryError::InvalidSort {
                                    sort: text,
                                    reason: format!("unknown modifier {suffix:?}"),
                                })
                            }
                        };
                        *last = name.to_string();
                    }
                }
                let field = resolver
                    .sort_path(&text, &segments, modifier, sort_access)
                    .map_err(|error| QueryError::InvalidSort {
                        sort: text.clone(),
                        reason: error.to_string(),
                    })?;
                SortValue::Field(field)
            }
        };
        keys.push((value, key.descending));
    }
    Ok((resolver.finish(combined.unwrap_or_else(always)), keys))
}

/// Run a list request against `view`.
pub(crate) fn list(
    view: &dyn KvRead,
    compiled: &CompiledCollections,
    request: &ListRequest,
) -> Result<ListPage, QueryError> {
    let catalog = Catalog::new(view, compiled, request.records_examined_max);
    let collection = catalog
        .schema_by_id(&request.collection_id)?
        .ok_or_else(|| QueryError::MissingCollection(request.collection_id.clone()))?;
    let schema = collection.schema();
    let (filter, sort_keys) = resolve_query(
        &catalog,
        &collection,
        &request.filters,
        &request.sort,
        request.sort_access,
        &request.context,
    )?;
    let limit = request.limit.min(RECORDS_PAGE_LIMIT_MAX);

    let plain_filter = request
        .filters
        .iter()
        .map(|part| Expr::clone(&part.expr))
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    // With no filter and no joins, every record matches: the stored count is the total.
    let unfiltered = request.filters.is_empty() && filter.aliases.is_empty();
    let page_end = request.offset.saturating_add(limit);
    let candidates_max = usize::try_from(request.records_examined_max).unwrap_or(usize::MAX);
    // When no count is taken from the candidates, an index in the sort's order need be read
    // only as far as the page.
    let planned = if filter.aliases.is_empty() && (request.total == TotalCount::Skip || unfiltered)
    {
        candidates_for_page(
            view,
            schema,
            plain_filter.as_ref(),
            &request.sort,
            candidates_max,
            usize::try_from(page_end).unwrap_or(usize::MAX),
        )?
    } else {
        candidates(
            view,
            schema,
            plain_filter.as_ref(),
            &request.sort,
            candidates_max,
        )?
    };
    // An index gives its candidates in key order, but equal keys come in record-id order,
    // and PocketBase breaks ties by creation order: candidates are put in creation order
    // and sorted here, unless the index gave exactly the matches in the sort's order with
    // its runs of ties numbered (then each run is put in creation order from the entries'
    // own sequences). The seeded property test `query_index_equivalence` checks both.
    // Without a sort to apply, only the page is kept, and without a total the scan stops
    // once the page is full.
    let in_order = sort_keys.is_empty();
    let stored_total = match planned {
        Candidates::FullScan | Candidates::Ids { exact: true, .. }
            if unfiltered && request.total == TotalCount::Count =>
        {
            Some(record_count_in(view, &schema.id)?)
        }
        _ => None,
    };
    let stop_early = in_order && (request.total == TotalCount::Skip || stored_total.is_some());
    // A full scan that visits every record anyway reads them in key order (one pass, no
    // lookup per record) and puts the matches in creation order after; `~` terms skip
    // records whose bytes cannot match before parsing them.
    let by_id = matches!(planned, Candidates::FullScan) && !stop_early;
    let prefilter = match planned {
        Candidates::FullScan => RawPrefilter::for_filter(plain_filter.as_ref(), schema),
        Candidates::Ids { .. } => None,
    };
    let evaluator = Evaluator::new(&catalog, &request.context, &filter)?;
    let mut kept: KeptRows = Vec::new();
    let mut count: u64 = 0;
    // True when `kept` is already the page, in order.
    let mut presorted = false;
    let mut visit = |row: Rc<RecordRow>| -> Result<ScanStep, QueryError> {
        let Some(assignment) = evaluator.first_match(&row)? else {
            return Ok(ScanStep::Continue);
        };
        count += 1;
        if in_order && !by_id {
            if count > request.offset && count <= page_end {
                kept.push((Vec::new(), row));
            }
        } else {
            let mut values = Vec::with_capacity(sort_keys.len());
            for (key, _) in &sort_keys {
                values.push(match key {
                    SortValue::Field(field) => evaluator.sort_value(field, &row, &assignment)?,
                    SortValue::Random => {
                        SqlValue::Integer(random_key(request.random_seed, &row.id))
                    }
                    SortValue::RowId => {
                        SqlValue::Integer(i64::try_from(row.created_seq).unwrap_or(i64::MAX))
                    }
                });
            }
            kept.push((values, row));
        }
        if stop_early && count >= page_end {
            return Ok(ScanStep::Stop);
        }
        Ok(ScanStep::Continue)
    };
    match planned {
        Candidates::FullScan if by_id => {
            catalog.scan_records_by_id(&schema.id, prefilter.as_ref(), &mut visit)?
        }
        Candidates::FullScan => catalog.scan_records(&schema.id, prefilter.as_ref(), &mut visit)?,
        // The index gave exactly the matches, each with its creation sequence: the count is
        // theirs and only the page's records are read.
        Candidates::Ids {
            ids,
            created,
            exact: true,
            ..
        } if in_order && filter.aliases.is_empty() && created.iter().all(Option::is_some) => {
            let mut matches: Vec<(u64, String)> = created.into_iter().flatten().zip(ids).collect();
            matches.sort_unstable();
            let ordered = matches.into_iter().map(|(_, id)| id).collect();
            (count, kept) = exact_page(&catalog, &schema.id, ordered, request.offset, limit)?;
        }
        // The index gave exactly the matches in the sort's order, each run of equal sort
        // values numbered: ties are put in creation order and only the page is read.
        Candidates::Ids {
            ids,
            created,
            sorted: true,
            exact: true,
            ties: Some(ties),
        } if filter.aliases.is_empty() && created.iter().all(Option::is_some) => {
            let mut matches: Vec<(u32, u64, String)> = ties
                .into_iter()
                .zip(created.into_iter().flatten())
                .zip(ids)
                .map(|((tie, created), id)| (tie, created, id))
                .collect();
            // Runs of ties are contiguous: order each by creation, in place.
            for run in matches.chunk_by_mut(|a, b| a.0 == b.0) {
                run.sort_unstable_by_key(|(_, created, _)| *created);
            }
            let ordered = matches.into_iter().map(|(_, _, id)| id).collect();
            (count, kept) = exact_page(&catalog, &schema.id, ordered, request.offset, limit)?;
            presorted = true;
        }
        Candidates::Ids { ids, .. } => {
            // Put in creation order by their stored headers, then parsed one at a time: a
            // list that stops at a full page parses no more than it needs.
            for (id, value) in catalog.records_in_creation_order(&schema.id, ids)? {
                let row = Rc::new(parse_stored_row(schema.id.clone(), id, value)?);
                if visit(row)? == ScanStep::Stop {
                    break;
                }
            }
        }
    }

    let page: Vec<Rc<RecordRow>> = if presorted || (in_order && !by_id) {
        kept.into_iter().map(|(_, row)| row).collect()
    } else {
        // Equal keys keep creation order, as PocketBase's SQLite does (and with no sort
        // keys, creation order is the order).
        kept.sort_by(|(a, row_a), (b, row_b)| {
            for (index, (_, descending)) in sort_keys.iter().enumerate() {
                let ordering = order(&a[index], &b[index]);
                let ordering = if *descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            row_a.created_seq.cmp(&row_b.created_seq)
        });
        kept.into_iter()
            .map(|(_, row)| row)
            .skip(usize::try_from(request.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect()
    };

    let total = match request.total {
        TotalCount::Count => Some(stored_total.unwrap_or(count)),
        TotalCount::Skip => None,
    };
    // The page's records exactly as stored (bytes, not a re-encoding).
    let mut records = Vec::with_capacity(page.len());
    for row in page {
        let stored = match row.doc.text() {
            Some(doc_json) => StoredRecord {
                collection_id: row.collection_id.clone(),
                id: row.id.clone(),
                doc_json: doc_json.to_string(),
                version: row.version,
                created_seq: row.created_seq,
            },
            None => record_in(view, &row.collection_id, &row.id)?.ok_or_else(|| {
                StorageError::corrupt("record order", format!("{} has no record", row.id))
            })?,
        };
        records.push(stored);
    }
    Ok(ListPage {
        records,
        total,
        records_examined: catalog.examined(),
    })
}

/// Matching rows a list keeps, each with its sort values.
type KeptRows = Vec<(Vec<SqlValue>, Rc<RecordRow>)>;

/// The page (`offset`, `limit`) of `ordered`, every match in its order: each match counts
/// against the budget, and only the page's records are read. Returns the number of matches.
fn exact_page(
    catalog: &Catalog<'_>,
    collection_id: &str,
    ordered: Vec<String>,
    offset: u64,
    limit: u64,
) -> Result<(u64, KeptRows), QueryError> {
    let matches = ordered.len() as u64;
    catalog.spend(matches)?;
    let page_ids = ordered
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let mut page = Vec::new();
    for (id, value) in catalog.records_in_order(collection_id, page_ids)? {
        page.push((
            Vec::new(),
            Rc::new(parse_stored_row(collection_id.to_owned(), id, value)?),
        ));
    }
    Ok((matches, page))
}

/// Check `filters` against one record (a stored one, or the document a create would
/// write), reporting the other records the evaluation read.
pub(crate) fn check_record(
    view: &dyn KvRead,
    compiled: &CompiledCollections,
    subject: RuleSubject<'_>,
    filters: &[FilterPart],
    context: &RequestContext,
    records_examined_max: u64,
) -> Result<RuleCheck, QueryError> {
    let catalog = Catalog::new(view, compiled, records_examined_max);
    let collection_id = subject.collection_id();
    let collection = catalog
        .schema_by_id(collection_id)?
        .ok_or_else(|| QueryError::MissingCollection(collection_id.to_string()))?;
    let (filter, _) = resolve_query(
        &catalog,
        &collection,
        filters,
        &[],
        FilterAccess::Unrestricted,
        context,
    )?;
    let row = Rc::new(subject.row()?);
    let matched = Evaluator::new(&catalog, context, &filter)?.matches(&row)?;
    let reads = catalog
        .reads()
        .into_iter()
        .filter(|((read_collection, id), _)| {
            !(read_collection == collection_id && id == subject.id())
        })
        .map(|((collection_id, record_id), version)| RecordRead {
            collection_id,
            record_id,
            version,
        })
        .collect();
    Ok(RuleCheck {
        matched,
        reads,
        records_examined: catalog.examined(),
    })
}

/// Check a rule or filter against a collection definition that may not be stored yet (a
/// collection being created or updated), reading other collections from `view`.
pub(crate) fn validate_filter(
    view: &dyn KvRead,
    compiled: &CompiledCollections,
    collection_doc_json: &str,
    expr: &Expr,
) -> Result<(), QueryError> {
    let catalog = Catalog::new(view, compiled, 0);
    // Not cached: the document is not stored, and may never be.
    let identity = crate::schema::CollectionSchema::from_doc_json(collection_doc_json)
        .map_err(|e| StorageError::corrupt("collection document", e))?;
    let collection = Arc::new(
        CompiledCollection::compile(&identity.id, &identity.name, collection_doc_json)
            .map_err(|e| StorageError::corrupt("collection document", e))?,
    );
    catalog.insert_schema(collection.clone());
    let part = FilterPart::new(expr.clone(), FilterAccess::Unrestricted);
    resolve_query(
        &catalog,
        &collection,
        &[part],
        &[],
        FilterAccess::Unrestricted,
        &RequestContext::at(0),
    )?;
    Ok(())
}

/// A deterministic shuffle key from the request's seed and the record id (splitmix64).
fn random_key(seed: u64, id: &str) -> i64 {
    let mut hash = seed ^ 0x9E37_79B9_7F4A_7C15;
    for byte in id.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (hash ^ (hash >> 31)) as i64
}
