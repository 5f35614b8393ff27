//! PocketBase's filter and rule language: tokens, the expression tree, the parser.

pub mod ast;
pub mod error;
mod lexer;
pub mod parser;

pub use ast::{
    CompareKind, CompareOp, DateMacro, Expr, Function, Modifier, Operand, Path, PathRoot, SortKey,
    SortTarget,
};
pub use error::FilterError;
pub use parser::{parse_filter, parse_filter_with_params, Binder};
