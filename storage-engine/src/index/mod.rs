//! Secondary indexes: PocketBase's index statements parsed and bound to a collection's
//! fields, their order-preserving RocksDB entries, maintained by apply in the same batch as
//! the record, and unique constraints enforced there.

pub use edgebase_syntax::index::{definition, error};

pub mod compiled;
pub mod condition;
mod entry_value;
pub(crate) mod maintain;
pub mod validate;
pub mod value;

pub use compiled::{compile_indexes, CompiledColumn, CompiledIndex, IndexEntry};
pub use condition::IndexCondition;
pub use definition::{
    parse_index, Collation, Direction, IndexColumn, IndexDefinition, INDEX_COLUMNS_MAX,
    INDEX_SQL_BYTES_MAX,
};
pub use entry_value::{entry_value, read_entry_value};
pub use error::IndexError;
pub use validate::{validate_indexes, IndexProblem};
pub use value::IndexValue;
