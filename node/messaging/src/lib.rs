//! Messaging: push notifications (Web Push, FCM, APNs), email and SMS to an app's users,
//! accepted by any node into a replicated outbox and delivered by one node at a time.
//!
//! - [`collections`]: the system collections (push targets, topics, subscriptions, the
//!   outbox), created when messaging is first set up.
//! - [`settings`], [`settings_store`]: the providers' replicated settings, secrets hidden.
//! - [`send`]: accepting a message (`POST /api/messages`).
//! - [`deliver`]: the leader's delivery of due messages: claims, rounds, outcomes.
//! - [`providers`]: one request to a provider and what its answer means.

pub mod collections;
pub mod deliver;
mod dispatch;
pub mod message;
pub mod providers;
mod resolve;
pub mod send;
pub mod settings;
pub mod settings_store;
pub mod target_check;

pub use deliver::{spawn as spawn_delivery, unsettled};
pub use message::Message;
