//! The node's service layer: the running `App` (consensus, local state, caches, limiters,
//! mail), who a request is from, and everything a request does between the HTTP edge and
//! consensus: checking rules, planning writes with their conditions, expanding relations,
//! and the system collections. No HTTP here; failures are `ServiceError`s.

pub mod app;
pub mod auth_alert;
pub mod auth_sessions;
pub mod backups;
pub mod blob_keeper;
pub mod bucket;
pub mod caller;
pub mod collection_checks;
pub mod collections;
pub mod consistency;
pub mod error;
pub mod expand;
pub mod external_auths;
pub mod files;
pub mod hooks_deployment;
pub mod hooks_outbox;
pub mod idempotency;
pub mod mail;
pub mod parsed_cache;
pub mod precondition;
pub mod principal;
pub mod rate_limiter;
pub mod record_checks;
pub mod record_mail;
pub mod record_writes;
pub mod request_logs;
pub mod resumable;
pub mod rules;
pub mod scheduler;
pub mod superusers;
pub mod system_settings;
pub mod system_writes;
pub mod thumbs;
pub mod work_budget;

pub use app::{App, Limits, LoadedCollection, Settled};
pub use error::{RefusalKind, ServiceError};
