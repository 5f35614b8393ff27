//! PocketBase's data model as EdgeBase implements it: ids, timestamps, collection
//! definitions, record values, and the superusers collection.

pub mod collection_schema;
pub mod fields;
pub mod ids;
pub mod record_values;
pub mod superusers;
pub mod time;
