//! Checking a parsed filter against the collections' schemas, PocketBase's way: unknown
//! fields, bad relation paths, back-relations (`comments_via_post`), `@collection.x`,
//! modifiers, and the relation depth limit. The result names every join the evaluation needs.

use std::sync::Arc;

use crate::compiled_collection::{CompiledCollection, Rule};
use crate::query::ast::{self, DateMacro, Expr, Function, Modifier, PathRoot};
use crate::query::catalog::Catalog;
use crate::query::query_error::QueryError;
use crate::query::value::{Operand, SqlValue};
use crate::schema::{FieldInfo, FieldShape};

/// Most relation hops in one field path (PocketBase's `maxNestedRels`).
pub const RELATION_DEPTH_MAX: usize = 6;
/// Most joins one filter may register.
pub const JOINS_MAX: usize = 64;

/// Who wrote a filter or sort, which decides what it may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAccess {
    /// A collection's rule, or a superuser's filter: every field and collection.
    Unrestricted,
    /// Another client's own filter or sort (PocketBase 0.40.6, read off real answers):
    /// hidden fields are refused, `@collection` is forbidden (403), and every relation it
    /// joins must be listable: a null listRule is refused, and a set listRule must hold for
    /// the joined record (a record whose joined row fails it is not listed at all).
    Restricted,
}

/// A filter checked against the schema, ready to evaluate.
#[derive(Debug, Clone)]
pub struct ResolvedFilter {
    pub(crate) expr: RExpr,
    pub(crate) aliases: Vec<Alias>,
}

#[derive(Debug, Clone)]
pub(crate) enum RExpr {
    /// The joined collection's listRule on a restricted join: true when the join found no
    /// row, else the rule on that row.
    Guard {
        alias: usize,
        rule: Box<RExpr>,
    },
    And(Box<RExpr>, Box<RExpr>),
    Or(Box<RExpr>, Box<RExpr>),
    Compare {
        left: Box<ROperand>,
        op: ast::CompareOp,
        right: Box<ROperand>,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum ROperand {
    Fixed(Operand),
    Macro(DateMacro),
    Request(RequestRef),
    /// `@request.body.x:changed`: the body sets x to something other than the record's value.
    Changed {
        field: String,
        shape: Column,
    },
    Field(FieldRef),
    Call {
        function: Function,
        args: Vec<ROperand>,
    },
}

/// A static `@request.*` value.
#[derive(Debug, Clone)]
pub(crate) struct RequestRef {
    pub root: PathRoot,
    pub segments: Vec<String>,
    pub modifier: Option<Modifier>,
    /// The body key names a number field: numeric strings become numbers.
    pub number_field: bool,
    /// `:length` of a body value.
    pub length: bool,
}

/// Where a join's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    Base,
    /// The authenticated record.
    Auth,
    Alias(usize),
    Nothing,
}

#[derive(Debug, Clone)]
pub(crate) enum AliasKind {
    Forward {
        field: String,
        target: String,
        multiple: bool,
    },
    Back {
        collection_id: String,
        field: String,
        /// The back field holds one id (not a multiple relation).
        single_field: bool,
    },
    Collection {
        collection_id: String,
    },
    Each {
        field: String,
        column: Column,
    },
    /// Records of `collection_id` whose ids the request body's relation `field` holds.
    BodyRelation {
        collection_id: String,
        field: String,
    },
    /// The items of the request body's `field` (`@request.body.x:each`).
    BodyItems {
        field: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Alias {
    pub key: String,
    pub from: From,
    pub kind: AliasKind,
}

/// How a field's stored value reads as an SQLite column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Text,
    Number,
    Bool,
    /// Multi-value select/relation/file: a JSON array column.
    JsonArray,
    GeoPoint,
    Id,
}

#[derive(Debug, Clone)]
pub(crate) enum Extract {
    Column {
        field: String,
        column: Column,
    },
    JsonPath {
        field: String,
        path: Vec<String>,
    },
    Length {
        field: String,
    },
    /// The current item of an `:each` join.
    Item,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldRef {
    /// Where `chain` starts (the base record, the auth record, or a guarded join's row).
    pub start: From,
    /// The row the value is read from.
    pub from: From,
    /// The joins from the start to `from`, for the multi-match subquery.
    pub chain: Vec<usize>,
    pub extract: Extract,
    pub lower: bool,
    /// The path fans out (multiple relation, back-relation, @collection, `:each`): plain
    /// operators then require every value to match.
    pub multi_match: bool,
}

impl FieldRef {
    pub(crate) fn no_coalesce(&self) -> bool {
        matches!(self.extract, Extract::JsonPath { .. })
    }
}

pub(crate) struct Resolver<'c, 'v> {
    catalog: &'c Catalog<'v>,
    base: Arc<CompiledCollection>,
    access: FilterAccess,
    auth_collection: Option<Arc<CompiledCollection>>,
    aliases: Vec<Alias>,
    /// Where record paths start: the base record, or a guarded join while its rule resolves.
    record_start: Option<Start>,
    guards: Vec<(usize, RExpr)>,
}

fn unknown(path: &str, reason: impl Into<String>) -> QueryError {
    QueryError::UnknownField {
        path: path.to_string(),
        reason: reason.into(),
    }
}

impl<'c, 'v> Resolver<'c, 'v> {
    pub(crate) fn new(
        catalog: &'c Catalog<'v>,
        base: Arc<CompiledCollection>,
        auth_collection: Option<Arc<CompiledCollection>>,
    ) -> Self {
        Resolver {
            catalog,
            base,
            access: FilterAccess::Unrestricted,
            auth_collection,
            aliases: Vec::new(),
            record_start: None,
            guards: Vec::new(),
        }
    }

    /// Resolve one part of the query, written with `access`.
    pub(crate) fn part(&mut self, expr: &Expr, access: FilterAccess) -> Result<RExpr, QueryError> {
        self.access = access;
        self.expr(expr)
    }

    /// The whole filter: `expr` and every join guard.
    pub(crate) fn finish(self, expr: RExpr) -> ResolvedFilter {
        let expr = self.guards.into_iter().fold(expr, |expr, (alias, rule)| {
            RExpr::And(
                Box::new(expr),
                Box::new(RExpr::Guard {
                    alias,
                    rule: Box::new(rule),
                }),
            )
        });
        ResolvedFilter {
            expr,
            aliases: self.aliases,
        }
    }

    /// Guard a restricted join into `collection` with its listRule.
    fn guard(
        &mut self,
        text: &str,
        alias: usize,
        collection: &Arc<CompiledCollection>,
    ) -> Result<(), QueryError> {
        if self.guards.iter().any(|(guarded, _)| *guarded == alias) {
            return Ok(());
        }
        let parsed = match &collection.rules().list {
            Rule::SuperusersOnly => {
                return Err(unknown(
                    text,
                    format!(
                        "only superusers may filter through {:?}",
                        collection.schema().name
                    ),
                ))
            }
            Rule::Everyone => return Ok(()),
            Rule::Filter(expr) => expr.clone(),
            Rule::Unparsable(error) => return Err(error.clone().into()),
        };
        let saved_start = self.record_start.take();
        let saved_access = self.access;
        self.record_start = Some(Start {
            collection: collection.clone(),
            anchor: From::Alias(alias),
            from: From::Alias(alias),
            chain: Vec::new(),
            multi_match: false,
            alias_key: self.aliases[alias].key.clone(),
            hidden: HiddenCheck::Skip,
        });
        self.access = FilterAccess::Unrestricted;
        let resolved = self.expr(&parsed);
        self.record_start = saved_start;
        self.access = saved_access;
        self.guards.push((alias, resolved?));
        Ok(())
    }

    fn expr(&mut self, expr: &Expr) -> Result<RExpr, QueryError> {
        Ok(match expr {
            Expr::And(a, b) => RExpr::And(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::Or(a, b) => RExpr::Or(Box::new(self.expr(a)?), Box::new(self.expr(b)?)),
            Expr::Compare { left, op, right } => RExpr::Compare {
                left: Box::new(self.operand(left)?),
                op: *op,
                right: Box::new(self.operand(right)?),
            },
        })
    }

    fn operand(&mut self, operand: &ast::Operand) -> Result<ROperand, QueryError> {
        Ok(match operand {
            ast::Operand::Text(text) => {
                ROperand::Fixed(Operand::param(SqlValue::Text(text.clone())))
            }
            ast::Operand::Number(number) => {
                ROperand::Fixed(Operand::param(SqlValue::Real(*number)))
            }
            ast::Operand::Bool(flag) => {
                ROperand::Fixed(Operand::keyword(SqlValue::Integer(i64::from(*flag))))
            }
            ast::Operand::Null => ROperand::Fixed(Operand::keyword(SqlValue::Null)),
            ast::Operand::Macro(found) => ROperand::Macro(*found),
            ast::Operand::Call { function, args } => ROperand::Call {
                function: *function,
                args: args
                    .iter()
                    .map(|arg| self.operand(arg))
                    .collect::<Result<_, _>>()?,
            },
            ast::Operand::Path(path) => self.path(path)?,
        })
    }

    fn path(&mut self, path: &ast::Path) -> Result<ROperand, QueryError> {
        let text = path_text(path);
        match &path.root {
            PathRoot::Record => {
                let start = self.record_start.clone().unwrap_or_else(|| Start {
                    collection: self.base.clone(),
                    anchor: From::Base,
                    from: From::Base,
                    chain: Vec::new(),
                    multi_match: false,
                    alias_key: self.base.schema().name.clone(),
                    hidden: HiddenCheck::Apply,
                });
                Ok(ROperand::Field(self.walk(
                    &text,
                    start,
                    &path.segments,
                    path.modifier,
                )?))
            }
            PathRoot::Collection { name, alias } => {
                if self.access == FilterAccess::Restricted {
                    return Err(QueryError::Forbidden {
                        reason: "Only superusers can filter by @collection.".into(),
                    });
                }
                let schema = self
                    .catalog
                    .schema_by_name_or_id(name)?
                    .ok_or_else(|| unknown(&text, format!("unknown collection {name:?}")))?;
                let key = match alias {
                    Some(alias) => format!("__collection_alias_{alias}"),
                    None => format!("__collection_{}", schema.schema().name),
                };
                let index = self.register(Alias {
                    key: key.clone(),
                    from: From::Nothing,
                    kind: AliasKind::Collection {
                        collection_id: schema.schema().id.clone(),
                    },
                })?;
                let start = Start {
                    collection: schema,
                    anchor: From::Nothing,
                    from: From::Alias(index),
                    chain: vec![index],
                    multi_match: true,
                    alias_key: key,
                    hidden: HiddenCheck::Skip,
                };
                Ok(ROperand::Field(self.walk(
                    &text,
                    start,
                    &path.segments,
                    path.modifier,
                )?))
            }
            PathRoot::RequestAuth => self.auth_path(&text, path),
            PathRoot::RequestBody => {
                let name = path.segments.first().cloned().unwrap_or_default();
                let field = self.base.schema().field(&name).cloned();
                let one = path.segments.len() == 1;
                if let Some(field) = &field {
                    if field.shape == FieldShape::Relation && path.segments.len() > 1 {
                        return self.body_relation_path(&text, field, path);
                    }
                    if one && path.modifier == Some(Modifier::Each) && is_multi_valuer(field) {
                        let index = self.register(Alias {
                            key: format!("__dataEach_{}_je", field.name),
                            from: From::Nothing,
                            kind: AliasKind::BodyItems {
                                field: field.name.clone(),
                            },
                        })?;
                        return Ok(ROperand::Field(FieldRef {
                            start: From::Nothing,
                            from: From::Alias(index),
                            chain: vec![index],
                            extract: Extract::Item,
                            lower: false,
                            multi_match: field.multiple,
                        }));
                    }
                }
                match (path.modifier, &field) {
                    (Some(Modifier::Changed), Some(field)) if one => Ok(ROperand::Changed {
                        field: field.name.clone(),
                        shape: column_of(field),
                    }),
                    (Some(Modifier::Length), Some(field)) if one && !is_multi_valuer(field) => Err(
                        unknown(&text, "the field doesn't support multivalue operations"),
                    ),
                    (Some(Modifier::Each), Some(field)) if one && !is_multi_valuer(field) => Err(
                        unknown(&text, "the field doesn't support multivalue operations"),
                    ),
                    _ => Ok(ROperand::Request(RequestRef {
                        root: PathRoot::RequestBody,
                        segments: path.segments.clone(),
                        modifier: path.modifier,
                        number_field: field
                            .as_ref()
                            .is_some_and(|f| f.shape == FieldShape::Number),
                        length: one && path.modifier == Some(Modifier::Length),
                    })),
                }
            }
            root => Ok(ROperand::Request(RequestRef {
                root: root.clone(),
                segments: path.segments.clone(),
                modifier: path.modifier,
                number_field: false,
                length: false,
            })),
        }
    }

    /// `@request.auth.*`: the plain auth fields are static values; other fields and
    /// relation paths join the authenticated record (missing fields read as NULL).
    fn auth_path(&mut self, text: &str, path: &ast::Path) -> Result<ROperand, QueryError> {
        let plain =
            path.segments.len() == 1 && PLAIN_AUTH_FIELDS.contains(&path.segments[0].as_str());
        let static_ref = ROperand::Request(RequestRef {
            root: PathRoot::RequestAuth,
            segments: path.segments.clone(),
            modifier: path.modifier,
            number_field: false,
            length: false,
        });
        let Some(collection) = self.auth_collection.clone().filter(|_| !plain) else {
            return Ok(static_ref);
        };
        let start = Start {
            alias_key: format!("__auth_{}", collection.schema().name),
            collection,
            anchor: From::Auth,
            from: From::Auth,
            chain: Vec::new(),
            multi_match: false,
            hidden: HiddenCheck::Skip,
        };
        match self.walk(text, start, &path.segments, path.modifier) {
            Ok(field) => Ok(ROperand::Field(field)),
            Err(QueryError::UnknownField { .. }) => {
                Ok(ROperand::Fixed(Operand::keyword(SqlValue::Null)))
            }
            Err(other) => Err(other),
        }
    }

    /// `@request.body.rel.field`: the records the body's relation ids name.
    fn body_relation_path(
        &mut self,
        text: &str,
        field: &FieldInfo,
        path: &ast::Path,
    ) -> Result<ROperand, QueryError> {
        let target_id = field.relation_collection_id.clone().unwrap_or_default();
        let Some(target) = self.catalog.schema_by_id(&target_id)? else {
            return Ok(ROperand::Fixed(Operand::keyword(SqlValue::Null)));
        };
        let key = format!("__data_{}_{}", target.schema().name, field.name);
        let index = self.register(Alias {
            key: key.clone(),
            from: From::Nothing,
            kind: AliasKind::BodyRelation {
                collection_id: target.schema().id.clone(),
                field: field.name.clone(),
            },
        })?;
        let start = Start {
            collection: target,
            anchor: From::Nothing,
            from: From::Alias(index),
            chain: vec![index],
            multi_match: field.multiple,
            alias_key: key,
            hidden: HiddenCheck::Skip,
        };
        match self.walk(text, start, &path.segments[1..], path.modifier) {
            Ok(field) => Ok(ROperand::Field(field)),
            Err(QueryError::UnknownField { .. }) => {
                Ok(ROperand::Fixed(Operand::keyword(SqlValue::Null)))
            }
            Err(other) => Err(other),
        }
    }

    fn register(&mut self, alias: Alias) -> Result<usize, QueryError> {
        if let Some(index) = self.aliases.iter().position(|a| a.key == alias.key) {
            return Ok(index);
        }
        if self.aliases.len() >= JOINS_MAX {
            return Err(unknown(&alias.key, format!("more than {JOINS_MAX} joins")));
        }
        self.aliases.push(alias);
        Ok(self.aliases.len() - 1)
    }

    /// Follow `segments` from `start`, PocketBase's processActiveProps.
    fn walk(
        &mut self,
        text: &str,
        start: Start,
        segments: &[String],
        modifier: Option<Modifier>,
    ) -> Result<FieldRef, QueryError> {
        let Start {
            mut collection,
            anchor,
            mut from,
            mut chain,
            mut multi_match,
            mut alias_key,
            hidden,
        } = start;
        let restricted = hidden == HiddenCheck::Apply && self.access == FilterAccess::Restricted;
        let total = segments.len();
        for (i, prop) in segments.iter().enumerate() {
            if i == total - 1 {
                return self.last_prop(
                    text,
                    Start {
                        collection,
                        anchor,
                        from,
                        chain,
                        multi_match,
                        alias_key,
                        hidden,
                    },
                    prop,
                    modifier,
                    restricted,
                );
            }
            let field = collection.schema().field(prop).cloned();
            if let Some(field) = &field {
                if field.hidden && restricted {
                    return Err(unknown(text, format!("non-filterable field {prop:?}")));
                }
                if matches!(field.type_name.as_str(), "json" | "geoPoint") {
                    return Ok(FieldRef {
                        start: anchor,
                        from,
                        chain,
                        extract: Extract::JsonPath {
                            field: field.name.clone(),
                            path: segments[i + 1..].to_vec(),
                        },
                        lower: modifier == Some(Modifier::Lower),
                        multi_match,
                    });
                }
            }
            if i >= RELATION_DEPTH_MAX {
                return Err(unknown(
                    text,
                    format!("max nested relations reached for field {prop:?}"),
                ));
            }
            let Some(field) = field else {
                let (back_name, back_field_name) = split_via(prop)
                    .ok_or_else(|| unknown(text, format!("failed to resolve field {prop:?}")))?;
                let back = self
                    .catalog
                    .schema_by_name_or_id(back_name)?
                    .ok_or_else(|| {
                        unknown(
                            text,
                            format!("failed to load back relation field {prop:?} collection"),
                        )
                    })?;
                let back_field =
                    back.schema()
                        .field(back_field_name)
                        .cloned()
                        .ok_or_else(|| {
                            unknown(
                                text,
                                format!("missing back relation field {back_field_name:?}"),
                            )
                        })?;
                if back_field.shape != FieldShape::Relation {
                    return Err(unknown(
                        text,
                        format!("invalid back relation field {back_field_name:?}"),
                    ));
                }
                if back_field.hidden && restricted {
                    return Err(unknown(
                        text,
                        format!("non-filterable back relation field {back_field_name:?}"),
                    ));
                }
                if back_field.relation_collection_id.as_deref()
                    != Some(collection.schema().id.as_str())
                {
                    return Err(unknown(text, format!("invalid collection reference of a back relation field {back_field_name:?}")));
                }
                let multiple = back_field.multiple || !has_unique_index(&back, &back_field.name);
                multi_match |= multiple;
                alias_key = format!("{alias_key}_{prop}");
                let index = self.register(Alias {
                    key: alias_key.clone(),
                    from,
                    kind: AliasKind::Back {
                        collection_id: back.schema().id.clone(),
                        field: back_field.name.clone(),
                        single_field: !back_field.multiple,
                    },
                })?;
                if restricted {
                    self.guard(text, index, &back)?;
                }
                chain.push(index);
                from = From::Alias(index);
                collection = back;
                continue;
            };
            if field.shape != FieldShape::Relation {
                return Err(unknown(
                    text,
                    format!("field {prop:?} is not a valid relation"),
                ));
            }
            let target_id = field.relation_collection_id.clone().unwrap_or_default();
            let target = self.catalog.schema_by_id(&target_id)?.ok_or_else(|| {
                unknown(text, format!("failed to load field {prop:?} collection"))
            })?;
            if !field.multiple && i == total - 2 && segments[i + 1] == "id" {
                return self.last_prop(
                    text,
                    Start {
                        collection,
                        anchor,
                        from,
                        chain,
                        multi_match,
                        alias_key,
                        hidden,
                    },
                    prop,
                    modifier,
                    restricted,
                );
            }
            multi_match |= field.multiple;
            alias_key = format!("{alias_key}_{prop}");
            let index = self.register(Alias {
                key: alias_key.clone(),
                from,
                kind: AliasKind::Forward {
                    field: field.name.clone(),
                    target: target.schema().id.clone(),
                    multiple: field.multiple,
                },
            })?;
            if restricted {
                self.guard(text, index, &target)?;
            }
            chain.push(index);
            from = From::Alias(index);
            collection = target;
        }
        Err(unknown(text, "empty field path"))
    }

    #[allow(clippy::too_many_arguments)]
    fn last_prop(
        &mut self,
        text: &str,
        at: Start,
        prop: &str,
        modifier: Option<Modifier>,
        restricted: bool,
    ) -> Result<FieldRef, QueryError> {
        let Start {
            collection,
            anchor,
            from,
            mut chain,
            mut multi_match,
            alias_key,
            ..
        } = at;
        let field = match collection.schema().field(prop) {
            Some(field) => field.clone(),
            None if prop == "id" => FieldInfo {
                id: "id".into(),
                name: "id".into(),
                type_name: "text".into(),
                shape: FieldShape::Text,
                multiple: false,
                relation_collection_id: None,
                cascade_delete: false,
                hidden: false,
            },
            None => return Err(unknown(text, format!("unknown field {prop:?}"))),
        };
        if field.hidden && restricted {
            return Err(unknown(text, format!("non-filterable field {prop:?}")));
        }
        let column = column_of(&field);
        let lower = modifier == Some(Modifier::Lower);
        let multi_valuer = is_multi_valuer(&field);
        let extract = match modifier {
            Some(Modifier::Length) if multi_valuer => Extract::Length {
                field: field.name.clone(),
            },
            Some(Modifier::Each) if multi_valuer => {
                multi_match |= field.multiple;
                let index = self.register(Alias {
                    key: format!("{alias_key}_{}_je", field.name),
                    from,
                    kind: AliasKind::Each {
                        field: field.name.clone(),
                        column,
                    },
                })?;
                chain.push(index);
                return Ok(FieldRef {
                    start: anchor,
                    from: From::Alias(index),
                    chain,
                    extract: Extract::Item,
                    lower: false,
                    multi_match,
                });
            }
            _ if field.type_name == "json" => Extract::JsonPath {
                field: field.name.clone(),
                path: Vec::new(),
            },
            _ => Extract::Column {
                field: field.name.clone(),
                column,
            },
        };
        Ok(FieldRef {
            start: anchor,
            from,
            chain,
            extract,
            lower,
            multi_match,
        })
    }

    /// Resolve a record field path for sorting (no modifiers beyond `:lower`/`:length`).
    pub(crate) fn sort_path(
        &mut self,
        text: &str,
        segments: &[String],
        modifier: Option<Modifier>,
        access: FilterAccess,
    ) -> Result<FieldRef, QueryError> {
        self.access = access;
        let start = Start {
            collection: self.base.clone(),
            anchor: From::Base,
            from: From::Base,
            chain: Vec::new(),
            multi_match: false,
            alias_key: self.base.schema().name.clone(),
            hidden: HiddenCheck::Apply,
        };
        self.walk(text, start, segments, modifier)
    }
}

/// Where a field path starts walking.
#[derive(Clone)]
struct Start {
    collection: Arc<CompiledCollection>,
    /// Where the path's joins start (kept in the [`FieldRef`]).
    anchor: From,
    /// The row source reached so far.
    from: From,
    chain: Vec<usize>,
    multi_match: bool,
    alias_key: String,
    hidden: HiddenCheck,
}

/// `@request.auth.*` fields read without joining the auth collection.
const PLAIN_AUTH_FIELDS: &[&str] = &[
    "id",
    "collectionId",
    "collectionName",
    "email",
    "emailVisibility",
    "verified",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HiddenCheck {
    Apply,
    Skip,
}

fn split_via(prop: &str) -> Option<(&str, &str)> {
    let (collection, field) = prop.split_once("_via_")?;
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    (word(collection) && word(field)).then_some((collection, field))
}

/// Whether a unique index on exactly the one column `field` exists.
fn has_unique_index(collection: &CompiledCollection, field: &str) -> bool {
    collection.indexes().is_ok_and(|indexes| {
        indexes.iter().any(|index| {
            index.definition.unique
                && matches!(index.columns.as_slice(), [only] if only.column.name == field)
        })
    })
}

/// Select, relation and file fields support `:each` and `:length`.
fn is_multi_valuer(field: &FieldInfo) -> bool {
    matches!(field.type_name.as_str(), "select" | "relation" | "file")
}

pub(crate) fn column_of(field: &FieldInfo) -> Column {
    if field.name == "id" {
        return Column::Id;
    }
    match field.shape {
        FieldShape::Number => Column::Number,
        FieldShape::Bool => Column::Bool,
        _ if field.type_name == "geoPoint" => Column::GeoPoint,
        _ if field.multiple => Column::JsonArray,
        _ => Column::Text,
    }
}

fn path_text(path: &ast::Path) -> String {
    let mut text = match &path.root {
        PathRoot::Record => String::new(),
        PathRoot::RequestAuth => "@request.auth.".into(),
        PathRoot::RequestBody => "@request.body.".into(),
        PathRoot::RequestQuery => "@request.query.".into(),
        PathRoot::RequestHeaders => "@request.headers.".into(),
        PathRoot::RequestMethod => "@request.method".into(),
        PathRoot::RequestContext => "@request.context".into(),
        PathRoot::Collection { name, alias } => match alias {
            Some(alias) => format!("@collection.{name}:{alias}."),
            None => format!("@collection.{name}."),
        },
    };
    text.push_str(&path.segments.join("."));
    text
}
