//! `CREATE [UNIQUE] INDEX` statements as PocketBase stores them in a collection's `indexes`.

pub mod definition;
pub mod error;

pub use definition::{
    parse_index, Collation, Direction, IndexColumn, IndexDefinition, INDEX_COLUMNS_MAX,
    INDEX_SQL_BYTES_MAX,
};
pub use error::IndexError;
