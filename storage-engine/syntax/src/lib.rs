//! The two small languages of PocketBase's model, parsed without any storage or runtime:
//! the filter and rule language (`query`) and `CREATE [UNIQUE] INDEX` statements (`index`).
//! The storage engine evaluates and maintains what these parse; the model checks them.

pub mod index;
pub mod query;
