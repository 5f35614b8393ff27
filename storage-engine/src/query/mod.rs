//! Queries over the state machine: PocketBase's filter language parsed (`parser`), checked
//! against the schema (`resolve`), evaluated with PocketBase's SQL semantics (`evaluate`,
//! `value`), sorted and paged (`list`), over one consistent view (`catalog`).

pub use edgebase_syntax::query::{ast, error, parser};

mod catalog;
mod evaluate;
mod lazy_doc;
mod list;
pub mod plan;
mod query_error;
mod raw_prefilter;
mod request_context;
mod resolve;
mod sort;
mod time;
mod value;

pub use ast::{
    CompareKind, CompareOp, DateMacro, Expr, Function, Modifier, Operand, Path, PathRoot, SortKey,
    SortTarget,
};
pub use error::FilterError;
pub use list::{FilterPart, ListPage, ListRequest, RecordRead, RuleCheck, RuleSubject, TotalCount};
pub use parser::parse_filter;
pub use query_error::QueryError;
pub use request_context::RequestContext;
pub use resolve::{FilterAccess, JOINS_MAX, RELATION_DEPTH_MAX};
pub use sort::{parse_sort, SORT_KEYS_MAX};
pub use value::LIKE_STEPS_MAX;

pub(crate) use list::{check_record, list, validate_filter};
