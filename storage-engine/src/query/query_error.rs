//! Why a list or rule check could not be answered.

use crate::query::error::FilterError;
use crate::StorageError;

/// A query that could not be run. Every variant but `Storage` is the client's fault:
/// `Forbidden` is PocketBase's 403 with its reason as the message; the others are its 400
/// (`{"status":400,"message":"Something went wrong while processing your request.",
/// "data":{}}` in PocketBase 0.40.6, for syntax and resolution errors alike).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Syntax(#[from] FilterError),
    /// A field, relation path, collection or modifier that the schema does not allow.
    #[error("invalid filter field {path:?}: {reason}")]
    UnknownField { path: String, reason: String },
    /// A `sort` parameter that is malformed or names an unknown field.
    #[error("invalid sort {sort:?}: {reason}")]
    InvalidSort { sort: String, reason: String },
    /// The client may not use this (PocketBase answers 403, e.g. "Only superusers can
    /// filter by @collection.").
    #[error("{reason}")]
    Forbidden { reason: String },
    /// The collection does not exist.
    #[error("missing collection {0:?}")]
    MissingCollection(String),
    /// The evaluation would visit more records than allowed.
    #[error("the query examined more than {records_examined_max} records")]
    TooMuchWork { records_examined_max: u64 },
    /// One step of the evaluation would take too long (e.g. a pathological LIKE pattern).
    #[error("{what} is too costly to evaluate")]
    TooCostly { what: &'static str },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl QueryError {
    /// True for errors PocketBase answers with 400 (the client's request is at fault).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, QueryError::Storage(_))
    }
}
