//! Evaluating a resolved filter on one record with the results PocketBase's SQL gives:
//! joins are LEFT JOINs shared by the whole filter (a record matches when some combination
//! of joined rows satisfies it), and a plain operator on a fanned-out path also requires
//! that no joined value fails it (PocketBase's multi-match `NOT EXISTS` subquery).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use serde_json::Value;

use crate::query::ast::{CompareKind, CompareOp, DateMacro, Function, Modifier, PathRoot};
use crate::query::catalog::{relation_ids, Catalog, RecordRow};
use crate::query::lazy_doc::LazyDoc;
use crate::query::query_error::QueryError;
use crate::query::request_context::RequestContext;
use crate::query::resolve::{
    AliasKind, Column, Extract, FieldRef, From, RExpr, ROperand, RequestRef, ResolvedFilter,
};
use crate::query::time;
use crate::query::value::{
    self, and, coalesce_empty, from_json, go_text, is, like, like_param, lower, not, or,
    real_value, to_f64, to_text, Affinity, Operand, OperandKind, SqlValue, Truth,
};

/// One joined row.
#[derive(Debug, Clone)]
pub(crate) enum Row {
    Record(Rc<RecordRow>),
    Item(SqlValue),
    Null,
}

pub(crate) struct Evaluator<'a, 'v> {
    catalog: &'a Catalog<'v>,
    context: &'a RequestContext,
    filter: &'a ResolvedFilter,
    /// The authenticated record (as stored, else as the request describes it), or NULL.
    auth: Row,
    /// `@collection` joins narrowed once per request by the top-level conditions that read
    /// only that join (and request values), e.g. `@collection.members.user ?= @request.auth.id`:
    /// the rows that pass, computed on first use.
    narrowed: RefCell<HashMap<usize, Rc<Vec<Row>>>>,
    /// For each such join, the conditions that narrow it.
    narrowing: HashMap<usize, Vec<&'a RExpr>>,
}

impl<'a, 'v> Evaluator<'a, 'v> {
    pub(crate) fn new(
        catalog: &'a Catalog<'v>,
        context: &'a RequestContext,
        filter: &'a ResolvedFilter,
    ) -> Result<Self, QueryError> {
        let auth = match &context.auth {
            None => Row::Null,
            Some(doc) => {
                let text = |key: &str| doc.get(key).and_then(Value::as_str).unwrap_or_default();
                let (collection_id, id) = (text("collectionId"), text("id"));
                let stored = if collection_id.is_empty() || id.is_empty() {
                    None
                } else {
                    catalog.record(collection_id, id)?
                };
                Row::Record(stored.unwrap_or_else(|| {
                    Rc::new(RecordRow {
                        collection_id: collection_id.to_string(),
                        id: id.to_string(),
                        version: 0,
                        created_seq: 0,
                        doc: LazyDoc::parsed(doc.clone()),
                    })
                }))
            }
        };
        Ok(Evaluator {
            catalog,
            context,
            filter,
            auth,
            narrowed: RefCell::default(),
            narrowing: narrowing(filter),
        })
    }

    /// The rows of join `index` for `parent`, narrowed when the join allows it.
    fn join_rows(&self, index: usize, parent: &Row) -> Result<Rc<Vec<Row>>, QueryError> {
        let Some(conditions) = self.narrowing.get(&index) else {
            return Ok(Rc::new(
                self.rows(&self.filter.aliases[index].kind, parent)?,
            ));
        };
        if let Some(rows) = self.narrowed.borrow().get(&index) {
            return Ok(rows.clone());
        }
        let placeholder = Rc::new(RecordRow {
            collection_id: String::new(),
            id: String::new(),
            version: 0,
            created_seq: 0,
            doc: LazyDoc::default(),
        });
        let mut assignment = vec![Row::Null; index + 1];
        let mut kept = Vec::new();
        for row in self.rows(&self.filter.aliases[index].kind, &Row::Null)? {
            assignment[index] = row.clone();
            let mut passes = true;
            for condition in conditions {
                if self.expr(condition, &placeholder, &assignment)? != Some(true) {
                    passes = false;
                    break;
                }
            }
            if passes {
                kept.push(row);
            }
        }
        let kept = Rc::new(kept);
        self.narrowed.borrow_mut().insert(index, kept.clone());
        Ok(kept)
    }

    /// Whether `base` matches the filter.
    pub(crate) fn matches(&self, base: &Rc<RecordRow>) -> Result<bool, QueryError> {
        Ok(self.first_match(base)?.is_some())
    }

    /// The first combination of joined rows (in join order) for which `base` matches.
    pub(crate) fn first_match(&self, base: &Rc<RecordRow>) -> Result<Option<Vec<Row>>, QueryError> {
        let mut assignment: Vec<Row> = Vec::with_capacity(self.filter.aliases.len());
        Ok(self.search(base, &mut assignment)?.then_some(assignment))
    }

    /// Depth-first over every combination of joined rows; true at the first that satisfies
    /// (leaving that combination in `assignment`).
    fn search(&self, base: &Rc<RecordRow>, assignment: &mut Vec<Row>) -> Result<bool, QueryError> {
        let next = assignment.len();
        if next == self.filter.aliases.len() {
            if next > 0 {
                // One combination of joined rows (a plain filter costs nothing extra).
                self.catalog.spend(1)?;
            }
            return Ok(self.expr(&self.filter.expr, base, assignment)? == Some(true));
        }
        let parent = self.parent_row(self.filter.aliases[next].from, base, assignment);
        // A narrowed join with no rows left means no combination can match.
        let rows = self.join_rows(next, &parent)?;
        for row in rows.iter() {
            assignment.push(row.clone());
            if self.search(base, assignment)? {
                return Ok(true);
            }
            assignment.pop();
        }
        Ok(false)
    }

    fn parent_row(&self, from: From, base: &Rc<RecordRow>, assignment: &[Row]) -> Row {
        match from {
            From::Base => Row::Record(base.clone()),
            From::Alias(index) => assignment.get(index).cloned().unwrap_or(Row::Null),
            From::Auth => self.auth.clone(),
            From::Nothing => Row::Null,
        }
    }

    /// The rows a join yields for one parent row (LEFT JOIN: at least one, NULL if none).
    fn rows(&self, kind: &AliasKind, parent: &Row) -> Result<Vec<Row>, QueryError> {
        let mut rows = Vec::new();
        match kind {
            AliasKind::Collection { collection_id } => {
                for row in self.catalog.all(collection_id)?.iter() {
                    self.catalog.note_read(row);
                    rows.push(Row::Record(row.clone()));
                }
            }
            AliasKind::BodyRelation {
                collection_id,
                field,
            } => {
                let mut ids = relation_ids(self.context.body.get(field));
                ids.dedup();
                for id in ids {
                    if let Some(row) = self.catalog.record(collection_id, &id)? {
                        rows.push(Row::Record(row));
                    }
                }
            }
            AliasKind::BodyItems { field } => match self.context.body.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    rows.extend(items.iter().map(|item| Row::Item(from_json(item))))
                }
                Some(other) => rows.push(Row::Item(from_json(other))),
            },
            _ => {
                let Row::Record(record) = parent else {
                    return Ok(vec![Row::Null]);
                };
                match kind {
                    AliasKind::Forward {
                        field,
                        target,
                        multiple,
                    } => {
                        let ids = relation_ids(record.doc.get(field));
                        let ids = if *multiple {
                            ids
                        } else {
                            ids.into_iter().take(1).collect()
                        };
                        for id in ids {
                            rows.push(match self.catalog.record(target, &id)? {
                                Some(row) => Row::Record(row),
                                None => Row::Null,
                            });
                        }
                    }
                    AliasKind::Back {
                        collection_id,
                        field,
                        ..
                    } => {
                        for row in self.catalog.referencing(collection_id, field, &record.id)? {
                            self.catalog.note_read(&row);
                            rows.push(Row::Record(row));
                        }
                    }
                    AliasKind::Each { field, column } => match record.doc.get(field) {
                        Some(Value::Array(items)) => {
                            rows.extend(items.iter().map(|item| Row::Item(from_json(item))))
                        }
                        _ => rows.push(Row::Item(column_value(record, field, *column).0)),
                    },
                    AliasKind::Collection { .. }
                    | AliasKind::BodyRelation { .. }
                    | AliasKind::BodyItems { .. } => {}
                }
            }
        }
        self.catalog.spend(rows.len() as u64)?;
        if rows.is_empty() {
            rows.push(Row::Null);
        }
        Ok(rows)
    }

    fn expr(
        &self,
        expr: &RExpr,
        base: &Rc<RecordRow>,
        assignment: &[Row],
    ) -> Result<Truth, QueryError> {
        Ok(match expr {
            RExpr::Guard { alias, rule } => match assignment.get(*alias) {
                None | Some(Row::Null) => Some(true),
                Some(_) => self.expr(rule, base, assignment)?,
            },
            RExpr::And(a, b) => {
                let left = self.expr(a, base, assignment)?;
                if left == Some(false) {
                    return Ok(Some(false));
                }
                and(left, self.expr(b, base, assignment)?)
            }
            RExpr::Or(a, b) => {
                let left = self.expr(a, base, assignment)?;
                if left == Some(true) {
                    return Ok(Some(true));
                }
                or(left, self.expr(b, base, assignment)?)
            }
            RExpr::Compare { left, op, right } => {
                let l = self.operand(left, base, assignment)?;
                let r = self.operand(right, base, assignment)?;
                let main = compare(*op, &l, &r)?;
                if op.any_of || main == Some(false) {
                    return Ok(main);
                }
                let left_many = multi(left);
                let right_many = multi(right);
                let all_match = match (left_many, right_many) {
                    (Some(lf), Some(rf)) => {
                        let lv = self.sub_values(lf, base, assignment)?;
                        let rv = self.sub_values(rf, base, assignment)?;
                        let mut ok = true;
                        'pairs: for a in &lv {
                            for b in &rv {
                                self.catalog.spend(1)?;
                                if not(compare(*op, a, b)?) == Some(true) {
                                    ok = false;
                                    break 'pairs;
                                }
                            }
                        }
                        ok
                    }
                    (Some(lf), None) => {
                        let mut ok = true;
                        for a in self.sub_values(lf, base, assignment)? {
                            if not(compare(*op, &a, &r)?) == Some(true) {
                                ok = false;
                                break;
                            }
                        }
                        ok
                    }
                    (None, Some(rf)) => {
                        let mut ok = true;
                        for b in self.sub_values(rf, base, assignment)? {
                            if not(compare(*op, &l, &b)?) == Some(true) {
                                ok = false;
                                break;
                            }
                        }
                        ok
                    }
                    (None, None) => true,
                };
                and(main, Some(all_match))
            }
        })
    }

    /// Every value a fanned-out path yields for `base`, through its own LEFT JOINs (the
    /// multi-match subquery), NULL rows included.
    fn sub_values(
        &self,
        field: &FieldRef,
        base: &Rc<RecordRow>,
        assignment: &[Row],
    ) -> Result<Vec<Operand>, QueryError> {
        let mut rows = vec![self.parent_row(field.start, base, assignment)];
        for &index in &field.chain {
            let alias = &self.filter.aliases[index];
            let mut next = Vec::new();
            for row in &rows {
                let parent = match alias.from {
                    From::Nothing => Row::Null,
                    From::Auth => self.auth.clone(),
                    _ => row.clone(),
                };
                next.extend(self.rows(&alias.kind, &parent)?);
            }
            rows = next;
        }
        Ok(rows.iter().map(|row| extract(field, row)).collect())
    }

    /// The value a sort key reads for `base`, given the joined rows its match used (the
    /// first combination, as SQLite's scan meets them). One exception, read off
    /// PocketBase 0.40.6: through a back-relation whose field holds one id, the smallest
    /// value, in either direction.
    pub(crate) fn sort_value(
        &self,
        field: &FieldRef,
        base: &Rc<RecordRow>,
        assignment: &[Row],
    ) -> Result<SqlValue, QueryError> {
        let smallest = field.chain.iter().any(|&index| {
            matches!(
                self.filter.aliases[index].kind,
                AliasKind::Back {
                    single_field: true,
                    ..
                }
            )
        });
        if smallest {
            let values = self.sub_values(field, base, assignment)?;
            return Ok(values
                .into_iter()
                .map(|operand| operand.value)
                .min_by(value::order)
                .unwrap_or(SqlValue::Null));
        }
        Ok(extract(field, &self.parent_row(field.from, base, assignment)).value)
    }

    fn operand(
        &self,
        operand: &ROperand,
        base: &Rc<RecordRow>,
        assignment: &[Row],
    ) -> Result<Operand, QueryError> {
        Ok(match operand {
            ROperand::Fixed(fixed) => fixed.clone(),
            ROperand::Macro(found) => Operand::param(date_macro(*found, self.context.now_unix_ms)),
            ROperand::Request(request) => self.request_value(request),
            ROperand::Changed { field, shape } => {
                let changed = match self.context.body.get(field) {
                    None => false,
                    Some(sent) => {
                        let current = column_value(base, field, *shape).0;
                        let sent = body_value(sent, *shape == Column::Number);
                        !is(
                            &Operand::param(sent),
                            &Operand::column(current, Affinity::None),
                        )
                    }
                };
                Operand::keyword(SqlValue::Integer(i64::from(changed)))
            }
            ROperand::Field(field) => {
                let row = self.parent_row(field.from, base, assignment);
                extract(field, &row)
            }
            ROperand::Call { function, args } => {
                let values = args
                    .iter()
                    .map(|arg| self.operand(arg, base, assignment).map(|o| o.value))
                    .collect::<Result<Vec<_>, _>>()?;
                Operand::column(call(*function, &values), Affinity::None)
            }
        })
    }

    fn request_value(&self, request: &RequestRef) -> Operand {
        let context = self.context;
        let found: Option<Value> = match request.root {
            PathRoot::RequestMethod => Some(Value::String(context.method.clone())),
            PathRoot::RequestContext => Some(Value::String(context.context.clone())),
            PathRoot::RequestAuth => context
                .auth
                .as_ref()
                .and_then(|auth| nested(&Value::Object(auth.clone()), &request.segments)),
            PathRoot::RequestBody => {
                nested(&Value::Object(context.body.clone()), &request.segments)
            }
            PathRoot::RequestQuery => {
                nested(&Value::Object(context.query.clone()), &request.segments)
            }
            PathRoot::RequestHeaders => {
                nested(&Value::Object(context.headers.clone()), &request.segments)
            }
            PathRoot::Record | PathRoot::Collection { .. } => None,
        };
        if request.root == PathRoot::RequestAuth && context.auth.is_none() {
            return Operand::keyword(SqlValue::Null);
        }
        if request.modifier == Some(Modifier::IsSet) {
            return Operand::keyword(SqlValue::Integer(i64::from(found.is_some())));
        }
        if request.length {
            let count = match &found {
                None | Some(Value::Null) => 0,
                Some(Value::Array(items)) => items.len(),
                Some(_) => 1,
            };
            return Operand::keyword(SqlValue::Integer(count as i64));
        }
        let value = match &found {
            None | Some(Value::Null) => return Operand::keyword(SqlValue::Null),
            Some(found) => body_value(found, request.number_field),
        };
        if request.modifier == Some(Modifier::Lower) {
            return Operand::column(lower(&value), Affinity::None);
        }
        Operand::param(value)
    }
}

fn multi(operand: &ROperand) -> Option<&FieldRef> {
    match operand {
        ROperand::Field(field) if field.multi_match => Some(field),
        _ => None,
    }
}

/// A request value as PocketBase binds it: strings stay text (numeric strings become
/// numbers for number fields), numbers are reals, booleans integers, others JSON text.
fn body_value(value: &Value, number_field: bool) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::String(text) => {
            if number_field {
                if let Ok(number) = text.trim().parse::<f64>() {
                    return SqlValue::Real(number);
                }
            }
            SqlValue::Text(text.clone())
        }
        Value::Bool(flag) => SqlValue::Integer(i64::from(*flag)),
        Value::Number(number) => SqlValue::Real(number.as_f64().unwrap_or(0.0)),
        other => SqlValue::Text(other.to_string()),
    }
}

fn nested(root: &Value, segments: &[String]) -> Option<Value> {
    let mut current = root;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current.clone())
}

/// A column's value and affinity from a record document (missing = the column default).
fn column_value(record: &RecordRow, field: &str, column: Column) -> (SqlValue, Affinity) {
    let raw = record.doc.get(field);
    match column {
        Column::Id => (SqlValue::Text(record.id.clone()), Affinity::Text),
        Column::Text => (
            SqlValue::Text(match raw {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            }),
            Affinity::Text,
        ),
        Column::Number => (
            real_value(raw.and_then(Value::as_f64).unwrap_or(0.0)),
            Affinity::Numeric,
        ),
        Column::Bool => (
            SqlValue::Integer(i64::from(raw.and_then(Value::as_bool).unwrap_or(false))),
            Affinity::Numeric,
        ),
        Column::JsonArray => (
            SqlValue::Text(match raw {
                None | Some(Value::Null) => "[]".into(),
                Some(Value::String(text)) if text.is_empty() => "[]".into(),
                Some(Value::String(text)) => {
                    Value::Array(vec![Value::String(text.clone())]).to_string()
                }
                Some(other) => other.to_string(),
            }),
            Affinity::Numeric,
        ),
        Column::GeoPoint => (
            SqlValue::Text(match raw {
                None | Some(Value::Null) => r#"{"lon":0,"lat":0}"#.into(),
                Some(other) => other.to_string(),
            }),
            Affinity::Numeric,
        ),
    }
}

fn extract(field: &FieldRef, row: &Row) -> Operand {
    let mut operand = match (row, &field.extract) {
        (Row::Item(item), _) => Operand::column(item.clone(), Affinity::None),
        (Row::Null, Extract::Column { column, .. }) => {
            Operand::column(SqlValue::Null, affinity_of(*column))
        }
        (Row::Null, _) => Operand::column(SqlValue::Null, Affinity::None),
        (Row::Record(record), Extract::Column { field, column }) => {
            let (value, affinity) = column_value(record, field, *column);
            Operand::column(value, affinity)
        }
        (Row::Record(record), Extract::JsonPath { field, path }) => {
            let value = json_path(record.doc.get(field).unwrap_or(&Value::Null), path);
            Operand::column(value, Affinity::None)
        }
        (Row::Record(record), Extract::Length { field }) => {
            // pb_json_array_length: an array's length, 0 for NULL or '', else 1.
            let count = match record.doc.get(field) {
                Some(Value::Array(items)) => items.len() as i64,
                None | Some(Value::Null) => 0,
                Some(Value::String(text)) if text.is_empty() => 0,
                Some(_) => 1,
            };
            Operand::column(SqlValue::Integer(count), Affinity::None)
        }
        (Row::Record(_), Extract::Item) => Operand::column(SqlValue::Null, Affinity::None),
    };
    operand.no_coalesce = field.no_coalesce();
    if field.lower {
        operand.value = lower(&operand.value);
        operand.affinity = Affinity::None;
    }
    operand
}

fn affinity_of(column: Column) -> Affinity {
    match column {
        Column::Text | Column::Id => Affinity::Text,
        _ => Affinity::Numeric,
    }
}

/// SQLite's `json_extract(value, '$.a.b[0]')`; numeric segments index arrays.
fn json_path(value: &Value, path: &[String]) -> SqlValue {
    let mut current = value;
    for segment in path {
        let next = match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(found) => current = found,
            None => return SqlValue::Null,
        }
    }
    from_json(current)
}

/// The comparison as PocketBase's SQL builder writes it, in three-valued logic.
pub(crate) fn compare(op: CompareOp, left: &Operand, right: &Operand) -> Result<Truth, QueryError> {
    Ok(match op.kind {
        CompareKind::Eq => equal(true, left, right),
        CompareKind::NotEq => equal(false, left, right),
        CompareKind::Like | CompareKind::NotLike => {
            let pattern = if right.kind == OperandKind::Param {
                Some(like_param(&go_text(&right.value)))
            } else {
                to_text(&right.value).map(|text| format!("%{text}%"))
            };
            let (Some(text), Some(pattern)) = (to_text(&left.value), pattern) else {
                return Ok(None);
            };
            let matched = like(&text, &pattern).map_err(|_| QueryError::TooCostly {
                what: "a ~ comparison",
            })?;
            Some(if op.kind == CompareKind::Like {
                matched
            } else {
                !matched
            })
        }
        kind => value::compare(left, right).map(|ordering| match kind {
            CompareKind::Greater => ordering.is_gt(),
            CompareKind::GreaterOrEq => ordering.is_ge(),
            CompareKind::Less => ordering.is_lt(),
            _ => ordering.is_le(),
        }),
    })
}

/// PocketBase's `resolveEqualExpr`: `=` and `!=` with NULL and '' treated alike.
fn equal(equal: bool, left: &Operand, right: &Operand) -> Truth {
    let eq = |a: &Operand, b: &Operand| -> Truth {
        if equal {
            value::compare(a, b).map(|o| o.is_eq())
        } else {
            Some(!is(a, b))
        }
    };
    if left.no_coalesce || right.no_coalesce {
        let same = is(left, right);
        return Some(if equal { same } else { !same });
    }
    let (left_empty, right_empty) = (left.is_empty(), right.is_empty());
    let empty = Operand::keyword(SqlValue::Text(String::new()));
    if left_empty && right_empty {
        return Some(equal);
    }
    if left.is_known_non_empty() || right.is_known_non_empty() {
        let l = if left_empty { &empty } else { left };
        let r = if right_empty { &empty } else { right };
        return eq(l, r);
    }
    let null_check = |other: &Operand| {
        let is_null = other.value == SqlValue::Null;
        if equal {
            or(eq(&empty, other), Some(is_null))
        } else {
            and(eq(&empty, other), Some(!is_null))
        }
    };
    if left_empty {
        return null_check(right);
    }
    if right_empty {
        return null_check(left);
    }
    eq(&coalesce_empty(left), &coalesce_empty(right))
}

fn call(function: Function, args: &[SqlValue]) -> SqlValue {
    match function {
        Function::GeoDistance => {
            let numbers: Option<Vec<f64>> = args.iter().map(to_f64).collect();
            let Some(numbers) = numbers.filter(|n| n.len() == 4) else {
                return SqlValue::Null;
            };
            let (lon_a, lat_a, lon_b, lat_b) = (
                numbers[0].to_radians(),
                numbers[1].to_radians(),
                numbers[2].to_radians(),
                numbers[3].to_radians(),
            );
            let cosine =
                lat_a.cos() * lat_b.cos() * (lon_b - lon_a).cos() + lat_a.sin() * lat_b.sin();
            SqlValue::Real(6371.0 * cosine.clamp(-1.0, 1.0).acos())
        }
        Function::Strftime => {
            let (Some(format), Some(value)) = (
                args.first().and_then(to_text),
                args.get(1).and_then(to_text),
            ) else {
                return SqlValue::Null;
            };
            match time::parse_datetime(&value) {
                Some(ms) => SqlValue::Text(time::strftime(&format, ms)),
                None => SqlValue::Null,
            }
        }
    }
}

fn date_macro(found: DateMacro, now_ms: i64) -> SqlValue {
    let parts = time::Parts::from_unix_ms(now_ms);
    let text = |ms: i64| SqlValue::Text(time::format_datetime(ms));
    match found {
        DateMacro::Now => text(now_ms),
        DateMacro::Yesterday => text(now_ms - time::DAY_MS),
        DateMacro::Tomorrow => text(now_ms + time::DAY_MS),
        DateMacro::Second => SqlValue::Integer(parts.second),
        DateMacro::Minute => SqlValue::Integer(parts.minute),
        DateMacro::Hour => SqlValue::Integer(parts.hour),
        DateMacro::Weekday => SqlValue::Integer(parts.weekday),
        DateMacro::Day => SqlValue::Integer(parts.day),
        DateMacro::Month => SqlValue::Integer(parts.month),
        DateMacro::Year => SqlValue::Integer(parts.year),
        DateMacro::TodayStart => text(time::to_unix_ms(parts.year, parts.month, parts.day, 0)),
        DateMacro::TodayEnd => {
            text(time::to_unix_ms(parts.year, parts.month, parts.day, 0) + time::DAY_MS - 1)
        }
        DateMacro::MonthStart => text(time::to_unix_ms(parts.year, parts.month, 1, 0)),
        DateMacro::MonthEnd => {
            let (year, month) = if parts.month == 12 {
                (parts.year + 1, 1)
            } else {
                (parts.year, parts.month + 1)
            };
            text(time::to_unix_ms(year, month, 1, 0) - 1)
        }
        DateMacro::YearStart => text(time::to_unix_ms(parts.year, 1, 1, 0)),
        DateMacro::YearEnd => text(time::to_unix_ms(parts.year + 1, 1, 1, 0) - 1),
    }
}

/// What a condition reads: joins, the base record, and whether it needs every row of a
/// fanned-out path (a plain operator on a multi-match operand).
#[derive(Default)]
struct Reads {
    aliases: BTreeSet<usize>,
    base: bool,
    every_row: bool,
}

fn reads_of(expr: &RExpr, reads: &mut Reads) {
    match expr {
        RExpr::Guard { alias, rule } => {
            reads.aliases.insert(*alias);
            reads_of(rule, reads);
        }
        RExpr::And(a, b) | RExpr::Or(a, b) => {
            reads_of(a, reads);
            reads_of(b, reads);
        }
        RExpr::Compare { left, op, right } => {
            if !op.any_of && (multi(left).is_some() || multi(right).is_some()) {
                reads.every_row = true;
            }
            operand_reads(left, reads);
            operand_reads(right, reads);
        }
    }
}

fn operand_reads(operand: &ROperand, reads: &mut Reads) {
    match operand {
        ROperand::Field(field) => {
            for from in [field.start, field.from] {
                match from {
                    From::Base => reads.base = true,
                    From::Alias(index) => {
                        reads.aliases.insert(index);
                    }
                    From::Auth | From::Nothing => {}
                }
            }
            reads.aliases.extend(field.chain.iter().copied());
        }
        ROperand::Changed { .. } => reads.base = true,
        ROperand::Call { args, .. } => args.iter().for_each(|arg| operand_reads(arg, reads)),
        ROperand::Fixed(_) | ROperand::Macro(_) | ROperand::Request(_) => {}
    }
}

/// The top-level AND conditions that read exactly one `@collection` join and nothing of
/// the record, by join: they can narrow that join once per request.
fn narrowing(filter: &ResolvedFilter) -> HashMap<usize, Vec<&RExpr>> {
    fn conjuncts<'e>(expr: &'e RExpr, out: &mut Vec<&'e RExpr>) {
        match expr {
            RExpr::And(a, b) => {
                conjuncts(a, out);
                conjuncts(b, out);
            }
            other => out.push(other),
        }
    }
    let mut all = Vec::new();
    conjuncts(&filter.expr, &mut all);
    let mut by_alias: HashMap<usize, Vec<&RExpr>> = HashMap::new();
    for condition in all {
        let mut reads = Reads::default();
        reads_of(condition, &mut reads);
        if reads.base || reads.every_row || reads.aliases.len() != 1 {
            continue;
        }
        let Some(&alias) = reads.aliases.iter().next() else {
            continue;
        };
        if matches!(filter.aliases[alias].kind, AliasKind::Collection { .. }) {
            by_alias.entry(alias).or_default().push(condition);
        }
    }
    by_alias
}
