//! Queries over the state machine: PocketBase's filter language, parsed and bounded.

pub mod ast;
pub mod error;
mod lexer;
pub mod parser;
pub mod plan;

pub use ast::{
    CompareKind, CompareOp, DateMacro, Expr, Function, Modifier, Operand, Path, PathRoot, SortKey,
    SortTarget,
};
pub use error::FilterError;
pub use parser::parse_filter;
