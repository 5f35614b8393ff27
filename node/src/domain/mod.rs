//! PocketBase's data model as EdgeBase implements it: ids, timestamps, collection
//! definitions, record values, and the superusers collection.

pub mod auth_collection;
pub mod auth_options;
pub mod auth_record;
pub mod auth_sessions;
pub mod collection_schema;
pub mod external_auths;
pub mod fields;
pub mod fields_param;
pub mod ids;
pub mod oauth2_providers;
pub mod record_values;
pub mod scaffolds;
pub mod settings;
pub mod superusers;
pub mod time;
