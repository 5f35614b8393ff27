//! Why an index statement cannot be used.

/// An index statement that EdgeBase cannot parse or cannot maintain for a collection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Not PocketBase's `CREATE [UNIQUE] INDEX ...` form.
    #[error("Invalid CREATE INDEX expression: {0}")]
    Syntax(String),
    /// A column that is an expression (`lower(x)`), which EdgeBase does not index.
    #[error("index {index}: only plain columns can be indexed, not expressions")]
    Expression { index: String },
    /// A collation other than BINARY and NOCASE.
    #[error("index {index}: unsupported collation {collation}")]
    Collation { index: String, collation: String },
    /// A column that is not a field of the collection.
    #[error("Failed to create index {index} - no such column: {column}")]
    UnknownColumn { index: String, column: String },
    /// A `WHERE` clause outside what EdgeBase evaluates: comparisons of the record's own
    /// fields with literals, joined by AND and OR.
    #[error("index {index}: unsupported WHERE clause: {detail}")]
    Condition { index: String, detail: String },
    /// Two indexes of the collection share a name.
    #[error("The index name already exists.")]
    DuplicateName { index: String },
    /// Another collection already has an index with this name.
    #[error("The index name is already used in {collection} collection.")]
    NameUsedElsewhere { index: String, collection: String },
    /// More columns than an index may have.
    #[error("index {index}: more than {max} columns")]
    TooManyColumns { index: String, max: usize },
}

impl IndexError {
    /// PocketBase's validation code for this error (`data.indexes.N.code`).
    pub fn code(&self) -> &'static str {
        match self {
            IndexError::DuplicateName { .. } => "validation_duplicated_index_name",
            IndexError::NameUsedElsewhere { .. } => "validation_existing_index_name",
            _ => "validation_invalid_index_expression",
        }
    }
}
