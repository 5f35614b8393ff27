//! The `expand` query parameter: relation fields (`author`), back-relations
//! (`comments_via_post`) and nested paths (`author.profile`, up to PocketBase's depth), each
//! related record shown only if the caller passes its collection's view rule.

use edgebase_model::record_values::text;
use std::collections::{BTreeMap, HashMap};

use edgebase_storage::query::{
    CompareKind, CompareOp, Expr, FilterAccess, FilterPart, ListRequest, Operand, Path, PathRoot,
    RequestContext, RuleSubject,
};
use edgebase_storage::{Rule, StoredRecord};
use edgebase_wire::{Collection, FieldKind};
use serde_json::{Map, Value};

use crate::app::{App, LoadedCollection};
use crate::caller::Caller;
use crate::error::ServiceError;
use crate::record_writes::decode;

/// PocketBase's deepest expand path.
const EXPAND_DEPTH_MAX: usize = 6;
/// Most paths in one `expand` parameter.
const EXPAND_PATHS_MAX: usize = 50;
/// Most records one back-relation expands per record (PocketBase's limit).
const BACK_RELATION_RECORDS_MAX: u64 = 1_000;
/// Most related records one request may expand in all.
const EXPANDED_RECORDS_MAX: usize = 50_000;

/// The expand paths as a tree: `author.profile,author.team` is `author -> {profile, team}`.
#[derive(Debug, Default)]
struct ExpandTree {
    children: BTreeMap<String, ExpandTree>,
}

impl ExpandTree {
    fn parse(raw: &str) -> ExpandTree {
        let mut tree = ExpandTree::default();
        for path in raw.split(',').take(EXPAND_PATHS_MAX) {
            let mut node = &mut tree;
            for segment in path.trim().split('.').take(EXPAND_DEPTH_MAX) {
                let segment = segment.trim();
                if segment.is_empty() {
                    break;
                }
                node = node.children.entry(segment.to_string()).or_default();
            }
        }
        tree
    }
}

/// How one expand segment reaches related records.
enum Link {
    /// A relation field of this collection.
    Forward {
        field: String,
        target: LoadedCollection,
        multiple: bool,
    },
    /// `{collection}_via_{field}`: records of another collection whose relation points here.
    Back {
        source: LoadedCollection,
        field: String,
    },
}

pub struct Expander<'a> {
    pub app: &'a App,
    pub caller: &'a Caller,
    /// What the related collections' view rules read, built once per request.
    context: RequestContext,
    expanded: usize,
}

impl<'a> Expander<'a> {
    pub fn new(app: &'a App, caller: &'a Caller) -> Self {
        Expander {
            app,
            caller,
            context: caller.context(&Map::new()),
            expanded: 0,
        }
    }

    /// Expand `raw` on `records` (API-shaped records of `collection`).
    pub fn expand(
        &mut self,
        collection: &Collection,
        records: &mut [Map<String, Value>],
        raw: &str,
    ) -> Result<(), ServiceError> {
        if raw.trim().is_empty() || records.is_empty() {
            return Ok(());
        }
        let tree = ExpandTree::parse(raw);
        // Each top-level path stands alone: one that cannot be resolved is skipped.
        for (segment, subtree) in &tree.children {
            self.expand_segment(collection, records, segment, subtree)?;
        }
        Ok(())
    }

    /// Expand every path of `tree` on `records`. Returns false when a segment cannot be
    /// resolved: PocketBase then drops the whole top-level path it belongs to. Segments are
    /// resolved only where there are records to expand, as PocketBase does.
    fn expand_tree(
        &mut self,
        collection: &Collection,
        records: &mut [Map<String, Value>],
        tree: &ExpandTree,
    ) -> Result<bool, ServiceError> {
        if records.is_empty() {
            return Ok(true);
        }
        let mut valid = true;
        for (segment, subtree) in &tree.children {
            valid &= self.expand_segment(collection, records, segment, subtree)?;
        }
        Ok(valid)
    }

    fn expand_segment(
        &mut self,
        collection: &Collection,
        records: &mut [Map<String, Value>],
        segment: &str,
        subtree: &ExpandTree,
    ) -> Result<bool, ServiceError> {
        let Some(link) = self.link(collection, segment)? else {
            return Ok(false);
        };
        let values = match link {
            Link::Forward {
                field,
                target,
                multiple,
            } => self.expand_forward(records, &field, &target, multiple, subtree)?,
            Link::Back { source, field } => self.expand_back(records, &source, &field, subtree)?,
        };
        let Some(values) = values else {
            return Ok(false);
        };
        for (record, value) in records.iter_mut().zip(values) {
            let expand = record
                .entry("expand")
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Some(value), Value::Object(expand)) = (value, expand) {
                expand.insert(segment.to_string(), value);
            }
        }
        Ok(true)
    }

    fn link(&self, collection: &Collection, segment: &str) -> Result<Option<Link>, ServiceError> {
        if let Some(field) = collection.field(segment) {
            return Ok(match &field.kind {
                FieldKind::Relation {
                    collection_id,
                    max_select,
                    ..
                } => self
                    .app
                    .collection(collection_id)?
                    .map(|target| Link::Forward {
                        field: field.name.clone(),
                        target,
                        multiple: *max_select > 1,
                    }),
                _ => None,
            });
        }
        let Some((source_name, field_name)) = back_relation(segment) else {
            return Ok(None);
        };
        let Some(source) = self.app.collection(source_name)? else {
            return Ok(None);
        };
        let points_here = source.collection.field(field_name).is_some_and(|field| {
            matches!(&field.kind, FieldKind::Relation { collection_id, .. } if *collection_id == collection.id)
        });
        Ok(points_here.then(|| Link::Back {
            source,
            field: field_name.to_string(),
        }))
    }

    /// Per record, the expanded value of relation `field` (None: nothing visible), or None
    /// when a nested segment cannot be resolved.
    fn expand_forward(
        &mut self,
        records: &[Map<String, Value>],
        field: &str,
        target: &LoadedCollection,
        multiple: bool,
        subtree: &ExpandTree,
    ) -> Result<Option<Vec<Option<Value>>>, ServiceError> {
        let mut wanted: Vec<String> = Vec::new();
        for record in records {
            for id in relation_ids(record.get(field)) {
                if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
        }
        let mut found: Vec<Map<String, Value>> = Vec::new();
        for id in &wanted {
            if let Some(stored) = self.app.state().record(&target.collection.id, id)? {
                if let Some(shown) = self.visible(target, &stored)? {
                    found.push(shown);
                }
            }
        }
        if !self.expand_tree(&target.collection, &mut found, subtree)? {
            return Ok(None);
        }
        let by_id: HashMap<String, Map<String, Value>> = found
            .into_iter()
            .map(|record| (text(&record, "id"), record))
            .collect();
        let values = records
            .iter()
            .map(|record| {
                let related: Vec<Value> = relation_ids(record.get(field))
                    .iter()
                    .filter_map(|id| by_id.get(id).cloned().map(Value::Object))
                    .collect();
                if multiple {
                    (!related.is_empty()).then_some(Value::Array(related))
                } else {
                    related.into_iter().next()
                }
            })
            .collect();
        Ok(Some(values))
    }

    /// Per record, the records of `source` whose relation `field` points at it.
    fn expand_back(
        &mut self,
        records: &[Map<String, Value>],
        source: &LoadedCollection,
        field: &str,
        subtree: &ExpandTree,
    ) -> Result<Option<Vec<Option<Value>>>, ServiceError> {
        let mut values = Vec::with_capacity(records.len());
        for record in records {
            let request = ListRequest::matching(
                source.collection.id.clone(),
                vec![FilterPart::new(
                    references(field, &text(record, "id")),
                    FilterAccess::Unrestricted,
                )],
                BACK_RELATION_RECORDS_MAX,
                self.context.clone(),
                0,
            );
            let page = self.caller.budget().run(|allowance| {
                self.app.state().list_records(&ListRequest {
                    records_examined_max: allowance,
                    ..request
                })
            })?;
            let mut found = Vec::new();
            for stored in &page.records {
                if let Some(shown) = self.visible(source, stored)? {
                    found.push(shown);
                }
            }
            if !self.expand_tree(&source.collection, &mut found, subtree)? {
                return Ok(None);
            }
            values.push(
                (!found.is_empty())
                    .then(|| Value::Array(found.into_iter().map(Value::Object).collect())),
            );
        }
        Ok(Some(values))
    }

    /// The related record as the caller may see it, or None if its view rule says no.
    fn visible(
        &mut self,
        loaded: &LoadedCollection,
        stored: &StoredRecord,
    ) -> Result<Option<Map<String, Value>>, ServiceError> {
        self.expanded += 1;
        if self.expanded > EXPANDED_RECORDS_MAX {
            return Err(ServiceError::bad_request(format!(
                "The expand would show more than {EXPANDED_RECORDS_MAX} related records."
            )));
        }
        // A view rule that does not parse hides the record, as one that does not match.
        let allowed = self.caller.is_superuser()
            || match &loaded.rules().view {
                Rule::SuperusersOnly | Rule::Unparsable(_) => false,
                Rule::Everyone => true,
                Rule::Filter(expr) => {
                    let filters = [FilterPart::new(expr.clone(), FilterAccess::Unrestricted)];
                    self.caller
                        .budget()
                        .run(|allowance| {
                            self.app.state().check_record(
                                RuleSubject::Stored(stored),
                                &filters,
                                &self.context,
                                allowance,
                            )
                        })?
                        .matched
                }
            };
        if !allowed {
            return Ok(None);
        }
        Ok(Some(self.caller.shown_checked(
            self.app,
            loaded,
            &decode(stored)?,
        )?))
    }
}

/// `field.id ?= "id"`: the relation `field` (single or multiple) holds record `id`. (A plain
/// `field ?= "id"` compares a multiple relation's JSON text, as PocketBase does.)
pub fn references(field: &str, id: &str) -> Expr {
    Expr::Compare {
        left: Operand::Path(Path {
            root: PathRoot::Record,
            segments: vec![field.to_string(), "id".to_string()],
            modifier: None,
        }),
        op: CompareOp {
            kind: CompareKind::Eq,
            any_of: true,
        },
        right: Operand::Text(id.to_string()),
    }
}

fn relation_ids(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(id)) if !id.is_empty() => vec![id.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A back-relation segment: `{collection}_via_{field}`, or the older `{collection}({field})`
/// PocketBase 0.40 still accepts (the answer keeps the segment as written).
fn back_relation(segment: &str) -> Option<(&str, &str)> {
    if let Some(inner) = segment.strip_suffix(')') {
        let (source, field) = inner.split_once('(')?;
        let word = |text: &str| {
            !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        return (word(source) && word(field)).then_some((source, field));
    }
    segment.split_once("_via_")
}
