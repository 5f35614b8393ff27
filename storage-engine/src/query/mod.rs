//! Queries over the state machine: PocketBase's filter language parsed, resolved against the
//! schema, evaluated with PocketBase's SQL semantics, sorted and paged.

pub mod ast;
mod catalog;
pub mod error;
mod evaluate;
mod lexer;
mod list;
pub mod parser;
pub mod plan;
pub mod query_error;
pub mod request_context;
pub mod resolve;
pub mod sort;
pub mod time;
pub mod value;

pub use ast::{
    CompareKind, CompareOp, DateMacro, Expr, Function, Modifier, Operand, Path, PathRoot, SortKey,
    SortTarget,
};
pub use catalog::RecordRow;
pub use error::FilterError;
pub use list::{FilterPart, ListPage, ListRequest, RuleCheck, TotalCount};
pub use parser::parse_filter;
pub use query_error::QueryError;
pub use request_context::RequestContext;
pub use resolve::{FilterAccess, ResolvedFilter, RELATION_DEPTH_MAX};
pub use sort::parse_sort;

pub(crate) use list::{check_record, list, validate_filter};
