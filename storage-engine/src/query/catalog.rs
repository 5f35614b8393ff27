//! The collections and records one query reads, through ONE consistent view: schemas and
//! records are loaded once and cached for the query, every record visited is counted against
//! the query's budget, and every record read is remembered with its version.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::Value;

use crate::codec::decode_string;
use crate::kv::{KvRead, ScanStep};
use crate::query::lazy_doc::LazyDoc;
use crate::query::query_error::QueryError;
use crate::query::raw_prefilter::RawPrefilter;
use crate::record_layout::{self, decode_record, RecordValue};
use std::sync::Arc;

use crate::compiled_collection::{CompiledCollection, CompiledCollections};
use crate::state_machine::{collection_in, record_in};
use crate::{keys, StorageError};

/// A scan's visitor (key, value) that may fail the query.
type FallibleVisit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<ScanStep, QueryError> + 'a;

/// One record as a query sees it: its parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub collection_id: String,
    pub id: String,
    pub version: u64,
    pub created_seq: u64,
    /// Parsed one field at a time, as the query reads them.
    /// Parsed one field at a time, as the query reads them; it keeps the stored text, so a
    /// list's page is answered with those bytes, not a re-encoding and not a second read.
    pub doc: LazyDoc,
}

/// Records of one collection keyed by the id their relation field points at.
type BackIndex = HashMap<String, Vec<Rc<RecordRow>>>;

/// Records loaded so far, by (collection id, record id); None when absent.
type RecordCache = HashMap<(String, String), Option<Rc<RecordRow>>>;

pub(crate) struct Catalog<'v> {
    view: &'v dyn KvRead,
    compiled: &'v CompiledCollections,
    schemas: RefCell<HashMap<String, Option<Arc<CompiledCollection>>>>,
    names: RefCell<HashMap<String, Option<String>>>,
    records: RefCell<RecordCache>,
    all: RefCell<HashMap<String, Rc<Vec<Rc<RecordRow>>>>>,
    back: RefCell<HashMap<(String, String), Rc<BackIndex>>>,
    examined: Cell<u64>,
    records_examined_max: u64,
    reads: RefCell<BTreeMap<(String, String), u64>>,
}

impl<'v> Catalog<'v> {
    pub(crate) fn new(
        view: &'v dyn KvRead,
        compiled: &'v CompiledCollections,
        records_examined_max: u64,
    ) -> Self {
        Catalog {
            view,
            compiled,
            schemas: RefCell::default(),
            names: RefCell::default(),
            records: RefCell::default(),
            all: RefCell::default(),
            back: RefCell::default(),
            examined: Cell::new(0),
            records_examined_max,
            reads: RefCell::default(),
        }
    }

    /// Count `units` of work (records visited, rows combined); past the budget, an error.
    pub(crate) fn spend(&self, units: u64) -> Result<(), QueryError> {
        let total = self.examined.get().saturating_add(units);
        self.examined.set(total);
        if total > self.records_examined_max {
            return Err(QueryError::TooMuchWork {
                records_examined_max: self.records_examined_max,
            });
        }
        Ok(())
    }

    /// The units of work spent so far.
    pub(crate) fn examined(&self) -> u64 {
        self.examined.get()
    }

    /// Use `collection` for its id and name (a collection being created or changed).
    pub(crate) fn insert_schema(&self, collection: Arc<CompiledCollection>) {
        let schema = collection.schema();
        self.names
            .borrow_mut()
            .insert(keys::fold_name(&schema.name), Some(schema.id.clone()));
        self.schemas
            .borrow_mut()
            .insert(schema.id.clone(), Some(collection));
    }

    pub(crate) fn schema_by_id(
        &self,
        id: &str,
    ) -> Result<Option<Arc<CompiledCollection>>, QueryError> {
        if let Some(found) = self.schemas.borrow().get(id) {
            return Ok(found.clone());
        }
        let loaded = match collection_in(self.view, id)? {
            Some(stored) => Some(
                self.compiled
                    .stored(&stored)
                    .map_err(|e| StorageError::corrupt("collection document", e))?,
            ),
            None => None,
        };
        self.schemas
            .borrow_mut()
            .insert(id.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// A collection by name (case-insensitive) or id.
    pub(crate) fn schema_by_name_or_id(
        &self,
        name_or_id: &str,
    ) -> Result<Option<Arc<CompiledCollection>>, QueryError> {
        let folded = keys::fold_name(name_or_id);
        let cached = self.names.borrow().get(&folded).cloned();
        let id = match cached {
            Some(id) => id,
            None => {
                let id = match self.view.get(&keys::collection_name(name_or_id))? {
                    Some(bytes) => Some(decode_string(&bytes, "collection name index")?),
                    None => None,
                };
                self.names.borrow_mut().insert(folded, id.clone());
                id
            }
        };
        match id {
            Some(id) => self.schema_by_id(&id),
            None => self.schema_by_id(name_or_id),
        }
    }

    /// One record, remembered as read.
    pub(crate) fn record(
        &self,
        collection_id: &str,
        id: &str,
    ) -> Result<Option<Rc<RecordRow>>, QueryError> {
        let key = (collection_id.to_string(), id.to_string());
        if let Some(found) = self.records.borrow().get(&key) {
            return Ok(found.clone());
        }
        self.spend(1)?;
        let loaded = match record_in(self.view, collection_id, id)? {
            Some(stored) => Some(Rc::new(parse_row(
                stored.collection_id,
                stored.id,
                stored.version,
                stored.created_seq,
                &stored.doc_json,
            )?)),
            None => None,
        };
        if let Some(row) = &loaded {
            self.note_read(row);
        }
        self.records.borrow_mut().insert(key, loaded.clone());
        Ok(loaded)
    }

    pub(crate) fn note_read(&self, row: &RecordRow) {
        self.reads
            .borrow_mut()
            .insert((row.collection_id.clone(), row.id.clone()), row.version);
    }

    /// Visit a collection's records in creation order, one at a time (each counts against
    /// the budget), until `visit` says stop; `prefilter` skips records before they are parsed.
    pub(crate) fn scan_records(
        &self,
        collection_id: &str,
        prefilter: Option<&RawPrefilter>,
        visit: &mut dyn FnMut(Rc<RecordRow>) -> Result<ScanStep, QueryError>,
    ) -> Result<(), QueryError> {
        self.scan_fallible(&keys::record_order_prefix(collection_id), &mut |_, id| {
            self.spend(1)?;
            let id_text = std::str::from_utf8(id)
                .map_err(|error| StorageError::corrupt("record order", error))?;
            let Some(raw) = self.view.get(&keys::record(collection_id, id_text))? else {
                return Err(StorageError::corrupt(
                    "record order",
                    format!("{id_text} has no record"),
                )
                .into());
            };
            visit_stored(collection_id, id, &raw, prefilter, visit)
        })
    }

    /// Records by id, in creation order, each read once and not yet parsed (the order comes
    /// from their stored headers); each id counts against the budget. Absent ones are left
    /// out.
    pub(crate) fn records_in_creation_order(
        &self,
        collection_id: &str,
        ids: Vec<String>,
    ) -> Result<Vec<(String, RecordValue)>, QueryError> {
        let mut found = self.records_in_order(collection_id, ids)?;
        found.sort_by_key(|(_, value)| value.created_seq);
        Ok(found)
    }

    /// Records by id, in the order given, each read once and not yet parsed; each id counts
    /// against the budget. Absent ones are left out.
    pub(crate) fn records_in_order(
        &self,
        collection_id: &str,
        ids: Vec<String>,
    ) -> Result<Vec<(String, RecordValue)>, QueryError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            self.spend(1)?;
            if let Some(raw) = self.view.get(&keys::record(collection_id, &id))? {
                found.push((id, decode_record(&raw)?));
            }
        }
        Ok(found)
    }

    /// Every record of a collection that `prefilter` admits, in id order (one pass over the
    /// stored records, no lookup per record); each record counts against the budget, skipped
    /// or not.
    pub(crate) fn scan_records_by_id(
        &self,
        collection_id: &str,
        prefilter: Option<&RawPrefilter>,
        visit: &mut dyn FnMut(Rc<RecordRow>) -> Result<ScanStep, QueryError>,
    ) -> Result<(), QueryError> {
        let prefix = keys::records_prefix(collection_id);
        self.scan_fallible(&prefix, &mut |key, raw| {
            self.spend(1)?;
            visit_stored(collection_id, &key[prefix.len()..], raw, prefilter, visit)
        })
    }

    /// `scan_prefix` with a visitor that may fail: the first failure stops the scan and is
    /// returned.
    fn scan_fallible(
        &self,
        prefix: &[u8],
        visit: &mut FallibleVisit<'_>,
    ) -> Result<(), QueryError> {
        let mut failure = None;
        self.view
            .scan_prefix(prefix, &mut |key, value| match visit(key, value) {
                Ok(step) => Ok(step),
                Err(error) => {
                    failure = Some(error);
                    Ok(ScanStep::Stop)
                }
            })?;
        failure.map_or(Ok(()), Err)
    }

    /// Every record of a collection, in creation order (loaded once per query).
    pub(crate) fn all(&self, collection_id: &str) -> Result<Rc<Vec<Rc<RecordRow>>>, QueryError> {
        if let Some(found) = self.all.borrow().get(collection_id) {
            return Ok(found.clone());
        }
        let mut rows = Vec::new();
        self.scan_records(collection_id, None, &mut |row| {
            self.note_read(&row);
            rows.push(row);
            Ok(ScanStep::Continue)
        })?;
        let rows = Rc::new(rows);
        self.all
            .borrow_mut()
            .insert(collection_id.to_string(), rows.clone());
        Ok(rows)
    }

    /// Records of `collection_id` whose relation `field` holds `target_id`.
    pub(crate) fn referencing(
        &self,
        collection_id: &str,
        field: &str,
        target_id: &str,
    ) -> Result<Vec<Rc<RecordRow>>, QueryError> {
        let key = (collection_id.to_string(), field.to_string());
        let cached = self.back.borrow().get(&key).cloned();
        let index = match cached {
            Some(index) => index,
            None => {
                let mut index = BackIndex::new();
                for row in self.all(collection_id)?.iter() {
                    for id in relation_ids(row.doc.get(field)) {
                        let entry: &mut Vec<Rc<RecordRow>> = index.entry(id).or_default();
                        if !entry.iter().any(|seen| seen.id == row.id) {
                            entry.push(row.clone());
                        }
                    }
                }
                let index = Rc::new(index);
                self.back.borrow_mut().insert(key, index.clone());
                index
            }
        };
        Ok(index.get(target_id).cloned().unwrap_or_default())
    }

    /// Every record read so far: (collection id, record id) to version.
    pub(crate) fn reads(&self) -> BTreeMap<(String, String), u64> {
        self.reads.borrow().clone()
    }
}

/// Hand one stored record (`id` as its key holds it, `raw` its stored value) to `visit`,
/// unless `prefilter` rules it out before anything of it is decoded.
fn visit_stored(
    collection_id: &str,
    id: &[u8],
    raw: &[u8],
    prefilter: Option<&RawPrefilter>,
    visit: &mut dyn FnMut(Rc<RecordRow>) -> Result<ScanStep, QueryError>,
) -> Result<ScanStep, QueryError> {
    if prefilter.is_some_and(|prefilter| !prefilter.admits(record_layout::document_bytes(raw))) {
        return Ok(ScanStep::Continue);
    }
    let id = decode_string(id, "record key")?;
    visit(Rc::new(parse_stored_row(
        collection_id.to_owned(),
        id,
        decode_record(raw)?,
    )?))
}

pub(crate) fn parse_row(
    collection_id: String,
    id: String,
    version: u64,
    created_seq: u64,
    doc_json: &str,
) -> Result<RecordRow, QueryError> {
    let value = RecordValue {
        doc_json: doc_json.to_owned(),
        version,
        created_seq,
        fields: None,
    };
    parse_stored_row(collection_id, id, value)
}

/// A stored record as a row.
pub(crate) fn parse_stored_row(
    collection_id: String,
    id: String,
    value: RecordValue,
) -> Result<RecordRow, QueryError> {
    let doc = match value.fields {
        Some(fields) => LazyDoc::from_layout(value.doc_json, fields),
        None => LazyDoc::from_text(value.doc_json)
            .map_err(|e| StorageError::corrupt("record document", e))?,
    };
    Ok(RecordRow {
        collection_id,
        id,
        version: value.version,
        created_seq: value.created_seq,
        doc,
    })
}

/// The ids a relation value holds: a JSON array of ids, or one id ('' is none).
pub(crate) fn relation_ids(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str())
            .filter(|id| !id.is_empty())
            .map(String::from)
            .collect(),
        Some(Value::String(id)) if !id.is_empty() => vec![id.clone()],
        _ => Vec::new(),
    }
}
