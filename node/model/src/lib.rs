//! PocketBase's model as EdgeBase implements it: collection definitions and their fields,
//! auth options, settings, record values and the `fields` parameter, with the checks
//! PocketBase makes on each. Pure: no runtime, no HTTP, no storage; every failure is a
//! `ModelError` that the HTTP edge turns into PocketBase's envelope.

pub mod auth_collection;
pub mod auth_config;
pub mod auth_options;
pub mod auth_record;
pub mod auth_sessions;
pub mod collection_schema;
pub mod cron_schedule;
pub mod error;
pub mod external_auths;
pub mod fields;
pub mod fields_param;
pub mod host_port;
pub mod ids;
pub mod oauth2_providers;
pub mod record_values;
pub mod scaffolds;
pub mod settings;
pub mod superusers;
pub mod time;
pub mod validation;

pub use error::ModelError;
pub use validation::{field_error, FieldErrors, ValidationCode};
