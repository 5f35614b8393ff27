//! Realtime at every node: PocketBase's subscription topics and events, fed by the storage
//! engine's change feed so every node serves its own subscribers, each event checked against
//! the collection's rules with the subscriber's auth, and delivered in commit order. No HTTP
//! here: `edgebase-api` streams a [`Connection`]'s messages as SSE.

mod access;
mod client;
mod hub;
mod ring;
mod topic;

pub use client::{ClientAuth, Message, ResumePoint};
pub use hub::{
    Connection, Hub, HubLimits, RealtimeError, CLIENT_ID_CHARS_MAX, REFETCH_EVENT,
    SUBSCRIPTIONS_MAX, TOPIC_CHARS_MAX,
};
pub use ring::RingLimits;
pub use topic::{Subscription, Target};
